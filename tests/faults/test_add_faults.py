"""The upstream misbehaving while an order is sent (`add`): every answer class, and what follows.

The rule under test: only a provable "never reached" (connection refused) sends an order again by
itself; any answer that leaves a doubt holds it for review, and it is never sent a second time
until a person decides. Each test ends with the money invariants, upstream included.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from billing.services import wallet_balance
from orders.cycle import orders_cycle
from orders.forwarding import order_forward
from orders.models import Order, OrderEvent, OrderState
from orders.staff_actions import order_attach_upstream_id, order_fail_and_refund, order_send_again
from orders.sweep import orders_sweep
from orders.tasks import order_forward_task
from tests.invariants import assert_money_invariants

from .world import closed_port, unique_link

S = OrderState
DAY = 86400


def forward_now(order_id: int) -> None:
    order_forward(order_id=order_id)


def upstream_orders_for(sandbox: Any, order: Order) -> list[int]:
    """What a person checking the upstream's order list finds for this order (by its link)."""
    return [o.id for o in sandbox.orders.values() if o.link == order.link and o.parent is None]


def wait_until(condition: Callable[[], bool], *, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the sandbox did not get there in time"
        time.sleep(0.01)


def never_sent_again(sandbox: Any, order: Order) -> None:
    """A redelivered task and three whole cycles later, the upstream still has one add for it."""
    adds = len(sandbox.calls_of("add"))
    assert order_forward_task.delay(order.pk).get() == "skipped"
    for _ in range(3):
        call_command("sync_orders", stdout=StringIO())
    assert len(sandbox.calls_of("add")) == adds
    order.refresh_from_db()
    assert order.state == S.REVIEW


# --- never reached: retried, with growing waits ------------------------------------------------


def test_a_refused_connection_keeps_the_order_queued_and_retries_it_with_growing_waits(
    sandbox: Any, place: Any, customer: Any, settings: Any, clock: Any
) -> None:
    # given nothing listens where the upstream should be
    upstream = settings.SIEULIKE_API_URL
    settings.SIEULIKE_API_URL = f"http://127.0.0.1:{closed_port()}/api/v2"
    balance = wallet_balance(user=customer)
    # when an order is sent
    order = place(101, quantity=1000)
    # then it is queued again, charged, with its next attempt a minute away
    assert order.state == S.QUEUED and order.send_attempts == 1
    waits = [order.next_attempt_at - clock.now()]
    # and the sweep before that leaves it alone
    orders_sweep(forward=forward_now, grace=timedelta(0))
    order.refresh_from_db()
    assert order.send_attempts == 1
    # when the upstream stays down, each later attempt waits twice as long as the one before
    for _ in range(3):
        clock.advance(seconds=waits[-1].total_seconds() + 1)
        orders_sweep(forward=forward_now)
        order.refresh_from_db()
        waits.append(order.next_attempt_at - clock.now())
    assert order.state == S.QUEUED and order.send_attempts == 4
    assert [round(w.total_seconds() / 60) for w in waits] == [1, 2, 4, 8]
    # when the upstream is back and the wait has passed, it is placed, once
    settings.SIEULIKE_API_URL = upstream
    clock.advance(minutes=9)
    orders_sweep(forward=forward_now)
    order.refresh_from_db()
    assert order.state == S.PLACED
    assert len(sandbox.calls_of("add")) == 1 and len(sandbox.orders) == 1
    # never held for review: the upstream provably never had it
    assert not OrderEvent.objects.filter(order=order, to_state=S.REVIEW).exists()
    assert wallet_balance(user=customer) == balance - order.charge
    assert_money_invariants(sandbox=sandbox)


# --- a deadline passed: the upstream may have it -----------------------------------------------


@pytest.mark.parametrize("resolution", ["attach", "fail_and_refund"])
def test_a_timeout_before_the_upstream_accepted_is_held_for_review_and_resolved_by_a_person(
    sandbox: Any, place: Any, customer: Any, settings: Any, staff: Any, resolution: str
) -> None:
    # given an upstream slower than our deadline, that places the order after we gave up
    settings.SIEULIKE_TIMEOUT = 0.3
    sandbox.inject_fault("add", "latency", seconds=0.8)
    balance = wallet_balance(user=customer)
    # when an order is sent
    started = time.monotonic()
    order = place(101, quantity=1000)
    # then the deadline held, and the order waits for a person: from here it could be either
    assert time.monotonic() - started < 0.3 + 0.5
    assert order.state == S.REVIEW
    wait_until(lambda: len(upstream_orders_for(sandbox, order)) == 1)
    never_sent_again(sandbox, order)
    # when the person resolves it
    if resolution == "attach":
        (upstream_id,) = upstream_orders_for(sandbox, order)
        order_attach_upstream_id(order_id=order.pk, upstream_id=upstream_id, actor=staff)
        sandbox.advance(DAY)
        orders_cycle()
        order.refresh_from_db()
        assert order.state == S.COMPLETED
        assert wallet_balance(user=customer) == balance - order.charge
    else:
        order_fail_and_refund(order_id=order.pk, actor=staff)
        order.refresh_from_db()
        assert order.state == S.FAILED
        assert wallet_balance(user=customer) == balance
    assert len(sandbox.calls_of("add")) == 1
    assert_money_invariants(sandbox=sandbox)


def test_a_timeout_after_the_upstream_accepted_is_never_sent_twice(
    sandbox: Any, place: Any, customer: Any, settings: Any, staff: Any
) -> None:
    # given an upstream that takes the order, then stalls past our deadline
    settings.SIEULIKE_TIMEOUT = 0.3
    sandbox.inject_fault("add", "timeout_after_accept", seconds=1.0)
    order = place(101, quantity=1000)
    # then it is held for review, and the upstream has exactly one order
    assert order.state == S.REVIEW
    assert len(sandbox.orders) == 1
    # and neither a redelivered task nor repeated cycles send another
    never_sent_again(sandbox, order)
    assert len(sandbox.orders) == 1
    # a person attaches the order the upstream has, and tracking resumes
    (upstream_id,) = upstream_orders_for(sandbox, order)
    order_attach_upstream_id(order_id=order.pk, upstream_id=upstream_id, actor=staff)
    sandbox.set_fate(upstream_id, status="Partial", remains=250)
    sandbox.advance(DAY)
    orders_cycle()
    order.refresh_from_db()
    assert order.state == S.PARTIAL and order.remains == 250
    assert_money_invariants(sandbox=sandbox)


def test_a_very_slow_body_is_cut_off_at_the_total_deadline(
    sandbox: Any, place: Any, settings: Any, staff: Any
) -> None:
    # given an upstream that trickles its answer a byte every quarter second (~4 s in all)
    settings.SIEULIKE_TIMEOUT = 0.5
    sandbox.inject_fault("add", "slow_body", delay=0.25)
    # when an order is sent
    started = time.monotonic()
    order = place(101, quantity=1000)
    elapsed = time.monotonic() - started
    # then we gave up at the deadline, not at the end of the trickle, and hold it for review
    assert elapsed < 0.5 + 0.5, f"the call took {elapsed:.2f}s against a 0.5s deadline"
    assert order.state == S.REVIEW
    (upstream_id,) = upstream_orders_for(sandbox, order)  # it was executed before answering
    never_sent_again(sandbox, order)
    order_attach_upstream_id(order_id=order.pk, upstream_id=upstream_id, actor=staff)
    assert_money_invariants(sandbox=sandbox)


# --- answers that are not answers --------------------------------------------------------------

AMBIGUOUS = {
    # fault: (params, whether the upstream executed the order)
    "http_500_html": ({}, False),
    "http_502_html": ({"status": 502}, False),
    "html_200": ({}, False),
    "html_200_executed": ({"execute": True}, True),
    "malformed_json": ({}, True),
    "truncated_json": ({"mode": "short"}, True),
    "truncated_json_incomplete": ({"mode": "incomplete"}, True),
    "drop_after_accept": ({}, True),
    "reset_after_accept": ({"reset": True}, True),
    "wrong_shape": ({"body": {"order": "pending"}, "execute": True}, True),
    "empty_200": ({"body": ""}, False),
}
KIND = {
    "http_502_html": "http_500_html",
    "html_200_executed": "html_200",
    "truncated_json_incomplete": "truncated_json",
    "reset_after_accept": "drop_after_accept",
    "wrong_shape": "raw_answer",
    "empty_200": "raw_answer",
}


@pytest.mark.parametrize("fault", sorted(AMBIGUOUS))
def test_an_unusable_answer_to_add_holds_the_order_for_review_until_a_person_decides(
    sandbox: Any,
    place: Any,
    customer: Any,
    staff: Any,
    fault: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    params, executed = AMBIGUOUS[fault]
    sandbox.inject_fault("add", KIND.get(fault, fault), **params)
    balance = wallet_balance(user=customer)
    # when an order is sent and the answer cannot be read
    order = place(101, quantity=1000)
    # then it is held for review, charged and not refunded, and never sent again by itself
    assert order.state == S.REVIEW
    assert len(upstream_orders_for(sandbox, order)) == (1 if executed else 0)
    never_sent_again(sandbox, order)
    assert wallet_balance(user=customer) == balance - order.charge
    # when a person checks the upstream: attach what is there, or send again what is not
    found = upstream_orders_for(sandbox, order)
    if found:
        order_attach_upstream_id(order_id=order.pk, upstream_id=found[0], actor=staff)
    else:
        with django_capture_on_commit_callbacks(execute=True):
            order_send_again(order_id=order.pk, actor=staff)
    order.refresh_from_db()
    # then the order is tracked under exactly one upstream order
    assert order.state == S.PLACED
    assert upstream_orders_for(sandbox, order) == [order.upstream_id]
    sandbox.advance(DAY)
    orders_cycle()
    order.refresh_from_db()
    assert order.state == S.COMPLETED
    assert_money_invariants(sandbox=sandbox)


def test_a_refusal_fails_the_order_with_a_full_refund_and_nothing_upstream(
    sandbox: Any, place: Any, customer: Any
) -> None:
    sandbox.inject_fault("add", "raw_answer", body={"error": "Incorrect link"})
    balance = wallet_balance(user=customer)
    order = place(101, quantity=1000)
    assert order.state == S.FAILED and order.error == "Incorrect link"
    assert wallet_balance(user=customer) == balance
    assert sandbox.orders == {}
    assert_money_invariants(sandbox=sandbox)


def test_an_order_of_every_kind_survives_a_dropped_answer_with_one_upstream_order(
    sandbox: Any, place: Any, customer: Any, staff: Any
) -> None:
    # given every kind of order, each answered by a dropped connection after the upstream took it
    orders = []
    for service, params in [
        (101, {"quantity": 1000}),
        (109, {"comments": "great\nnice\nwow\nlove it\ncool"}),
        (102, {"quantity": 100, "runs": 3, "interval": 10}),
        (110, {"quantity": 50, "username": "someone"}),
        (212, {"quantity": 50, "link": unique_link("facebook.com")}),
    ]:
        sandbox.inject_fault("add", "drop_after_accept")
        orders.append(place(service, **params))
    assert [o.state for o in orders] == [S.REVIEW] * 5
    # when three cycles run, nothing is sent again; a person attaches each
    for _ in range(3):
        orders_cycle()
    assert len(sandbox.calls_of("add")) == 5
    for order in orders:
        (upstream_id,) = upstream_orders_for(sandbox, order)
        order_attach_upstream_id(order_id=order.pk, upstream_id=upstream_id, actor=staff)
    sandbox.advance(2 * DAY)
    orders_cycle()
    states = {Order.objects.get(pk=o.pk).kind: Order.objects.get(pk=o.pk).state for o in orders}
    assert states == {
        "default": S.COMPLETED,
        "comments": S.COMPLETED,
        "dripfeed": S.COMPLETED,
        "comment_likes": S.COMPLETED,
        "package": S.PLACED,  # a 30-day package is still running
    }
    assert wallet_balance(user=customer) == Decimal("10000000") - sum(o.charge for o in orders)
    assert_money_invariants(sandbox=sandbox)
