"""Fixtures for the support tests: customers with money and real orders on the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from catalog.models import Service
from orders.models import Order, OrderState
from orders.polling import orders_poll
from tests import factories


@pytest.fixture
def customer(db: None) -> Any:
    return factories.make_customer(username="alice", balance="10000000")


@pytest.fixture
def other_customer(db: None) -> Any:
    return factories.make_customer(username="bob", balance="10000000")


@pytest.fixture
def staff(db: None) -> Any:
    return factories.make_staff(username="agent", superuser=True)


@pytest.fixture
def place(customer: Any, catalog: dict[int, Service], sandbox: Any) -> Callable[..., Order]:
    """An order of `customer` (or `user`) on the sandbox's service `upstream_service`, forwarded."""

    def do(upstream_service: int = 101, *, user: Any = None, **params: Any) -> Order:
        params.setdefault("link", factories.LINK)
        params.setdefault("quantity", 1000)
        return factories.place_order(
            user=user or customer, service=catalog[upstream_service], **params
        )

    return do


@pytest.fixture
def completed(sandbox: Any, place: Callable[..., Order]) -> Callable[..., Order]:
    """An order the upstream delivered in full (refillable: the sandbox's 101 has a refill)."""

    def do(**params: Any) -> Order:
        order = place(**params)
        sandbox.advance(3 * 86400)
        orders_poll()
        order.refresh_from_db()
        assert order.state == OrderState.COMPLETED
        return order

    return do
