"""Fault tests' fixtures: the sandbox catalog as services, a customer, placing, time travel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Service
from orders.models import Order
from orders.services import order_forward, order_place

from .world import Clock, install_catalog, new_customer, unique_link


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Staff users for the review resolutions hash a password; the default hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def catalog(db: None) -> dict[int, Service]:
    return install_catalog()


@pytest.fixture
def customer(db: None) -> Any:
    return new_customer("10000000")


@pytest.fixture
def place(customer: Any, catalog: dict[int, Service]) -> Callable[..., Order]:
    """Place an order on the service with this upstream id, with a link of its own, and forward
    it in-process as the on-commit task would (unless forward=False)."""

    def do(upstream_service: int, *, forward: bool = True, **params: Any) -> Order:
        params.setdefault("link", unique_link())
        order = order_place(user=customer, service_id=catalog[upstream_service].pk, **params)
        if forward:
            order_forward(order_id=order.pk)
        order.refresh_from_db()
        return order

    return do


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(timezone.now)
    monkeypatch.setattr(timezone, "now", clock.now)
    return clock


@pytest.fixture
def staff(db: None) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(
        username="operator", password="operator-pass", is_staff=True
    )
