"""The transition table and the one function that changes an order's state."""

from __future__ import annotations

from typing import Any

import pytest

from orders.models import Order, OrderEvent, OrderState
from orders.policy import public_status
from orders.states import FINAL_STATES, TRANSITIONS, IllegalTransition, order_transition

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
