"""Fixtures for the orders tests: customers with money, placing on the sandbox's catalog (the
`catalog` fixture of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from catalog.models import Service
from orders.models import Order
from tests import factories


@pytest.fixture
def make_customer(db: None) -> Callable[..., Any]:
    def make(username: str = "alice", balance: str = "10000000", email: str | None = None) -> Any:
        return factories.make_customer(
            username=username, email=email, password=None, balance=balance
        )

    return make


@pytest.fixture
def customer(make_customer: Callable[..., Any]) -> Any:
    return make_customer("alice")


@pytest.fixture
def other_customer(make_customer: Callable[..., Any]) -> Any:
    return make_customer("bob")


@pytest.fixture
def place(customer: Any, catalog: dict[int, Service]) -> Callable[..., Order]:
    """Place an order for `customer` on the service with this upstream id and forward it
    in-process, as the on-commit task would."""

    def do(
        upstream_service: int, *, user: Any = None, forward: bool = True, **params: Any
    ) -> Order:
        return factories.place_order(
            user=user or customer, service=catalog[upstream_service], forward=forward, **params
        )

    return do
