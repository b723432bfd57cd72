"""The customer's pages: forms, lists, live progress, and nobody reaching another's orders."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import CancelRequest, Order, OrderState, RefillRequest
from orders.polling import orders_poll

from .helpers import assert_state, balance_of

LINK = "https://tiktok.com/@user/video/123"
LATER = 3 * 86400


@pytest.fixture
def browser(client: Any, customer: Any) -> Any:
    client.force_login(customer)
    return client


@pytest.mark.parametrize(
    "name", ["orders:new", "orders:mass", "orders:list", "orders:refills", "dashboard"]
)
def test_pages_need_a_login(client: Any, db: None, name: str) -> None:
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("query", [{}, {"service": ""}, {"service": "abc"}, {"service": "999999"}])
def test_the_new_order_page_opens_without_a_chosen_service(
    browser: Any, catalog: Any, query: dict[str, str]
) -> None:
    """The nav links to the bare page: with nothing (or nothing valid) chosen it still renders."""
    response = browser.get(reverse("orders:new"), query)
    assert response.status_code == 200
    assert 'name="service"' in response.content.decode()


def test_the_new_order_form_describes_the_chosen_service(browser: Any, catalog: Any) -> None:
    service = catalog[102]
    response = browser.get(reverse("orders:new"), {"service": service.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        f'data-service-card data-id="{service.pk}" data-type="Default" '
        f'data-rate="{service.sell_rate}"'
    ) in html
    assert 'data-min="50" data-max="50000" data-dripfeed="1"' in html
    assert f'<option value="{service.pk}" data-rate="{service.sell_rate}" selected>' in html
    assert "static/js/orders.js" in html
    assert "<script>" not in html and 'style="' not in html


def test_placing_from_the_browser_charges_and_shows_the_order(
    browser: Any, sandbox: Any, customer: Any, catalog: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = balance_of(customer)
    form = {"service": catalog[101].pk, "link": LINK, "quantity": "1000", "request_key": "abc"}
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(reverse("orders:new"), form)
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "orders:detail", args=[order.pk]
    )
    assert balance_of(customer) == before - order.charge
    assert order.state == OrderState.PLACED
    # a double click sends the same form again: still one order
    browser.post(reverse("orders:new"), form)
    assert Order.objects.count() == 1


def test_a_refused_order_shows_the_error_next_to_the_field_and_charges_nothing(
    browser: Any, customer: Any, catalog: Any
) -> None:
    before = balance_of(customer)
    response = browser.post(
        reverse("orders:new"), {"service": catalog[101].pk, "link": LINK, "quantity": "5"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["quantity"] == ["The quantity must be at least 20."]
    assert balance_of(customer) == before
    assert not Order.objects.exists()


def test_a_dripfeed_from_the_browser_needs_the_checkbox(
    browser: Any, catalog: Any, customer: Any
) -> None:
    response = browser.post(
        reverse("orders:new"),
        {
            "service": catalog[102].pk,
            "link": LINK,
            "quantity": "100",
            "dripfeed": "on",
            "runs": "100",
            "interval": "30",
        },
    )
    assert "interval" in response.context["form"].errors
    response = browser.post(
        reverse("orders:new"),
        {
            "service": catalog[102].pk,
            "link": LINK,
            "quantity": "100",
            "runs": "100",
            "interval": "30",
        },
    )
    assert response.status_code == 302
    assert Order.objects.get().runs is None  # the unchecked drip-feed fields are ignored


def test_the_mass_order_page_reports_every_line(browser: Any, catalog: Any) -> None:
    text = f"{catalog[101].pk}|{LINK}|100\nnonsense\n{catalog[101].pk}|ftp://x|100"
    # First the lines are priced and nothing is placed; then the customer confirms.
    response = browser.post(reverse("orders:mass"), {"orders": text})
    assert response.context["results"] is None and not Order.objects.exists()
    preview = response.context["preview"]
    assert preview.valid == 1 and preview.total == preview.lines[0].charge
    response = browser.post(
        reverse("orders:mass"), {"orders": text, "rates": preview.rates_text, "confirm": "1"}
    )
    results = response.context["results"]
    assert [r.line for r in results] == [1, 2, 3]
    assert results[0].order and not results[1].order and not results[2].order
    html = response.content.decode()
    assert "Write service_id|link|quantity." in html and "Enter a valid http://" in html


def test_the_list_shows_only_the_customers_own_orders_with_filters_and_search(
    browser: Any, place: Any, other_customer: Any, sandbox: Any
) -> None:
    mine = place(101, link=LINK, quantity=1000)
    done = place(101, link="https://facebook.com/post/9", quantity=1000)
    theirs = place(101, link=LINK, quantity=1000, user=other_customer)
    Order.objects.filter(pk=done.pk).update(state=OrderState.COMPLETED)

    def ids(**params: str) -> set[int]:
        response = browser.get(reverse("orders:list"), params)
        return {row.order.pk for row in response.context["rows"]}

    assert ids() == {mine.pk, done.pk}
    assert theirs.pk not in ids()
    assert ids(status="Completed") == {done.pk}
    assert ids(status="Pending") == {mine.pk}
    assert ids(q="facebook.com") == {done.pk}
    assert ids(q=f"#{mine.pk}") == {mine.pk}
    assert theirs.pk not in ids(q=str(theirs.pk))


def test_the_list_runs_a_constant_number_of_queries(browser: Any, place: Any, sandbox: Any) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = browser.get(reverse("orders:list"))
        assert response.status_code == 200
        return len(captured.captured_queries)

    for n in range(2):
        place(104, link=f"{LINK}?{n}", quantity=1000)
    few = queries()
    for n in range(2, 20):
        place(104 if n % 2 else 101, link=f"{LINK}?{n}", quantity=1000)
    assert queries() == few


def test_the_status_fragment_updates_rows_and_never_leaks_another_customers_order(
    browser: Any, place: Any, other_customer: Any, sandbox: Any
) -> None:
    mine = place(101, link=LINK, quantity=1000)
    theirs = place(101, link=LINK, quantity=1000, user=other_customer)
    sandbox.advance(LATER)
    orders_poll()
    response = browser.get(reverse("orders:status_fragment"), {"ids": f"{mine.pk},{theirs.pk},x"})
    body = json.loads(response.content)
    assert list(body["orders"]) == [str(mine.pk)]
    row = body["orders"][str(mine.pk)]
    assert row["status"] == "Completed" and row["final"] is True
    assert row["delivered"] == row["quantity"] == 1000
    assert row["can_refill"] is True and row["can_cancel"] is False


def test_the_detail_page_shows_history_and_never_upstream_ids(
    browser: Any, place: Any, sandbox: Any
) -> None:
    order = place(212, link="https://facebook.com/page", quantity=50)
    sandbox.advance(86400)
    orders_poll()
    response = browser.get(reverse("orders:detail", args=[order.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Accepted by the provider" in html and "Paid and waiting to be sent" in html
    assert "Days left" in html and "Posts today" in html
    order.refresh_from_db()
    assert str(order.upstream_id) not in html


def test_a_failed_order_shows_its_reason_in_plain_words(
    browser: Any, place: Any, sandbox: Any
) -> None:
    sandbox.remove_service(101)
    order = place(101, link=LINK, quantity=1000)
    response = browser.get(reverse("orders:detail", args=[order.pk]))
    assert "The provider no longer offers this service." in response.content.decode()
    assert response.context["row"].status == "Canceled"


def test_another_customers_order_is_a_404_everywhere(
    browser: Any, place: Any, other_customer: Any, sandbox: Any
) -> None:
    theirs = place(104, link=LINK, quantity=1000, user=other_customer)
    Order.objects.filter(pk=theirs.pk).update(state=OrderState.COMPLETED)
    for name in ("orders:detail",):
        assert browser.get(reverse(name, args=[theirs.pk])).status_code == 404
    for name in ("orders:refill", "orders:cancel"):
        assert browser.post(reverse(name, args=[theirs.pk])).status_code == 404
    assert not RefillRequest.objects.exists() and not CancelRequest.objects.exists()


def test_refill_and_cancel_buttons_act_on_the_customers_order(
    browser: Any, place: Any, customer: Any, sandbox: Any
) -> None:
    queued = place(104, link=LINK, quantity=1000, forward=False)
    before = balance_of(customer)
    response = browser.post(
        reverse("orders:cancel", args=[queued.pk]), {"next": reverse("orders:list")}
    )
    assert response.status_code == 302 and response["Location"] == reverse("orders:list")
    assert_state(queued, OrderState.CANCELED)
    assert balance_of(customer) == before + queued.charge

    done = place(101, link=LINK, quantity=1000)
    sandbox.advance(LATER)
    orders_poll()
    response = browser.post(
        reverse("orders:refill", args=[done.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("orders:detail", args=[done.pk])
    assert RefillRequest.objects.filter(order=done).count() == 1
    # asking again shows the refusal instead of a second request
    response = browser.post(reverse("orders:refill", args=[done.pk]), follow=True)
    assert "A refill was already asked for." in response.content.decode()
    assert RefillRequest.objects.filter(order=done).count() == 1
    page = browser.get(reverse("orders:refills"))
    assert [refill.order_id for refill, _status in page.context["rows"]] == [done.pk]


def test_the_dashboard_shows_balance_statuses_spending_and_slow_services(
    browser: Any, place: Any, customer: Any, sandbox: Any
) -> None:
    place(101, link=LINK, quantity=1000)
    response = browser.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.context["counts"]["Pending"] == 1
    assert response.context["spent_total"] == Decimal("5550")
    assert sum(1 for bar in response.context["chart"] if bar["height"] > 0) == 1
    html = response.content.decode()
    assert 'data-testid="spending-chart"' in html and "<rect" in html
    slow = {service.upstream_id for service in response.context["slow_services"]}
    assert slow == {103, 105, 202, 206, 304, 403}
