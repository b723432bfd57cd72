"""The site's edge, in the browser: private pages are not stored by shared caches, one integer
rule on the order forms, a rate-limited password reset, and an admin that says what price a
fixed price below cost will really charge before saving it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Service
from orders.models import Order
from tests.factories import make_customer, make_order, make_service, make_staff

from .conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.axes,  # logins go through the real forms (axes refuses them when off)
    pytest.mark.django_db(transaction=True),
]

LINK = "https://tiktok.com/@user/video/123"


def test_signed_in_pages_are_private_and_never_stored(open_tab: Any) -> None:
    customer = make_customer(username="an", password=PASSWORD, balance=Decimal("100000"))
    order = make_order(user=customer, charge=Decimal("4900"))
    tab = open_tab("customer")
    tab.login("an", PASSWORD)
    pages = ["/", f"/orders/{order.pk}/", "/transactions/", "/topup/"]
    for path in pages:
        response = tab.goto(path)
        directives = {part.strip() for part in response.headers["cache-control"].split(",")}
        assert {"private", "no-store"} <= directives, (path, directives)
    # the orders list's status fragment, as the page's script fetches it
    fragment = tab.page.context.request.get(tab.url(f"/orders/status/?ids={order.pk}"))
    assert fragment.ok
    directives = {part.strip() for part in fragment.headers["cache-control"].split(",")}
    assert {"private", "no-store"} <= directives, directives


def test_a_quantity_in_other_scripts_digits_is_refused_on_the_mass_order_form(
    open_tab: Any,
) -> None:
    make_customer(username="binh", password=PASSWORD, balance=Decimal("1000000"))
    service = make_service(sell_rate=Decimal("100"), min_quantity=10, max_quantity=10_000)
    tab = open_tab("customer", locale="en-US")
    tab.login("binh", PASSWORD)
    tab.goto("/orders/mass/", "mass")
    tab.page.fill("#id_orders", f"{service.pk}|{LINK}|١٠٠\n{service.pk}|{LINK}|１００")
    with tab.page.expect_navigation():
        tab.page.click("main form button[type=submit]")
    tab.snap("mass-refused")
    assert not Order.objects.exists()
    text = tab.text("main")  # (the customer's saved language is the shop's, Vietnamese)
    assert "Enter a whole number" in text or "Nhập một số nguyên" in text, text


def test_password_resets_are_limited_per_account(
    open_tab: Any, mailoutbox: Any, settings: Any
) -> None:
    # (the per-address limit, which answers 429, is tested in tests/billing/test_accounts.py)
    settings.PASSWORD_RESET_RATE_LIMIT_PER_MINUTE = 100
    make_customer(username="chi", email="chi@example.com", password=PASSWORD)
    tab = open_tab("visitor")
    for n in range(8):
        tab.goto("/accounts/password_reset/", f"reset-{n}")
        tab.page.fill("#id_email", "chi@example.com")
        with tab.page.expect_navigation():
            tab.page.click("main form button[type=submit]")
    tab.snap("reset-last")
    # a few e-mails (the per-account limit), never one per request
    assert 1 <= len(mailoutbox) <= 3


def test_the_admin_says_what_a_fixed_price_below_cost_will_charge_before_saving(
    open_tab: Any,
) -> None:
    make_staff(username="boss", password=PASSWORD, superuser=True)
    service = make_service(cost_rate=Decimal("100"), sell_rate=Decimal("130"))
    tab = open_tab("staff", locale="en-US")
    tab.admin_login("boss")
    tab.goto(f"/admin/catalog/service/{service.pk}/change/", "service")
    tab.page.fill("#id_fixed_rate", "50")
    with tab.page.expect_navigation():
        tab.page.click("input[name=_save]")
    tab.snap("below-cost-explained")
    # then nothing is saved yet, and the page says the price customers will be charged, and why
    service.refresh_from_db()
    assert service.fixed_rate is None and service.sell_rate == Decimal("130")
    explained = tab.text(".field-fixed_rate")
    assert "below the cost" in explained and "charged 105" in explained, explained
    # when the admin confirms, it is saved with that price
    tab.page.check("#id_confirm_price")
    with tab.page.expect_navigation():
        tab.page.click("input[name=_save]")
    service = Service.objects.get(pk=service.pk)
    assert service.fixed_rate == Decimal("50") and service.sell_rate == Decimal("105")
