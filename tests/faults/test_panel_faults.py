"""The panel's own parts failing: the broker, workers dying before, during and after the upstream
call, tasks delivered twice, two workers or two pollers at once. Each ends with the invariants.

A worker dying *during* the call looks, from the panel, like the connection dropping after the
upstream took the order: see `drop_after_accept` in test_add_faults.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from kombu.exceptions import OperationalError

from billing.models import EntryKind, LedgerEntry
from billing.services import wallet_balance
from catalog.upstreams import default_client as get_client
from orders.customer_requests import cancel_request, refill_request
from orders.forwarding import order_forward
from orders.models import CancelRequest, Order, OrderEvent, OrderState, RefillRequest
from orders.placing import order_place
from orders.polling import orders_poll
from orders.staff_actions import order_attach_upstream_id, order_send_again
from orders.states import order_transition
from orders.sweep import SENDING_TIMEOUT, orders_sweep
from orders.tasks import (
    order_forward_task,
    orders_poll_provider_task,
    orders_poll_task,
    orders_sweep_task,
    requests_cycle_task,
)
from tests.factories import install_catalog
from tests.invariants import assert_money_invariants, expected_refund

from .world import new_customer, new_customer_with_key, unique_link

S = OrderState
DAY = 86400


def forward_now(order_id: int) -> None:
    order_forward(order_id=order_id)


def run_in_threads(*targets: Callable[[], Any]) -> list[Any]:
    """Run each target in its own thread (and database connection), released together."""
    start = threading.Barrier(len(targets))
    results: list[Any] = [None] * len(targets)
    errors: list[BaseException] = []

    def runner(index: int, target: Callable[[], Any]) -> None:
        try:
            start.wait()
            results[index] = target()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


# --- the broker is down while orders are placed -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_orders_placed_while_the_broker_is_down_are_kept_charged_once_and_sent_by_the_sweep(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, clock: Any, caplog: Any
) -> None:
    # given the broker refuses connections (kombu raises as it does when Redis is down)
    catalog = install_catalog()
    user, key = new_customer_with_key("1000000")
    broker = {"up": False}
    enqueue = order_forward_task.delay

    def delay(*args: Any, **kwargs: Any) -> Any:
        if not broker["up"]:
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return enqueue(*args, **kwargs)

    monkeypatch.setattr(order_forward_task, "delay", delay)
    # when a reseller places orders through the API, and a customer through the site's service
    client = Client()
    answers = [
        client.post(
            "/api/v2",
            {
                "key": key,
                "action": "add",
                "service": catalog[101].pk,
                "link": unique_link(),
                "quantity": 1000,
            },
        ).json()
        for _ in range(3)
    ]
    order_place(user=user, service_id=catalog[104].pk, link=unique_link(), quantity=100)
    # then every request was answered with its order, committed, queued and charged once
    assert all(set(answer) == {"order"} for answer in answers), answers
    orders = list(Order.objects.order_by("pk"))
    assert len(orders) == 4 and {o.state for o in orders} == {S.QUEUED}
    assert LedgerEntry.objects.filter(kind=EntryKind.CHARGE).count() == 4
    assert wallet_balance(user=user) == Decimal("1000000") - sum(o.charge for o in orders)
    assert caplog.text.count("could not enqueue orders.tasks.order_forward_task") == 4
    assert sandbox.orders == {}
    assert_money_invariants(sandbox=sandbox)
    # when the sweep runs while the broker is still down, the orders simply keep waiting
    clock.advance(minutes=1)
    orders_sweep()
    assert set(Order.objects.values_list("state", flat=True)) == {S.QUEUED}
    # when the broker is back, the next sweep sends each of them, once
    broker["up"] = True
    clock.advance(minutes=1)
    assert orders_sweep_task.delay().get()["forwarded"] == 4
    assert set(Order.objects.values_list("state", flat=True)) == {S.PLACED}
    assert len(sandbox.calls_of("add")) == 4
    assert_money_invariants(sandbox=sandbox)


# --- a worker killed before, or after, the upstream call ----------------------------------------


def claim_like_a_worker(order: Order) -> None:
    """The committed claim `order_forward` makes before calling the upstream."""
    assert order_transition(
        order=order,
        to=S.SENDING,
        reason="sending, attempt 1",
        changes={"send_attempts": 1, "next_attempt_at": None},
    )


def test_a_worker_killed_before_the_call_leaves_a_claim_the_sweep_holds_for_review(
    sandbox: Any, place: Any, staff: Any, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a worker claimed an order and died before calling the upstream
    order = place(101, quantity=1000, forward=False)
    claim_like_a_worker(order)
    # while the claim could still be a live call, nobody touches it
    clock.advance(minutes=5)
    assert order_forward(order_id=order.pk) == "skipped"
    assert orders_sweep(forward=forward_now).to_review == 0
    order.refresh_from_db()
    assert order.state == S.SENDING
    # once it is older than any live call could be, the sweep holds it for review, not the queue
    clock.advance(seconds=SENDING_TIMEOUT.total_seconds())
    result = orders_sweep(forward=forward_now)
    order.refresh_from_db()
    assert result.to_review == 1 and result.forwarded == []
    assert order.state == S.REVIEW
    assert sandbox.calls_of("add") == []
    # a person finds nothing upstream and sends it again: placed, once
    with django_capture_on_commit_callbacks(execute=True):
        order_send_again(order_id=order.pk, actor=staff)
    order.refresh_from_db()
    assert order.state == S.PLACED and len(sandbox.orders) == 1
    assert_money_invariants(sandbox=sandbox)


def test_a_worker_killed_after_the_upstream_placed_the_order_never_sends_it_again(
    sandbox: Any, place: Any, customer: Any, staff: Any, clock: Any
) -> None:
    # given a worker claimed an order, the upstream placed it, and the worker died before saving
    order = place(101, quantity=1000, forward=False)
    claim_like_a_worker(order)
    get_client().add(service=order.service.upstream_id, link=order.link, quantity=order.quantity)
    # when the claim goes stale, the sweep holds it for review
    clock.advance(seconds=SENDING_TIMEOUT.total_seconds() + 60)
    assert orders_sweep(forward=forward_now).to_review == 1
    order.refresh_from_db()
    assert order.state == S.REVIEW
    # and neither a redelivered task nor whole cycles send it again
    assert order_forward_task.delay(order.pk).get() == "skipped"
    for _ in range(3):
        call_command("sync_orders", stdout=StringIO())
    assert len(sandbox.calls_of("add")) == 1 and len(sandbox.orders) == 1
    # a person attaches the upstream's order; tracking ends it with the right refund
    (upstream_id,) = sandbox.orders
    order_attach_upstream_id(order_id=order.pk, upstream_id=upstream_id, actor=staff)
    sandbox.set_fate(upstream_id, status="Canceled")
    sandbox.advance(DAY)
    orders_poll()
    order.refresh_from_db()
    assert order.state == S.CANCELED
    assert wallet_balance(user=customer) == Decimal("10000000")
    assert_money_invariants(sandbox=sandbox)


# --- the same task delivered twice --------------------------------------------------------------


def test_every_task_delivered_twice_does_its_work_once(
    sandbox: Any, place: Any, customer: Any
) -> None:
    # forward: the second delivery finds the order already placed
    order = place(101, quantity=1000, forward=False)
    assert order_forward_task.delay(order.pk).get() == "placed"
    assert order_forward_task.delay(order.pk).get() == "skipped"
    assert len(sandbox.calls_of("add")) == 1
    order.refresh_from_db()
    # poll: the second delivery finds it already partial and refunded
    sandbox.set_fate(order.upstream_id, status="Partial", remains=300)
    sandbox.advance(DAY)
    # the beat's task sends one task per provider; delivered twice, it finishes the order once
    assert orders_poll_task.delay().get() == [order.provider_id]
    assert orders_poll_provider_task.delay(order.provider_id).get()["finished"] == 0
    order.refresh_from_db()
    assert order.state == S.PARTIAL
    assert orders_poll_provider_task.delay(order.provider_id).get()["finished"] == 0
    order.refresh_from_db()
    assert order.state == S.PARTIAL
    assert LedgerEntry.objects.filter(order=order, kind=EntryKind.REFUND).count() == 1
    # refill and cancel requests: forwarded once however often the cycle task runs
    refill_request(user=customer, order_id=order.pk)
    cancelled = place(104, quantity=1000)
    cancel_request(user=customer, order_id=cancelled.pk)
    requests_cycle_task.delay().get()
    requests_cycle_task.delay().get()
    assert len(sandbox.calls_of("refill")) == 1 and len(sandbox.calls_of("cancel")) == 1
    assert RefillRequest.objects.get().state == RefillRequest.State.PENDING
    assert CancelRequest.objects.get().state == CancelRequest.State.SUBMITTED
    # the cancel takes effect upstream; both pollings refund it once
    sandbox.advance(DAY)
    orders_poll_task.delay().get()
    orders_poll_task.delay().get()
    cancelled.refresh_from_db()
    assert cancelled.state == S.CANCELED
    # the sweep, twice, has nothing to do
    assert orders_sweep_task.delay().get() == orders_sweep_task.delay().get()
    assert len(sandbox.calls_of("add")) == 2
    assert_money_invariants(sandbox=sandbox)


# --- two of everything at once (PostgreSQL: real row-level concurrency) -------------------------


@pytest.fixture
def queued_only(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The broker takes forward tasks, and no worker has picked them up yet."""
    queued: list[int] = []
    monkeypatch.setattr(order_forward_task, "delay", lambda order_id: queued.append(order_id))
    return queued


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_forwarding_an_order_the_upstream_times_out_on_send_it_once(
    sandbox: Any, settings: Any, queued_only: list[int]
) -> None:
    catalog = install_catalog()
    user = new_customer("1000000")
    order = order_place(user=user, service_id=catalog[101].pk, link=unique_link(), quantity=1000)
    assert queued_only == [order.pk]
    settings.SIEULIKE_TIMEOUT = 0.3
    sandbox.inject_fault("add", "timeout_after_accept", seconds=1.0, count=None)
    # when two workers get the same task at once (a redelivery racing the first delivery)
    outcomes = run_in_threads(*[lambda: order_forward(order_id=order.pk)] * 2)
    # then one sent it and is unsure of the answer, the other did nothing
    assert sorted(outcomes) == ["review", "skipped"]
    assert len(sandbox.calls_of("add")) == 1 and len(sandbox.orders) == 1
    # and two more workers and two cycles later, still one
    sandbox.clear_faults()
    assert run_in_threads(*[lambda: order_forward(order_id=order.pk)] * 2) == ["skipped"] * 2
    for _ in range(2):
        call_command("sync_orders", stdout=StringIO())
    assert len(sandbox.orders) == 1
    assert_money_invariants(sandbox=sandbox)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_answer_arriving_after_the_sweep_gave_up_on_its_worker_is_recorded_not_resent(
    sandbox: Any, settings: Any, queued_only: list[int]
) -> None:
    # given a worker whose upstream call is slow, and a sweep that decides meanwhile it is dead
    catalog = install_catalog()
    user = new_customer("1000000")
    order = order_place(user=user, service_id=catalog[101].pk, link=unique_link(), quantity=1000)
    settings.SIEULIKE_TIMEOUT = 5.0
    sandbox.inject_fault("add", "latency", seconds=1.0)

    def worker() -> str:
        return order_forward_task(order.pk)

    def sweeper() -> int:
        deadline = time.monotonic() + 5
        while Order.objects.get(pk=order.pk).state != S.SENDING:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        later = Order.objects.get(pk=order.pk).updated_at + SENDING_TIMEOUT + timedelta(seconds=1)
        return orders_sweep(forward=forward_now, now=later).to_review

    outcome, to_review = run_in_threads(worker, sweeper)
    # then the sweep held it for review, and the late answer was recorded rather than lost
    assert to_review == 1 and outcome == "placed"
    order.refresh_from_db()
    assert order.state == S.PLACED and order.upstream_id in sandbox.orders
    path = list(OrderEvent.objects.filter(order=order).values_list("to_state", flat=True))
    assert path == [S.QUEUED, S.SENDING, S.REVIEW, S.PLACED]
    assert len(sandbox.calls_of("add")) == 1
    assert_money_invariants(sandbox=sandbox)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_pollers_at_once_end_each_order_once_and_refund_it_once(
    sandbox: Any, queued_only: list[int]
) -> None:
    # given 30 placed orders the upstream has ended: completed, partial or canceled
    catalog = install_catalog()
    user = new_customer("1000000")
    orders = [
        order_place(user=user, service_id=catalog[101].pk, link=unique_link(), quantity=1000)
        for _ in range(30)
    ]
    for order in orders:
        assert order_forward(order_id=order.pk) == "placed"
    orders = list(Order.objects.order_by("pk"))
    for n, order in enumerate(orders):
        if n % 3 == 1:
            sandbox.set_fate(order.upstream_id, status="Partial", remains=100 + 7 * n)
        elif n % 3 == 2:
            sandbox.set_fate(order.upstream_id, status="Canceled")
    sandbox.advance(DAY)
    # and an upstream slow enough that both pollers hold the same answers before applying them
    sandbox.inject_fault("status", "latency", seconds=0.3, count=None)
    # when two pollers run at once
    results = run_in_threads(orders_poll, orders_poll)
    # then every order ended once, by one of them, with one refund of the right amount
    assert sum(result.finished for result in results) == 30
    assert all(result.orders == 30 for result in results)  # both really read the whole batch
    finals = OrderEvent.objects.filter(from_state=S.PLACED).values_list("order_id", flat=True)
    assert sorted(finals) == sorted(o.pk for o in orders)
    balance = Decimal("1000000")
    for order in Order.objects.all():
        balance -= order.charge - expected_refund(
            state=order.state, charge=order.charge, remains=order.remains, total=order.quantity
        )
    assert wallet_balance(user=user) == balance
    assert LedgerEntry.objects.filter(kind=EntryKind.REFUND).count() == 20
    assert_money_invariants(sandbox=sandbox)
