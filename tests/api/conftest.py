"""Test wiring for the API v2: customers with keys, services, orders, and a caller that speaks
each of the three request styles real clients use (form POST, GET query string, JSON body)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from billing.services import customer_create
from catalog.models import Service, ServiceType
from orders.models import Order, OrderKind, OrderState
from panel import ratelimit

API_URL = "/api/v2"
STYLES = ("form", "get", "json")

_numbers = itertools.count(1)


@dataclass
class Customer:
    user: Any
    key: str


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # Rate-limit counters, the services answer and the catalog version live in the
    # process-local cache: tests must not see each other's.
    cache.clear()


@pytest.fixture(autouse=True)
def _still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rate-limit windows are minutes of the clock: pinned mid-window, a test's requests never
    # straddle two windows (which would reset a counter halfway through an assertion).
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_030.0)


def new_customer(*, balance: Decimal | int = Decimal("1000000")) -> Customer:
    user, key = customer_create(username=f"customer{next(_numbers)}", balance=Decimal(balance))
    return Customer(user=user, key=key)


@pytest.fixture
def customer(db: None) -> Customer:
    return new_customer()


@pytest.fixture
def other_customer(db: None) -> Customer:
    return new_customer()


def make_service(**overrides: Any) -> Service:
    number = next(_numbers)
    values: dict[str, Any] = {
        "upstream_id": 90_000 + number,
        "name": f"TikTok - Tim - gói {number}",
        "type": ServiceType.DEFAULT,
        "category": "TikTok - Tim",
        "platform": "TikTok",
        "cost_rate": Decimal("3700.0000"),
        "sell_rate": Decimal("4900.0000"),
        "min_quantity": 20,
        "max_quantity": 200_000,
        "dripfeed": False,
        "refill": False,
        "days_refill": 0,
        "cancel": False,
        "avg_time_min": 5,
        "listed": True,
    }
    values.update(overrides)
    return Service.objects.create(**values)


def make_order(user: Any, service: Service, **overrides: Any) -> Order:
    """An order as the orders app leaves it after placing and polling (no ledger entry: the API
    only reads orders, and these tests are about its shapes, not the money)."""
    values: dict[str, Any] = {
        "user": user,
        "service": service,
        "kind": OrderKind.DEFAULT,
        "link": "https://tiktok.com/@user/video/123",
        "quantity": 1000,
        "rate": service.sell_rate,
        "charge": Decimal("4900.00"),
        "state": OrderState.PLACED,
        "upstream_status": "In progress",
        "start_count": 100,
        "remains": 500,
    }
    values.update(overrides)
    if values["state"] != OrderState.QUEUED and "upstream_id" not in values:
        values["upstream_id"] = 500_000 + next(_numbers)
    if values["state"] in (OrderState.COMPLETED, OrderState.PARTIAL, OrderState.CANCELED):
        values.setdefault("finished_at", timezone.now())
    return Order.objects.create(**values)


def send(client: Client, style: str, fields: dict[str, Any], **headers: str) -> Any:
    """One API call in `style`; asserts what every client relies on and returns the JSON."""
    if style == "form":
        response = client.post(
            API_URL,
            urlencode(fields),
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )
    elif style == "get":
        response = client.get(API_URL, fields, headers=headers)
    elif style == "json":
        response = client.post(
            API_URL, json.dumps(fields), content_type="application/json", headers=headers
        )
    else:  # pragma: no cover - a typo in a test
        raise ValueError(style)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


Call = Callable[..., Any]


@pytest.fixture(params=STYLES)
def style(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def api(client: Client, customer: Customer, style: str) -> Call:
    """`api(action, **fields)` as `customer`, in each request style in turn."""

    def call(
        action: str, *, key: str | None = None, headers: dict[str, str] | None = None, **fields: Any
    ) -> Any:
        payload = {"key": customer.key if key is None else key, "action": action, **fields}
        return send(client, style, payload, **(headers or {}))

    return call
