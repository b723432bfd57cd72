"""Shared wiring for the security tests: customers A and B with real orders placed through the
sandbox upstream, a staff member with no permissions, and clients logged in as each of them."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from billing.models import ApiKey
from billing.services import customer_create, topup_request_create
from catalog.models import Service
from orders.models import Order
from orders.services import order_forward, order_place
from panel.money import quantize_rate
from panel.upstream.sandbox_catalog import CATALOG

PASSWORD = "correct-horse-battery-42"
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Logins are the subject here, key stretching is not: the default hasher costs ~0.2 s.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # Rate-limit counters and the catalog version live in the process-local cache.
    cache.clear()


@dataclass
class Customer:
    user: Any
    key: str  # the raw API key


def new_customer(username: str | None = None, *, balance: str = "10000000") -> Customer:
    name = username or f"customer{next(_numbers)}"
    user, key = customer_create(
        username=name, email=f"{name}@example.com", password=PASSWORD, balance=Decimal(balance)
    )
    return Customer(user=user, key=key)


def new_staff(username: str = "staff", **extra: Any) -> Any:
    """A staff member with no permission at all (unless `extra` says superuser)."""
    return get_user_model().objects.create_user(
        username=username,
        email=f"{username}@example.com",
        password=PASSWORD,
        is_staff=True,
        **extra,
    )


def verified_client(user: Any) -> Client:
    """A client logged in as `user` whose session is verified by a confirmed TOTP device, as
    after a login to the admin with password and code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or (
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    )
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def service_from_entry(entry: dict[str, Any]) -> Service:
    cost = Decimal(entry["rate"])
    return Service(
        upstream_id=entry["service"],
        name=entry["name"],
        type=entry["type"],
        category=entry["category"],
        cost_rate=cost,
        sell_rate=quantize_rate(cost * Decimal("1.5")),
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
    """The sandbox's services as the panel's catalog, keyed by upstream id."""
    Service.objects.bulk_create([service_from_entry(entry) for entry in CATALOG])
    return {service.upstream_id: service for service in Service.objects.all()}


@pytest.fixture
def place(catalog: dict[int, Service], sandbox: Any) -> Callable[..., Order]:
    """Place an order on the service with this upstream id and forward it to the sandbox
    in-process, as the on-commit task would."""

    def do(user: Any, upstream_service: int = 101, **params: Any) -> Order:
        params.setdefault("link", "https://www.tiktok.com/@shop/video/7300000000000000001")
        if "comments" not in params:
            params.setdefault("quantity", 1000)
        order = order_place(user=user, service_id=catalog[upstream_service].pk, **params)
        order_forward(order_id=order.pk)
        order.refresh_from_db()
        return order

    return do


@dataclass
class World:
    a: Customer
    b: Customer
    staff: Any
    order: Order  # customer A's, placed upstream
    topup_reference: str  # customer A's pending top-up


@pytest.fixture
def world(place: Callable[..., Order]) -> World:
    a, b = new_customer("alice"), new_customer("bob")
    order = place(a.user)
    assert order.upstream_id is not None, order.error
    topup = topup_request_create(user=a.user, amount=Decimal("200000"))
    assert ApiKey.objects.filter(user=a.user).exists()
    return World(a=a, b=b, staff=new_staff(), order=order, topup_reference=topup.reference)
