"""Deployment checks of the panel's own settings, run by `manage.py check --deploy` (and so by
`make check-deploy`, which fails on any warning). The cache is not here: without a shared one,
DEBUG=0 refuses to start at all (panel/settings.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

DEFAULT_ADMIN_URL = "admin/"


@register(Tags.security, deploy=True)
def check_admin_url(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    # The admin guards itself (lockout, second factor), but at /admin/ every scanner on the
    # internet finds its login form and tries passwords on it.
    if settings.ADMIN_URL.strip("/") != DEFAULT_ADMIN_URL.strip("/"):
        return []
    return [
        Warning(
            "ADMIN_URL is the default 'admin/', the first address scanners try.",
            hint="Set ADMIN_URL to something less guessable, e.g. ADMIN_URL=staff-9f3k/.",
            id="panel.W001",
        )
    ]


@register(Tags.security, deploy=True)
def check_trusted_proxies(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    # Behind a TLS proxy, Django learns the request was HTTPS from X-Forwarded-Proto; the panel
    # believes forwarded headers only from TRUSTED_PROXIES, so with none every request looks
    # like plain HTTP (an endless redirect to HTTPS) and every client has the proxy's address.
    if not settings.SECURE_PROXY_SSL_HEADER or settings.TRUSTED_PROXIES:
        return []
    return [
        Warning(
            "BEHIND_PROXY is on but TRUSTED_PROXIES is empty: X-Forwarded-For and "
            "X-Forwarded-Proto from the proxy are ignored.",
            hint="Set TRUSTED_PROXIES to the proxy's address or network, e.g. 172.28.0.0/24; "
            "or BEHIND_PROXY=0 when gunicorn faces the clients itself.",
            id="panel.W002",
        )
    ]
