"""Shared wiring for the security tests: customers A and B with real orders placed through the
sandbox upstream, a staff member with no permissions, and clients logged in as each of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiKey
from billing.services import topup_request_create
from catalog.models import Service
from orders.models import Order
from tests.factories import Customer, make_customer_with_key, make_staff, place_order


def new_customer(username: str | None = None, *, balance: str = "10000000") -> Customer:
    """A customer who logs in with PASSWORD, with money and an API key."""
    return make_customer_with_key(username=username, balance=balance)


def new_staff(username: str = "staff", *, is_superuser: bool = False) -> Any:
    """A staff member with no permission at all (unless a superuser)."""
    return make_staff(username=username, superuser=is_superuser)


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


@pytest.fixture
def place(catalog: dict[int, Service], sandbox: Any) -> Callable[..., Order]:
    """Place an order on the service with this upstream id and forward it to the sandbox
    in-process, as the on-commit task would."""

    def do(user: Any, upstream_service: int = 101, **params: Any) -> Order:
        params.setdefault("link", "https://www.tiktok.com/@shop/video/7300000000000000001")
        if "comments" not in params:
            params.setdefault("quantity", 1000)
        return place_order(user=user, service=catalog[upstream_service], **params)

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
