"""Small factories for billing tests: customers, a catalog service, orders to charge."""

from __future__ import annotations

import itertools
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from billing.services import customer_create
from catalog.models import Service
from orders.models import Order

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery-42"


def make_customer(
    *,
    username: str | None = None,
    balance: Decimal | int | None = None,
    email: str | None = None,
    password: str | None = PASSWORD,
) -> AbstractBaseUser:
    name = username or f"customer{next(_seq)}"
    user, _key = customer_create(
        username=name,
        email=email if email is not None else f"{name}@example.com",
        password=password,
        balance=Decimal(balance) if balance is not None else None,
    )
    return user


def make_staff(*, username: str = "staff", superuser: bool = True) -> AbstractBaseUser:
    users = get_user_model()
    if superuser:
        return users.objects.create_superuser(
            username=username, email=f"{username}@example.com", password=PASSWORD
        )
    return users.objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, is_staff=True
    )


def make_service() -> Service:
    n = next(_seq)
    return Service.objects.create(
        upstream_id=100000 + n,
        name=f"Facebook likes {n}",
        category="Facebook",
        platform="facebook",
        cost_rate=Decimal("10.0000"),
        sell_rate=Decimal("13.0000"),
        min_quantity=10,
        max_quantity=100000,
    )


def make_order(
    *, user: AbstractBaseUser, charge: Decimal | int | str, service: Service | None = None
) -> Order:
    """An order row as orders.services would create it, without its charge (the test charges it)."""
    return Order.objects.create(
        user=user,
        service=service or make_service(),
        link="https://facebook.com/some.post",
        quantity=1000,
        rate=Decimal("13.0000"),
        charge=Decimal(charge),
    )
