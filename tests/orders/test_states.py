"""The transition table and the one function that changes an order's state."""

from __future__ import annotations

from typing import Any

import pytest

from orders.models import (
    OPEN_REFILL_STATES,
    CancelRequest,
    Order,
    OrderEvent,
    OrderState,
    RefillRequest,
)
from orders.policy import public_status, public_status_filter
from orders.rules import PUBLIC_STATUSES
from orders.states import (
    CANCEL_TRANSITIONS,
    FINAL_STATES,
    OPEN_CANCEL_STATES,
    REFILL_TRANSITIONS,
    TRANSITIONS,
    IllegalTransition,
    order_transition,
    request_move,
    requests_move,
)
from tests.factories import make_order

S = OrderState


def test_the_table_covers_every_state_and_finished_orders_never_go_back() -> None:
    assert set(TRANSITIONS) == set(S)
    for state in FINAL_STATES:
        assert TRANSITIONS[state] == frozenset()
    # nothing that may have reached the upstream ever goes straight back to a fresh send
    assert S.QUEUED not in TRANSITIONS[S.PLACED]


def test_a_transition_not_in_the_table_is_refused(place: Any) -> None:
    order = place(101, link="https://x.com/a", quantity=100, forward=False)
    with pytest.raises(IllegalTransition):
        order_transition(order=order, to=S.COMPLETED)
    Order.objects.filter(pk=order.pk).update(state=S.COMPLETED)
    order.refresh_from_db()
    with pytest.raises(IllegalTransition):
        order_transition(order=order, to=S.PLACED)


def test_a_stale_copy_changes_nothing(place: Any, admin_user: Any) -> None:
    # given two copies of one queued order, as two workers would hold
    order = place(101, link="https://x.com/a", quantity=100, forward=False)
    other = Order.objects.get(pk=order.pk)
    # when both try to claim it
    first = order_transition(order=order, to=S.SENDING, actor=admin_user, reason="first")
    second = order_transition(order=other, to=S.SENDING, reason="second")
    # then only the first did, and only its change is recorded
    assert (first, second) == (True, False)
    events = list(OrderEvent.objects.filter(order=order).values_list("to_state", "reason", "actor"))
    assert events == [("queued", "placed", order.user_id), ("sending", "first", admin_user.pk)]
    assert other.state == S.QUEUED  # the loser's copy is not changed in memory either


def test_finishing_stamps_the_end(place: Any) -> None:
    order = place(101, link="https://x.com/a", quantity=100, forward=False)
    order_transition(order=order, to=S.FAILED, reason="test")
    order.refresh_from_db()
    assert order.finished_at is not None


@pytest.mark.parametrize(
    ("state", "upstream_status", "expected"),
    [
        (S.QUEUED, "", "Pending"),
        (S.SENDING, "", "Pending"),
        (S.REVIEW, "", "Pending"),
        (S.PLACED, "Pending", "Pending"),
        (S.PLACED, "In progress", "In progress"),
        (S.PLACED, "Processing", "Processing"),
        (S.PLACED, "", "Pending"),
        (S.COMPLETED, "Completed", "Completed"),
        (S.PARTIAL, "Partial", "Partial"),
        (S.CANCELED, "Canceled", "Canceled"),
        (S.FAILED, "", "Canceled"),
    ],
)
def test_customers_see_the_upstreams_words(state: str, upstream_status: str, expected: str) -> None:
    assert public_status(Order(state=state, upstream_status=upstream_status)) == expected


def test_the_status_filter_of_the_orders_page_agrees_with_what_each_order_shows(
    customer: Any, catalog: Any
) -> None:
    # given an order in every state, with every word the poll may have stored on it
    words = ["", *PUBLIC_STATUSES]
    for state in S:
        for said in words:
            make_order(
                user=customer, service=catalog[101], charge="1", state=state, upstream_status=said
            )
    orders = list(Order.objects.filter(user=customer))
    # then filtering by a public status finds exactly the orders showing it
    for word in PUBLIC_STATUSES:
        by_filter = public_status_filter(word)
        assert by_filter is not None
        found = set(
            Order.objects.filter(user=customer).filter(by_filter).values_list("pk", flat=True)
        )
        assert found == {o.pk for o in orders if public_status(o) == word}, word
    assert public_status_filter("Whatever") is None


# --- refill and cancel requests -------------------------------------------------------------

R = RefillRequest.State
C = CancelRequest.State


def test_the_request_tables_cover_every_state_and_ended_requests_never_move() -> None:
    assert set(REFILL_TRANSITIONS) == set(R)
    assert set(CANCEL_TRANSITIONS) == set(C)
    for ended in (R.COMPLETED, R.REJECTED, R.ATTENTION):
        assert REFILL_TRANSITIONS[ended] == frozenset()
    for ended in (C.DONE, C.REJECTED):
        assert CANCEL_TRANSITIONS[ended] == frozenset()
    # every state but the first is entered from somewhere: no dead state
    for table, first in ((REFILL_TRANSITIONS, R.REQUESTED), (CANCEL_TRANSITIONS, C.REQUESTED)):
        entered = set().union(*table.values())
        assert set(table) - entered <= {first}
    # the open refills (one per order) are exactly those that can still move
    assert set(OPEN_REFILL_STATES) == {s for s, to in REFILL_TRANSITIONS.items() if to}
    assert set(OPEN_CANCEL_STATES) == {s for s, to in CANCEL_TRANSITIONS.items() if to}


def test_a_request_move_not_in_the_table_is_refused_in_memory_and_in_bulk(place: Any) -> None:
    order = place(101, link="https://x.com/a", quantity=100, forward=False)
    refill = RefillRequest.objects.create(order=order, state=R.COMPLETED)
    with pytest.raises(IllegalTransition):
        request_move(refill, R.PENDING)
    assert refill.state == R.COMPLETED
    cancel = CancelRequest.objects.create(order=order, state=C.REQUESTED)
    with pytest.raises(IllegalTransition):
        requests_move(CancelRequest.objects.all(), from_states=[C.REQUESTED], to=C.SUBMITTED)
    # a move the table allows applies to the rows still in the state it names, and only those
    moved = requests_move(
        CancelRequest.objects.filter(pk=cancel.pk), from_states=[C.SENDING], to=C.REQUESTED
    )
    assert moved == 0
    moved = requests_move(
        CancelRequest.objects.filter(pk=cancel.pk), from_states=[C.REQUESTED], to=C.SENDING
    )
    cancel.refresh_from_db()
    assert (moved, cancel.state) == (1, C.SENDING)
