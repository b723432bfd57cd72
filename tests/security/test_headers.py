"""The headers of `check --deploy` and a Content-Security-Policy without inline scripts, on the
customer site and the admin, under test settings and under real production settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from .conftest import World, logged_in, verified_client

ROOT = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_strict_csp(response: Any) -> None:
    header = response["Content-Security-Policy"]
    directives = csp_directives(header)
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src is not None, header
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, header
    assert all(not source.startswith(("http:", "https:", "*")) for source in script_src), header
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]


def assert_no_inline_script(html: str) -> None:
    # Under the policy an inline script would not run: the page must not depend on one.
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not EVENT_HANDLER.search(html), EVENT_HANDLER.search(html)


def assert_security_headers(response: Any) -> None:
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


CUSTOMER_PAGES = [
    ("dashboard", {}),
    ("catalog:list", {}),
    ("orders:list", {}),
    ("orders:mass", {}),
    ("orders:refills", {}),
    ("accounts:account", {}),
    ("billing:transactions", {}),
    ("billing:topup", {}),
    ("api_docs", {}),
]


@pytest.mark.django_db
def test_anonymous_pages_carry_the_strict_policy_and_the_security_headers(settings: Any) -> None:
    settings.ADMIN_REQUIRE_2FA = True  # the admin login with its code field
    client = Client()
    for url in (
        reverse("login"),
        reverse("accounts:signup"),
        reverse("catalog:list"),
        reverse("password_reset"),
        reverse("admin:login"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict_csp(response)
        assert_security_headers(response)
        assert_no_inline_script(response.content.decode())


def test_every_customer_page_works_without_inline_scripts(world: World) -> None:
    client = logged_in(world.a.user)
    pages = [reverse(name, kwargs=kwargs) for name, kwargs in CUSTOMER_PAGES] + [
        # With a service chosen: without one the page currently fails on `selected.sell_rate|vnd`
        # (an orders template bug, reported to its owner).
        f"{reverse('orders:new')}?service={world.order.service_id}",
        reverse("orders:detail", args=[world.order.pk]),
        reverse("billing:topup_detail", args=[world.topup_reference]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict_csp(response)
        assert_security_headers(response)
        html = response.content.decode()
        assert_no_inline_script(html)
        # style-src 'self' ignores style="" attributes too: the customer site uses none.
        assert not re.search(r"<[^>]+\sstyle\s*=", html), url


def test_the_admin_works_under_the_same_policy(world: World, settings: Any) -> None:
    # given a superuser verified by a second factor, as in production
    settings.ADMIN_REQUIRE_2FA = True
    from django.contrib.auth import get_user_model

    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-Boss-12345")
    client = verified_client(boss)
    pages = [
        reverse("admin:index"),
        reverse("admin:orders_order_changelist"),
        reverse("admin:orders_order_change", args=[world.order.pk]),
        reverse("admin:billing_wallet_changelist"),
        reverse("admin:billing_ledgerentry_changelist"),
        reverse("admin:catalog_service_changelist"),
        reverse("admin:auth_user_change", args=[world.a.user.pk]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict_csp(response)
        assert_security_headers(response)
        assert_no_inline_script(response.content.decode())


def test_the_set_up_page_for_two_factor_has_no_inline_script(db: None) -> None:
    from .conftest import new_staff

    response = logged_in(new_staff()).get(reverse("two_factor_setup"))
    assert response.status_code == 200
    assert_strict_csp(response)
    assert_no_inline_script(response.content.decode())


# --- real production settings, in a process of their own ------------------------------------

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "p" * 20 + "-production-secret-that-is-long-and-random-0987654321",
    "ALLOWED_HOSTS": "panel.example.com",
    "DATABASE_URL": "sqlite:////tmp/panel-security-headers.sqlite3",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "SIEULIKE_API_KEY": "k",
    "EMAIL_URL": "smtp+tls://mailer:pw@smtp.example.com:587",
    "CACHE_URL": "dbcache://panel_cache",  # DEBUG=0 insists on a shared cache (unused here)
    # collectstatic has not run here; the manifest storage would refuse every {% static %}.
    "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
}

_FETCH = """
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="panel.example.com")
plain = client.get("/accounts/login/")
secure = client.get("/accounts/login/", secure=True)
cookie = secure.cookies.get("csrftoken")
print(json.dumps({
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location", ""),
    "status": secure.status_code,
    "headers": dict(secure.items()),
    "csrf_cookie_secure": bool(cookie and cookie["secure"]),
    "csrf_cookie_samesite": cookie["samesite"] if cookie else "",
}))
"""


@pytest.fixture(scope="module")
def production_response() -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    result = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "-c", _FETCH],
        cwd=ROOT,
        env={
            **base,
            **PRODUCTION,
            "DJANGO_SETTINGS_MODULE": "panel.settings",
            "PYTHONPATH": str(ROOT),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_redirects_plain_http_to_https(production_response: dict[str, Any]) -> None:
    assert production_response["plain_status"] == 301
    assert production_response["plain_location"].startswith("https://panel.example.com/")


def test_production_sends_hsts_and_the_other_headers(production_response: dict[str, Any]) -> None:
    headers = production_response["headers"]
    assert production_response["status"] == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    directives = csp_directives(headers["Content-Security-Policy"])
    assert directives["script-src"] == ["'self'"]
    assert production_response["csrf_cookie_secure"]
