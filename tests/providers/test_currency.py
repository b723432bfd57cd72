"""A provider's prices in the shop's currency: converted exactly (Decimal, one rounding) before
any markup rule runs, repriced when staff change the rate, never sold below cost."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from catalog.models import PriceChange, PricingSettings, Provider, Service
from catalog.providers import ProviderError, provider_set_rate
from catalog.services import service_set_markup
from catalog.sync import catalog_sync
from orders.models import OrderState
from orders.polling import orders_poll

from .conftest import Two

DAY = 86400


def test_cost_is_the_providers_price_times_its_rate_exactly(two: Two) -> None:
    two.usd_sandbox.update_service(802, rate="1.2345")
    Provider.objects.filter(pk=two.usd.pk).update(rate=Decimal("25000.5"))
    assert catalog_sync(provider=two.usd).ok
    service = Service.objects.get(provider=two.usd, upstream_id=802)
    assert service.upstream_rate == Decimal("1.2345")
    assert service.cost_rate == Decimal("30863.1173")  # 1.2345 x 25000.5 = 30863.117250
    # the default markup (30 %) runs on the converted cost
    assert PricingSettings.load().default_markup_percent == Decimal("30")
    assert service.sell_rate == Decimal("40122.0525")  # 30863.1173 x 1.3 = 40122.05249


def test_a_new_rate_reprices_that_providers_services_and_no_other(two: Two) -> None:
    vnd_before = Service.objects.get(pk=two.main.pk)
    as_of = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    changed = provider_set_rate(provider_id=two.usd.pk, rate="26000", as_of=as_of)
    assert changed == 2
    usd = Provider.objects.get(pk=two.usd.pk)
    assert (usd.rate, usd.rate_as_of) == (Decimal("26000.000000"), as_of)
    backup = Service.objects.get(pk=two.backup.pk)
    assert backup.cost_rate == Decimal("26000.0000")
    assert backup.sell_rate == Decimal("33800.0000")
    assert set(PriceChange.objects.filter(service=backup).values_list("field", "new_value")) >= {
        ("cost_rate", "26000.0000"),
        ("sell_rate", "33800.0000"),
    }
    vnd_after = Service.objects.get(pk=two.main.pk)
    assert (vnd_after.cost_rate, vnd_after.sell_rate) == (
        vnd_before.cost_rate,
        vnd_before.sell_rate,
    )
    # the next sync keeps the new rate
    assert catalog_sync(provider=two.usd).ok
    assert Service.objects.get(pk=two.backup.pk).cost_rate == Decimal("26000.0000")


def test_never_below_cost_holds_after_conversion(two: Two) -> None:
    # a fixed price that was safe at 25,000 VND per dollar ...
    service_set_markup(
        service_ids=[two.backup.pk], markup_percent=None, fixed_rate=Decimal("27000")
    )
    assert Service.objects.get(pk=two.backup.pk).sell_rate == Decimal("27000.0000")
    # ... is below cost at 28,000: the rule raises it to cost plus the minimum margin (5 %)
    provider_set_rate(provider_id=two.backup.provider_id, rate="28000")
    backup = Service.objects.get(pk=two.backup.pk)
    assert backup.cost_rate == Decimal("28000.0000")
    assert backup.sell_rate >= backup.cost_rate * Decimal("1.05")
    assert backup.flagged


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "1.0000001"])
def test_a_bad_rate_is_refused_and_changes_nothing(two: Two, bad: str) -> None:
    with pytest.raises(ProviderError):
        provider_set_rate(provider_id=two.usd.pk, rate=bad)
    assert Provider.objects.get(pk=two.usd.pk).rate == Decimal("25000")
    assert Service.objects.get(pk=two.backup.pk).cost_rate == Decimal("25000.0000")


def test_the_cost_an_order_reports_is_converted_too(two: Two) -> None:
    two.vnd_sandbox.set_balance("0")
    order = two.place(quantity=100)  # placed at the USD provider: 1.00 USD per 1000
    two.usd_sandbox.advance(DAY)
    orders_poll()
    order.refresh_from_db()
    assert order.state == OrderState.COMPLETED
    assert order.cost == Decimal("2500.00")  # 0.10 USD x 25,000
