"""The bridge from a provider row to a protocol client (`panel.upstream.client` knows no Django).

Only `catalog` and `orders` call upstreams, and they get their client here, per provider.
"""

from __future__ import annotations

import threading

from django.conf import settings

from panel.upstream.client import UpstreamClient

from .models import Provider

_local = threading.local()


def _config(provider: Provider) -> tuple[str, str, float, float]:
    if provider.from_env:
        # The SIEULIKE_* provider follows the settings themselves, not a copy of them.
        return (
            settings.SIEULIKE_API_URL,
            settings.SIEULIKE_API_KEY,
            float(settings.SIEULIKE_TIMEOUT),
            float(settings.SIEULIKE_CONNECT_TIMEOUT),
        )
    timeout = float(provider.timeout)
    return (
        provider.api_url,
        provider.api_key,
        timeout,
        min(float(settings.SIEULIKE_CONNECT_TIMEOUT), timeout),
    )


def client_for(provider: Provider | int) -> UpstreamClient:
    """The client of one provider, one per thread and provider (its pooled session is not shared
    across threads), rebuilt when the provider's URL, key or timeout change."""
    if not isinstance(provider, Provider):
        provider = Provider.objects.get(pk=provider)
    config = _config(provider)
    clients: dict[int, tuple[tuple[str, str, float, float], UpstreamClient]] = getattr(
        _local, "clients", {}
    )
    _local.clients = clients
    cached = clients.get(provider.pk)
    if cached is None or cached[0] != config:
        url, key, timeout, connect_timeout = config
        client = UpstreamClient(url=url, key=key, timeout=timeout, connect_timeout=connect_timeout)
        clients[provider.pk] = cached = (config, client)
    return cached[1]


def default_client() -> UpstreamClient:
    """The client of the SIEULIKE_* provider."""
    return client_for(Provider.default())
