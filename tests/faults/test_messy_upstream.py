"""A messy upstream (issue 11): fields missing or unreadable, orders forgotten, words unknown,
drip runs that cannot be read, other currencies, big numbers. Each case is driven over real HTTP
against the sandbox and ends with the money invariants: the money stays exact, and every order
ends or is in front of a person."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from billing.models import EntryKind, LedgerEntry
from billing.services import wallet_balance, wallet_deposit
from catalog.balance import upstream_balance_refresh
from catalog.models import PricingSettings, Service, UpstreamBalance
from catalog.sync import catalog_sync
from orders.customer_requests import cancel_request, refill_request
from orders.forwarding import order_forward
from orders.models import CancelRequest, Order, OrderEvent, OrderState, RefillRequest
from orders.polling import orders_poll
from orders.request_forwarding import requests_cycle
from orders.staff_actions import order_send_again
from tests.factories import make_staff
from tests.invariants import assert_money_invariants, half_up

from .world import closed_port

S = OrderState
C = CancelRequest.State
R = RefillRequest.State
DAY = 86400
BOUND = 60  # minutes: ORDER_ATTENTION_AFTER_MINUTES in these tests


@pytest.fixture(autouse=True)
def _bound(settings: Any) -> None:
    settings.ORDER_ATTENTION_AFTER_MINUTES = BOUND


def refunds(order: Order) -> list[Decimal]:
    return list(
        LedgerEntry.objects.filter(order=order, kind=EntryKind.REFUND).values_list(
            "amount", flat=True
        )
    )


def ended_partial(sandbox: Any, place: Any, *, remains: int = 400) -> Order:
    """An order of 1000 the upstream has ended Partial with `remains` left."""
    order = place(101, quantity=1000)
    sandbox.set_fate(order.upstream_id, status="Partial", remains=remains)
    sandbox.advance(DAY)
    return order


# ------------------------------------------------------------------ 2. no usable count: held


def test_a_partial_without_remains_is_held_and_not_refunded_from_an_earlier_count(
    sandbox: Any, place: Any, clock: Any
) -> None:
    # given an order polled while in progress (its remains saved), that then ends Partial
    order = place(104, quantity=1000)
    sandbox.advance(1200)
    orders_poll()
    order.refresh_from_db()
    assert order.state == S.PLACED and 0 < (order.remains or 0) < 1000
    sandbox.set_fate(order.upstream_id, status="Partial", remains=400)
    sandbox.advance(DAY)
    # when the upstream's Partial comes without remains
    sandbox.set_answer(order.upstream_id, remains=None)
    orders_poll()
    # then the order is held, not refunded from the count of the earlier poll
    order.refresh_from_db()
    assert order.state == S.PLACED and order.held_since is not None
    assert "Partial without a usable remains" in order.attention_reason
    assert refunds(order) == []
    assert_money_invariants(sandbox=sandbox)
    # when the count comes, it ends with the right refund, once
    sandbox.set_answer(order.upstream_id)
    orders_poll()
    orders_poll()
    order.refresh_from_db()
    assert (order.state, order.remains, order.held_since) == (S.PARTIAL, 400, None)
    assert refunds(order) == [half_up(order.charge * 400 / 1000)]
    assert_money_invariants(sandbox=sandbox)


# ------------------------------------------------------------------ 3. parse what is usable


@pytest.mark.parametrize(
    "fields",
    [
        {"charge": "N/A"},
        {"start_count": ""},
        {"start_count": "N/A"},
        {"charge": "N/A", "start_count": "N/A", "currency": None},
    ],
    ids=["charge N/A", "start_count empty", "start_count N/A", "all of them"],
)
def test_an_unreadable_optional_field_does_not_block_a_clear_partial(
    sandbox: Any, place: Any, fields: dict[str, Any]
) -> None:
    order = ended_partial(sandbox, place)
    sandbox.set_answer(order.upstream_id, **fields)
    orders_poll()
    order.refresh_from_db()
    # the status word and remains decide; the unreadable field is unknown
    assert (order.state, order.remains) == (S.PARTIAL, 400)
    if "charge" in fields:
        assert order.cost is None
    assert refunds(order) == [half_up(order.charge * 400 / 1000)]
    assert_money_invariants(sandbox=sandbox)


def test_a_fractional_remains_is_no_usable_count_and_the_order_is_held(
    sandbox: Any, place: Any
) -> None:
    order = ended_partial(sandbox, place)
    sandbox.set_answer(order.upstream_id, remains="399.5", charge="N/A")
    orders_poll()
    order.refresh_from_db()
    assert order.state == S.PLACED and order.held_since is not None
    assert refunds(order) == []
    assert_money_invariants(sandbox=sandbox)


# ------------------------------------------------------------------ 4. unknown is not undelivered


def dripfeed_ended(sandbox: Any, place: Any, *, fate: str = "Completed") -> tuple[Order, list[int]]:
    order = place(102, quantity=100, runs=3, interval=10)
    if fate != "Completed":
        sandbox.set_fate(order.upstream_id, status=fate, remains=40)
    sandbox.advance(DAY)
    children = sandbox.orders[order.upstream_id].children
    assert len(children) == 3 and sandbox.orders[order.upstream_id].status == "Completed"
    return order, children


@pytest.mark.parametrize("how", ["incorrect order id", "partial run without remains"])
def test_a_drip_feed_whose_runs_cannot_be_read_waits_and_is_not_refunded(
    sandbox: Any, place: Any, how: str
) -> None:
    if how == "incorrect order id":
        order, children = dripfeed_ended(sandbox, place)
        sandbox.forget(children[1], error="Incorrect order ID")
    else:
        order, children = dripfeed_ended(sandbox, place, fate="Partial")
        sandbox.set_answer(children[0], remains=None)
    orders_poll()
    orders_poll()
    order.refresh_from_db()
    assert order.state == S.PLACED and order.held_since is not None
    assert "drip-feed runs" in order.attention_reason
    assert refunds(order) == []
    assert_money_invariants(sandbox=sandbox)


# ------------------------------------------------------------------ 5. an end, or a person


CAUSES = ["Order not found", "Incorrect order ID", "missing", "unknown word", "held partial"]


def make_undecidable(sandbox: Any, place: Any, cause: str) -> Order:
    if cause == "held partial":
        order = ended_partial(sandbox, place)
        sandbox.set_answer(order.upstream_id, remains=None)
        return order
    order = place(101, quantity=1000)
    sandbox.advance(DAY)
    if cause == "missing":
        sandbox.omit("status", [order.upstream_id])
    elif cause == "unknown word":
        sandbox.set_answer(order.upstream_id, status="Stuck in queue")
    else:
        sandbox.forget(order.upstream_id, error=cause)
    return order


@pytest.mark.parametrize("cause", CAUSES)
def test_an_order_the_answers_cannot_decide_goes_to_a_person_after_the_bound(
    sandbox: Any, place: Any, clock: Any, client: Any, cause: str
) -> None:
    order = make_undecidable(sandbox, place, cause)
    # held at first, for less than the bound: still polled
    orders_poll()
    clock.advance(minutes=BOUND - 1)
    orders_poll()
    order.refresh_from_db()
    assert order.state == S.PLACED and order.held_since is not None
    # after the bound: needs attention, with the reason, on the staff dashboard
    clock.advance(minutes=2)
    result = orders_poll()
    order.refresh_from_db()
    assert result.attention == 1 and order.state == S.ATTENTION
    assert order.attention_reason
    assert refunds(order) == []
    client.force_login(make_staff(username="boss", superuser=True))
    page = client.get(reverse("staff_dashboard")).content.decode()
    assert f"#{order.pk}</a>: {order.attention_reason}" in page.replace("&#x27;", "'")
    assert_money_invariants(sandbox=sandbox)
    # and it is no longer polled by itself
    assert orders_poll().orders == 0


@pytest.mark.parametrize(
    ("decision", "remains", "state", "refund_of"),
    [
        ("completed", None, S.COMPLETED, 0),
        ("partial", 250, S.PARTIAL, 250),
        ("canceled", None, S.CANCELED, 1000),
    ],
)
def test_staff_end_an_order_needing_attention_from_its_admin_page_with_the_right_refund_once(
    sandbox: Any,
    place: Any,
    clock: Any,
    client: Any,
    decision: str,
    remains: int | None,
    state: str,
    refund_of: int,
) -> None:
    order = make_undecidable(sandbox, place, "Order not found")
    orders_poll()
    clock.advance(minutes=BOUND + 1)
    orders_poll()
    order.refresh_from_db()
    assert order.state == S.ATTENTION
    boss = make_staff(username="boss", superuser=True)
    client.force_login(boss)
    change = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    url = reverse("admin:orders_order_attention", args=[order.pk])
    assert url in change
    form = {"decision": decision, "reason": "checked in the upstream's order list"}
    if remains is not None:
        form["remains"] = str(remains)
    # when staff decide, twice (a double submit)
    assert client.post(url, form).status_code == 302
    client.post(url, form)
    order.refresh_from_db()
    assert order.state == state
    want = half_up(order.charge * refund_of / 1000)
    assert refunds(order) == ([want] if want else [])
    event = OrderEvent.objects.filter(order=order, to_state=state).get()
    assert event.actor == boss and "checked in the upstream's order list" in event.reason
    assert_money_invariants(sandbox=sandbox)


def test_staff_can_send_an_order_needing_attention_back_to_polling(
    sandbox: Any, place: Any, clock: Any, client: Any
) -> None:
    order = make_undecidable(sandbox, place, "unknown word")
    orders_poll()
    clock.advance(minutes=BOUND + 1)
    orders_poll()
    boss = make_staff(username="boss", superuser=True)
    client.force_login(boss)
    url = reverse("admin:orders_order_attention", args=[order.pk])
    # a partial without remains is refused, and changes nothing
    client.post(url, {"decision": "partial", "reason": "x"})
    order.refresh_from_db()
    assert order.state == S.ATTENTION
    # the upstream has its words back; staff send it back to polling
    sandbox.set_answer(order.upstream_id)
    client.post(url, {"decision": "repoll", "reason": "the upstream fixed its status"})
    order.refresh_from_db()
    assert (order.state, order.held_since) == (S.PLACED, None)
    assert OrderEvent.objects.filter(order=order, to_state=S.PLACED, actor=boss).exists()
    orders_poll()
    order.refresh_from_db()
    assert order.state == S.COMPLETED and refunds(order) == []
    assert_money_invariants(sandbox=sandbox)


def test_a_clear_answer_lifts_the_hold(sandbox: Any, place: Any, clock: Any) -> None:
    order = place(104, quantity=1000)
    sandbox.advance(600)
    sandbox.omit("status", [order.upstream_id])
    orders_poll()
    order.refresh_from_db()
    assert order.held_since is not None
    sandbox.clear_messy()
    orders_poll()
    order.refresh_from_db()
    assert (order.state, order.held_since, order.attention_reason) == (S.PLACED, None, "")
    # and a later doubt starts a new count
    clock.advance(minutes=BOUND + 5)
    sandbox.omit("status", [order.upstream_id])
    orders_poll()
    order.refresh_from_db()
    assert order.state == S.PLACED
    assert_money_invariants(sandbox=sandbox)


# ------------------------------------------------------------------ 6. the customer's cancel


def test_a_cancel_asked_while_sending_wins_when_the_send_did_not_reach_the_upstream(
    sandbox: Any, place: Any, customer: Any, settings: Any, monkeypatch: Any, client: Any
) -> None:
    from orders import forwarding

    order = place(104, quantity=1000, forward=False)
    reachable = settings.SIEULIKE_API_URL
    settings.SIEULIKE_API_URL = f"http://127.0.0.1:{closed_port()}/api/v2"
    real_send = forwarding._send

    def send_after_the_customer_cancels(upstream: Any, sending: Order) -> int:
        # the customer presses cancel while the worker is sending
        assert cancel_request(user=customer, order_id=sending.pk).state == C.REQUESTED
        return real_send(upstream, sending)

    monkeypatch.setattr(forwarding, "_send", send_after_the_customer_cancels)
    balance = wallet_balance(user=customer)
    # when the send is unreachable
    assert order_forward(order_id=order.pk) == "canceled"
    # then the cancel wins: refunded in full, and never bought upstream afterwards
    settings.SIEULIKE_API_URL = reachable
    monkeypatch.setattr(forwarding, "_send", real_send)
    assert order_forward(order_id=order.pk) == "skipped"
    order.refresh_from_db()
    assert order.state == S.CANCELED and order.upstream_id is None
    assert wallet_balance(user=customer) == balance + order.charge
    assert CancelRequest.objects.get(order=order).state == C.DONE
    assert sandbox.calls_of("add") == []
    # the order page says what happened, with the refund
    client.force_login(customer)
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "Done" in page and 'data-testid="cancel-refund"' in page
    assert "Sent to the provider" not in page
    assert_money_invariants(sandbox=sandbox)


def test_a_cancel_asked_during_review_wins_when_staff_send_the_order_again(
    sandbox: Any, place: Any, customer: Any, staff: Any
) -> None:
    sandbox.inject_fault("add", "http_500_html")  # not executed: staff will find nothing upstream
    order = place(104, quantity=1000)
    assert order.state == S.REVIEW
    assert cancel_request(user=customer, order_id=order.pk).state == C.REQUESTED
    order_send_again(order_id=order.pk, actor=staff)
    order.refresh_from_db()
    assert order.state == S.CANCELED and refunds(order) == [order.charge]
    assert CancelRequest.objects.get(order=order).state == C.DONE
    assert sandbox.orders == {}
    assert_money_invariants(sandbox=sandbox)


def test_a_submitted_cancel_ends_with_the_order(sandbox: Any, place: Any, customer: Any) -> None:
    canceled = place(104, quantity=1000)
    completed = place(106, quantity=1000)
    for order in (canceled, completed):
        cancel_request(user=customer, order_id=order.pk)
    sandbox.omit("cancel", [completed.upstream_id])  # the upstream never answers this one
    requests_cycle()
    assert CancelRequest.objects.get(order=canceled).state == C.SUBMITTED
    sandbox.advance(DAY)
    orders_poll()
    assert CancelRequest.objects.get(order=canceled).state == C.DONE
    late = CancelRequest.objects.get(order=completed)
    assert Order.objects.get(pk=completed.pk).state == S.COMPLETED
    assert late.state == C.REJECTED
    assert_money_invariants(sandbox=sandbox)


# ------------------------------------------------------------------ 7. refills and cancels end


def test_a_refill_the_upstream_cannot_find_goes_to_a_person(
    sandbox: Any, place: Any, customer: Any, clock: Any
) -> None:
    order = place(101, quantity=1000)
    sandbox.advance(DAY)
    orders_poll()
    refill = refill_request(user=customer, order_id=order.pk)
    requests_cycle()
    refill.refresh_from_db()
    assert refill.state == R.PENDING
    sandbox.lose_refill(order.upstream_id)
    requests_cycle()
    refill.refresh_from_db()
    assert refill.state == R.PENDING and refill.held_since is not None
    clock.advance(minutes=BOUND + 1)
    requests_cycle()
    refill.refresh_from_db()
    assert refill.state == R.ATTENTION and "Refill not found" in refill.error
    assert_money_invariants(sandbox=sandbox)


def test_refill_and_cancel_requests_never_answered_go_to_a_person(
    sandbox: Any, place: Any, customer: Any, clock: Any
) -> None:
    to_refill = place(101, quantity=1000)
    to_cancel = place(104, quantity=1000)
    sandbox.advance(DAY)
    orders_poll()
    to_cancel = place(104, quantity=1000)
    refill = refill_request(user=customer, order_id=to_refill.pk)
    cancel = cancel_request(user=customer, order_id=to_cancel.pk)
    sandbox.omit("refill", [to_refill.upstream_id])
    sandbox.omit("cancel", [to_cancel.upstream_id])
    requests_cycle()
    refill.refresh_from_db()
    cancel.refresh_from_db()
    assert refill.state == R.REQUESTED and refill.held_since is not None
    assert cancel.state == C.REQUESTED and cancel.held_since is not None
    clock.advance(minutes=BOUND + 1)
    requests_cycle()
    refill.refresh_from_db()
    cancel.refresh_from_db()
    assert refill.state == R.ATTENTION and refill.error == "not answered by the upstream"
    assert cancel.state == C.ATTENTION and cancel.error == "not answered by the upstream"
    assert_money_invariants(sandbox=sandbox)


def test_no_request_state_is_one_that_nothing_can_enter() -> None:
    # "review" was a state of refills and cancels that no code ever entered
    assert "review" not in RefillRequest.State.values
    assert "review" not in CancelRequest.State.values
    assert {"attention", "done"} <= set(CancelRequest.State.values)


# ------------------------------------------------------------------ 8. runs=1 is an ordinary order


def test_runs_1_is_an_ordinary_order_as_upstream(sandbox: Any, place: Any) -> None:
    order = place(102, quantity=100, runs=1, interval=0)
    assert order.state == S.PLACED and order.kind == "default" and order.runs is None
    upstream = sandbox.orders[order.upstream_id]
    assert upstream.kind == "default" and upstream.quantity == 100
    assert "runs" not in sandbox.calls_of("add")[0]
    assert_money_invariants(sandbox=sandbox)


# ------------------------------------------------------------------ 9. packed status calls


def test_a_poll_cycle_makes_exactly_ceil_ids_over_200_calls_with_drip_feed_runs(
    sandbox: Any, place: Any, customer: Any, catalog: dict[int, Service]
) -> None:
    # 5 drip-feeds of 3 runs (20 ids) among 451 ordinary orders: 471 ids (at market prices)
    wallet_deposit(user=customer, amount=Decimal("100000000"), memo="for 456 orders")
    drips = [place(102, quantity=100, runs=3, interval=1) for _ in range(5)]
    for _ in range(451):
        place(104, quantity=1000)
    sandbox.advance(150)  # every run has started, none has ended
    orders_poll()  # learns the runs
    ids = Order.objects.filter(state=S.PLACED).count() + sum(
        len(Order.objects.get(pk=d.pk).extra["orders"]) for d in drips
    )
    assert ids == 471
    sandbox.clear_calls()
    orders_poll()
    sizes = [len(call["orders"].split(",")) for call in sandbox.calls_of("status")]
    assert len(sizes) == math.ceil(471 / 200) and sizes == [200, 200, 71]
    assert_money_invariants()


# ------------------------------------------------------------------ 10. the currency


def test_an_answer_in_another_currency_stops_syncing_and_is_shown_to_staff(
    sandbox: Any, catalog: dict[int, Service], client: Any
) -> None:
    prices = dict(Service.objects.values_list("pk", "cost_rate"))
    sandbox.update_service(101, rate="9999.0000")
    sandbox.set_currency("USD", in_services=True)
    run = catalog_sync()
    assert not run.ok and "currency" in run.message.lower() and "USD" in run.message
    assert dict(Service.objects.values_list("pk", "cost_rate")) == prices
    reading = upstream_balance_refresh()
    assert reading.balance is None and "USD" in reading.error
    client.force_login(make_staff(username="boss", superuser=True))
    page = client.get(reverse("staff_dashboard")).content.decode()
    assert 'data-testid="upstream-balance-error"' in page and "USD" in page


def test_a_status_in_another_currency_records_no_cost_but_the_order_still_ends(
    sandbox: Any, place: Any
) -> None:
    order = ended_partial(sandbox, place)
    sandbox.set_currency("USD")
    orders_poll()
    order.refresh_from_db()
    assert order.state == S.PARTIAL and order.cost is None
    assert "USD" in order.extra["currency_error"]
    assert_money_invariants(sandbox=sandbox)


# ------------------------------------------------------------------ 11. big numbers


def test_ids_and_limits_beyond_32_bits_sync_and_poll(
    sandbox: Any, customer: Any, catalog: dict[int, Service]
) -> None:
    from tests.factories import place_order

    big = 2**33 + 7
    entry = {**next(e for e in sandbox.services if e["service"] == 101)}
    sandbox.set_services([*sandbox.services, {**entry, "service": big, "max": 10**12}])
    run = catalog_sync()
    assert run.ok, run.message
    service = Service.objects.get(upstream_id=big)
    assert service.max_quantity == 10**12
    sandbox._book.next_id = 2**40  # the upstream's order ids are past 32 bits too
    wallet_deposit(user=customer, amount=Decimal("100000000"), memo="for 3,000,000 likes")
    order = place_order(
        user=customer, service=service, link="https://tiktok.com/@u/video/big", quantity=3_000_000
    )
    assert order.upstream_id is not None and order.upstream_id >= 2**40
    sandbox.advance(30 * DAY)
    orders_poll()
    order.refresh_from_db()
    assert order.state == S.COMPLETED
    assert_money_invariants(sandbox=sandbox)


# ------------------------------------------------------------------ 12. canceled after delivery


def test_canceled_with_remains_below_the_quantity_refunds_what_was_not_delivered(
    sandbox: Any, place: Any
) -> None:
    order = ended_partial(sandbox, place, remains=300)
    sandbox.set_answer(order.upstream_id, status="Canceled")
    orders_poll()
    order.refresh_from_db()
    assert (order.state, order.remains, order.upstream_status) == (S.PARTIAL, 300, "Canceled")
    assert refunds(order) == [half_up(order.charge * 300 / 1000)]
    assert "Canceled after partial delivery" in order.events.last().reason  # type: ignore[union-attr]
    assert_money_invariants(sandbox=sandbox)


def test_canceled_without_remains_is_refunded_in_full(sandbox: Any, place: Any) -> None:
    order = ended_partial(sandbox, place, remains=300)
    sandbox.set_answer(order.upstream_id, status="Canceled", remains=None)
    orders_poll()
    order.refresh_from_db()
    assert order.state == S.CANCELED and refunds(order) == [order.charge]
    assert_money_invariants(sandbox=sandbox)


# ------------------------------------------------------------------ 13. a fresh balance


def test_the_upstream_balance_is_read_on_its_own_and_shown_with_its_time(
    sandbox: Any, catalog: dict[int, Service], client: Any
) -> None:
    from panel.celery import app

    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "catalog.tasks.upstream_balance_refresh_task" in schedule
    PricingSettings.objects.update_or_create(
        pk=1, defaults={"upstream_balance_warning": Decimal("500000")}
    )
    sandbox.set_balance("123456.00")
    reading = upstream_balance_refresh()
    assert reading.balance == Decimal("123456.00")
    client.force_login(make_staff(username="boss", superuser=True))
    page = client.get(reverse("staff_dashboard")).content.decode()
    assert 'data-testid="upstream-balance-as-of"' in page
    assert 'data-testid="upstream-balance-warning"' in page  # below 500,000: the warning fires


def test_an_insufficient_balance_answer_triggers_a_balance_check(
    sandbox: Any, place: Any, django_capture_on_commit_callbacks: Any
) -> None:
    sandbox.inject_fault("add", "out_of_funds")
    sandbox.set_balance("10.00")
    order = place(101, quantity=1000, forward=False)
    with django_capture_on_commit_callbacks(execute=True):
        order_forward(order_id=order.pk)
    order.refresh_from_db()
    assert order.state == S.QUEUED and order.waiting_for_funds
    assert len(sandbox.calls_of("balance")) == 1
    assert UpstreamBalance.objects.latest("checked_at").balance == Decimal("10.00")
    assert_money_invariants(sandbox=sandbox)
