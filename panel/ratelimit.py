"""Fixed-window rate limits kept in the Django cache, and the client address they count by.

A fixed window (one counter per minute) is crude next to a sliding log, but it costs one cache
round trip and no SQL, which is what a limiter in front of every API call must cost. Its known
weakness, up to twice the limit across a window boundary, is acceptable for abuse protection.

The counters live in `CACHES["default"]`, which every process shares: Redis or the database
cache in production (the settings refuse anything else with DEBUG=0), files under var/cache/ on
a developer's machine; `panel.cache` makes the increments of the latter two atomic.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.http import HttpRequest

from panel import proxy

WINDOW_SECONDS = 60


def _now() -> float:
    return time.time()


def _window_key(bucket: str, window: int = WINDOW_SECONDS) -> str:
    suffix = "" if window == WINDOW_SECONDS else f"/{window}"
    return f"ratelimit:{bucket}{suffix}:{int(_now() // window)}"


def hit(bucket: str, *, limit: int, window: int = WINDOW_SECONDS) -> bool:
    """Count one event in `bucket`'s current window (of `window` seconds); False when it goes
    over `limit`."""
    if limit <= 0:  # 0 switches the limit off (a setting, e.g. for a load test)
        return True
    return _incr(_window_key(bucket, window), window) <= limit


def count(bucket: str, *, window: int = WINDOW_SECONDS) -> int:
    """Events already counted in `bucket`'s current window (nothing is counted by asking)."""
    return int(cache.get(_window_key(bucket, window), 0))


def exceeded(bucket: str, *, limit: int, window: int = WINDOW_SECONDS) -> bool:
    """Has `bucket` already used up its `limit` in the current window?"""
    return limit > 0 and count(bucket, window=window) >= limit


def _incr(key: str, window: int) -> int:
    # add() then incr() is atomic on Redis and on panel.cache's file and database backends (and
    # within one process on local memory); the window's counter outlives the window a little so
    # that a slow clock between workers does not reset it early.
    cache.add(key, 0, timeout=window + 10)
    try:
        return int(cache.incr(key))
    except ValueError:  # evicted between add() and incr(): start the window again
        cache.set(key, 1, timeout=window + 10)
        return 1


def client_address(request: HttpRequest) -> str:
    """The client's address as the limits count it: the socket's, or behind proxies named in
    TRUSTED_PROXIES the address they saw (`panel.proxy.client_address`)."""
    return proxy.client_address(request)
