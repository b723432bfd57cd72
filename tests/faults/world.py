"""A small world for the fault tests, the simulation and the benchmarks: the sandbox upstream's
catalog as the panel's services, customers with money, unique links, and a closed port."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from billing.services import customer_create
from catalog.models import Service
from panel.money import quantize_rate
from panel.upstream.sandbox_catalog import CATALOG

MARKUP = Decimal("1.5")
_links = itertools.count(1)
_names = itertools.count(1)


def install_catalog(entries: list[dict[str, Any]] | None = None) -> dict[int, Service]:
    """The sandbox's services as the panel's catalog (sold at cost x 1.5), keyed by upstream id.
    The panel's own ids differ from the upstream's, as they would after a sync."""
    Service.objects.bulk_create(
        [
            Service(
                upstream_id=entry["service"],
                name=entry["name"],
                type=entry["type"],
                category=entry["category"],
                cost_rate=Decimal(entry["rate"]),
                sell_rate=quantize_rate(Decimal(entry["rate"]) * MARKUP),
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
            for entry in (entries if entries is not None else CATALOG)
        ]
    )
    return {service.upstream_id: service for service in Service.objects.all()}


def new_customer(balance: Decimal | int | str = "10000000", *, prefix: str = "customer") -> Any:
    user, _key = customer_create(
        username=f"{prefix}{next(_names)}", balance=Decimal(balance) if Decimal(balance) else None
    )
    return user


def new_customer_with_key(
    balance: Decimal | int | str, *, prefix: str = "reseller"
) -> tuple[Any, str]:
    return customer_create(username=f"{prefix}{next(_names)}", balance=Decimal(balance))


def unique_link(host: str = "tiktok.com") -> str:
    """Every order gets its own link, so the upstream's orders can be told apart by link."""
    return f"https://{host}/@user/video/{next(_links)}"


def closed_port() -> int:
    """A loopback port nobody listens on (connection refused), as far as one can tell."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Clock:
    """The panel's clock (`django.utils.timezone.now`), moved forward by hand: `auto_now` fields,
    the sweep's staleness and the forward's backoff all read it."""

    def __init__(self, real: Callable[[], datetime]) -> None:
        self._real = real
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return self._real() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)
