"""What staff see and do: the commands, the admin (the key never shown in full), backups checked
for compatibility when saved, and the dashboard's providers table."""

from __future__ import annotations

import logging
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from catalog.models import Provider, Service, ServiceBackup
from catalog.providers import service_backup_add
from tests.factories import make_service

from .conftest import Two

SECRET = "sk-live-0123456789abcdef"


def test_provider_add_and_provider_list(db: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    out = StringIO()
    call_command(
        "provider_add",
        "cheapsmm",
        "--url",
        "https://cheap.example/api/v2",
        "--key",
        SECRET,
        "--currency",
        "usd",
        "--rate",
        "25400",
        stdout=out,
    )
    provider = Provider.objects.get(name="cheapsmm")
    assert (provider.currency, provider.rate, provider.api_key) == ("USD", Decimal("25400"), SECRET)
    assert provider.rate_as_of is not None
    listing = StringIO()
    call_command("provider_list", stdout=listing)
    text = out.getvalue() + listing.getvalue()
    assert "cheapsmm" in text and "sieulike (SIEULIKE_*)" in text
    assert "…cdef" in text
    assert SECRET not in text and SECRET not in caplog.text


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--rate", "0"], "positive"),
        (["--rate", "x"], "not a number"),
        (["--currency", "dollars"], "three-letter"),
    ],
)
def test_provider_add_refuses_bad_input_and_changes_nothing(
    db: None, args: list[str], error: str
) -> None:
    with pytest.raises(CommandError, match=error):
        call_command(
            "provider_add", "bad", "--url", "https://x.example/api/v2", "--key", "k", *args
        )
    assert not Provider.objects.filter(name="bad").exists()


def test_the_sieulike_provider_follows_the_environment(db: None, settings: Any) -> None:
    settings.SIEULIKE_API_URL = "https://mirror.example/api/v2"
    settings.SIEULIKE_API_KEY = "env-key-123456"
    provider = Provider.default()
    assert provider.from_env and provider.name == "sieulike"
    stored = Provider.objects.get(pk=provider.pk)
    assert (stored.api_url, stored.api_key) == ("https://mirror.example/api/v2", "env-key-123456")
    with pytest.raises(CommandError, match="SIEULIKE"):
        call_command("provider_add", "sieulike", "--url", "https://x.example/api/v2", "--key", "k")


def test_service_backup_command_appends_a_compatible_backup(two: Two) -> None:
    other = Service.objects.get(provider=two.usd, upstream_id=802)
    Service.objects.filter(pk=other.pk).update(refill=True)  # 501 has refill: so must a backup
    out = StringIO()
    call_command(
        "service_backup", str(two.main.pk), "--provider", "usdshop", "--service", "802", stdout=out
    )
    assert list(
        ServiceBackup.objects.filter(service=two.main).values_list("backup_id", "position")
    ) == [(two.backup.pk, 0), (other.pk, 1)]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"type": "Custom Comments"}, "kind differs"),
        ({"min_quantity": 50}, "do not cover"),
        ({"max_quantity": 500}, "do not cover"),
        ({"refill": False}, "no refill"),
    ],
)
def test_an_incompatible_backup_is_refused(two: Two, change: dict[str, Any], problem: str) -> None:
    Service.objects.filter(pk=two.backup.pk).update(**change)
    ServiceBackup.objects.all().delete()
    with pytest.raises(ValidationError, match=problem):
        service_backup_add(service_id=two.main.pk, backup_id=two.backup.pk)
    with pytest.raises(CommandError, match=problem):
        call_command(
            "service_backup", str(two.main.pk), "--provider", "usdshop", "--service", "801"
        )
    assert not ServiceBackup.objects.exists()


def test_a_drip_feed_service_needs_a_drip_feed_backup(two: Two) -> None:
    drip = Service.objects.get(provider=two.vnd, upstream_id=503)
    with pytest.raises(ValidationError, match="no drip-feed"):
        service_backup_add(service_id=drip.pk, backup_id=two.backup.pk)


