"""Benchmark: one polling cycle over 10,000 open orders (600 in the smoke run).

Two cycles are measured: one where every order is still running (each batch: one SELECT, one
`status` call, one bulk UPDATE), and one where a tenth of them ended (each ended order adds its
own small transaction: the state change, its event, its refund). The limits: exactly ceil(N/200)
upstream calls a cycle, and the same number of queries for every batch of running orders.
"""

from __future__ import annotations

import math
import re
import time
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from billing.services import wallet_charge
from orders.models import Order, OrderState
from orders.polling import orders_poll
from orders.tasks import order_notify_task
from panel.money import charge_for
from panel.upstream.client import UpstreamClient
from tests.factories import install_catalog
from tests.faults.world import new_customer
from tests.invariants import assert_money_invariants

from .results import FULL, REPORT

pytestmark = pytest.mark.bench

N = 10_000 if FULL else 600
FAST, SLOW = 101, 404  # 101 ends 3 minutes after it starts; 404 (1000 units) runs a day
ENDINGS = ("Completed", "Partial", "Completed", "Canceled")
MAX_SECONDS = 60.0  # a generous ceiling: the beat runs a cycle every 2 minutes
# The SELECT that starts each batch (`... WHERE state = placed ... AND id > <last> ... LIMIT 200`).
BATCH_SELECT = re.compile(r'^SELECT .* FROM "orders_order" WHERE .*"orders_order"\."id" > %s', re.S)


