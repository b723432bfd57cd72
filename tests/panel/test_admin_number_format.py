"""Issue 15: every amount and rate the admin and the staff dashboard show is written one way,
by `panel.money` (1.234.567 ₫, 18,75 ₫; a provider's own currency keeps its code)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import LedgerEntry
from billing.services import topup_request_create
from catalog.models import PriceChange, Provider, SyncRun
from tests.factories import make_customer, make_order, make_service

pytestmark = pytest.mark.django_db

# A decimal as str(Decimal) writes it: no grouping, a point and 2, 4 or 6 decimals ("500000.00",
# "18.7500"). The house style groups by three with dots, so "500.000" does not match.
RAW_NUMBER = re.compile(r"(?<![\d.,])\d+\.(?:\d{2}|\d{4}|\d{6})(?![\d.])")
# Form inputs carry machine values, scripts and styles are not read by people.
NOT_SHOWN = re.compile(r"<input[^>]*>|<script.*?</script>|<style.*?</style>|<[^>]+>", re.S)


def shown_text(response: Any) -> str:
    assert response.status_code == 200
    return NOT_SHOWN.sub(" ", response.content.decode())


@pytest.fixture
def money_rows() -> dict[str, Any]:
    customer = make_customer(username="khach", balance="500000")
    service = make_service(cost_rate=Decimal("18.75"), sell_rate=Decimal("25"))
    service.upstream_rate = Decimal("18.75")
    service.save(update_fields=["upstream_rate"])
    Provider.objects.filter(pk=service.provider_id).update(
        balance=Decimal("500000.00"), currency="VND"
    )
    dollars = Provider.objects.create(
        name="usd",
        api_url="https://usd.example.com/api/v2",
        api_key="k" * 20,
        currency="USD",
        rate=Decimal("25000"),
        balance=Decimal("12.5"),
    )
    change = PriceChange.objects.create(
        service=service, field="cost_rate", old_value="18.7500", new_value="6.2500"
    )
    order = make_order(
        user=customer,
        service=service,
        charge="500000",
        rate=Decimal("18.75"),
        cost=Decimal("375000.50"),
    )
    run = SyncRun.objects.create(
        kind="full", ok=True, finished_at=timezone.now(), upstream_balance=Decimal("500000.00")
    )
    topup = topup_request_create(user=customer, amount=Decimal("500000"))
    entry = LedgerEntry.objects.filter(wallet__user=customer).first()
    assert entry is not None and entry.amount == Decimal("500000.00")
    return {
        "service": service,
        "dollars": dollars,
        "change": change,
        "order": order,
        "run": run,
        "topup": topup,
        "entry": entry,
    }


def test_the_admin_writes_every_amount_and_rate_through_the_one_formatter(admin_client, money_rows):
    rows = money_rows
    pages = {
        reverse("admin:catalog_service_changelist"): ["18,75 ₫", "25 ₫"],
        reverse("admin:catalog_service_change", args=[rows["service"].pk]): ["18,75 ₫", "25 ₫"],
        reverse("admin:catalog_pricechange_changelist"): ["18,75 ₫", "6,25 ₫"],
        reverse("admin:catalog_provider_changelist"): [
            "500.000 ₫",
            "12,50 USD",
            "1 USD = 25.000 ₫",
        ],
        reverse("admin:catalog_provider_change", args=[rows["dollars"].pk]): ["12,50 USD"],
        reverse("admin:catalog_syncrun_changelist"): ["500.000 ₫"],
        reverse("admin:catalog_syncrun_change", args=[rows["run"].pk]): ["500.000 ₫"],
        reverse("admin:orders_order_changelist"): ["500.000 ₫", "375.000,50 ₫"],
        reverse("admin:orders_order_change", args=[rows["order"].pk]): [
            "500.000 ₫",
            "375.000,50 ₫",
            "18,75 ₫",
        ],
        reverse("admin:orders_order_attention", args=[rows["order"].pk]): ["charged 500.000 ₫"],
        reverse("admin:billing_ledgerentry_changelist"): ["500.000 ₫"],
        reverse("admin:billing_ledgerentry_change", args=[rows["entry"].pk]): ["500.000 ₫"],
        reverse("admin:billing_topuprequest_changelist"): ["500.000 ₫"],
        reverse("admin:billing_topuprequest_change", args=[rows["topup"].pk]): ["500.000 ₫"],
        reverse("admin:billing_wallet_changelist"): ["500.000 ₫"],
    }
    for url, expected in pages.items():
        text = shown_text(admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
        for amount in expected:
            assert amount in text, (url, amount)
        assert not RAW_NUMBER.findall(text), (url, RAW_NUMBER.findall(text))


def test_the_staff_dashboard_writes_a_provider_balance_like_every_amount(admin_client, money_rows):
    text = shown_text(admin_client.get(reverse("staff_dashboard"), HTTP_ACCEPT_LANGUAGE="en"))

    assert "500.000 ₫" in text and "12,50 USD" in text and "1 USD = 25.000 ₫" in text
    assert "500000.00" not in text and not RAW_NUMBER.findall(text)
