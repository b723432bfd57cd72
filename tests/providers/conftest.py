"""Two providers over real HTTP: the SIEULIKE_* one (the session's sandbox, billing in VND) and
a second sandbox billing in USD at 25,000 VND per dollar, each with a small catalog; service
501 at the first has service 801 at the second as its backup."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Provider, Service
from catalog.providers import provider_add, service_backup_add
from catalog.sync import catalog_sync
from panel.sandbox import Sandbox, SandboxServer
from tests.factories import upstream_entry
from tests.faults.world import new_customer, unique_link

USD_RATE = Decimal("25000")

# At the VND provider: 501 (the main service), 502 (no backup), 503 (drip-feed).
VND_ENTRIES = [
    upstream_entry(501, rate="30000.0000", min=10, max=10000, refill=True, cancel=True),
    upstream_entry(502, rate="30000.0000", min=10, max=10000),
    upstream_entry(503, rate="30000.0000", min=10, max=10000, dripfeed=True),
]
# At the USD provider: 801 stands in for 501 (cheaper: 1.00 USD = 25,000 VND per 1000).
USD_ENTRIES = [
    upstream_entry(801, rate="1.0000", min=10, max=20000, refill=True, cancel=True),
    upstream_entry(802, rate="1.1000", min=5, max=50000),
]


@pytest.fixture(scope="session")
def usd_sandbox_server() -> Iterator[SandboxServer]:
    server = SandboxServer(
        Sandbox(key="usd-key", currency="USD", balance=Decimal("1000.00"), services=USD_ENTRIES)
    )
    server.start(host="127.0.0.1", port=0)
    yield server
    server.stop()


@dataclass
class Two:
    vnd: Provider
    usd: Provider
    vnd_sandbox: Sandbox
    usd_sandbox: Sandbox
    main: Service  # 501 at vnd
    backup: Service  # 801 at usd
    customer: Any

    def sandbox_of(self, provider_id: int) -> Sandbox:
        return self.vnd_sandbox if provider_id == self.vnd.pk else self.usd_sandbox

    def adds(self) -> tuple[int, int]:
        return len(self.vnd_sandbox.calls_of("add")), len(self.usd_sandbox.calls_of("add"))

    def place(self, service: Service | None = None, **params: Any) -> Any:
        from tests.factories import place_order

        params.setdefault("link", unique_link())
        params.setdefault("quantity", 100)
        return place_order(user=self.customer, service=service or self.main, **params)


@pytest.fixture
def two(sandbox: Sandbox, usd_sandbox_server: SandboxServer, db: None) -> Two:
    usd_sandbox = usd_sandbox_server.sandbox
    usd_sandbox.reset()
    sandbox.set_services(VND_ENTRIES)
    vnd = Provider.default()
    usd = provider_add(
        name="usdshop",
        url=usd_sandbox_server.url,
        key="usd-key",
        currency="USD",
        rate=USD_RATE,
        timeout="2",
    )
    assert catalog_sync(provider=vnd).ok
    assert catalog_sync(provider=usd).ok
    main = Service.objects.get(provider=vnd, upstream_id=501)
    backup = Service.objects.get(provider=usd, upstream_id=801)
    service_backup_add(service_id=main.pk, backup_id=backup.pk)
    sandbox.clear_calls()
    usd_sandbox.clear_calls()
    return Two(
        vnd=vnd,
        usd=usd,
        vnd_sandbox=sandbox,
        usd_sandbox=usd_sandbox,
        main=main,
        backup=backup,
        customer=new_customer(),
    )
