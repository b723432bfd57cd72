"""VIP packages: progress in posts or days from the package counters, never from `remains`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from catalog.models import Service
from orders.models import Order, OrderKind, OrderState
from orders.polling import orders_poll
from orders.selectors import order_row, package_progress
from panel.api_v2 import order_status_row

DAY = 86400


@pytest.fixture
def browser(client: Any, customer: Any) -> Any:
    client.force_login(customer)
    return client


def _package(**extra: Any) -> Order:
    return Order(
        service=Service(refill=False, cancel=False),
        kind=OrderKind.PACKAGE,
        quantity=50,
        remains=0,
        state=OrderState.PLACED,
        upstream_status="In progress",
        extra=extra,
    )


def test_a_post_based_package_counts_posts_not_units() -> None:
    # given a post-based package the upstream reports with remains 0 (as it always does)
    order = _package(total_posts=30, completed_posts=12, days_left=18)

    # when its row is computed
    row = order_row(order, open_refill=False, cancel_asked=False)

    # then the bar is 12 of 30 posts (40 %), not 50 of 50 units
    assert row.package is not None and row.package.bar == (12, 30)
    assert row.percent == 40 and row.delivered == 0
    assert row.package.label == "12 / 30 posts · 18 days left"


def test_a_time_based_package_of_unknown_length_has_no_bar() -> None:
    # given a time-based package: the upstream tells days left and today's posts, not its length
    progress = package_progress(_package(days_left=25, daily_post_limit=5, daily_progress=2))

    # then there is no bar (and no percentage) to mislead, only the days and today's posts
    assert progress is not None and progress.bar is None and progress.percent is None
    assert progress.label == "25 days left · 2 / 5 posts today"


def test_a_time_based_package_of_known_length_shows_the_days_gone() -> None:
    # given staff recorded the package's length in its details
    progress = package_progress(_package(days_left=25, package_days=30, daily_post_limit=5))

    # then the bar is the days gone out of the package's days
    assert progress is not None and progress.bar == (5, 30) and progress.percent == 17


def test_a_package_not_reported_yet_says_so_and_other_kinds_have_no_package() -> None:
    assert package_progress(_package()).label == "Waiting for the first report"  # type: ignore[union-attr]
    assert package_progress(Order(kind=OrderKind.DEFAULT, quantity=10, extra={})) is None


def test_the_pages_show_the_posts_of_a_running_package_and_the_api_is_unchanged(
    browser: Any, place: Any, sandbox: Any
) -> None:
    # given a post-based package (30 posts) running for two days: one post done
    order = place(213, link="https://facebook.com/page2", quantity=50)
    sandbox.advance(2 * DAY)
    orders_poll()
    order.refresh_from_db()
    assert order.state == OrderState.PLACED and order.remains == 0

    # when the customer looks at the list, the detail and the live status
    listing = browser.get(reverse("orders:list")).content.decode()
    detail = browser.get(reverse("orders:detail", args=[order.pk])).content.decode()
    fragment = json.loads(
        browser.get(reverse("orders:status_fragment"), {"ids": str(order.pk)}).content
    )["orders"][str(order.pk)]

    # then they show 1 of 30 posts, never the misleading 50 / 50
    for page in (listing, detail):
        assert "1 / 30 posts" in page and 'max="30" value="1"' in page
        assert 'max="50" value="50"' not in page
    assert fragment["package"] == {
        "label": "1 / 30 posts · 29 days left",
        "value": 1,
        "max": 30,
        "percent": 3,
    }
    # and the reseller API still answers with the upstream's own fields
    assert order_status_row(order) | {"charge": None} == {
        "charge": None,
        "start_count": "0",
        "status": "In progress",
        "remains": "0",
        "currency": "VND",
        "total_posts": 30,
        "completed_posts": 1,
        "days_Left": 29,
    }
