"""Forwarding: at most once upstream, whatever the upstream, the broker or the workers do."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from billing.models import EntryKind, LedgerEntry
from orders.cycle import orders_cycle
from orders.errors import plain_reason
from orders.forwarding import MAX_SEND_ATTEMPTS, order_forward
from orders.models import Order, OrderEvent, OrderState
from orders.placing import order_place
from orders.staff_actions import (
    OrderActionError,
    order_attach_upstream_id,
    order_fail_and_refund,
    order_send_again,
)
from orders.sweep import orders_sweep
from orders.tasks import order_forward_task

from .helpers import assert_state, balance_of

LINK = "https://tiktok.com/@user/video/123"


def forward_now(order_id: int) -> None:
    order_forward(order_id=order_id)


def test_an_order_the_upstream_refuses_fails_and_is_refunded_in_full_with_the_reason(
    sandbox: Any, place: Any, customer: Any
) -> None:
    # given the upstream no longer sells service 101
    sandbox.remove_service(101)
    before = balance_of(customer)
    # when an order for it is forwarded
    order = place(101, link=LINK, quantity=1000)
    # then it failed, was refunded in full once, and the customer reads why
    assert order.state == OrderState.FAILED
    assert order.error == "Incorrect service ID"
    assert plain_reason(order.error) == "The provider no longer offers this service."
    assert balance_of(customer) == before
    assert LedgerEntry.objects.get(order=order, kind=EntryKind.REFUND).amount == order.charge


def test_upstream_out_of_funds_keeps_the_order_waiting_until_the_upstream_can_pay(
    sandbox: Any, place: Any, customer: Any, caplog: Any
) -> None:
    # given the shop's upstream account is empty
    sandbox.set_balance(0)
    order = place(101, link=LINK, quantity=1000)
    # then the order waits, charged but not refunded, and the admin is alerted in the log
    assert order.state == OrderState.QUEUED and order.waiting_for_funds
    assert not LedgerEntry.objects.filter(order=order, kind=EntryKind.REFUND).exists()
    assert any(r.levelname == "ERROR" and "OUT OF FUNDS" in r.getMessage() for r in caplog.records)
    # when the sweep runs while the upstream is still empty, nothing is re-sent
    orders_sweep(forward=forward_now, grace=timedelta(0))
    assert_state(order, OrderState.QUEUED)
    assert len(sandbox.calls_of("add")) == 1
    assert len(sandbox.calls_of("balance")) == 1
    # when the shop tops up upstream, the next sweep sends it through
    sandbox.set_balance(1_000_000)
    result = orders_sweep(forward=forward_now, grace=timedelta(0))
    assert result.released == 1
    assert_state(order, OrderState.PLACED)
    assert len(sandbox.calls_of("add")) == 2


def test_staff_are_emailed_once_an_hour_while_the_upstream_is_out_of_funds(
    sandbox: Any, place: Any, settings: Any, mailoutbox: Any
) -> None:
    # given the shop names its admins and the upstream account is empty
    settings.ADMINS = ["owner@example.com"]
    sandbox.set_balance(0)
    # when two orders are refused for the upstream's lack of funds
    first = place(101, link=LINK, quantity=1000)
    second = place(101, link=LINK + "?2", quantity=1000)
    # then both wait, and the admins got one e-mail, not one per order
    assert first.waiting_for_funds and second.waiting_for_funds
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["owner@example.com"]
    assert "out of funds" in mailoutbox[0].subject.lower()


def test_no_alert_is_mailed_when_the_shop_names_no_admins(
    sandbox: Any, place: Any, settings: Any, mailoutbox: Any
) -> None:
    settings.ADMINS = []
    sandbox.set_balance(0)
    assert place(101, link=LINK, quantity=1000).waiting_for_funds
    assert mailoutbox == []


def test_an_insufficient_balance_answer_in_any_casing_is_the_shops_problem(
    sandbox: Any, place: Any
) -> None:
    sandbox.inject_fault("add", "out_of_funds")
    order = place(101, link=LINK, quantity=1000)
    assert order.state == OrderState.QUEUED and order.waiting_for_funds


def test_an_unreachable_upstream_is_retried_later_with_backoff(
    sandbox: Any, place: Any, settings: Any
) -> None:
    # given nothing listens where the upstream should be
    url = settings.SIEULIKE_API_URL
    settings.SIEULIKE_API_URL = "http://127.0.0.1:9/api/v2"
    order = place(101, link=LINK, quantity=1000)
    # then it is queued again with a later attempt, not failed, not under review
    assert order.state == OrderState.QUEUED and not order.waiting_for_funds
    assert order.send_attempts == 1
    assert order.next_attempt_at > timezone.now() + timedelta(seconds=50)
    # and the sweep leaves it alone until then
    orders_sweep(forward=forward_now, grace=timedelta(0))
    assert_state(order, OrderState.QUEUED)
    # when the upstream is back and the backoff has passed, it goes through
    settings.SIEULIKE_API_URL = url
    Order.objects.filter(pk=order.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    orders_sweep(forward=forward_now, grace=timedelta(0))
    assert_state(order, OrderState.PLACED)
    assert len(sandbox.calls_of("add")) == 1


def test_an_order_unreachable_for_too_long_is_failed_and_refunded(
    sandbox: Any, place: Any, customer: Any, settings: Any
) -> None:
    settings.SIEULIKE_API_URL = "http://127.0.0.1:9/api/v2"
    order = place(101, link=LINK, quantity=1000, forward=False)
    Order.objects.filter(pk=order.pk).update(send_attempts=MAX_SEND_ATTEMPTS - 1)
    before = balance_of(customer)
    order_forward(order_id=order.pk)
    assert_state(order, OrderState.FAILED)
    assert balance_of(customer) == before + order.charge


def test_a_timeout_after_the_upstream_accepted_holds_the_order_for_review_and_never_resends(
    sandbox: Any, place: Any, settings: Any
) -> None:
    # given the upstream takes the order, then never answers within our deadline
    settings.SIEULIKE_TIMEOUT = 0.5
    sandbox.inject_fault("add", "timeout_after_accept", seconds=1.5)
    order = place(101, link=LINK, quantity=1000)
    # then the order is held for review; the upstream has exactly one order
    assert order.state == OrderState.REVIEW
    assert len(sandbox.orders) == 1
    # when the task is delivered again, and three full cycles run
    order_forward_task.delay(order.pk)
    for _ in range(3):
        call_command("sync_orders", stdout=StringIO())
    # then nothing was sent again
    assert len(sandbox.calls_of("add")) == 1
    assert len(sandbox.orders) == 1
    assert_state(order, OrderState.REVIEW)


def test_a_dropped_connection_after_accept_is_ambiguous_too(sandbox: Any, place: Any) -> None:
    sandbox.inject_fault("add", "drop_after_accept")
    order = place(101, link=LINK, quantity=1000)
    assert order.state == OrderState.REVIEW


def test_a_task_delivered_twice_sends_once(sandbox: Any, place: Any) -> None:
    order = place(101, link=LINK, quantity=1000, forward=False)
    assert order_forward(order_id=order.pk) == "placed"
    assert order_forward(order_id=order.pk) == "skipped"
    assert len(sandbox.calls_of("add")) == 1


def test_a_5xx_or_html_answer_on_one_order_does_not_stop_the_others(
    sandbox: Any, place: Any
) -> None:
    # given three orders waiting, and an upstream that answers the first add with an HTML 500
    orders = [place(101, link=f"{LINK}{n}", quantity=1000, forward=False) for n in range(3)]
    sandbox.inject_fault("add", "http_500_html")
    sandbox.inject_fault("add", "html_200")
    # when one cycle runs
    call_command("sync_orders", stdout=StringIO())
    # then the two answered with HTML are held for review, and the third is placed
    states = [Order.objects.get(pk=o.pk).state for o in orders]
    assert states == [OrderState.REVIEW, OrderState.REVIEW, OrderState.PLACED]


def test_a_stale_sending_claim_is_held_for_review_by_the_sweep(place: Any) -> None:
    # given a worker claimed an order and died before the call returned
    order = place(101, link=LINK, quantity=1000, forward=False)
    Order.objects.filter(pk=order.pk).update(
        state=OrderState.SENDING, updated_at=timezone.now() - timedelta(hours=1)
    )
    # when the sweep runs
    result = orders_sweep(forward=forward_now)
    # then the order is held for review, never queued again
    assert result.to_review == 1
    assert_state(order, OrderState.REVIEW)
    assert result.forwarded == []


def test_a_lost_task_is_picked_up_by_the_sweep(sandbox: Any, place: Any) -> None:
    # given an order whose forward task never ran (the broker was down)
    order = place(101, link=LINK, quantity=1000, forward=False)
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    # when the periodic sweep runs, enqueuing tasks as it does in production (eager here)
    orders_sweep()
    # then it is forwarded
    assert_state(order, OrderState.PLACED)


def test_the_sweep_leaves_just_placed_orders_to_their_own_task(place: Any) -> None:
    place(101, link=LINK, quantity=1000, forward=False)
    assert orders_sweep(forward=forward_now).forwarded == []


def test_every_state_change_is_recorded_with_its_reason(sandbox: Any, place: Any) -> None:
    order = place(101, link=LINK, quantity=1000)
    events = list(OrderEvent.objects.filter(order=order).values_list("from_state", "to_state"))
    assert events == [("", "queued"), ("queued", "sending"), ("sending", "placed")]


# --- review resolved by a person -----------------------------------------------------------


@pytest.fixture
def review_order(sandbox: Any, place: Any, settings: Any) -> Order:
    sandbox.inject_fault("add", "drop_after_accept")
    order = place(101, link=LINK, quantity=1000)
    assert order.state == OrderState.REVIEW
    return order


def test_staff_attach_the_upstream_id_and_tracking_resumes(
    sandbox: Any, review_order: Order, admin_user: Any
) -> None:
    (upstream_id,) = sandbox.orders
    order_attach_upstream_id(order_id=review_order.pk, upstream_id=upstream_id, actor=admin_user)
    assert_state(review_order, OrderState.PLACED)
    assert review_order.upstream_id == upstream_id
    sandbox.advance(3600)
    orders_cycle()
    assert_state(review_order, OrderState.COMPLETED)
    assert OrderEvent.objects.filter(
        order=review_order, to_state="placed", actor=admin_user
    ).exists()


def test_staff_send_again_after_checking_the_upstream(
    sandbox: Any, review_order: Order, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        order_send_again(order_id=review_order.pk, actor=admin_user)
    assert_state(review_order, OrderState.PLACED)
    assert len(sandbox.calls_of("add")) == 2
    assert OrderEvent.objects.filter(
        order=review_order, from_state="review", to_state="queued", actor=admin_user
    ).exists()


def test_staff_fail_and_refund(review_order: Order, admin_user: Any, customer: Any) -> None:
    before = balance_of(customer)
    order_fail_and_refund(order_id=review_order.pk, actor=admin_user)
    assert_state(review_order, OrderState.FAILED)
    assert balance_of(customer) == before + review_order.charge
    with pytest.raises(OrderActionError):
        order_fail_and_refund(order_id=review_order.pk, actor=admin_user)
    assert balance_of(customer) == before + review_order.charge


def test_an_upstream_id_already_attached_elsewhere_is_refused(
    sandbox: Any, place: Any, review_order: Order, admin_user: Any
) -> None:
    other = place(101, link=LINK + "x", quantity=1000)
    with pytest.raises(OrderActionError):
        order_attach_upstream_id(
            order_id=review_order.pk, upstream_id=other.upstream_id, actor=admin_user
        )
    assert_state(review_order, OrderState.REVIEW)


# --- two workers at once (PostgreSQL: real row-level concurrency) ----------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_forwarding_the_same_order_send_it_once(
    sandbox: Any, customer: Any, catalog: Any
) -> None:
    # given one queued order, and the upstream answering slowly so both workers overlap
    order = order_place(user=customer, service_id=catalog[101].pk, link=LINK, quantity=1000)
    Order.objects.filter(pk=order.pk).update(state=OrderState.QUEUED, upstream_id=None)
    sandbox.clear_calls()
    sandbox.inject_fault("add", "latency", seconds=0.3, count=None)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            start.wait()
            outcomes.append(order_forward(order_id=order.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    # then exactly one sent it
    assert sorted(outcomes) == ["placed", "skipped"]
    assert len(sandbox.calls_of("add")) == 1
    assert_state(order, OrderState.PLACED)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_placements_with_one_idempotency_key_make_one_order(
    customer: Any, catalog: Any
) -> None:
    start = threading.Barrier(4)
    ids: list[int] = []

    def request() -> None:
        try:
            start.wait()
            ids.append(
                order_place(
                    user=customer,
                    service_id=catalog[101].pk,
                    link=LINK,
                    quantity=100,
                    idempotency_key="retry-1",
                ).pk
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(ids) == 4 and len(set(ids)) == 1
    assert Order.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.CHARGE).count() == 1
    assert balance_of(customer) == Decimal("10000000") - Order.objects.get().charge


def test_the_beat_schedule_names_tasks_that_exist() -> None:
    from panel.celery import app

    names = {
        entry["task"]
        for entry in app.conf.beat_schedule.values()
        if entry["task"].startswith("orders.")
    }
    assert names == {
        "orders.tasks.orders_sweep_task",
        "orders.tasks.orders_poll_task",
        "orders.tasks.requests_cycle_task",
    }
    assert names <= set(app.tasks)
    assert "orders.tasks.order_forward_task" in app.tasks


def test_sync_orders_runs_one_whole_cycle_and_says_what_it_did(
    sandbox: Any, place: Any, customer: Any
) -> None:
    # given one order waiting to be sent and one placed order that has ended upstream
    waiting = place(101, link=LINK, quantity=1000, forward=False)
    done = place(104, link=LINK, quantity=1000)
    sandbox.advance(3 * 86400)
    out = StringIO()
    call_command("sync_orders", stdout=out)
    text = out.getvalue()
    assert "forwarded: 1 placed" in text
    assert "polled: 2 orders in 1 batches" in text and "1 finished" in text
    assert_state(waiting, OrderState.PLACED)
    assert_state(done, OrderState.COMPLETED)
