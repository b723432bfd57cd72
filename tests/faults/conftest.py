"""Fault tests' fixtures: a customer, placing on the sandbox's catalog (the `catalog` fixture of
tests/conftest.py), time travel, a staff member."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from billing.selectors import ledger_problems
from catalog.models import Service
from orders.models import Order
from tests.factories import make_staff, place_order

from .world import Clock, new_customer, unique_link


@pytest.fixture(autouse=True)
def _check_ledger_clean_after(request: pytest.FixtureRequest) -> Any:
    """After every fault test that touched the database, `check_ledger` finds nothing wrong
    (test_invariants.py breaks money on purpose, to prove the checker notices)."""
    uses_db = bool(request.node.get_closest_marker("django_db")) or bool(
        {"db", "transactional_db"} & set(request.fixturenames)
    )
    if uses_db:
        # Set up here, so that the check below runs before the database is rolled back.
        request.getfixturevalue("_django_db_helper")
    yield
    if uses_db and not request.node.module.__name__.endswith("test_invariants"):
        assert list(ledger_problems()) == []


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
