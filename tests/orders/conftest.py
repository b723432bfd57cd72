"""Factories for the orders tests: customers with money, the sandbox's catalog as Service rows."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from billing.services import customer_create
from catalog.models import Service
from orders.models import Order
from orders.services import order_forward, order_place
from panel.money import quantize_rate
from panel.upstream.sandbox_catalog import CATALOG

MARKUP = Decimal("1.5")


def _service_from_entry(entry: dict[str, Any]) -> Service:
    cost = Decimal(entry["rate"])
    return Service(
        upstream_id=entry["service"],
        name=entry["name"],
        type=entry["type"],
        category=entry["category"],
        cost_rate=cost,
        sell_rate=quantize_rate(cost * MARKUP),
        min_quantity=entry["min"],
        max_quantity=entry["max"],
        dripfeed=entry["dripfeed"],
        refill=entry["refill"],
        days_refill=entry["days_refill"],
        cancel=entry["cancel"],
        avg_time_min=entry["avg_time_min"],
        upstream_status=entry["status"],
        priority=entry["priority"],
    )


@pytest.fixture
def catalog(db: None) -> dict[int, Service]:
    """The sandbox's 40 services as the panel's catalog, keyed by upstream id (the panel's own
    ids differ, as they would after a sync)."""
    Service.objects.bulk_create([_service_from_entry(entry) for entry in CATALOG])
    return {service.upstream_id: service for service in Service.objects.all()}


@pytest.fixture
def make_customer(db: None) -> Callable[..., Any]:
    def make(username: str = "alice", balance: str = "10000000", email: str | None = None) -> Any:
        user, _key = customer_create(
            username=username,
            email=email if email is not None else f"{username}@example.com",
            password=None,
            balance=Decimal(balance) if Decimal(balance) else None,
        )
        return user

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
        order = order_place(
            user=user or customer, service_id=catalog[upstream_service].pk, **params
        )
        if forward:
            order_forward(order_id=order.pk)
        order.refresh_from_db()
        return order

    return do


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # admin_user and login tests hash passwords; the default hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
