"""Issue 15: ordering as customers of the best panels expect. The picker's lists, the service
card (with the panel's own average completion time), the same-link guard in the form and the
API, the missing-amount message with its top-up link, favourites, and the header's language."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from billing.services import TOPUP_MIN_AMOUNT
from catalog.models import FavouriteService
from orders import picker
from orders.models import Order, OrderKind, OrderState
from orders.stats import MIN_SAMPLE, completion_times
from panel.money import format_vnd
from tests.api.conftest import send
from tests.factories import make_customer_with_key, make_order, make_service

from .helpers import balance_of

LINK = "https://tiktok.com/@user/video/123"


@pytest.fixture
def browser(client: Any, customer: Any) -> Any:
    client.force_login(customer)
    return client


def _completed(
    user: Any, service: Any, minutes: int, *, ago: timedelta = timedelta(days=1), **fields: Any
) -> Order:
    """A completed order that took `minutes` from placing to completion, `ago` before now."""
    order = make_order(user=user, service=service, charge="1", **fields)
    finished = timezone.now() - ago
    Order.objects.filter(pk=order.pk).update(
        state=fields.get("state", OrderState.COMPLETED),
        created_at=finished - timedelta(minutes=minutes),
        finished_at=finished,
    )
    return order


# --------------------------------------------------------------------------- average time


def test_the_average_time_is_measured_from_the_panels_own_completed_orders(
    customer: Any,
) -> None:
    service = make_service(avg_time_min=999)
    for minutes in (10, 20, 30, 40, 50):  # average 30 min over 5 orders
        _completed(customer, service, minutes)
    # Not counted: too old, not completed, a drip-feed (its intervals are not delivery time).
    _completed(customer, service, 5000, ago=timedelta(days=45))
    _completed(customer, service, 3000, state=OrderState.PARTIAL)
    _completed(customer, service, 2000, kind=OrderKind.DRIPFEED, runs=2, interval=600)

    time = completion_times([service])[service.pk]
    assert time.measured and time.minutes == 30 and time.sample == 5


def test_too_few_orders_fall_back_to_the_upstreams_figure(customer: Any) -> None:
    service = make_service(avg_time_min=45)
    for minutes in range(MIN_SAMPLE - 1):
        _completed(customer, service, 10 + minutes)
    time = completion_times([service])[service.pk]
    assert not time.measured and time.sample == MIN_SAMPLE - 1
    assert time.upstream_minutes_per_1000 == 45


def test_the_card_says_whose_figure_the_average_time_is(browser: Any, customer: Any) -> None:
    measured = make_service(avg_time_min=999, category="Facebook - Like")
    for minutes in (60, 90, 120, 150, 180):  # 2 h on average
        _completed(customer, measured, minutes)
    fallback = make_service(avg_time_min=45, category="Facebook - Like")

    html = browser.get(reverse("orders:service_card"), {"service": measured.pk}).content.decode()
    assert "2 h: measured here on 5 orders completed in the last 30 days" in html
    html = browser.get(reverse("orders:service_card"), {"service": fallback.pk}).content.decode()
    assert "45 min per 1000, the provider's figure (too few orders here to measure)" in html


def test_the_card_shows_what_the_customer_buys(browser: Any, catalog: Any) -> None:
    service = catalog[101]  # refill 30 days, no cancel, a description with HTML
    response = browser.get(reverse("orders:service_card"), {"service": service.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Yes, 30 days" in html and "<b>Bảo hành</b>" in html
    assert f'data-rate="{service.sell_rate}"' in html
    assert 'data-min="20" data-max="200000"' in html
    package = browser.get(reverse("orders:service_card"), {"service": catalog[212].pk})
    assert "likes on each post of this package" in package.content.decode()


def test_a_card_of_a_service_not_for_sale_is_not_found(browser: Any, catalog: Any) -> None:
    service = catalog[101]
    service.listed = False
    service.save(update_fields=["listed"])
    assert browser.get(reverse("orders:service_card"), {"service": service.pk}).status_code == 404


# --------------------------------------------------------------------------- the picker


def test_the_page_lists_one_category_not_the_whole_catalog(browser: Any, catalog: Any) -> None:
    chosen = catalog[101]
    response = browser.get(reverse("orders:new"), {"service": chosen.pk})
    listed = response.context["listing"].services
    assert chosen in listed and {s.category for s in listed} == {chosen.category}
    assert response.context["category"] == chosen.category
    html = response.content.decode()
    assert f'<option value="{catalog[212].pk}"' not in html  # another category: not shipped
    assert f'value="{catalog[212].category}"' in html  # ... but its category is offered


def test_the_picker_lists_a_category_a_search_or_the_favourites(
    browser: Any, customer: Any, catalog: Any
) -> None:
    url = reverse("orders:picker_services")
    category = browser.get(url, {"category": catalog[212].category}).json()
    assert {s["id"] for s in category["services"]} == {
        s.pk for s in catalog.values() if s.category == catalog[212].category
    }
    assert f"{catalog[212].pk}:{catalog[212].sell_rate:.4f}" in category["rates"].split(",")

    # The search looks at names and categories alike, and at #id.
    by_category = browser.get(url, {"q": "instagram"}).json()["services"]
    assert by_category and all("Instagram" in s["category"] for s in by_category)
    assert [s["id"] for s in browser.get(url, {"q": f"#{catalog[305].pk}"}).json()["services"]] == [
        catalog[305].pk
    ]

    # A star puts the service first in its category, and in the favourites list.
    starred = catalog[104]
    assert browser.post(
        reverse("catalog:favourite", args=[starred.pk]), headers={"Accept": "application/json"}
    ).json() == {"favourite": True}
    listed = browser.get(url, {"category": starred.category}).json()["services"]
    assert listed[0]["id"] == starred.pk and listed[0]["favourite"]
    assert [s["id"] for s in browser.get(url, {"category": "*"}).json()["services"]] == [starred.pk]
    # With favourites and nothing chosen, the page opens on them.
    assert browser.get(reverse("orders:new")).context["category"] == "*"
    browser.post(reverse("catalog:favourite", args=[starred.pk]))
    assert not FavouriteService.objects.exists()


def test_a_long_category_is_cut_and_says_how_many_more(browser: Any, customer: Any) -> None:
    for _ in range(picker.PICKER_MAX + 5):
        make_service(category="YouTube - View")
    body = browser.get(reverse("orders:picker_services"), {"category": "YouTube - View"}).json()
    assert len(body["services"]) == picker.PICKER_MAX and body["more"] == 5


# --------------------------------------------------------------------------- same link


def test_the_form_warns_of_an_open_order_on_the_same_link_and_places_it_when_confirmed(
    browser: Any, place: Any, catalog: Any, sandbox: Any
) -> None:
    first = place(101, link=LINK, quantity=1000)
    check = browser.get(
        reverse("orders:same_link"), {"service": catalog[101].pk, "link": f" {LINK} "}
    ).json()
    assert check == {"order": first.pk}
    form = {"service": catalog[101].pk, "link": LINK, "quantity": "1000"}
    refused = browser.post(reverse("orders:new"), form)
    assert refused.status_code == 200 and Order.objects.count() == 1
    assert f"Order #{first.pk} for this link and service is still in progress" in (
        refused.content.decode()
    )
    placed = browser.post(reverse("orders:new"), {**form, "confirm_same_link": "on"})
    assert placed.status_code == 302 and Order.objects.count() == 2
    # Another service on the same link is not the same order.
    other = browser.get(
        reverse("orders:same_link"), {"service": catalog[104].pk, "link": LINK}
    ).json()
    assert other == {"order": None}


@pytest.mark.parametrize("style", ["form", "json"])
def test_the_api_refuses_a_second_open_order_on_a_link_unless_confirmed(
    client: Any, catalog: Any, settings: Any, style: str
) -> None:
    settings.ORDER_SAME_LINK = "refuse"
    user, key = make_customer_with_key(balance="1000000")
    fields = {
        "key": key,
        "action": "add",
        "service": catalog[101].pk,
        "link": LINK,
        "quantity": "1000",
    }
    first = send(client, style, fields)
    assert "order" in first
    refused = send(client, style, fields)
    assert refused == {
        "error": f"An order for this link and service is still in progress (order "
        f"{first['order']}); send confirm_same_link=1 to place another"
    }
    confirmed = send(client, style, {**fields, "confirm_same_link": "1"})
    assert "order" in confirmed and Order.objects.filter(user=user).count() == 2


def test_the_api_places_it_with_a_warning_when_the_setting_says_warn(
    client: Any, catalog: Any, settings: Any
) -> None:
    settings.ORDER_SAME_LINK = "warn"
    _user, key = make_customer_with_key(balance="1000000")
    fields = {
        "key": key,
        "action": "add",
        "service": catalog[101].pk,
        "link": LINK,
        "quantity": "1000",
    }
    first = send(client, "form", fields)
    second = send(client, "form", fields)
    assert second["order"] != first["order"]
    assert second["warning"] == (
        f"Order {first['order']} for this link and service is still in progress"
    )


# --------------------------------------------------------------------------- money


def test_not_enough_balance_says_how_much_is_missing_with_a_top_up_link(
    client: Any, catalog: Any
) -> None:
    user = make_customer_with_key(balance="10000").user
    client.force_login(user)
    service = catalog[212]  # a VIP package: 50 likes per post cost far more than 10.000 ₫
    form = {"service": service.pk, "link": LINK, "quantity": "50"}
    response = client.post(reverse("orders:new"), form)
    charge = service.sell_rate * 50 / 1000
    missing = (charge - Decimal("10000")).quantize(Decimal("0.01"))
    html = response.content.decode()
    assert response.status_code == 200 and not Order.objects.exists()
    assert f"Not enough balance: you need {format_vnd(missing)} more." in html
    assert f'href="/topup/?amount={missing:.2f}"' in html
    topup = client.get(f"/topup/?amount={missing:.2f}")
    prefilled = max(missing.to_integral_value(rounding=ROUND_CEILING), TOPUP_MIN_AMOUNT)
    assert topup.context["form"].initial["amount"] == f"{prefilled:.0f}"
    assert balance_of(user) == Decimal("10000")


def test_the_top_up_page_ignores_a_nonsense_amount(browser: Any) -> None:
    for raw in ("abc", "-5", "NaN", "1e999"):
        response = browser.get("/topup/", {"amount": raw})
        assert response.status_code == 200
        assert not response.context["form"].initial.get("amount") or raw == "1e999"


# --------------------------------------------------------------------------- language


def test_the_header_language_switch_saves_the_profile_of_a_logged_in_customer(
    browser: Any, customer: Any
) -> None:
    assert Profile.objects.get(user=customer).language == "vi"
    response = browser.post(reverse("set_language"), {"language": "en", "next": "/orders/"})
    assert response.status_code == 302 and response["Location"] == "/orders/"
    assert Profile.objects.get(user=customer).language == "en"
    browser.post(reverse("set_language"), {"language": "xx", "next": "/"})
    assert Profile.objects.get(user=customer).language == "en"


def test_the_language_switch_still_works_for_a_visitor(client: Any, db: None) -> None:
    response = client.post(reverse("set_language"), {"language": "en", "next": "/services/"})
    assert response.status_code == 302 and response.cookies["django_language"].value == "en"


# --------------------------------------------------------------------------- e-mails


@pytest.mark.vietnamese
def test_a_vietnamese_notice_is_fully_translated_with_amounts_as_on_the_site(
    customer: Any, catalog: Any, mailoutbox: Any
) -> None:
    from billing.services import wallet_charge, wallet_refund
    from orders.notices import order_notify

    order = make_order(
        user=customer,
        service=catalog[101],
        charge="27750",
        quantity=5000,
        remains=1250,
        state=OrderState.PARTIAL,
    )
    wallet_charge(user=customer, amount=order.charge, order_id=order.pk, memo="order")
    wallet_refund(amount=Decimal("6937.5"), order_id=order.pk, memo="partial")
    assert order_notify(order_id=order.pk)
    (mail,) = mailoutbox
    assert "Partial" not in mail.body and "Hoàn thành một phần" in mail.body
    assert "5.000" in mail.body and "1.250" in mail.body
    assert format_vnd(Decimal("6937.50")) in mail.body