def seed_orders(sandbox: Any, customer: Any) -> list[Order]:
    """N orders placed upstream, a tenth on a fast service (with every ending: completed,
    partial, canceled), the rest on a slow one; each charged through billing."""
    catalog = install_catalog()
    # 9,000 slow orders at Vietnamese market prices (200.000 ₫ a thousand subscribers upstream)
    # cost the upstream account far more than the sandbox's default balance.
    sandbox.set_balance(Decimal("100000000000"))
    rows = []
    for n in range(N):
        fast = n % 10 == 0
        # Every batch of 200 holds 20 fast orders: 10 to complete, 5 to end partial, 5 canceled.
        ending = ENDINGS[(n // 10) % len(ENDINGS)]
        if fast and ending != "Completed":
            sandbox.set_next_fate(status=ending, remains=37 if ending == "Partial" else None)
        service, quantity = (FAST, 100) if fast else (SLOW, 1000)
        link = f"https://example.com/bench/{n}"
        # In-process, not over HTTP: the seeding is not what is measured.
        answer = sandbox.handle(
            {
                "key": sandbox.key,
                "action": "add",
                "service": str(service),
                "link": link,
                "quantity": str(quantity),
            }
        )
        rate = catalog[service].sell_rate
        rows.append(
            Order(
                user=customer,
                service=catalog[service],
                link=link,
                quantity=quantity,
                rate=rate,
                charge=charge_for(rate, quantity),
                state=OrderState.PLACED,
                upstream_id=answer["order"],
                upstream_status="Pending",
            )
        )
    orders = Order.objects.bulk_create(rows)
    for order in orders:
        wallet_charge(user=customer, amount=order.charge, order_id=order.pk)
    return orders


def measured_cycle(label: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    upstream = {"calls": 0, "seconds": 0.0}
    statuses = UpstreamClient.statuses

    def timed(self: UpstreamClient, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return statuses(self, **kwargs)
        finally:
            upstream["calls"] += 1
            upstream["seconds"] += time.perf_counter() - started

    # Queries per batch: counted from one batch's SELECT to the next (a wrapper, not the debug
    # cursor, which keeps only the last 9000 queries and costs time of its own).
    per_batch: list[int] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if BATCH_SELECT.search(sql):
            per_batch.append(0)
        if per_batch:
            per_batch[-1] += 1
        return execute(sql, params, many, context)

    monkeypatch.setattr(UpstreamClient, "statuses", timed)
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        result = orders_poll()
        elapsed = time.perf_counter() - started
    monkeypatch.setattr(UpstreamClient, "statuses", statuses)
    bench = f"poll cycle, {N} open orders"
    limit = f"= ceil(N/200) = {math.ceil(N / 200)}"
    REPORT.add(bench, f"{label}: time", elapsed, "s", f"< {MAX_SECONDS:g} s (beat every 120 s)")
    REPORT.add(bench, f"{label}: of which upstream `status`", upstream["seconds"], "s")
    REPORT.add(bench, f"{label}: upstream calls", upstream["calls"], "", limit)
    REPORT.add(bench, f"{label}: SQL queries", sum(per_batch), "")
    # The last SELECT found nothing: it ends the cycle, it is no batch.
    return {
        "result": result,
        "elapsed": elapsed,
        "calls": upstream["calls"],
        "per_batch": per_batch[:-1],
    }


# Transactional, as production runs: every finished order commits its own transaction (inside one
# test transaction, thousands of savepoints would slow PostgreSQL down in ways production never is).
@pytest.mark.django_db(transaction=True)
def test_a_polling_cycle_makes_ceil_n_over_200_calls_and_constant_queries_per_batch(
    sandbox: Any, note_database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The notices of ended orders go to the broker (here: a list), as in production.
    notices: list[int] = []
    monkeypatch.setattr(order_notify_task, "delay", notices.append)
    customer = new_customer("100000000000")
    seed_orders(sandbox, customer)
    batches = math.ceil(N / 200)

    # Cycle 1: everything is running.
    sandbox.advance(90)
    running = measured_cycle("all running", monkeypatch)
    assert running["calls"] == batches
    assert running["result"].updated == N and running["result"].finished == 0
    assert len(running["per_batch"]) == batches
    (per_batch,) = set(running["per_batch"])  # the same for every batch, whatever N
    REPORT.add(
        f"poll cycle, {N} open orders",
        "all running: SQL queries per batch",
        per_batch,
        "",
        "constant",
    )
    assert running["elapsed"] < MAX_SECONDS

    # Cycle 2: the fast tenth has ended (a third each completed, partial, canceled).
    sandbox.advance(600)
    ending = measured_cycle("a tenth ending", monkeypatch)
    ended = N // 10
    assert ending["calls"] == batches
    assert ending["result"].finished == ended
    assert sorted(notices) == sorted(
        Order.objects.exclude(state=OrderState.PLACED).values_list("pk", flat=True)
    )
    # Every batch holds the same mix of endings, so the same number of queries again.
    (ending_per_batch,) = set(ending["per_batch"])
    bench = f"poll cycle, {N} open orders"
    REPORT.add(bench, "a tenth ending: SQL queries per batch", ending_per_batch, "", "constant")
    REPORT.add(
        bench,
        "a tenth ending: SQL queries per ended order",
        (ending_per_batch - per_batch) / 20,
        "",
        "constant (state change + event, refund)",
    )
    assert ending["elapsed"] < MAX_SECONDS
    assert Order.objects.filter(state=OrderState.PLACED).count() == N - ended
    assert_money_invariants(sandbox=sandbox)


def seed_dripfeeds(sandbox: Any, customer: Any, count: int) -> None:
    """`count` drip-feed orders of 3 runs each, placed upstream and charged."""
    from catalog.models import Service

    service = Service.objects.get(upstream_id=102)
    for n in range(count):
        link = f"https://example.com/bench/drip/{n}"
        answer = sandbox.handle(
            {
                "key": sandbox.key,
                "action": "add",
                "service": "102",
                "link": link,
                "quantity": "100",
                "runs": "3",
                "interval": "1",
            }
        )
        order = Order.objects.create(
            user=customer,
            service=service,
            kind="dripfeed",
            link=link,
            quantity=100,
            runs=3,
            interval=1,
            rate=service.sell_rate,
            charge=charge_for(service.sell_rate, 300),
            state=OrderState.PLACED,
            upstream_id=answer["order"],
            upstream_status="Pending",
        )
        wallet_charge(user=customer, amount=order.charge, order_id=order.pk)


@pytest.mark.django_db(transaction=True)
def test_drip_feed_runs_are_packed_into_exactly_ceil_ids_over_200_calls(
    sandbox: Any, note_database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 11: runs travel in their parent's batch; a cycle of 471 ids once made 4 calls
    # (200, 5, 200, 66). Every fortieth order here is a drip-feed of 3 runs.
    customer = new_customer("1000000000")
    seed_orders(sandbox, customer)
    seed_dripfeeds(sandbox, customer, N // 40)
    sandbox.advance(150)  # every run has started, none has ended
    orders_poll()  # learns the runs
    ids = N + (N // 40) * 4
    cycle = measured_cycle("drip-feed runs packed", monkeypatch)
    REPORT.add(
        f"poll cycle, {N} open orders + {N // 40} drip-feeds of 3 runs",
        "upstream calls",
        cycle["calls"],
        "",
        f"ceil({ids}/200) = {math.ceil(ids / 200)}",
    )
    assert cycle["calls"] == math.ceil(ids / 200)
    assert_money_invariants(sandbox=sandbox)
