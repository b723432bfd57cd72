from __future__ import annotations

import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from panel.logging import redact
from panel.money import charge_for, format_vnd, quantize_money

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "-production-secret-that-is-long-and-random-1234567890",
    "ALLOWED_HOSTS": "panel.example.com",
    "DATABASE_URL": "sqlite:////tmp/panel-check-deploy.sqlite3",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "SIEULIKE_API_KEY": "k",
    "EMAIL_URL": "smtp+tls://mailer:pw@smtp.example.com:587",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "ADMIN_URL": "staff-9f3k/",
    "TRUSTED_PROXIES": "172.28.0.0/24",
}


def test_production_settings_pass_check_deploy_with_no_warnings() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_in_production_fails_loudly() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    "name,value", [("SIEULIKE_TIMEOUT", "soon"), ("DEBUG", "maybe"), ("SIEULIKE_TIMEOUT", "0")]
)
def test_a_bad_value_fails_loudly_at_start(name: str, value: str) -> None:
    result = _manage("check", env={**PRODUCTION, name: value})
    assert result.returncode != 0


@pytest.mark.parametrize(
    "cache_url", [None, "locmemcache://panel", "filecache:///tmp/panel-cache", "dummycache://"]
)
def test_production_refuses_to_start_without_a_cache_every_process_shares(
    cache_url: str | None,
) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "CACHE_URL"}
    if cache_url is not None:
        env["CACHE_URL"] = cache_url
    result = _manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "CACHE_URL" in result.stderr and "shared" in result.stderr


def test_make_check_deploy_fails_without_a_shared_cache() -> None:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    make = shutil.which("make") or "make"
    result = subprocess.run(  # noqa: S603 - make, a fixed target
        [make, "--no-print-directory", "check-deploy"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "CACHE_URL" in result.stdout + result.stderr


@pytest.mark.parametrize("cache_url", ["redis://127.0.0.1:6379/1", "dbcache://panel_cache"])
def test_redis_or_the_database_cache_are_shared_caches(cache_url: str) -> None:
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, "CACHE_URL": cache_url}
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_default_admin_url_is_warned_about_in_production() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "ADMIN_URL"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "panel.W001" in result.stdout + result.stderr


def test_a_proxy_without_trusted_proxies_is_warned_about_in_production() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "TRUSTED_PROXIES"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "panel.W002" in result.stdout + result.stderr
    # and gunicorn facing the clients itself needs no proxy list
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**env, "BEHIND_PROXY": "0"}
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    result = _manage("check", env={**PRODUCTION, "TRUSTED_PROXIES": "10.0.0.1,proxy.local"})
    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr


def test_the_language_cookie_is_secure_and_same_site_in_production() -> None:
    code = (
        "from django.conf import settings as s; "
        "print(s.LANGUAGE_COOKIE_SECURE, s.LANGUAGE_COOKIE_SAMESITE, s.LANGUAGE_COOKIE_HTTPONLY)"
    )
    result = _manage("shell", "-c", code, env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    secure, samesite, _httponly = result.stdout.strip().splitlines()[-1].split()
    assert secure == "True"
    assert samesite in ("Lax", "Strict")


def test_money_rounds_half_up_to_two_places_and_formats_the_vietnamese_way() -> None:
    assert quantize_money(Decimal("1.005")) == Decimal("1.01")
    assert format_vnd(Decimal("1234567")) == "1.234.567 ₫"
    assert format_vnd(Decimal("1234.5")) == "1.234,50 ₫"


def test_a_positive_quantity_is_never_free() -> None:
    assert charge_for(Decimal("3.7000"), 1) == Decimal("0.01")
    assert charge_for(Decimal("3.7000"), 1000) == Decimal("3.70")
    assert charge_for(Decimal("0"), 1000) == Decimal("0.00")


def test_secrets_are_redacted_from_log_text() -> None:
    text = "POST /api/v2?key=abc123secret&action=status password=hunter2"
    cleaned = redact(text)
    assert "abc123secret" not in cleaned and "hunter2" not in cleaned
    assert "action=status" in cleaned


@pytest.mark.parametrize("value", [None, "", "abc"])
def test_the_vnd_filter_renders_nothing_for_a_missing_amount(value: object) -> None:
    from panel.templatetags.panel_tags import vnd

    assert vnd(value) == ""  # type: ignore[arg-type]


def test_the_vnd_filter_formats_numbers_and_numeric_strings() -> None:
    from panel.templatetags.panel_tags import vnd

    assert vnd(Decimal("1234567")) == "1.234.567 ₫"
    assert vnd("5000") == "5.000 ₫"
