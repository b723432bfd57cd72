"""Tracking: batches of 200, defensive statuses, refunds exactly once, drip-feed and VIP details."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Profile
from billing.models import EntryKind, LedgerEntry
from orders.models import Order, OrderKind, OrderState
from orders.polling import orders_poll
from tests.factories import placed_upstream_orders

from .helpers import assert_state, balance_of

LINK = "https://tiktok.com/@user/video/123"
LATER = 3 * 86400  # every sandbox order of these tests has ended by then


def refunds(order: Order) -> list[Decimal]:
    return list(
        LedgerEntry.objects.filter(order=order, kind=EntryKind.REFUND).values_list(
            "amount", flat=True
        )
    )


def test_a_completed_order_keeps_start_count_remains_and_cost(
    sandbox: Any, place: Any, customer: Any
) -> None:
    order = place(101, link=LINK, quantity=1000)
    before = balance_of(customer)
    sandbox.advance(LATER)
    orders_poll()
    assert_state(order, OrderState.COMPLETED)
    upstream = sandbox.orders[order.upstream_id]
    assert order.start_count == upstream.start_count > 0
    assert order.remains == 0
    assert order.cost == upstream.charge == Decimal("3700")
    assert order.upstream_status == "Completed" and order.finished_at
    assert balance_of(customer) == before and refunds(order) == []


def test_progress_is_kept_while_the_order_runs(sandbox: Any, place: Any) -> None:
    order = place(104, link=LINK, quantity=1000)  # 180 minutes per 1000
    sandbox.advance(60 + 90 * 60)
    orders_poll()
    assert_state(order, OrderState.PLACED)
    assert order.upstream_status == "In progress"
    assert 0 < order.remains < 1000


def test_a_partial_order_is_refunded_once_by_its_remains_when_polled_twice(
    sandbox: Any, place: Any, customer: Any
) -> None:
    # given an order of 1000 that the upstream ends Partial with 400 not delivered
    order = place(101, link=LINK, quantity=1000)
    sandbox.set_fate(order.upstream_id, status="Partial", remains=400)
    before = balance_of(customer)
    sandbox.advance(LATER)
    # when it is polled twice
    orders_poll()
    orders_poll()
    # then it is partial and 400 x the unit price came back, once
    assert_state(order, OrderState.PARTIAL)
    assert order.remains == 400
    expected = (order.charge * 400 / 1000).quantize(Decimal("0.01"))
    assert refunds(order) == [expected]
    assert balance_of(customer) == before + expected


def test_a_refund_is_never_repeated_even_if_the_order_were_polled_as_open_again(
    sandbox: Any, place: Any, customer: Any
) -> None:
    order = place(101, link=LINK, quantity=1000)
    sandbox.set_fate(order.upstream_id, status="Partial", remains=400)
    sandbox.advance(LATER)
    orders_poll()
    after_first = balance_of(customer)
    # a bug (or a person) forcing the row back to placed must not pay twice
    Order.objects.filter(pk=order.pk).update(state=OrderState.PLACED)
    orders_poll()
    assert balance_of(customer) == after_first
    assert len(refunds(order)) == 1


def test_a_canceled_order_is_refunded_in_full_once(sandbox: Any, place: Any, customer: Any) -> None:
    order = place(101, link=LINK, quantity=1000)
    sandbox.set_fate(order.upstream_id, status="Canceled")
    before = balance_of(customer)
    sandbox.advance(LATER)
    orders_poll()
    orders_poll()
    assert_state(order, OrderState.CANCELED)
    assert refunds(order) == [order.charge]
    assert balance_of(customer) == before + order.charge


def test_polling_450_open_orders_makes_exactly_3_status_calls(
    sandbox: Any, customer: Any, catalog: Any
) -> None:
    # given 450 orders placed upstream (created directly: the placing path is tested elsewhere)
    placed_upstream_orders(
        sandbox, user=customer, service=catalog[101], count=450, keys="k", link=LINK
    )
    sandbox.advance(60 + 30)
    # when they are polled
    result = orders_poll()
    # then in 3 calls of at most 200 ids each, and every order saw its progress
    calls = sandbox.calls_of("status")
    assert len(calls) == 3
    assert sorted(len(call["orders"].split(",")) for call in calls) == [50, 200, 200]
    assert result.updated == 450
    assert Order.objects.filter(upstream_status="In progress").count() == 450


def test_an_order_not_found_upstream_touches_only_that_order(sandbox: Any, place: Any) -> None:
    good = place(101, link=LINK, quantity=1000)
    lost = place(101, link=LINK + "?2", quantity=1000)
    Order.objects.filter(pk=lost.pk).update(upstream_id=99_999_999)
    sandbox.advance(LATER)
    result = orders_poll()
    assert result.item_errors == 1
    assert_state(good, OrderState.COMPLETED)
    assert_state(lost, OrderState.PLACED)
    assert lost.extra["poll_error"] == "Order not found"


def test_a_batch_whose_call_fails_changes_nothing_and_is_retried_next_cycle(
    sandbox: Any, place: Any
) -> None:
    order = place(101, link=LINK, quantity=1000)
    sandbox.advance(LATER)
    sandbox.inject_fault("status", "http_500_html")
    result = orders_poll()
    assert result.failed_batches == 1
    assert_state(order, OrderState.PLACED)
    assert order.remains is None and order.upstream_status == "Pending"
    orders_poll()
    assert_state(order, OrderState.COMPLETED)


@pytest.mark.parametrize("fault", ["malformed_json", "truncated_json"])
def test_an_unreadable_batch_changes_nothing(sandbox: Any, place: Any, fault: str) -> None:
    order = place(101, link=LINK, quantity=1000)
    sandbox.advance(LATER)
    sandbox.inject_fault("status", fault)
    assert orders_poll().failed_batches == 1
    assert_state(order, OrderState.PLACED)


def test_an_unknown_status_word_leaves_the_order_as_it_was_and_is_logged(
    sandbox: Any, place: Any, caplog: Any
) -> None:
    order = place(101, link=LINK, quantity=1000)
    sandbox.advance(LATER)
    sandbox.inject_fault("status", "unknown_status", word="Stuck in queue")
    result = orders_poll()
    assert result.unknown == 1
    assert_state(order, OrderState.PLACED)
    assert order.upstream_status == "Pending" and order.remains is None
    assert "Stuck in queue" in caplog.text


def test_status_words_in_odd_spellings_are_understood(sandbox: Any, place: Any) -> None:
    order = place(101, link=LINK, quantity=1000)
    sandbox.advance(LATER)
    sandbox.inject_fault("status", "unknown_status", word="COMPLETED ")
    orders_poll()
    assert_state(order, OrderState.COMPLETED)


def test_remains_out_of_range_are_clamped_to_the_quantity(sandbox: Any, place: Any) -> None:
    order = place(104, link=LINK, quantity=1000)
    sandbox.advance(600)
    sandbox.inject_fault("status", "remains_out_of_range", remains=-5)
    orders_poll()
    order.refresh_from_db()
    assert order.remains == 0
    sandbox.inject_fault("status", "remains_out_of_range", remains=5000)
    orders_poll()
    order.refresh_from_db()
    assert order.remains == 1000


def test_a_poll_batch_runs_a_constant_number_of_queries(
    sandbox: Any, customer: Any, catalog: Any
) -> None:
    def queries_for(count: int) -> int:
        Order.objects.all().delete()
        placed_upstream_orders(
            sandbox, user=customer, service=catalog[101], count=count, keys=f"q{count}-", link=LINK
        )
        sandbox.advance(90)  # all in progress, none finished
        with CaptureQueriesContext(connection) as captured:
            result = orders_poll()
        assert result.updated == count
        return len(captured.captured_queries)

    assert queries_for(5) == queries_for(60)


def test_a_dripfeed_is_refunded_for_what_its_runs_did_not_deliver(
    sandbox: Any, place: Any, customer: Any
) -> None:
    # given a drip-feed of 3 runs x 100, each run ending Partial with 40 not delivered
    order = place(102, link=LINK, quantity=100, runs=3, interval=10)
    sandbox.set_fate(order.upstream_id, status="Partial", remains=40)
    before = balance_of(customer)
    # when it is followed while the runs start, and after they all ended
    sandbox.advance(5 * 60)
    orders_poll()
    assert_state(order, OrderState.PLACED)
    assert order.upstream_status == "In progress"
    assert len(order.extra["orders"]) == 1
    sandbox.advance(LATER)
    orders_poll()
    # then the runs are shown, and the refund follows the 120 of 300 not delivered
    assert_state(order, OrderState.PARTIAL)
    assert len(order.extra["children"]) == 3
    assert {child["status"] for child in order.extra["children"]} == {"Partial"}
    assert order.remains == 120
    expected = (order.charge * 120 / 300).quantize(Decimal("0.01"))
    assert refunds(order) == [expected]
    assert balance_of(customer) == before + expected


def test_a_dripfeed_whose_runs_all_completed_is_completed_without_refund(
    sandbox: Any, place: Any
) -> None:
    order = place(102, link=LINK, quantity=100, runs=2, interval=5)
    sandbox.advance(LATER)
    orders_poll()
    assert_state(order, OrderState.COMPLETED)
    assert order.kind == OrderKind.DRIPFEED and order.remains == 0
    assert refunds(order) == []
    assert order.cost == sum(Decimal(c["charge"]) for c in order.extra["children"])


def test_vip_package_details_are_kept(sandbox: Any, place: Any) -> None:
    time_based = place(212, link="https://facebook.com/page", quantity=50)
    post_based = place(213, link="https://facebook.com/page2", quantity=50)
    sandbox.advance(2 * 86400)
    orders_poll()
    time_based.refresh_from_db()
    post_based.refresh_from_db()
    upstream = sandbox.handle(
        {"key": sandbox.key, "action": "status", "order": str(time_based.upstream_id)}
    )
    assert time_based.extra["daily_post_limit"] == 5
    assert time_based.extra["days_left"] == upstream["days_Left"] == 29
    assert time_based.extra["daily_progress"] == upstream["daily_Progress"]
    assert post_based.extra["total_posts"] == 30 and post_based.extra["completed_posts"] == 1
    assert post_based.state == OrderState.PLACED and post_based.upstream_status == "In progress"


def test_the_customer_is_emailed_when_asked_to(
    sandbox: Any, place: Any, customer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given defaults: no mail on completion, mail on partial
    completed = place(101, link=LINK, quantity=1000)
    partial = place(101, link=LINK + "?p", quantity=1000)
    sandbox.set_fate(partial.upstream_id, status="Partial", remains=100)
    sandbox.advance(LATER)
    with django_capture_on_commit_callbacks(execute=True):
        orders_poll()
    assert_state(completed, OrderState.COMPLETED)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert f"#{partial.pk}" in mail.outbox[0].subject


def test_a_failing_mail_server_never_stops_the_poll(
    sandbox: Any,
    place: Any,
    customer: Any,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    Profile.objects.filter(user=customer).update(notify_completed=True)
    order = place(101, link=LINK, quantity=1000)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
    sandbox.advance(LATER)
    with django_capture_on_commit_callbacks(execute=True):
        orders_poll()
    assert_state(order, OrderState.COMPLETED)
