"""A small world for the fault tests, the simulation and the benchmarks: customers with money,
unique links, a closed port and a clock. The sandbox's catalog as the panel's services is
tests.factories.install_catalog."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.factories import Customer, make_customer, make_customer_with_key

_links = itertools.count(1)


def new_customer(balance: Decimal | int | str = "10000000", *, prefix: str = "customer") -> Any:
    """A customer with money, no e-mail (no notices) and no password."""
    return make_customer(prefix=prefix, email="", password=None, balance=balance)


def new_customer_with_key(balance: Decimal | int | str, *, prefix: str = "reseller") -> Customer:
    """The same, with its API key: `user, key = new_customer_with_key(...)`."""
    return make_customer_with_key(prefix=prefix, email="", password=None, balance=balance)


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
