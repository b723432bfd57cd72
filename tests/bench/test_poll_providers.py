"""Benchmark (issue 17): one polling cycle over 10,000 open orders at three providers (600 in the
smoke run), each provider its own sandbox over real HTTP. The limit: the sum over providers of
ceil(n / 200) `status` calls, each sent to the provider the orders were placed at."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Provider, Service
from catalog.providers import provider_add
from orders.models import Order, OrderState
from orders.polling import orders_poll
from panel.money import charge_for
from panel.sandbox import Sandbox, SandboxServer
from panel.upstream.client import UpstreamClient
from tests.factories import service_from_entry
from tests.faults.world import new_customer

from .results import FULL, REPORT

pytestmark = pytest.mark.bench

N = 10_000 if FULL else 600
SHARES = (Decimal("0.5"), Decimal("0.3"), Decimal("0.2"))  # of the orders, per provider
MAX_SECONDS = 60.0
SERVICE = 404  # runs a day: every order stays open through the cycle


@pytest.fixture
def extra_sandboxes() -> Iterator[list[SandboxServer]]:
    servers = [SandboxServer(Sandbox(key=f"bench-{n}")).start() for n in range(2)]
    yield servers
    for server in servers:
        server.stop()


def seed(provider: Provider, sandbox: Sandbox, customer: Any, count: int, offset: int) -> None:
    entry = next(e for e in sandbox.services if e["service"] == SERVICE)
    service = service_from_entry(entry)
    service.provider = provider
    service.save()
    rows = []
    for n in range(count):
        link = f"https://example.com/bench-providers/{offset + n}"
        answer = sandbox.handle(
            {
                "key": sandbox.key,
                "action": "add",
                "service": str(SERVICE),
                "link": link,
                "quantity": "1000",
            }
        )
        rows.append(
            Order(
                user=customer,
                service=service,
                provider=provider,
                link=link,
                quantity=1000,
                rate=service.sell_rate,
                charge=charge_for(service.sell_rate, 1000),
                state=OrderState.PLACED,
                upstream_id=answer["order"],
                upstream_status="Pending",
            )
        )
    Order.objects.bulk_create(rows, batch_size=1000)


@pytest.mark.django_db(transaction=True)
def test_a_poll_cycle_at_three_providers_makes_the_sum_of_ceil_n_over_200_calls(
    sandbox: Sandbox,
    extra_sandboxes: list[SandboxServer],
    note_database: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customer = new_customer("1000000000")
    providers = [Provider.default()] + [
        provider_add(name=f"bench{n}", url=server.url, key=f"bench-{n}", timeout="5")
        for n, server in enumerate(extra_sandboxes)
    ]
    sandboxes = [sandbox] + [server.sandbox for server in extra_sandboxes]
    counts = [int(N * share) for share in SHARES]
    offset = 0
    for provider, box, count in zip(providers, sandboxes, counts, strict=True):
        seed(provider, box, customer, count, offset)
        offset += count
        box.clear_calls()
        box.advance(90)

    calls = {"n": 0, "seconds": 0.0}
    statuses = UpstreamClient.statuses

    def timed(self: UpstreamClient, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return statuses(self, **kwargs)
        finally:
            calls["n"] += 1
            calls["seconds"] += time.perf_counter() - started

    monkeypatch.setattr(UpstreamClient, "statuses", timed)
    started = time.perf_counter()
    result = orders_poll()
    elapsed = time.perf_counter() - started

    expected = sum(math.ceil(count / 200) for count in counts)
    bench = f"poll cycle, {N} open orders at three providers"
    REPORT.add(bench, "time", elapsed, "s", f"< {MAX_SECONDS:g} s (beat every 120 s)")
    REPORT.add(bench, "of which upstream `status`", calls["seconds"], "s")
    REPORT.add(bench, "upstream calls", calls["n"], "", f"= sum of ceil(n/200) = {expected}")
    assert calls["n"] == expected
    for box, count in zip(sandboxes, counts, strict=True):
        assert len(box.calls_of("status")) == math.ceil(count / 200)
    assert result.orders == sum(counts) and result.updated == sum(counts)
    assert Order.objects.filter(state=OrderState.PLACED).count() == sum(counts)
    assert elapsed < MAX_SECONDS
    assert Service.objects.count() == 3
