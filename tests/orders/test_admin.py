"""Staff resolve held orders from Django admin; money columns and alerts are there."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from orders.models import Order, OrderState

from .helpers import assert_state, balance_of

LINK = "https://tiktok.com/@user/video/123"
CHANGELIST = "admin:orders_order_changelist"


@pytest.fixture
def staff(client: Any, admin_user: Any) -> Any:
    client.force_login(admin_user)
    return client


@pytest.fixture
def held(sandbox: Any, place: Any) -> Order:
    sandbox.inject_fault("add", "drop_after_accept")
    order = place(101, link=LINK, quantity=1000)
    assert order.state == OrderState.REVIEW
    return order


def test_the_changelist_shows_money_columns_and_alerts(
    staff: Any, sandbox: Any, place: Any, held: Order
) -> None:
    sandbox.set_balance(0)
    place(101, link=LINK + "?w", quantity=1000)
    sandbox.set_balance(1_000_000)
    placed = place(101, link=LINK + "?p", quantity=1000)
    Order.objects.filter(pk=placed.pk).update(cost=Decimal("3700"))
    response = staff.get(reverse(CHANGELIST))
    html = response.content.decode()
    assert response.status_code == 200
    assert "out of funds" in html and "held for review" in html
    row = next(o for o in response.context["cl"].result_list if o.pk == placed.pk)
    assert row.profit == Decimal("1850")  # 5.550 paid - 3.700 upstream cost


def test_staff_attach_an_upstream_id_through_the_intermediate_form(
    staff: Any, sandbox: Any, held: Order
) -> None:
    (upstream_id,) = sandbox.orders
    url = reverse(CHANGELIST)
    form = staff.post(url, {"action": "attach_upstream_id", ACTION_CHECKBOX_NAME: [held.pk]})
    assert form.status_code == 200 and b"upstream_id" in form.content
    staff.post(
        url,
        {
            "action": "attach_upstream_id",
            ACTION_CHECKBOX_NAME: [held.pk],
            "apply": "1",
            "upstream_id": str(upstream_id),
        },
    )
    assert_state(held, OrderState.PLACED)
    assert held.upstream_id == upstream_id


def test_staff_fail_and_refund_from_the_changelist(staff: Any, held: Order, customer: Any) -> None:
    before = balance_of(customer)
    staff.post(reverse(CHANGELIST), {"action": "fail_and_refund", ACTION_CHECKBOX_NAME: [held.pk]})
    assert_state(held, OrderState.FAILED)
    assert balance_of(customer) == before + held.charge


def test_staff_send_again_from_the_changelist(
    staff: Any, sandbox: Any, held: Order, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse(CHANGELIST), {"action": "send_again", ACTION_CHECKBOX_NAME: [held.pk]})
    assert_state(held, OrderState.PLACED)


def test_an_action_that_does_not_apply_changes_nothing(
    staff: Any, place: Any, sandbox: Any, customer: Any
) -> None:
    order = place(101, link=LINK, quantity=1000)
    before = balance_of(customer)
    response = staff.post(
        reverse(CHANGELIST),
        {"action": "fail_and_refund", ACTION_CHECKBOX_NAME: [order.pk]},
        follow=True,
    )
    assert "neither held for review nor queued" in response.content.decode()
    assert_state(order, OrderState.PLACED)
    assert balance_of(customer) == before


@pytest.mark.parametrize(
    "name",
    [
        "admin:orders_order_change",
        "admin:orders_refillrequest_changelist",
        "admin:orders_cancelrequest_changelist",
    ],
)
def test_the_admin_pages_render(staff: Any, held: Order, name: str) -> None:
    args = [held.pk] if name.endswith("_change") else []
    assert staff.get(reverse(name, args=args)).status_code == 200
