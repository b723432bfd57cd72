"""Every action runs in a constant number of SQL queries, however many ids it is given.

Each test runs at two sizes; the bound is the same for both, so a query per id fails at once.
The first request of a key also records its use (one UPDATE a minute): a warm-up call takes it.
"""

from __future__ import annotations

import pytest
from django.test import Client

from catalog.models import Service
from orders.models import Order, OrderState, RefillRequest

from .conftest import Customer, make_service, order_fields, send

LINK = "https://tiktok.com/@user/video/123"


def _orders(customer: Customer, service: Service, count: int, **fields: object) -> list[int]:
    values = order_fields(service, **{"link": LINK, **fields})
    orders = Order.objects.bulk_create(
        Order(user=customer.user, service=service, upstream_id=700_000 + n, **values)
        for n in range(count)
    )
    return [order.pk for order in orders]


def _call(client: Client, customer: Customer, action: str, **fields: object) -> object:
    return send(client, "form", {"key": customer.key, "action": action, **fields})


@pytest.fixture
def warm(client: Client, customer: Customer) -> Client:
    _call(client, customer, "balance")
    return client


@pytest.mark.parametrize("size", [5, 200])
def test_status_of_many_orders_takes_constant_queries(
    warm: Client, customer: Customer, size: int, django_assert_max_num_queries
) -> None:
    # given `size` orders of the customer
    ids = _orders(customer, make_service(), size)
    # when their status is asked for at once
    with django_assert_max_num_queries(3):  # the key, the orders with services, their refunds
        answer = _call(warm, customer, "status", orders=",".join(map(str, ids)))
    # then every one is answered
    assert len(answer) == size
    assert all(row["status"] == "In progress" for row in answer.values())


@pytest.mark.parametrize("size", [5, 100])
def test_refill_of_many_orders_takes_constant_queries(
    warm: Client, customer: Customer, size: int, django_assert_max_num_queries
) -> None:
    service = make_service(refill=True, days_refill=30)
    from django.utils import timezone

    ids = _orders(
        customer,
        service,
        size,
        state=OrderState.COMPLETED,
        upstream_status="Completed",
        remains=0,
        finished_at=timezone.now(),
    )
    with django_assert_max_num_queries(6):
        answer = _call(warm, customer, "refill", orders=",".join(map(str, ids)))
    assert [row["refill"] for row in answer] == ids


@pytest.mark.parametrize("size", [5, 100])
def test_refill_status_of_many_takes_constant_queries(
    warm: Client, customer: Customer, size: int, django_assert_max_num_queries
) -> None:
    ids = _orders(customer, make_service(refill=True), size, state=OrderState.COMPLETED)
    RefillRequest.objects.bulk_create(
        RefillRequest(order_id=pk, state=RefillRequest.State.COMPLETED) for pk in ids
    )
    with django_assert_max_num_queries(2):
        answer = _call(warm, customer, "refill_status", refills=",".join(map(str, ids)))
    assert {row["status"] for row in answer} == {"Completed"}


@pytest.mark.parametrize("size", [5, 100])
def test_cancel_of_many_placed_orders_takes_constant_queries(
    warm: Client, customer: Customer, size: int, django_assert_max_num_queries
) -> None:
    # (orders still queued in the panel are cancelled on the spot, with a refund each: that
    # costs a few queries per such order, by the orders app's design)
    ids = _orders(customer, make_service(cancel=True), size)
    with django_assert_max_num_queries(6):
        answer = _call(warm, customer, "cancel", orders=",".join(map(str, ids)))
    assert [row["cancel"] for row in answer] == ids


@pytest.mark.parametrize("size", [5, 300])
def test_services_take_constant_queries_and_none_once_cached(
    warm: Client,
    customer: Customer,
    size: int,
    django_assert_max_num_queries,
    django_assert_num_queries,
) -> None:
    Service.objects.bulk_create(
        Service(
            upstream_id=800_000 + n,
            name=f"S{n}",
            category="C",
            cost_rate=1,
            sell_rate=2,
            min_quantity=10,
            max_quantity=1000,
        )
        for n in range(size)
    )
    # the catalog version is read from the database (never the cache) on every call, and so is
    # the customer's price rule: two primary-key lookups buy a cached answer that is never older
    # than the last committed price, and never another customer's
    with django_assert_max_num_queries(4):  # the key, the version, the price rule, the services
        assert len(_call(warm, customer, "services")) == size
    with django_assert_num_queries(3):  # the key, the catalog version, the price rule (none here)
        assert len(_call(warm, customer, "services")) == size


@pytest.mark.parametrize(
    ("action", "fields", "bound"),
    [
        ("balance", {}, 2),
        ("status", {"order": 1}, 3),
        ("refill_status", {"refill": 1}, 2),
        ("add", {"quantity": 1000}, 16),  # most are the order and its charge (orders, billing)
        ("add", {"quantity": 1000, "idempotency_key": "k"}, 16),
    ],
)
def test_single_actions_take_a_few_queries(
    warm: Client,
    customer: Customer,
    action: str,
    fields: dict[str, object],
    bound: int,
    django_assert_max_num_queries,
) -> None:
    service = make_service()
    if action == "add":
        fields = {"service": service.pk, "link": LINK, **fields}
    with django_assert_max_num_queries(bound):
        answer = _call(warm, customer, action, **fields)
    assert answer  # answered (an error for ids that do not exist is an answer too)
