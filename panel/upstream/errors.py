"""The failures of an upstream call, sorted by the one question that matters after a failure.

The upstream's ``add`` has no idempotency key: an order sent twice is run and charged twice. So
every failure answers "could the upstream have executed this request?":

- ``UpstreamRejected``: it answered ``{"error": "..."}``, so it read the request and refused it.
  Final: retrying gets the same answer.
- ``UpstreamUnreachable``: the request provably never reached it (connection refused, DNS
  failure, connect timeout, certificate refused). Safe to send again.
- ``UpstreamAmbiguous``: it may have executed the request (timed out or dropped after sending).
  An ambiguous ``add`` must never be re-sent automatically; the order is reconciled first.
  ``UpstreamBadAnswer`` is the kind where it did answer, unusably (non-200, HTML, bad JSON,
  wrong shape, over the size cap): just as ambiguous for an ``add``.

For read-only actions (balance, services, status, refill_status) retry whatever is not a
rejection.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any, Final

import requests
import urllib3.exceptions


class UpstreamError(Exception):
    """Base class of every failure of an upstream call.

    ``action`` is the API action that failed. ``partial`` is only filled by the
    batch methods (``statuses``, ``refills``, ``refill_statuses``, ``cancels``):
    it holds the results of the chunks that succeeded before this one failed,
    keyed like the method's normal return value.
    """

    def __init__(self, message: str, *, action: str) -> None:
        super().__init__(message)
        self.action = action
        self.partial: dict[int, Any] = {}


class UpstreamRejected(UpstreamError):
    """The upstream answered ``{"error": "..."}``: final, never retried."""

    def __init__(self, message: str, *, action: str) -> None:
        super().__init__(f"upstream rejected {action}: {message}", action=action)
        self.message = message


class UpstreamUnreachable(UpstreamError):
    """The request provably never reached the upstream; safe to send again."""


class UpstreamAmbiguous(UpstreamError):
    """The upstream may have executed the request; never re-send an ``add``."""


class UpstreamBadAnswer(UpstreamAmbiguous):
    """The upstream answered, but not with a usable answer (non-200, HTML,
    malformed/truncated JSON, wrong shape, body over the size cap)."""


# Causes that can only happen before a single byte of the request was sent.
_NEVER_SENT: Final[tuple[type[BaseException], ...]] = (
    # refused, network unreachable, DNS failure (NameResolutionError is a subclass)
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    ConnectionRefusedError,
    ssl.SSLCertVerificationError,  # the handshake failed, so no request was sent
)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """Every exception reachable from ``exc``: __cause__, __context__, args
    and urllib3's MaxRetryError.reason."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked: list[object] = [
            current.__cause__,
            current.__context__,
            getattr(current, "reason", None),
        ]
        linked.extend(current.args)
        pending.extend(item for item in linked if isinstance(item, BaseException))


def never_sent(exc: requests.RequestException) -> bool:
    """True when the failure proves that nothing was sent: unreachable, not ambiguous."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        # ReadTimeout, ChunkedEncodingError, ...: the request was sent.
        return False
    return any(isinstance(cause, _NEVER_SENT) for cause in _causes(exc))
