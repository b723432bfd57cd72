"""Issue 11, item 1: the order form and mass order never charge more than the price on the page
the customer submitted; a price that rose since is refused with the new price, and asked again."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from orders.errors import OrderRejected
from orders.models import Order
from orders.placing import order_place, orders_place_mass

from .helpers import balance_of

LINK = "https://tiktok.com/@user/video/123"


@pytest.fixture
def browser(client: Any, customer: Any) -> Any:
    client.force_login(customer)
    return client


def _raise_price(service: Any, rate: str) -> None:
    service.sell_rate = Decimal(rate)
    service.save(update_fields=["sell_rate"])


def test_order_place_refuses_a_price_above_the_one_shown_and_charges_nothing(
    customer: Any, catalog: Any
) -> None:
    service = catalog[101]
    shown = service.sell_rate
    _raise_price(service, str(shown + 1))
    before = balance_of(customer)
    with pytest.raises(OrderRejected) as refused:
        order_place(user=customer, service_id=service.pk, link=LINK, quantity=1000, max_rate=shown)
    assert refused.value.code == "price_changed"
    assert refused.value.message.startswith(f"Price changed to {shown + 1:.4f} per 1000")
    assert balance_of(customer) == before and not Order.objects.exists()


def test_order_place_accepts_the_price_shown_or_a_lower_one(customer: Any, catalog: Any) -> None:
    service = catalog[101]
    shown = service.sell_rate
    _raise_price(service, str(shown - 1))
    order = order_place(
        user=customer, service_id=service.pk, link=LINK, quantity=1000, max_rate=f"{shown}"
    )
    assert order.rate == shown - 1


def test_the_form_carries_the_prices_it_showed_and_asks_again_when_one_rose(
    browser: Any, customer: Any, catalog: Any
) -> None:
    service = catalog[101]
    page = browser.get(reverse("orders:new"), {"service": service.pk})
    shown_rates = page.context["listing"].rates_text
    assert f'name="shown_rates" value="{shown_rates}"' in page.content.decode()
    assert f"{service.pk}:{service.sell_rate:.4f}" in shown_rates.split(",")
    form = {
        "service": service.pk,
        "link": LINK,
        "quantity": "1000",
        "request_key": "k1",
        "shown_rates": shown_rates,
    }
    new_rate = service.sell_rate * 2
    _raise_price(service, str(new_rate))
    before = balance_of(customer)

    refused = browser.post(reverse("orders:new"), form)
    assert refused.status_code == 200 and not Order.objects.exists()
    assert balance_of(customer) == before
    html = refused.content.decode()
    assert "rose to" in html and "Check the new price" in html
    # The page now shows (and carries) the new price: placing it again is a deliberate choice.
    new_rates = refused.context["listing"].rates_text
    assert f"{service.pk}:{new_rate:.4f}" in new_rates.split(",")
    placed = browser.post(reverse("orders:new"), {**form, "shown_rates": new_rates})
    assert placed.status_code == 302
    assert Order.objects.get().rate == new_rate


def test_the_form_refuses_a_service_whose_price_it_never_showed(browser: Any, catalog: Any) -> None:
    form = {
        "service": catalog[101].pk,
        "link": LINK,
        "quantity": "1000",
        "shown_rates": f"{catalog[102].pk}:{catalog[102].sell_rate}",
    }
    response = browser.post(reverse("orders:new"), form)
    assert response.status_code == 200 and not Order.objects.exists()
    assert "Check the prices" in response.content.decode()


def test_mass_order_never_charges_above_the_prices_it_showed(
    browser: Any, customer: Any, catalog: Any
) -> None:
    cheap, dear = catalog[101], catalog[104]
    text = f"{cheap.pk}|{LINK}|1000\n{dear.pk}|https://tiktok.com/@x/video/9|1000"
    preview = browser.post(reverse("orders:mass"), {"orders": text}).context["preview"]
    assert preview.valid == 2 and not Order.objects.exists()
    _raise_price(dear, str(dear.sell_rate + Decimal("0.5")))

    response = browser.post(
        reverse("orders:mass"), {"orders": text, "rates": preview.rates_text, "confirm": "1"}
    )
    first, second = response.context["results"]
    assert first.order is not None and first.order.rate == cheap.sell_rate
    assert second.order is None and "rose to" in (second.display or "")
    assert Order.objects.count() == 1


def test_mass_order_refuses_a_line_whose_service_was_not_shown(customer: Any, catalog: Any) -> None:
    results = orders_place_mass(
        user=customer,
        text=f"{catalog[101].pk}|{LINK}|1000",
        max_rates={catalog[102].pk: catalog[102].sell_rate},
    )
    assert results[0].order is None and results[0].error == "Price not confirmed for this service"
