"""Login protection: who the client is for django-axes, the lockout page, and the admin that
asks staff for a second factor.

This module is imported while the app registry is being filled (it holds the admin's AppConfig),
so it imports no model at module level; the OTP parts live in `panel.otp_admin` (the admin site
and its login form) and `accounts.two_factor` / `accounts.two_factor_views` (enrolment).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from panel import ratelimit


class AdminConfig(DjangoAdminConfig):
    """`django.contrib.admin` whose default site (`django.contrib.admin.site`, where every app
    registers its ModelAdmins) requires a verified second factor when ADMIN_REQUIRE_2FA is on.

    Django's documented way to replace the default site: the registrations stay where they are,
    and no second site can be reached without the check."""

    default_site = "panel.otp_admin.PanelAdminSite"


def two_factor_required() -> bool:
    """Must staff prove a second factor to use the admin? Read at each request, so that a test
    (or an operator's settings change) takes effect without a restart of the site object."""
    return bool(getattr(settings, "ADMIN_REQUIRE_2FA", True))


def client_ip(request: HttpRequest) -> str | None:
    """The client address django-axes counts failed logins by (settings.AXES_CLIENT_IP_CALLABLE).

    The same address the API's rate limits use (`panel.ratelimit.client_address`): REMOTE_ADDR,
    or behind the proxies named in TRUSTED_PROXIES the X-Forwarded-For entry they appended, never
    the left-most entries a client can invent to get a fresh counter for every guess. Anything
    that is not an IP address becomes None: axes stores the address in an address column, and
    PostgreSQL would refuse "unknown".
    """
    address = ratelimit.client_address(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """The page a locked-out login gets (settings.AXES_LOCKOUT_CALLABLE), on the customer login
    and on the admin login alike: in the site's style, saying how long to wait, with status 429.

    It does not say whether the password was right: a locked-out attempt is refused before the
    password is checked."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(
        request,
        "security/lockout.html",
        {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
