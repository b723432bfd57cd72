"""The upstream provider (sieulike API v2): the client, and a sandbox to develop against.

Only the client is re-exported here. The sandbox is imported explicitly
(``from panel.upstream.sandbox import SandboxServer``): importing it from this
package would make ``python -m panel.upstream.sandbox`` load the module twice.
"""

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
