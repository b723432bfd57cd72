"""How every write of services is done, by the sync and the admin alike: the pricing rules read
under their lock, the price they give a service, each change recorded in the price history and
written in a constant number of queries, and the catalog version moved in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from django.db import connection

from panel.db import bulk_write
from panel.money import quantize_rate

from .mapping import MIRRORED
from .models import (
    CatalogVersion,
    CategoryMarkup,
    PauseReason,
    PriceChange,
    PricingSettings,
    Service,
    SyncRun,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Fields the shop derives (pricing, availability).
DERIVED: Final = ("sell_rate", "flagged", "listed", "pause_reason", "vanished")
WRITABLE: Final = MIRRORED + DERIVED
# Of those, the ones whose every change is kept in the price history.
HISTORY: Final = frozenset(PriceChange.Field.values)


def catalog_version_bump() -> None:
    """Tell readers of cached catalog data (the API's `services`) to rebuild it.

    Called inside the transaction that changes the catalog: the new number commits with the new
    prices, atomically, so no process can see one without the other (see `CatalogVersion`).
    The row lock it takes also orders concurrent catalog writers, which is harmless: each holds
    it for the rest of a short transaction.
    """
    # One statement, whether or not the row exists yet (the migration makes it; a flushed test
    # database has none): an upsert, on PostgreSQL and SQLite alike.
    table = connection.ops.quote_name(CatalogVersion._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, number) VALUES (1, 1) "  # noqa: S608 - a quoted model table
            f"ON CONFLICT (id) DO UPDATE SET number = {table}.number + 1"
        )


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(quantize_rate(value))
    return str(value)[:500]


@dataclass
class ChangeWriter:
    """Collects changed services and their history, then writes them in constant queries."""

    now: datetime
    sync: SyncRun | None = None
    changed_by: User | None = None
    changed: dict[int, Service] = field(default_factory=dict)
    fields: set[str] = field(default_factory=set)
    history: list[PriceChange] = field(default_factory=list)

    @staticmethod
    def snapshot(service: Service) -> dict[str, Any]:
        return {name: getattr(service, name) for name in WRITABLE}

    def collect(self, service: Service, before: dict[str, Any]) -> set[str]:
        """Compare `service` with its snapshot; queue it for writing when it differs."""
        diff = {name for name in WRITABLE if getattr(service, name) != before[name]}
        if not diff:
            return diff
        service.updated_at = self.now
        self.changed[service.pk] = service
        self.fields |= diff
        self.history.extend(
            PriceChange(
                service=service,
                field=name,
                old_value=_as_text(before[name]),
                new_value=_as_text(getattr(service, name)),
                sync=self.sync,
                changed_by=self.changed_by,
            )
            for name in sorted(diff & HISTORY)
        )
        return diff

    def save(self) -> None:
        if self.changed:
            bulk_write(
                Service.objects.all(),
                list(self.changed.values()),
                sorted(self.fields | {"updated_at"}),
            )
        if self.history:
            PriceChange.objects.bulk_create(self.history)


@dataclass(frozen=True)
class PricingRules:
    settings: PricingSettings
    category_markups: dict[str, Decimal]


def pricing_rules_locked() -> PricingRules:
    """The pricing rules, with the settings row locked until the caller's transaction ends.

    Every writer of prices (sync, reprice) takes this lock first, so an admin's new markup is
    never overwritten by a sync that read the old one (on PostgreSQL; SQLite serialises writers
    anyway). One lock, always taken first: no lock-order deadlock is possible.
    """
    settings_row, _created = PricingSettings.objects.select_for_update().get_or_create(pk=1)
    markups = dict(CategoryMarkup.objects.values_list("category", "markup_percent"))
    return PricingRules(settings=settings_row, category_markups=markups)


def price_apply(service: Service, rules: PricingRules) -> None:
    """Set the sell rate, the flag and the below-cost pause of `service` from the rules."""
    price = rules.settings.price(
        cost_rate=service.cost_rate,
        category_markup=rules.category_markups.get(service.category),
        service_markup=service.markup_percent,
        fixed_rate=service.fixed_rate,
    )
    service.sell_rate = price.sell_rate
    service.flagged = price.flagged
    if price.pause:
        if service.listed:
            service.listed = False
            service.pause_reason = PauseReason.BELOW_COST
    elif service.pause_reason == PauseReason.BELOW_COST:
        # Paused by the policy, not by a person: safe again, so back on sale.
        service.listed = True
        service.pause_reason = PauseReason.NONE
