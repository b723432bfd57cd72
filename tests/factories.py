"""Test data shared by every folder: customers (money through billing.services, never by editing a
balance), staff, services (one by one, from the sandbox's catalog, or from a real sync), orders,
and upstream-shaped catalog entries.

Each folder keeps its own defaults where its tests rely on them (tests/api's customers have no
e-mail, tests/security's log in with PASSWORD...) as thin wrappers in its conftest; what the data
*is* lives here once.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from accounts.services import customer_create
from catalog.models import Service
from catalog.sync import catalog_sync
from orders.forwarding import order_forward
from orders.models import Order, OrderState
from orders.placing import order_place
from panel.money import quantize_rate
from panel.sandbox.catalog import CATALOG

PASSWORD = "correct-horse-battery-42"
MARKUP = Decimal("1.5")  # the sandbox's services are sold at cost x 1.5
LINK = "https://tiktok.com/@user/video/123"

Money = Decimal | int | str

_names = itertools.count(1)  # usernames
_ids = itertools.count(10_000)  # upstream service ids: far from the sandbox's (101...) and pks


# --- people --------------------------------------------------------------------------------------


class Customer(NamedTuple):
    """A customer and their raw API key (unpacks as `user, key` too)."""

    user: Any
    key: str


def make_customer_with_key(
    *,
    username: str | None = None,
    email: str | None = None,
    password: str | None = PASSWORD,
    balance: Money | None = None,
    prefix: str = "customer",
) -> Customer:
    """A customer made the way the shop makes them (wallet, profile, API key), with an opening
    balance deposited through billing when `balance` is not zero.

    `username` defaults to `<prefix><n>`, unique in the session; `email` to
    `<username>@example.com` (pass "" for none: no notices are e-mailed); `password=None` leaves
    an account that cannot log in.
    """
    name = username or f"{prefix}{next(_names)}"
    user, key = customer_create(
        username=name,
        email=f"{name}@example.com" if email is None else email,
        password=password,
        balance=Decimal(balance) if balance is not None else None,
    )
    return Customer(user=user, key=key)


def make_customer(
    *,
    username: str | None = None,
    email: str | None = None,
    password: str | None = PASSWORD,
    balance: Money | None = None,
    prefix: str = "customer",
) -> Any:
    """`make_customer_with_key(...)`'s user alone."""
    return make_customer_with_key(
        username=username, email=email, password=password, balance=balance, prefix=prefix
    ).user


def make_staff(
    *,
    username: str = "staff",
    superuser: bool = False,
    email: str | None = None,
    password: str = PASSWORD,
) -> AbstractBaseUser:
    """A staff member: with every permission when `superuser`, with none otherwise."""
    return get_user_model().objects.create_user(
        username=username,
        email=f"{username}@example.com" if email is None else email,
        password=password,
        is_staff=True,
        is_superuser=superuser,
    )


# --- services ------------------------------------------------------------------------------------


def make_service(
    *,
    upstream_id: int | None = None,
    name: str | None = None,
    category: str = "TikTok - Tim",
    platform: str = "TikTok",
    cost_rate: Money = Decimal("10.0000"),
    sell_rate: Money = Decimal("13.0000"),
    min_quantity: int = 10,
    max_quantity: int = 10000,
    **fields: Any,
) -> Service:
    """One service in the panel's catalog (any other field of Service by keyword)."""
    number = upstream_id or next(_ids)
    return Service.objects.create(
        upstream_id=number,
        name=f"Service {number}" if name is None else name,
        category=category,
        platform=platform,
        cost_rate=cost_rate,
        sell_rate=sell_rate,
        min_quantity=min_quantity,
        max_quantity=max_quantity,
        **fields,
    )


