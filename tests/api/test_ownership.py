"""Nobody reaches another customer's data: their orders answer like ids that do not exist."""

from __future__ import annotations

import pytest

from orders.models import CancelRequest, OrderState, RefillRequest

from .conftest import Customer, make_order, make_service

MISSING = 987_654_321


@pytest.fixture
def theirs(other_customer: Customer) -> int:
    """Another customer's order that would be refillable and cancellable by its owner."""
    service = make_service(refill=True, days_refill=30, cancel=True)
    order = make_order(
        other_customer.user, service, state=OrderState.COMPLETED, upstream_status="Completed"
    )
    RefillRequest.objects.create(order=order, state=RefillRequest.State.COMPLETED)
    return order.pk


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ("status", "order"),
        ("status", "orders"),
        ("refill", "order"),
        ("refill", "orders"),
        ("refill_status", "refill"),
        ("refill_status", "refills"),
        ("cancel", "order"),
        ("cancel", "orders"),
    ],
)
def test_another_customers_order_is_indistinguishable_from_a_missing_one(
    api, theirs: int, action: str, field: str
) -> None:
    # when the customer asks about someone else's order and about an id that does not exist
    about_theirs = api(action, **{field: theirs})
    about_missing = api(action, **{field: MISSING})
    # then both answers are the same, apart from the id echoed back
    assert str(about_theirs).replace(str(theirs), "ID") == str(about_missing).replace(
        str(MISSING), "ID"
    )
    assert "error" in str(about_theirs)


def test_nothing_is_requested_on_another_customers_order(api, theirs: int) -> None:
    api("refill", order=theirs)
    api("refill", orders=str(theirs))
    api("cancel", order=theirs)
    api("cancel", orders=str(theirs))
    assert RefillRequest.objects.filter(order_id=theirs).count() == 1  # only the owner's own
    assert not CancelRequest.objects.filter(order_id=theirs).exists()


def test_a_list_mixing_own_and_others_orders_answers_only_the_own(
    api, customer: Customer, theirs: int
) -> None:
    mine = make_order(customer.user, make_service())
    answer = api("status", orders=f"{mine.pk},{theirs}")
    assert answer[str(mine.pk)]["status"] == "In progress"
    assert answer[str(theirs)] == {"error": "Incorrect order ID"}
