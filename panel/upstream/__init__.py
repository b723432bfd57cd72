"""The upstream provider's API v2 (sieulike): the protocol client, which knows no Django.
The sandbox to develop against is its own package, ``panel.sandbox``."""

from __future__ import annotations

from .client import (
    Balance,
    CancelResult,
    OrderStatus,
    RefillResult,
    RefillStatus,
    UpstreamAmbiguous,
    UpstreamBadAnswer,
    UpstreamClient,
    UpstreamError,
    UpstreamRejected,
    UpstreamService,
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
