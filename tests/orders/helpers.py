"""Small assertions shared by the orders tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.services import wallet_for_user
from orders.models import Order


def balance_of(user: Any) -> Decimal:
    return wallet_for_user(user=user).balance


def upstream_order(sandbox: Any, order: Order) -> Any:
    return sandbox.orders[order.upstream_id]


def assert_state(order: Order, state: str) -> None:
    order.refresh_from_db()
    assert order.state == state, f"order {order.pk} is {order.state}, expected {state}"