def test_a_backup_at_the_same_provider_is_refused(db: None) -> None:
    a, b = make_service(), make_service()
    with pytest.raises(ValidationError, match="another provider"):
        service_backup_add(service_id=a.pk, backup_id=b.pk)


def test_the_admin_never_shows_the_key_in_full(admin_client: Client, two: Two) -> None:
    Provider.objects.filter(pk=two.usd.pk).update(api_key=SECRET)
    for url in (
        reverse("admin:catalog_provider_changelist"),
        reverse("admin:catalog_provider_change", args=[two.usd.pk]),
    ):
        html = admin_client.get(url).content.decode()
        assert SECRET not in html
        assert "…cdef" in html


def test_the_admin_keeps_the_key_when_left_empty_and_reprices_on_a_new_rate(
    admin_client: Client, two: Two
) -> None:
    Provider.objects.filter(pk=two.usd.pk).update(api_key=SECRET)
    response = admin_client.post(
        reverse("admin:catalog_provider_change", args=[two.usd.pk]),
        {
            "name": "usdshop",
            "api_url": two.usd.api_url,
            "api_key": "",
            "currency": "USD",
            "rate": "26000",
            "timeout": "2",
            "enabled": "on",
            "when_paused": "failover",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    provider = Provider.objects.get(pk=two.usd.pk)
    assert provider.api_key == SECRET and provider.rate == Decimal("26000")
    assert Service.objects.get(pk=two.backup.pk).cost_rate == Decimal("26000.0000")


def test_the_admin_refuses_an_incompatible_backup(admin_client: Client, two: Two) -> None:
    Service.objects.filter(pk=two.backup.pk).update(max_quantity=500)
    ServiceBackup.objects.all().delete()
    response = admin_client.post(
        reverse("admin:catalog_servicebackup_add"),
        {"service": two.main.pk, "backup": two.backup.pk, "position": 0},
    )
    assert response.status_code == 200
    assert "do not cover" in response.content.decode()
    assert not ServiceBackup.objects.exists()


def test_the_order_page_shows_every_attempt_and_where_it_was_placed(
    admin_client: Client, two: Two
) -> None:
    two.vnd_sandbox.set_balance("0")
    order = two.place()
    html = admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Insufficient balance" in html
    assert "usdshop" in html and "Out of funds" in html and "Placed" in html


def test_the_dashboard_shows_cost_and_profit_per_provider(admin_client: Client, two: Two) -> None:
    from orders.polling import orders_poll

    two.place()
    two.vnd_sandbox.set_balance("0")
    two.place()
    two.vnd_sandbox.advance(86400)
    two.usd_sandbox.advance(86400)
    orders_poll()
    html = admin_client.get(reverse("staff_dashboard")).content.decode()
    assert 'data-provider="sieulike"' in html and 'data-provider="usdshop"' in html
    # 100 units at 39,000 per 1000 = 3,900 paid at each; cost 3,000 at sieulike, 2,500 at usdshop
    import re

    profits = dict(
        re.findall(r'data-provider="(\w+)".*?data-testid="provider-profit">([^<]+)<', html, re.S)
    )
    assert profits == {"sieulike": "900 ₫", "usdshop": "1.400 ₫"}


def test_health_counts_answers_latency_and_out_of_funds(two: Two) -> None:
    from panel.provider_report import provider_health

    two.place()
    two.vnd_sandbox.set_balance("0")
    two.place()
    health = {row.provider.name: row for row in provider_health()}
    vnd, usd = health["sieulike"], health["usdshop"]
    assert (vnd.attempts, vnd.placed, vnd.out_of_funds) == (2, 1, 1)
    assert vnd.success_rate == Decimal("0.5")
    assert (usd.attempts, usd.placed, usd.success_rate) == (1, 1, Decimal("1"))
    assert vnd.latency_ms is not None and vnd.open_orders == 1 and usd.open_orders == 1
    assert vnd.provider.last_out_of_funds_at is not None
