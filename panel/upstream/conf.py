"""The one bridge from Django settings to the protocol client (which itself knows no Django)."""

from __future__ import annotations

import threading

from django.conf import settings

from .client import UpstreamClient

_local = threading.local()


def get_client() -> UpstreamClient:
    """An UpstreamClient configured from settings, one per thread (its pooled session is not
    shared across threads), rebuilt when the settings change (tests point it at a sandbox)."""
    config = (
        settings.SIEULIKE_API_URL,
        settings.SIEULIKE_API_KEY,
        float(settings.SIEULIKE_TIMEOUT),
        float(settings.SIEULIKE_CONNECT_TIMEOUT),
    )
    cached = getattr(_local, "client", None)
    if cached is None or cached[0] != config:
        url, key, timeout, connect_timeout = config
        client = UpstreamClient(url=url, key=key, timeout=timeout, connect_timeout=connect_timeout)
        _local.client = cached = (config, client)
    return cached[1]
