"""Test wiring for the API v2: customers with keys, services, orders, and a caller that speaks
each of the three request styles real clients use (form POST, GET query string, JSON body)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from catalog.models import Service, ServiceType
from orders.models import Order, OrderKind, OrderState
from panel import ratelimit
from tests import factories
from tests.factories import Customer, make_customer_with_key

API_URL = "/api/v2"
STYLES = ("form", "get", "json")

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rate-limit windows are minutes of the clock: pinned mid-window, a test's requests never
    # straddle two windows (which would reset a counter halfway through an assertion).
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_030.0)


def new_customer(*, balance: Decimal | int = Decimal("1000000")) -> Customer:
    """A reseller with money and a key: no e-mail (no notices), no password (the key is how
    they sign in)."""
    return make_customer_with_key(email="", password=None, balance=balance)


@pytest.fixture
def customer(db: None) -> Customer:
    return new_customer()


@pytest.fixture
def other_customer(db: None) -> Customer:
    return new_customer()


def make_service(**overrides: Any) -> Service:
    """A service at the API's prices (cost 3700, sold at 4900 per 1000, 20 to 200000)."""
    number = next(_numbers)
    values: dict[str, Any] = {
        "upstream_id": 90_000 + number,
        "name": f"TikTok - Tim - gói {number}",
        "type": ServiceType.DEFAULT,
        "cost_rate": Decimal("3700.0000"),
        "sell_rate": Decimal("4900.0000"),
        "min_quantity": 20,
        "max_quantity": 200_000,
        "avg_time_min": 5,
    }
    values.update(overrides)
    return factories.make_service(**values)


def order_fields(service: Service, **overrides: Any) -> dict[str, Any]:
    """The fields of an order of 1000 on `service` as the orders app leaves it after placing and
    polling (placed, in progress), with `overrides`."""
    return {
        "kind": OrderKind.DEFAULT,
        "link": factories.LINK,
        "quantity": 1000,
        "rate": service.sell_rate,
        "charge": Decimal("4900.00"),
        "state": OrderState.PLACED,
        "upstream_status": "In progress",
        "start_count": 100,
        "remains": 500,
        **overrides,
    }


def make_order(user: Any, service: Service, **overrides: Any) -> Order:
    """An order as the orders app leaves it after placing and polling (no ledger entry: the API
    only reads orders, and these tests are about its shapes, not the money)."""
    values = order_fields(service, **overrides)
    if values["state"] != OrderState.QUEUED and "upstream_id" not in values:
        values["upstream_id"] = 500_000 + next(_numbers)
    if values["state"] in (OrderState.COMPLETED, OrderState.PARTIAL, OrderState.CANCELED):
        values.setdefault("finished_at", timezone.now())
    return factories.make_order(user=user, service=service, **values)


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
