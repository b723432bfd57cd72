"""The ``Sandbox``: one simulated upstream account, its clock and its controls, transport-free.

``Sandbox.now()`` is simulated seconds. ``time_scale=0`` (the default, used by tests) freezes the
clock, so only ``advance()`` moves it; the command line runs it at real time or faster. Every
method takes the lock and brings the orders up to ``now()`` before it reads or changes anything.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from .actions import Api
from .book import Book
from .catalog import CATALOG
from .faults import FaultSwitches, FaultTaken
from .model import (
    CURRENCY,
    DEFAULT_BALANCE,
    DEFAULT_KEY,
    ORDER_FATES,
    SandboxCall,
    SandboxOrder,
    SandboxRefill,
    money,
)
from .state import state_load, state_save


class Sandbox:
    """The upstream's state and behaviour, thread-safe."""

    def __init__(
        self,
        *,
        key: str = DEFAULT_KEY,
        balance: Decimal = DEFAULT_BALANCE,
        services: Iterable[Mapping[str, Any]] | None = None,
        time_scale: float = 0.0,
        currency: str = CURRENCY,
    ) -> None:
        self.key = key
        # issue 17: a second sandbox plays a provider billing in USD; reset() comes back to it.
        self._initial_currency = currency
        self._initial_balance = Decimal(balance)
        self._initial_services = [
            dict(entry) for entry in (services if services is not None else CATALOG)
        ]
        self._time_scale = time_scale
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self.generation = 0
        self.state_path: str | None = None  # see persist(); None keeps the state in memory
        self.reset()

    # ------------------------------------------------------------------ clock

    def reset(self) -> None:
        """Back to the initial catalog and balance; no orders, faults, calls, fates; clock at 0."""
        with self._lock:
            self._offset = 0.0
            self._t0 = time.monotonic()
            self._book = Book(
                balance=self._initial_balance,
                services=self._initial_services,
                currency=self._initial_currency,
            )
            self._faults = FaultSwitches()
            self._calls: list[SandboxCall] = []
            # Requests stalled by a fault belong to the state before the reset:
            # they see the generation change and give up instead of acting on the new state.
            self.generation += 1
            self.wake_sleepers()

    def wake_sleepers(self) -> None:
        """Cut short every stall/latency in progress (used by reset and stop)."""
        self._wake.set()
        self._wake = threading.Event()

    def sleep(self, seconds: float) -> None:
        """A stall that ``wake_sleepers`` interrupts."""
        if seconds > 0:
            self._wake.wait(seconds)

    def now(self) -> float:
        return self._offset + (time.monotonic() - self._t0) * self._time_scale

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds
            self._tick()

    def _tick(self) -> None:
        self._book.tick(self.now())

    # ------------------------------------------------------------------ account and catalog

    @property
    def balance(self) -> Decimal:
        with self._lock:
            self._tick()
            return self._book.balance

    def set_balance(self, amount: Decimal | str | int) -> None:
        with self._lock:
            self._book.balance = money(Decimal(str(amount)))

    @property
    def currency(self) -> str:
        return self._book.currency

    @property
    def currency_in_services(self) -> bool:
        return self._book.currency_in_services

    def set_currency(self, currency: str, *, in_services: bool = False) -> None:
        """Answer balance and status in ``currency``; with ``in_services``, every services
        entry carries it too (the protocol's services have no currency field)."""
        with self._lock:
            self._book.currency = currency
            self._book.currency_in_services = in_services

    @property
    def services(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._book.services.values()))

    def set_services(self, services: Iterable[Mapping[str, Any]]) -> None:
        with self._lock:
            self._book.services = {}
            self._book.install_services(services)

    def update_service(self, service: int, **fields: Any) -> None:
        with self._lock:
            if service not in self._book.services:
                raise ValueError(f"no service {service}")
            self._book.services[service].update(fields)

    def remove_service(self, service: int) -> None:
        with self._lock:
            if self._book.services.pop(service, None) is None:
                raise ValueError(f"no service {service}")

    # ------------------------------------------------------------------ fates

    def set_fate(self, order: int, *, status: str, remains: int | None = None) -> None:
        """How an order that has not ended yet will end. For a drip-feed parent,
        the fate applies to each of its runs."""
        with self._lock:
            self._tick()
            self._book.set_fate(order, status, remains)

    def set_next_fate(self, *, status: str, remains: int | None = None) -> None:
        """Fate of the next order placed (queued: call twice for the next two).
        ``remains`` is clamped into 1..quantity-1 for that order."""
        if status not in ORDER_FATES:
            raise ValueError(f"fate must be one of {sorted(ORDER_FATES)}")
        with self._lock:
            self._book.next_fates.append((status, remains))

    def set_refill_fate(self, order: int, *, status: str) -> None:
        """How the order's open refill (or its next one) ends: Completed or Rejected."""
        with self._lock:
            self._tick()
            self._book.set_refill_fate(order, status)

    # ------------------------------------------------------------------ messy answers

    def set_answer(self, order: int, **fields: Any) -> None:
        """Change fields of this order's status item from now on, as messy upstreams answer:
        ``set_answer(id, remains=None)`` drops `remains`, ``charge="N/A"`` makes it unreadable,
        ``status="Stuck"`` answers an unknown word. ``set_answer(id)`` clears the changes."""
        with self._lock:
            self._book.messy.set_answer(order, fields)

    def forget(self, order: int, *, error: str = "Order not found") -> None:
        """The upstream no longer knows this order: status answers ``{"error": error}``,
        refill and cancel "Incorrect order ID"."""
        with self._lock:
            self._book.messy.forgotten[order] = error

    def omit(self, action: str, ids: Iterable[int]) -> None:
        """Leave these ids out of multi answers of ``action`` (status, refill, refill_status,
        cancel) from now on, as if the upstream never saw them."""
        with self._lock:
            self._book.messy.omit(action, ids)

    def lose_refill(self, refill: int) -> None:
        """refill_status answers "Refill not found" for this refill from now on."""
        with self._lock:
            self._book.messy.lost_refills.add(refill)

    def clear_messy(self) -> None:
        """Back to clean answers: no changed fields, forgotten orders, omitted or lost ids."""
        with self._lock:
            self._book.messy.clear()

    # ------------------------------------------------------------------ faults (see faults.py)

    def inject_fault(
        self,
        action: str | None,
        kind: str,
        count: int | None = 1,
        *,
        after: int = 0,
        **params: Any,
    ) -> None:
        with self._lock:
            self._faults.arm(action, kind, count, after, params)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return self._faults.listing()

    def take_fault(self, action: str) -> FaultTaken | None:
        """The fault that applies to this request, if any (consumes one use)."""
        with self._lock:
            return self._faults.take(action)

    # ------------------------------------------------------------------ what happened

    @property
    def calls(self) -> list[SandboxCall]:
        with self._lock:
            return list(self._calls)

    def calls_of(self, action: str) -> list[dict[str, str]]:
        with self._lock:
            return [call.params for call in self._calls if call.action == action]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def record_call(self, params: Mapping[str, str]) -> None:
        with self._lock:
            visible = {name: value for name, value in params.items() if name != "key"}
            self._calls.append(SandboxCall(str(params.get("action", "")), visible))

    @property
    def orders(self) -> dict[int, SandboxOrder]:
        """A snapshot (copies): changing it does not change the sandbox."""
        with self._lock:
            self._tick()
            return copy.deepcopy(self._book.orders)

    @property
    def refills(self) -> dict[int, SandboxRefill]:
        with self._lock:
            self._tick()
            return copy.deepcopy(self._book.refills)

    # ------------------------------------------------------------------ the API

    def handle(self, params: Mapping[str, str]) -> Any:
        """Answer one API request (form fields as strings) with a JSON-able value."""
        with self._lock:
            self._tick()
            if params.get("key") != self.key:
                return {"error": "Invalid API key"}
            action = params.get("action", "")
            try:
                return Api(self._book, action=action, now=self.now).answer(params)
            finally:
                if action in ("add", "refill", "cancel"):
                    self.persist()

    # ------------------------------------------------------------------ on disk (see state.py)

    def persist(self) -> None:
        """Save the state to ``state_path`` (the command line's ``--state``), if any."""
        if self.state_path is None:
            return
        with self._lock:
            state_save(self.state_path, book=self._book, now=self.now())

    def restore(self, path: str) -> bool:
        """Read the state saved at ``path``, if there is one; False when there is none."""
        loaded = state_load(path)
        if loaded is None:
            return False
        with self._lock:
            self.reset()
            self._book, now = loaded
            self._offset, self._t0 = now, time.monotonic()
        return True