def service_from_entry(entry: dict[str, Any]) -> Service:
    """An unsaved Service for one entry of the upstream's `services` answer, sold at cost x 1.5."""
    cost = Decimal(entry["rate"])
    return Service(
        upstream_id=entry["service"],
        name=entry["name"],
        type=entry["type"],
        category=entry["category"],
        description=entry.get("description", ""),
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


def install_catalog(*, entries: list[dict[str, Any]] | None = None) -> dict[int, Service]:
    """The sandbox's services (or `entries`) as the panel's catalog, keyed by upstream id, without
    a sync. The panel's own ids differ from the upstream's, as they would after a sync."""
    Service.objects.bulk_create(
        [service_from_entry(entry) for entry in (entries if entries is not None else CATALOG)]
    )
    return {service.upstream_id: service for service in Service.objects.all()}


def synced_catalog() -> dict[int, Service]:
    """The catalog as a real sync from the upstream makes it (needs the `sandbox` fixture), keyed
    by upstream id."""
    run = catalog_sync()
    assert run.ok, run.message
    return {service.upstream_id: service for service in Service.objects.all()}


def upstream_entry(service: int | None = None, **overrides: Any) -> dict[str, Any]:
    """One entry of the upstream's `services` answer, as the sandbox serves it."""
    number = service if service is not None else next(_ids)
    entry: dict[str, Any] = {
        "service": number,
        "name": f"TikTok - Tim - gói {number}",
        "type": "Default",
        "rate": "10.0000",
        "min": 10,
        "max": 10000,
        "dripfeed": False,
        "refill": False,
        "days_refill": 0,
        "cancel": False,
        "avg_time_min": 30,
        "status": "normal",
        "category": "TikTok - Tim",
        "description": "",
        "priority": False,
    }
    entry.update(overrides)
    return entry


def generated_catalog(size: int, *, start: int = 1) -> list[dict[str, Any]]:
    """`size` upstream entries over a handful of categories, some priority, all plain."""
    categories = ["TikTok - Tim", "Facebook - Like", "Instagram - Follow", "YouTube - View"]
    return [
        upstream_entry(
            number,
            category=categories[number % len(categories)],
            rate=f"{(number % 97) + 1}.5000",
            priority=number % 10 == 0,
        )
        for number in range(start, start + size)
    ]


# --- orders --------------------------------------------------------------------------------------


def place_order(*, user: Any, service: Service, forward: bool = True, **params: Any) -> Order:
    """An order placed as the customer places it (charged through billing), then forwarded to the
    upstream in-process as the on-commit task would (on_commit never fires in a `db` test);
    returned as the database has it."""
    order = order_place(user=user, service_id=service.pk, **params)
    if forward:
        order_forward(order_id=order.pk)
    order.refresh_from_db()
    return order


def make_order(
    *,
    user: Any,
    service: Service | None = None,
    charge: Money,
    link: str = LINK,
    quantity: int = 1000,
    rate: Money | None = None,
    **fields: Any,
) -> Order:
    """An order row written directly, without its charge in the ledger (for tests of the ledger
    itself, or of pages that only read orders). `rate` defaults to the service's sell rate."""
    service = service or make_service()
    return Order.objects.create(
        user=user,
        service=service,
        link=link,
        quantity=quantity,
        rate=service.sell_rate if rate is None else rate,
        charge=Decimal(charge),
        **fields,
    )


def placed_upstream_orders(
    sandbox: Any,
    *,
    user: Any,
    service: Service,
    count: int,
    keys: str,
    link: str = LINK,
    quantity: int = 100,
    charge: Money = "1.00",
    **fields: Any,
) -> list[Order]:
    """`count` orders already placed upstream, written in one go (the placing path is tested
    elsewhere): each is added to the sandbox in-process, then saved as `placed` with the
    upstream's id and idempotency key `<keys><n>`. No ledger entries."""
    rows = []
    for n in range(count):
        answer = sandbox.handle(
            {
                "key": sandbox.key,
                "action": "add",
                "service": str(service.upstream_id),
                "link": link,
                "quantity": str(quantity),
            }
        )
        rows.append(
            Order(
                user=user,
                service=service,
                link=link,
                quantity=quantity,
                rate=service.sell_rate,
                charge=Decimal(charge),
                state=OrderState.PLACED,
                upstream_id=answer["order"],
                idempotency_key=f"{keys}{n}",
                **fields,
            )
        )
    return Order.objects.bulk_create(rows)
