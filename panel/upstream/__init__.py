"""The upstream provider's API v2 (sieulike): the protocol client, which knows no Django.
The sandbox to develop against is its own package, ``panel.sandbox``."""

from __future__ import annotations

from .answers import (
    Balance,
    CancelResult,
    OrderStatus,
    RefillResult,
    RefillStatus,
    UpstreamService,
)
from .client import UpstreamClient
from .errors import (
    UpstreamAmbiguous,
    UpstreamBadAnswer,
    UpstreamError,
    UpstreamRejected,
    UpstreamUnreachable,
)

__all__ = [
    "Balance",
    "CancelResult",
    "OrderStatus",
    "RefillResult",
    "RefillStatus",
    "UpstreamAmbiguous",
    "UpstreamBadAnswer",
    "UpstreamClient",
    "UpstreamError",
    "UpstreamRejected",
    "UpstreamService",
    "UpstreamUnreachable",
]
