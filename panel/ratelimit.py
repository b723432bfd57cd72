"""Fixed-window rate limits kept in the Django cache, and the client address they count by.

A fixed window (one counter per minute) is crude next to a sliding log, but it costs one cache
round trip and no SQL, which is what a limiter in front of every API call must cost. Its known
weakness, up to twice the limit across a window boundary, is acceptable for abuse protection.

The counters live in `CACHES["default"]`: Redis in production, so every web worker shares them;
the local-memory default of a developer's machine counts per process.
"""

from __future__ import annotations

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

WINDOW_SECONDS = 60


def _now() -> float:
    return time.time()


def _window_key(bucket: str) -> str:
    return f"ratelimit:{bucket}:{int(_now() // WINDOW_SECONDS)}"


def hit(bucket: str, *, limit: int) -> bool:
    """Count one event in `bucket`'s current window; False when it goes over `limit`."""
    if limit <= 0:  # 0 switches the limit off (a setting, e.g. for a load test)
        return True
    return _incr(_window_key(bucket)) <= limit


def count(bucket: str) -> int:
    """Events already counted in `bucket`'s current window (nothing is counted by asking)."""
    return int(cache.get(_window_key(bucket), 0))


def exceeded(bucket: str, *, limit: int) -> bool:
    """Has `bucket` already used up its `limit` in the current window?"""
    return limit > 0 and count(bucket) >= limit


def _incr(key: str) -> int:
    # add() then incr() is atomic on Redis and on the local-memory cache (both increment in
    # place); the window's counter outlives the window a little so that a slow clock between
    # workers does not reset it early.
    cache.add(key, 0, timeout=WINDOW_SECONDS + 10)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add() and incr(): start the window again
        cache.set(key, 1, timeout=WINDOW_SECONDS + 10)
        return 1


def client_address(request: HttpRequest) -> str:
    """The address of the client that sent `request`, as far as it can be trusted.

    Without a proxy it is REMOTE_ADDR. Behind proxies (settings.TRUSTED_PROXY_HOPS > 0) each
    proxy appends the address it saw to X-Forwarded-For, so the trustworthy entry is the one
    `hops` from the right: the left-most entries are whatever the client chose to send, and
    trusting them would let anyone dodge a per-address limit by inventing a new address.
    """
    hops = int(getattr(settings, "TRUSTED_PROXY_HOPS", 0))
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if not forwarded:
        return remote
    chosen = forwarded[-hops] if len(forwarded) >= hops else forwarded[0]
    # Only a real address becomes part of a cache key (no spaces, no 4 KB of junk).
    try:
        return str(ipaddress.ip_address(chosen))
    except ValueError:
        return remote
