"""Fault tests' fixtures: a customer, placing on the sandbox's catalog (the `catalog` fixture of
tests/conftest.py), time travel, a staff member."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Service
from orders.models import Order
from tests.factories import make_staff, place_order

from .world import Clock, new_customer, unique_link


@pytest.fixture
def customer(db: None) -> Any:
    return new_customer("10000000")


@pytest.fixture
def place(customer: Any, catalog: dict[int, Service]) -> Callable[..., Order]:
    """Place an order on the service with this upstream id, with a link of its own, and forward
    it in-process as the on-commit task would (unless forward=False)."""

    def do(upstream_service: int, *, forward: bool = True, **params: Any) -> Order:
        params.setdefault("link", unique_link())
        return place_order(
            user=customer, service=catalog[upstream_service], forward=forward, **params
        )

    return do


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(timezone.now)
    monkeypatch.setattr(timezone, "now", clock.now)
    return clock


@pytest.fixture
def staff(db: None) -> Any:
    return make_staff(username="operator", email="", password="operator-pass")
