"""The catalog's tables, one module per concern; Django and the other apps import them from here.

provider: providers and their balance readings; service: the mirrored services, their backups and
favourites; price_rules: the shop's pricing policy, category markups, customers' own prices;
history: price changes, syncs and the catalog version.
"""

from .history import CatalogVersion, PriceChange, SyncRun
from .price_rules import CategoryMarkup, CustomerPricing, CustomerRate, PricingSettings
from .provider import Provider, UpstreamBalance
from .service import (
    RATE,
    FavouriteService,
    PauseReason,
    Service,
    ServiceBackup,
    ServiceType,
    UpstreamStatus,
    backup_problems,
)

__all__ = [
    "RATE",
    "CatalogVersion",
    "CategoryMarkup",
    "CustomerPricing",
    "CustomerRate",
    "FavouriteService",
    "PauseReason",
    "PriceChange",
    "PricingSettings",
    "Provider",
    "Service",
    "ServiceBackup",
    "ServiceType",
    "SyncRun",
    "UpstreamBalance",
    "UpstreamStatus",
    "backup_problems",
]
