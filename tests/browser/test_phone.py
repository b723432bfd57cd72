"""The site on a phone: the topbar collapses into a menu, tables become cards."""

from __future__ import annotations

from typing import Any

import pytest

from orders.placing import order_place
from tests.factories import make_customer, synced_catalog

from .conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.axes,
    pytest.mark.vietnamese,  # the shop's real default language, as its customers see it
    pytest.mark.django_db(transaction=True),
]


def test_the_dashboard_and_the_orders_list_fit_a_phone(open_tab: Any, sandbox: Any) -> None:
    services = synced_catalog()
    customer = make_customer(
        username="bao_chau", email="bc@example.com", password=PASSWORD, balance="500000"
    )
    for upstream_id, quantity in ((101, 1000), (104, 500), (112, 2000)):
        order_place(
            user=customer,
            service_id=services[upstream_id].pk,
            link="https://tiktok.com/@bc/video/1",
            quantity=quantity,
        )

    tab = open_tab("phone", phone=True, paused_clock=True)
    page = tab.page
    tab.login("bao_chau")
    tab.goto("/", "dashboard-phone")

    # Nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # The menu is closed; the balance stays in sight; the burger opens the menu.
    assert page.locator("#site-nav").is_hidden()
    assert page.locator("[data-testid=balance]").is_visible()
    page.click("[data-nav-toggle]")
    assert page.locator("#site-nav").is_visible()
    assert page.get_attribute("[data-nav-toggle]", "aria-expanded") == "true"
    tab.snap("menu-open-phone")
    page.click("[data-nav-toggle]")
    assert page.locator("#site-nav").is_hidden()

    # The orders list: one card per order, each value labelled, no table header.
    tab.goto("/orders/", "orders-list-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("table.responsive thead").is_hidden()
    rows = page.locator("table.responsive tbody tr")
    assert rows.count() == 3
    first = rows.first.bounding_box()
    assert first is not None and first["width"] <= 390 and first["height"] > 150
    label = page.evaluate(
        "getComputedStyle(document.querySelector('table.responsive td[data-label]'), '::before')"
        ".content"
    )
    assert label not in ("none", "normal", '""')

    # A tablet held sideways: the topbar is still folded, the list is a table again, nothing
    # overflows.
    page.set_viewport_size({"width": 960, "height": 1100})
    tab.goto("/orders/", "orders-list-tablet")
    assert page.evaluate("document.documentElement.scrollWidth") <= 960
    assert page.locator("table.responsive thead").is_visible()
    assert page.locator("#site-nav").is_hidden()

    # The narrowest desktop: every link in one row of the topbar.
    page.set_viewport_size({"width": 1080, "height": 900})
    tab.goto("/orders/", "orders-list-narrow-desktop")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1080
    assert page.locator("#site-nav").is_visible()
    topbar = page.locator(".topbar").bounding_box()
    assert topbar is not None and topbar["height"] < 70, topbar
