"""The poll's write of open orders: only what changed, in one statement, the same stored values."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Order, OrderState
from orders.polling import orders_poll
from panel import db as panel_db

LINK = "https://tiktok.com/@user/video/123"
FIELDS = ["upstream_status", "start_count", "remains", "cost", "extra", "updated_at"]


def placed_orders(sandbox: Any, customer: Any, catalog: Any, count: int) -> list[Order]:
    service = catalog[101]
    rows = []
    for n in range(count):
        answer = sandbox.handle(
            {"key": sandbox.key, "action": "add", "service": "101", "link": LINK, "quantity": "100"}
        )
        rows.append(
            Order(
                user=customer,
                service=service,
                link=LINK,
                quantity=100,
                rate=service.sell_rate,
                charge=Decimal("1.00"),
                state=OrderState.PLACED,
                upstream_id=answer["order"],
                idempotency_key=f"w{n}",
            )
        )
    return Order.objects.bulk_create(rows)


def order_updates(queries: list[dict[str, str]]) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "orders_order"')]


def test_a_poll_that_finds_nothing_new_writes_no_order(
    sandbox: Any, customer: Any, catalog: Any
) -> None:
    # given 5 running orders, polled once
    placed_orders(sandbox, customer, catalog, 5)
    sandbox.advance(90)
    assert orders_poll().updated == 5
    stamps = dict(Order.objects.values_list("pk", "updated_at"))
    # when they are polled again with nothing changed upstream
    with CaptureQueriesContext(connection) as captured:
        again = orders_poll()
    # then no order is written: not even its updated_at
    assert again.updated == 0 and again.orders == 5
    assert order_updates(captured.captured_queries) == []
    assert dict(Order.objects.values_list("pk", "updated_at")) == stamps
    # and once the upstream moves on, every one is written again, in one statement
    sandbox.advance(30)
    with CaptureQueriesContext(connection) as captured:
        moved = orders_poll()
    assert moved.updated == 5 and len(order_updates(captured.captured_queries)) == 1
    assert Order.objects.filter(remains__lt=100, upstream_status="In progress").count() == 5


WRITERS = ["bulk_write", "_write_grouped_case"]  # the portable one is tested on every database


@pytest.mark.parametrize("writer", WRITERS)
def test_the_bulk_write_stores_what_bulk_update_stores_and_only_where_the_filter_says(
    writer: str, sandbox: Any, customer: Any, catalog: Any
) -> None:
    # given pairs of orders that get the same new values, some shared, NULLs and JSON included
    orders = placed_orders(sandbox, customer, catalog, 13)
    now = timezone.now()
    values = [
        ("In progress", 120, 40, Decimal("3.70"), {"runs_started": 2, "orders": [1, 2]}, now),
        ("In progress", None, 40, None, {}, now),
        ("Pending", 0, None, Decimal("0.01"), {"children": [{"id": 9, "status": None}]}, now),
        ("In progress", 120, 7, Decimal("3.7"), {"b": 1, "a": "Đã xong"}, now),
        ("", 10**12, 0, Decimal("12345.67"), {"a": "Đã xong", "b": 1}, now - timedelta(days=1)),
        ("In progress", 120, 40, Decimal("3.70"), {"runs_started": 2, "orders": [1, 2]}, now),
    ]
    mine, reference, ended = orders[0:6], orders[6:12], orders[12]
    for row, (a, b) in enumerate(zip(mine, reference, strict=True)):
        for obj in (a, b):
            for name, value in zip(FIELDS, values[row], strict=True):
                setattr(obj, name, value)
    # and one order that ended meanwhile (the filter must leave it alone)
    Order.objects.filter(pk=ended.pk).update(state=OrderState.COMPLETED, remains=0)
    ended.remains, ended.upstream_status = 55, "In progress"
    placed = Order.objects.filter(state=OrderState.PLACED)
    # when one set is written by bulk_write and the other by Django's bulk_update
    written = getattr(panel_db, writer)(placed, [*mine, ended], FIELDS)
    placed.bulk_update(reference, FIELDS)
    # then the stored values are the same, row for row, and the ended order kept its own
    assert written == 6

    def stored(objs: list[Order]) -> list[tuple[Any, ...]]:
        by_pk = {row[0]: row[1:] for row in Order.objects.values_list("pk", *FIELDS)}
        return [by_pk[obj.pk] for obj in objs]

    assert stored(mine) == stored(reference)
    assert [row[:3] for row in stored(mine)] == [row[:3] for row in values]
    assert Order.objects.values_list("state", "remains", "upstream_status").get(pk=ended.pk) == (
        OrderState.COMPLETED,
        0,
        "",
    )


def test_a_bulk_write_of_nothing_runs_no_query(db: None) -> None:
    with CaptureQueriesContext(connection) as captured:
        assert panel_db.bulk_write(Order.objects.all(), [], FIELDS) == 0
    assert captured.captured_queries == []
