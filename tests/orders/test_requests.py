"""Refill and cancel: the rules, round trips in batches, refunds only on the upstream's word."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Profile
from billing.models import EntryKind, LedgerEntry
from orders.customer_requests import (
    cancel_request,
    cancel_request_many,
    refill_request,
    refill_request_many,
)
from orders.errors import OrderRejected, plain_reason
from orders.forwarding import order_forward
from orders.models import CancelRequest, Order, OrderState, RefillRequest
from orders.polling import orders_poll
from orders.request_forwarding import requests_cycle
from tests.factories import placed_upstream_orders

from .helpers import assert_state, balance_of

LINK = "https://tiktok.com/@user/video/123"
LATER = 3 * 86400
R = RefillRequest.State
C = CancelRequest.State


@pytest.fixture
def completed(sandbox: Any, place: Any) -> Any:
    def make(upstream_service: int = 101, **params: Any) -> Order:
        order = place(upstream_service, link=LINK, quantity=1000, **params)
        sandbox.advance(LATER)
        orders_poll()
        assert_state(order, OrderState.COMPLETED)
        return order

    return make


# --- refill ------------------------------------------------------------------------------------


def test_a_refill_goes_upstream_and_is_followed_to_its_end(
    sandbox: Any, completed: Any, customer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Profile.objects.filter(user=customer).update(notify_refill=True)
    order = completed()
    refill = refill_request(user=customer, order_id=order.pk)
    assert refill.state == R.REQUESTED
    # when the cycle forwards it
    requests_cycle()
    refill.refresh_from_db()
    assert sandbox.calls_of("refill") == [{"action": "refill", "orders": str(order.upstream_id)}]
    assert refill.state == R.PENDING and refill.upstream_refill_id == order.upstream_id
    # and follows it
    sandbox.advance(400)
    requests_cycle()
    refill.refresh_from_db()
    assert refill.state == R.IN_PROGRESS
    sandbox.advance(3600)
    with django_capture_on_commit_callbacks(execute=True):
        requests_cycle()
    refill.refresh_from_db()
    assert refill.state == R.COMPLETED
    assert sandbox.calls_of("refill_status")[-1] == {
        "action": "refill_status",
        "refills": str(order.upstream_id),
    }
    assert len(mail.outbox) == 1 and f"#{order.pk}" in mail.outbox[0].subject


def test_a_refill_the_upstream_rejects_later_is_shown_rejected(
    sandbox: Any, completed: Any, customer: Any
) -> None:
    order = completed()
    sandbox.set_refill_fate(order.upstream_id, status="Rejected")
    refill = refill_request(user=customer, order_id=order.pk)
    requests_cycle()
    sandbox.advance(400)
    requests_cycle()
    refill.refresh_from_db()
    assert refill.state == R.REJECTED
    assert plain_reason(refill.error) == "The provider rejected the refill."


def test_an_upstream_refusal_of_a_refill_is_stored_and_shown_in_plain_words(
    sandbox: Any, completed: Any, customer: Any, catalog: Any
) -> None:
    # given the shop believes in 30 days of warranty where the upstream gives 7
    catalog[105].days_refill = 30
    catalog[105].save()
    order = completed(105)
    sandbox.advance(8 * 86400)
    refill = refill_request(user=customer, order_id=order.pk)
    requests_cycle()
    refill.refresh_from_db()
    assert refill.state == R.REJECTED
    assert refill.error == "Warranty period has expired"
    assert plain_reason(refill.error) == "The refill warranty of this order has expired."


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("running", "Order is not completed"),
        ("no_refill", "This order does not support refill"),
        ("twice", "Refill request already submitted"),
        ("expired", "Warranty period has expired"),
        ("someone_else", "Incorrect order ID"),
        ("missing", "Incorrect order ID"),
    ],
)
def test_refills_follow_the_upstreams_rules(
    sandbox: Any,
    place: Any,
    completed: Any,
    customer: Any,
    other_customer: Any,
    setup: str,
    message: str,
) -> None:
    order_id: object
    if setup == "running":
        order_id = place(101, link=LINK, quantity=1000).pk
    elif setup == "no_refill":
        order_id = completed(112).pk
    elif setup == "twice":
        order_id = completed().pk
        refill_request(user=customer, order_id=order_id)
    elif setup == "expired":
        order = completed()
        Order.objects.filter(pk=order.pk).update(finished_at=timezone.now() - timedelta(days=31))
        order_id = order.pk
    elif setup == "someone_else":
        order_id = place(101, link=LINK, quantity=1000, user=other_customer).pk
        Order.objects.filter(pk=order_id).update(
            state=OrderState.COMPLETED, finished_at=timezone.now()
        )
    else:
        order_id = 424242
    with pytest.raises(OrderRejected) as caught:
        refill_request(user=customer, order_id=order_id)  # type: ignore[arg-type]
    assert caught.value.message == message


def test_a_lifetime_warranty_never_expires(sandbox: Any, completed: Any, customer: Any) -> None:
    order = completed(106)  # days_refill 0 = lifetime
    Order.objects.filter(pk=order.pk).update(finished_at=timezone.now() - timedelta(days=900))
    assert refill_request(user=customer, order_id=order.pk).state == R.REQUESTED


def test_many_refills_are_asked_in_a_constant_number_of_queries(
    sandbox: Any, completed: Any, customer: Any
) -> None:
    orders = [completed() for _ in range(4)]

    def queries(ids: list[int]) -> int:
        RefillRequest.objects.all().delete()
        with CaptureQueriesContext(connection) as captured:
            answers = refill_request_many(user=customer, order_ids=ids)
        assert all(isinstance(a, RefillRequest) for pk, a in answers.items() if pk != 999999)
        return len(captured.captured_queries)

    assert queries([orders[0].pk, 999999]) == queries([o.pk for o in orders] + [999999])
    answers = refill_request_many(user=customer, order_ids=[orders[0].pk, 999999, "x"])
    assert answers[orders[0].pk] == "Refill request already submitted"
    assert answers[999999] == "Incorrect order ID"


# --- cancel ------------------------------------------------------------------------------------


def test_a_cancel_is_forwarded_and_refunded_only_when_the_upstream_reports_canceled(
    sandbox: Any, place: Any, customer: Any
) -> None:
    # given a cancellable order still Pending upstream
    order = place(104, link=LINK, quantity=1000)
    before = balance_of(customer)
    request = cancel_request(user=customer, order_id=order.pk)
    requests_cycle()
    request.refresh_from_db()
    # then the upstream was asked, and no money moved yet
    assert sandbox.calls_of("cancel") == [{"action": "cancel", "orders": str(order.upstream_id)}]
    assert request.state == C.SUBMITTED
    assert balance_of(customer) == before
    # when the upstream has cancelled it and the poll sees it
    sandbox.advance(120)
    orders_poll()
    assert_state(order, OrderState.CANCELED)
    assert balance_of(customer) == before + order.charge


def test_a_cancel_of_a_running_order_ends_partial_with_the_remains_refunded(
    sandbox: Any, place: Any, customer: Any
) -> None:
    order = place(104, link=LINK, quantity=1000)  # 180 minutes per 1000
    sandbox.advance(60 + 60 * 60)  # a third delivered
    orders_poll()
    before = balance_of(customer)
    cancel_request(user=customer, order_id=order.pk)
    requests_cycle()
    sandbox.advance(120)
    orders_poll()
    assert_state(order, OrderState.PARTIAL)
    assert 0 < order.remains < 1000
    refund = LedgerEntry.objects.get(order=order, kind=EntryKind.REFUND).amount
    assert refund == (order.charge * order.remains / 1000).quantize(Decimal("0.01"))
    assert balance_of(customer) == before + refund


def test_a_queued_order_is_cancelled_here_at_once_and_never_sent(
    sandbox: Any, place: Any, customer: Any
) -> None:
    order = place(104, link=LINK, quantity=1000, forward=False)
    before = balance_of(customer)
    request = cancel_request(user=customer, order_id=order.pk)
    assert request.state == C.SUBMITTED
    assert_state(order, OrderState.CANCELED)
    assert balance_of(customer) == before + order.charge
    assert order_forward(order_id=order.pk) == "skipped"
    assert sandbox.calls_of("add") == []


def test_an_upstream_refusal_of_a_cancel_is_stored_and_shown_in_plain_words(
    sandbox: Any, place: Any, customer: Any
) -> None:
    # a drip-feed parent is "Active" upstream, which is not a cancellable status there
    order = place(102, link=LINK, quantity=100, runs=3, interval=10)
    request = cancel_request(user=customer, order_id=order.pk)
    requests_cycle()
    request.refresh_from_db()
    assert request.state == C.REJECTED
    assert request.error == "Order cannot be cancelled at this status"
    assert plain_reason(request.error) == "The order could no longer be canceled."


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no_cancel", "This order cannot be cancelled"),
        ("twice", "The cancellation request was submitted earlier"),
        ("finished", "Order cannot be cancelled at this status"),
        ("someone_else", "Incorrect order ID"),
    ],
)
def test_cancels_follow_the_upstreams_rules(
    sandbox: Any, place: Any, customer: Any, other_customer: Any, setup: str, message: str
) -> None:
    if setup == "no_cancel":
        order = place(101, link=LINK, quantity=1000)
    elif setup == "someone_else":
        order = place(104, link=LINK, quantity=1000, user=other_customer)
    else:
        order = place(104, link=LINK, quantity=1000)
        if setup == "twice":
            cancel_request(user=customer, order_id=order.pk)
        else:
            sandbox.advance(LATER)
            orders_poll()
    with pytest.raises(OrderRejected) as caught:
        cancel_request(user=customer, order_id=order.pk)
    assert caught.value.message == message


def test_cancels_are_forwarded_in_batches_of_100(sandbox: Any, customer: Any, catalog: Any) -> None:
    placed_upstream_orders(
        sandbox,
        user=customer,
        service=catalog[104],
        count=150,
        keys="c",
        link=LINK,
        upstream_status="Pending",
    )
    ids = list(Order.objects.values_list("pk", flat=True))
    answers = cancel_request_many(user=customer, order_ids=ids)
    assert all(isinstance(answer, CancelRequest) for answer in answers.values())
    result = requests_cycle()
    calls = sandbox.calls_of("cancel")
    assert sorted(len(call["orders"].split(",")) for call in calls) == [50, 100]
    assert result.cancels_sent == 150
    assert CancelRequest.objects.filter(state=C.SUBMITTED).count() == 150


def test_a_failed_request_batch_is_retried_next_cycle(
    sandbox: Any, completed: Any, customer: Any
) -> None:
    order = completed()
    refill = refill_request(user=customer, order_id=order.pk)
    sandbox.inject_fault("refill", "http_500_html")
    assert requests_cycle().failed_calls == 1
    refill.refresh_from_db()
    assert refill.state == R.REQUESTED
    requests_cycle()
    refill.refresh_from_db()
    assert refill.state == R.PENDING


def test_a_refill_sent_twice_after_an_ambiguous_answer_is_taken_as_submitted(
    sandbox: Any, completed: Any, customer: Any
) -> None:
    # given the upstream took the refill but the answer was lost
    order = completed()
    refill = refill_request(user=customer, order_id=order.pk)
    sandbox.inject_fault("refill", "drop_after_accept")
    requests_cycle()
    refill.refresh_from_db()
    assert refill.state == R.REQUESTED
    # when it is sent again, the upstream says "already submitted": that is our refill
    requests_cycle()
    refill.refresh_from_db()
    assert refill.state == R.PENDING and refill.upstream_refill_id == order.upstream_id


def test_a_cancel_asked_while_the_order_is_being_sent_is_forwarded_once_it_is_placed(
    sandbox: Any, place: Any, customer: Any
) -> None:
    # given a worker has just claimed the order
    order = place(104, link=LINK, quantity=1000, forward=False)
    Order.objects.filter(pk=order.pk).update(state=OrderState.SENDING)
    request = cancel_request(user=customer, order_id=order.pk)
    # then nothing is refunded here, and nothing is sent before the order is placed
    assert request.state == C.REQUESTED
    assert not LedgerEntry.objects.filter(order=order, kind=EntryKind.REFUND).exists()
    requests_cycle()
    assert sandbox.calls_of("cancel") == []
    # when the worker's add succeeds (the worker records the upstream's answer), the next
    # cycle forwards the cancel
    from catalog.upstreams import client_for
    from orders.forwarding import _forward_placed, _send

    order.refresh_from_db()
    assert _forward_placed(order, _send(client_for(order.provider), order)) == "placed"
    requests_cycle()
    request.refresh_from_db()
    assert request.state == C.SUBMITTED
    assert len(sandbox.calls_of("cancel")) == 1
