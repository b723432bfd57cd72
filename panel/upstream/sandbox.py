"""Sandbox upstream: an in-memory simulator of the sieulike API v2, standard library only.

Used by the test suite over real HTTP on loopback, and by ``make run`` as the
development upstream::

    python -m panel.upstream.sandbox --host 127.0.0.1 --port 8001 [--key sandbox-key]
                                     [--time-scale 1] [--balance 100000000] [--verbose]

In-process (tests)::

    server = SandboxServer().start(host="127.0.0.1", port=0)
    client = UpstreamClient(url=server.url, key="sandbox-key")
    server.sandbox.advance(3600)      # move the sandbox's clock one hour on
    server.stop()

The API is served at ``/api/v2`` (form POST, or GET with a query string) and
answers exactly the shapes of the provider's document. A control surface for
other processes lives under ``/_sandbox/`` (JSON in, JSON out; see
``_Handler._control``). Never expose the sandbox beyond loopback.

How the simulation behaves
--------------------------
* Clock: ``Sandbox.now()`` is simulated seconds. ``time_scale=0`` (the default,
  used by tests) freezes it, so only ``advance()`` moves time; the CLI uses
  real time (``--time-scale 1``) or faster.
* Orders: Pending for ``PENDING_SECONDS``, then In progress while the quantity
  is delivered linearly (duration from the service's ``avg_time_min`` per
  1000, clamped to [``MIN_RUN_SECONDS``, ``MAX_RUN_SECONDS``]), then their
  *fate*: Completed by default, or Partial (``remains`` N) / Canceled when set
  with ``set_fate`` / ``set_next_fate``. Partial and Canceled refund the
  undelivered part to the balance, and ``charge`` drops accordingly.
* Charge = rate * quantity / 1000, rounded half-up to 0.01 (times runs for a
  drip-feed), taken from the balance when the order is placed.
* Drip-feed (``runs`` >= 2): the answer is a parent order whose status is
  ``{"status": "Active", "runs": "<runs started so far>", "orders": [...]}``; a
  child order (``quantity`` each) starts every ``interval`` minutes, the first
  at once. The parent turns Completed when every run has started and ended.
  ``runs * interval`` may not exceed 1440 minutes. Parents are "Active", which
  is not a cancellable status; their children can be cancelled one by one.
* VIP packages (type "Package", see ``sandbox_catalog``): ``quantity`` is likes
  per post; they run for the package's days and answer status with
  daily_Post_Limit / daily_Progress / days_Left (time-based) or
  total_posts / completed_posts / days_Left (post-based).
* Refill (refill id == order id): the order's service must have had refill on
  when the order was placed (service flags are snapshotted per order), the
  order must be Completed or Partial, and within ``days_refill`` days of its
  completion (0 = lifetime). One open refill at a time; a rejected refill
  blocks further refills of that order. Pending ``REFILL_PENDING_SECONDS``, then
  In progress ``REFILL_RUN_SECONDS``, then Completed (or Rejected, by fate).
* Cancel: only cancel:true services in Pending / In progress / Processing. The
  cancellation takes effect ``CANCEL_SECONDS`` later: Canceled if nothing was
  delivered yet, otherwise Partial; the undelivered part is refunded.

Error strings not given by the document are the sandbox's own choice:
"Invalid API key", "Invalid action", "Link is required", "Incorrect quantity",
"Comments are required", "Username is required", "Order not found" (single
status), "Order cannot be refilled at this status", "Maximum N ... per request".

Faults (``Sandbox.inject_fault(action, kind, count=1, **params)``; ``action``
None matches any action; ``count`` None lasts until ``clear_faults()``):

=====================  =============================================================
latency                sleep ``seconds`` (1.0), then answer normally
timeout_after_accept   execute, stall ``seconds`` (5.0), then ``then``="drop"|"answer"
drop_after_accept      execute, close without answering (``reset``=True sends a RST)
http_500_html          HTTP ``status`` (500) with an HTML page; NOT executed
html_200               HTTP 200 with an HTML page; executed only if ``execute``=True
malformed_json         execute, answer a PHP warning followed by the JSON
truncated_json         execute, answer half the JSON; ``mode``="short" (Content-Length
                       matches the half) or "incomplete" (connection closed early)
slow_body              execute, send the body one byte every ``delay`` seconds (0.5)
oversize               execute, pad the JSON with whitespace to ``bytes`` (6_000_000)
out_of_funds           add only: {"error": "Insufficient balance"}; NOT executed
unknown_status         status only: every status word becomes ``word``
remains_out_of_range   status only: every ``remains`` becomes ``remains`` (-5)
raw_answer             answer ``body`` (a string, or any JSON value) with ``status`` (200),
                       ``content_type`` and extra ``headers``; executed only if ``execute``
=====================  =============================================================

``after=N`` lets N matching calls through before the fault starts.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import signal
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from .sandbox_catalog import CATALOG

__all__ = [
    "FAULT_KINDS",
    "Sandbox",
    "SandboxCall",
    "SandboxOrder",
    "SandboxRefill",
    "SandboxServer",
]

logger = logging.getLogger(__name__)

DEFAULT_KEY: Final = "sandbox-key"
DEFAULT_BALANCE: Final = Decimal("100000000.00")
CURRENCY: Final = "VND"

PENDING_SECONDS: Final = 60
MIN_RUN_SECONDS: Final = 120
MAX_RUN_SECONDS: Final = 2 * 86400
CANCEL_SECONDS: Final = 60
REFILL_PENDING_SECONDS: Final = 300
REFILL_RUN_SECONDS: Final = 3600
DAY: Final = 86400
FIRST_ORDER_ID: Final = 12345  # the document's example id

STATUS_MAX: Final = 200
LIST_MAX: Final = 100
MAX_DRIPFEED_MINUTES: Final = 1440
MAX_REQUEST_BYTES: Final = 10_000_000

ORDER_FATES: Final = frozenset({"Completed", "Partial", "Canceled"})
REFILL_FATES: Final = frozenset({"Completed", "Rejected"})
CANCELLABLE: Final = frozenset({"Pending", "In progress", "Processing"})
FINAL: Final = frozenset({"Completed", "Partial", "Canceled"})

FAULT_KINDS: Final = frozenset(
    {
        "latency",
        "timeout_after_accept",
        "drop_after_accept",
        "http_500_html",
        "html_200",
        "malformed_json",
        "truncated_json",
        "slow_body",
        "oversize",
        "out_of_funds",
        "unknown_status",
        "remains_out_of_range",
        "raw_answer",
    }
)
# Faults that only make sense for one action; with action=None they wait for it.
_FAULT_ONLY_FOR: Final = {
    "out_of_funds": "add",
    "unknown_status": "status",
    "remains_out_of_range": "status",
}

_CENT: Final = Decimal("0.01")


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _int_or_none(value: object) -> int | None:
    """Lenient int for request parameters and catalog fields ("100", 100, "100.0")."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


def _decimal_or_zero(value: object) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


class _Rejected(Exception):
    """An ``{"error": ...}`` answer, raised from deep inside an action."""


# --------------------------------------------------------------------------- records


class SandboxCall(NamedTuple):
    action: str
    params: dict[str, str]  # without the key


@dataclass(frozen=True)
class _Service:
    """Typed view of one catalog entry (entries themselves stay API-shaped dicts,
    so tests can serve deliberately odd values such as ``"min": "20"``)."""

    id: int
    type: str
    rate: Decimal
    min: int
    max: int
    dripfeed: bool
    refill: bool
    days_refill: int
    cancel: bool
    avg_time_min: int
    vip: Mapping[str, Any] | None

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> _Service:
        return cls(
            id=_int_or_none(entry.get("service")) or 0,
            type=str(entry.get("type", "Default")),
            rate=_decimal_or_zero(entry.get("rate")),
            min=_int_or_none(entry.get("min")) or 1,
            max=_int_or_none(entry.get("max")) or 1,
            dripfeed=_flag(entry.get("dripfeed")),
            refill=_flag(entry.get("refill")),
            days_refill=_int_or_none(entry.get("days_refill")) or 0,
            cancel=_flag(entry.get("cancel")),
            avg_time_min=_int_or_none(entry.get("avg_time_min")) or 0,
            vip=entry.get("_vip"),
        )


@dataclass
class SandboxOrder:
    id: int
    service: int
    kind: str  # default | comments | comment_likes | dripfeed | vip_time | vip_post | child
    link: str
    quantity: int  # per run for a drip-feed parent
    paid: Decimal  # taken from the balance when placed (a drip-feed parent pays for all runs)
    charge: Decimal  # what it costs now: drops on Partial / Canceled
    created_at: float
    start_at: float
    end_at: float
    status: str = "Pending"
    remains: int = 0
    start_count: int = 0
    fate: str = "Completed"
    fate_remains: int | None = None
    refill_allowed: bool = False
    days_refill: int = 0
    cancel_allowed: bool = False
    comments: tuple[str, ...] = ()
    username: str = ""
    runs: int = 0
    interval: int = 0  # minutes
    children: list[int] = field(default_factory=list)
    parent: int | None = None
    vip: Mapping[str, Any] | None = None
    cancel_requested_at: float | None = None
    finished_at: float | None = None
    run_seconds: float = 0.0  # delivery time once started (per run, for a drip-feed parent)


@dataclass
class SandboxRefill:
    id: int  # == the order id, as the upstream does
    order: int
    created_at: float
    fate: str = "Completed"
    status: str = "Pending"


@dataclass
class _Fault:
    action: str | None
    kind: str
    remaining: int | None  # None: until cleared
    params: dict[str, Any]
    skip: int = 0  # matching calls still to let through


@dataclass(frozen=True)
class _FaultTaken:
    kind: str
    params: dict[str, Any]


# --------------------------------------------------------------------------- the simulator


class Sandbox:
    """The upstream's state and behaviour, transport-free and thread-safe."""

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
        # Issue 17: a second sandbox plays a provider billing in USD; reset() comes back to it.
        self._initial_currency = currency
        self.currency = currency
        self._initial_balance = Decimal(balance)
        self._initial_services = [
            dict(entry) for entry in (services if services is not None else CATALOG)
        ]
        self._time_scale = time_scale
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self.generation = 0
        self._handling = ""
        self.state_path: str | None = None  # see persist(); None keeps the state in memory
        self.reset()

    # ------------------------------------------------------------------ controls

    def reset(self) -> None:
        """Back to the initial catalog and balance; no orders, faults, calls, fates; clock at 0."""
        with self._lock:
            self._offset = 0.0
            self._t0 = time.monotonic()
            self._balance = self._initial_balance
            self._services: dict[int, dict[str, Any]] = {}
            self._install_services(self._initial_services)
            self._orders: dict[int, SandboxOrder] = {}
            self._refills: dict[int, SandboxRefill] = {}
            # What `_tick` still has to move forward, so that its cost follows the orders that
            # can change, not every order ever placed (insertion order is id order, as before).
            self._open: dict[int, SandboxOrder] = {}  # orders and runs not ended, no parents
            self._active_parents: dict[int, SandboxOrder] = {}
            self._open_refills: dict[int, SandboxRefill] = {}
            # The clock of the last tick, and the orders placed since: at an unchanged clock only
            # those need a tick (bringing an order to the same time again changes nothing).
            self._ticked_at: float | None = None
            self._untimed: list[int] = []
            self._refill_fates: dict[int, str] = {}
            self._next_fates: deque[tuple[str, int | None]] = deque()
            self._faults: list[_Fault] = []
            self._calls: list[SandboxCall] = []
            self._next_id = FIRST_ORDER_ID
            # Messy answers (issue 11), per id: fields to change in an order's status item
            # (None removes the field), orders the upstream has forgotten, ids left out of
            # multi answers per action, refills answered "Refill not found".
            self._answer_overrides: dict[int, dict[str, Any]] = {}
            self._forgotten: set[int] = set()
            self._forgotten_errors: dict[int, str] = {}
            self._omitted: dict[str, set[int]] = {}
            self._lost_refills: set[int] = set()
            self.currency = self._initial_currency
            self.currency_in_services = False
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

    @property
    def balance(self) -> Decimal:
        with self._lock:
            self._tick()
            return self._balance

    def set_balance(self, amount: Decimal | str | int) -> None:
        with self._lock:
            self._balance = _money(Decimal(str(amount)))

    @property
    def services(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._services.values()))

    def set_services(self, services: Iterable[Mapping[str, Any]]) -> None:
        with self._lock:
            self._services = {}
            self._install_services(services)

    def update_service(self, service: int, **fields: Any) -> None:
        with self._lock:
            if service not in self._services:
                raise ValueError(f"no service {service}")
            self._services[service].update(fields)

    def remove_service(self, service: int) -> None:
        with self._lock:
            if self._services.pop(service, None) is None:
                raise ValueError(f"no service {service}")

    def set_fate(self, order: int, *, status: str, remains: int | None = None) -> None:
        """How an order that has not ended yet will end. For a drip-feed parent,
        the fate applies to each of its runs."""
        if status not in ORDER_FATES:
            raise ValueError(f"fate must be one of {sorted(ORDER_FATES)}")
        with self._lock:
            self._tick()
            target = self._orders.get(order)
            if target is None:
                raise ValueError(f"no order {order}")
            if target.kind == "dripfeed":
                # Runs not started yet inherit the parent's fate; started ones get it now.
                target.fate, target.fate_remains = status, remains
                for child in target.children:
                    if self._orders[child].finished_at is None:
                        self._apply_fate(self._orders[child], status, remains, strict=False)
                return
            if target.finished_at is not None:
                raise ValueError(f"order {order} has already ended ({target.status})")
            self._apply_fate(target, status, remains, strict=True)

    def set_next_fate(self, *, status: str, remains: int | None = None) -> None:
        """Fate of the next order placed (queued: call twice for the next two).
        ``remains`` is clamped into 1..quantity-1 for that order."""
        if status not in ORDER_FATES:
            raise ValueError(f"fate must be one of {sorted(ORDER_FATES)}")
        with self._lock:
            self._next_fates.append((status, remains))

    def set_refill_fate(self, order: int, *, status: str) -> None:
        """How the order's open refill (or its next one) ends: Completed or Rejected."""
        if status not in REFILL_FATES:
            raise ValueError(f"refill fate must be one of {sorted(REFILL_FATES)}")
        with self._lock:
            self._tick()
            refill = self._refills.get(order)
            if refill is not None and refill.status in ("Pending", "In progress"):
                refill.fate = status
            else:
                self._refill_fates[order] = status

    # ------------------------------------------------------------------ messy answers

    def set_answer(self, order: int, **fields: Any) -> None:
        """Change fields of this order's status item from now on, as messy upstreams answer:
        ``set_answer(id, remains=None)`` drops `remains`, ``charge="N/A"`` makes it unreadable,
        ``status="Stuck"`` answers an unknown word. ``set_answer(id)`` clears the changes."""
        with self._lock:
            if fields:
                self._answer_overrides.setdefault(order, {}).update(fields)
            else:
                self._answer_overrides.pop(order, None)

    def forget(self, order: int, *, error: str = "Order not found") -> None:
        """The upstream no longer knows this order: status answers ``{"error": error}``,
        refill and cancel "Incorrect order ID"."""
        with self._lock:
            self._forgotten.add(order)
            self._forgotten_errors[order] = error

    def omit(self, action: str, ids: Iterable[int]) -> None:
        """Leave these ids out of multi answers of ``action`` (status, refill, refill_status,
        cancel) from now on, as if the upstream never saw them."""
        with self._lock:
            self._omitted.setdefault(action, set()).update(int(i) for i in ids)

    def lose_refill(self, refill: int) -> None:
        """refill_status answers "Refill not found" for this refill from now on."""
        with self._lock:
            self._lost_refills.add(refill)

    def clear_messy(self) -> None:
        """Back to clean answers: no changed fields, forgotten orders, omitted or lost ids."""
        with self._lock:
            self._answer_overrides.clear()
            self._forgotten.clear()
            self._forgotten_errors.clear()
            self._omitted.clear()
            self._lost_refills.clear()

    def set_currency(self, currency: str, *, in_services: bool = False) -> None:
        """Answer balance and status in ``currency``; with ``in_services``, every services
        entry carries it too (the protocol's services have no currency field)."""
        with self._lock:
            self.currency = currency
            self.currency_in_services = in_services

    def inject_fault(
        self,
        action: str | None,
        kind: str,
        count: int | None = 1,
        *,
        after: int = 0,
        **params: Any,
    ) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {sorted(FAULT_KINDS)}")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None for until cleared)")
        with self._lock:
            self._faults.append(_Fault(action, kind, count, dict(params), skip=after))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "action": f.action,
                    "kind": f.kind,
                    "remaining": f.remaining,
                    "params": dict(f.params),
                }
                for f in self._faults
            ]

    def take_fault(self, action: str) -> _FaultTaken | None:
        """The fault that applies to this request, if any (consumes one use)."""
        with self._lock:
            for fault in self._faults:
                if fault.action not in (None, action):
                    continue
                if _FAULT_ONLY_FOR.get(fault.kind, action) != action:
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                return _FaultTaken(fault.kind, dict(fault.params))
            return None

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
            return copy.deepcopy(self._orders)

    @property
    def refills(self) -> dict[int, SandboxRefill]:
        with self._lock:
            self._tick()
            return copy.deepcopy(self._refills)

    # ------------------------------------------------------------------ the API

    def handle(self, params: Mapping[str, str]) -> Any:
        """Answer one API request (form fields as strings) with a JSON-able value."""
        with self._lock:
            self._tick()
            if params.get("key") != self.key:
                return {"error": "Invalid API key"}
            action = params.get("action", "")
            self._handling = action
            handler = {
                "balance": self._action_balance,
                "services": self._action_services,
                "add": self._action_add,
                "status": self._action_status,
                "refill": self._action_refill,
                "refill_status": self._action_refill_status,
                "cancel": self._action_cancel,
            }.get(action)
            if handler is None:
                return {"error": "Invalid action"}
            try:
                return handler(params)
            except _Rejected as exc:
                return {"error": str(exc)}
            finally:
                if action in ("add", "refill", "cancel"):
                    self.persist()

    def persist(self) -> None:
        """Save the state to ``state_path`` (the command line's ``--state``), if any."""
        if self.state_path is None:
            return
        from .sandbox_state import sandbox_save

        with self._lock:
            sandbox_save(self, self.state_path)

    def _action_balance(self, params: Mapping[str, str]) -> Any:
        return {"balance": f"{self._balance:.2f}", "currency": self.currency}

    def _action_services(self, params: Mapping[str, str]) -> Any:
        extra = {"currency": self.currency} if self.currency_in_services else {}
        return [
            {**{name: value for name, value in entry.items() if not name.startswith("_")}, **extra}
            for entry in self._services.values()
        ]

    def _action_add(self, params: Mapping[str, str]) -> Any:
        service_id = _int_or_none(params.get("service"))
        entry = self._services.get(service_id) if service_id is not None else None
        if entry is None:
            raise _Rejected("Incorrect service ID")
        service = _Service.from_entry(entry)
        link = params.get("link", "").strip()
        if not link:
            raise _Rejected("Link is required")

        comments: tuple[str, ...] = ()
        username = ""
        if service.type == "Custom Comments":
            comments = tuple(
                line.strip() for line in params.get("comments", "").splitlines() if line.strip()
            )
            if not comments:
                raise _Rejected("Comments are required")
            quantity = len(comments)
        else:
            parsed = _int_or_none(params.get("quantity"))
            if parsed is None:
                raise _Rejected("Incorrect quantity")
            quantity = parsed
            if service.type == "Comment Likes":
                username = params.get("username", "").strip()
                if not username:
                    raise _Rejected("Username is required")

        runs, interval = 1, 0
        if params.get("runs", "").strip():
            runs = _int_or_none(params.get("runs")) or 0
            if runs < 1:
                raise _Rejected("Runs must be at least 1")
            if runs >= 2:  # "runs >= 2 to activate drip feed"
                if not service.dripfeed:
                    raise _Rejected("This service does not support drip feed")
                interval = _int_or_none(params.get("interval")) or 0
                if interval < 1:
                    raise _Rejected("Interval must be at least 1 minute")
                total = runs * interval
                if total > MAX_DRIPFEED_MINUTES:
                    raise _Rejected(
                        f"Total time {total} minutes cannot exceed {MAX_DRIPFEED_MINUTES} minutes"
                    )

        if quantity < service.min:
            raise _Rejected(f"Quantity less than minimal {service.min}")
        if quantity > service.max:
            raise _Rejected(f"Quantity more than maximal {service.max}")

        per_run = _money(service.rate * quantity / 1000)
        total_charge = per_run * runs
        if total_charge > self._balance:
            raise _Rejected("Insufficient balance")
        self._balance -= total_charge

        fate, fate_remains = self._next_fates.popleft() if self._next_fates else ("Completed", None)
        now = self.now()
        if runs >= 2:
            parent = self._new_order(
                service, kind="dripfeed", link=link, quantity=quantity, paid=total_charge, now=now
            )
            # A parent only schedules runs; each run is timed like an order of `quantity`.
            parent.start_at, parent.end_at = now, math.inf
            parent.status, parent.runs, parent.interval = "Active", runs, interval
            parent.fate, parent.fate_remains = fate, fate_remains
            self._tick()  # starts the first run at once
            return {"order": parent.id}

        kind = {"Custom Comments": "comments", "Comment Likes": "comment_likes"}.get(
            service.type, "default"
        )
        if service.vip is not None:
            kind = "vip_time" if service.vip.get("kind") == "time" else "vip_post"
        order = self._new_order(
            service, kind=kind, link=link, quantity=quantity, paid=per_run, now=now
        )
        order.comments, order.username = comments, username
        self._apply_fate(order, fate, fate_remains, strict=False)
        return {"order": order.id}

    def _action_status(self, params: Mapping[str, str]) -> Any:
        if "orders" in params:
            ids = self._id_list(params["orders"], STATUS_MAX, "orders")
            omitted = self._omitted.get("status", set())
            answer: dict[str, Any] = {}
            for raw in ids:
                if _int_or_none(raw) in omitted:
                    continue
                order = self._order_by_raw(raw)
                answer[raw] = (
                    self._messy_status(order) if order is not None else {"error": "Order not found"}
                )
            return answer
        order = self._order_by_raw(params.get("order", ""))
        if order is None:
            raise _Rejected("Order not found")
        item = self._messy_status(order)
        if "error" in item:
            raise _Rejected(str(item["error"]))
        return item

    def _messy_status(self, order: SandboxOrder) -> dict[str, Any]:
        """The order's status item, with the messy changes set for it."""
        changes = self._answer_overrides.get(order.id) or {}
        if order.id in self._forgotten:
            return {"error": self._forgotten_errors.get(order.id, "Order not found")}
        if not changes:
            return self._status_of(order)
        item = self._status_of(order)
        for name, value in changes.items():
            if value is None:
                item.pop(name, None)
            else:
                item[name] = value
        return item

    def _action_refill(self, params: Mapping[str, str]) -> Any:
        if "orders" in params:
            return [
                {"order": _int_or_none(raw) or raw, "refill": self._either(self._refill_one, raw)}
                for raw in self._id_list(params["orders"], LIST_MAX, "orders")
                if _int_or_none(raw) not in self._omitted.get("refill", set())
            ]
        return {"refill": self._refill_one(params.get("order", ""))}

    def _action_refill_status(self, params: Mapping[str, str]) -> Any:
        if "refills" in params:
            return [
                {
                    "refill": _int_or_none(raw) or raw,
                    "status": self._either(self._refill_status_one, raw),
                }
                for raw in self._id_list(params["refills"], LIST_MAX, "refills")
                if _int_or_none(raw) not in self._omitted.get("refill_status", set())
            ]
        return {"status": self._refill_status_one(params.get("refill", ""))}

    def _action_cancel(self, params: Mapping[str, str]) -> Any:
        if "orders" in params:
            return [
                {"order": _int_or_none(raw) or raw, "cancel": self._either(self._cancel_one, raw)}
                for raw in self._id_list(params["orders"], LIST_MAX, "orders")
                if _int_or_none(raw) not in self._omitted.get("cancel", set())
            ]
        return {"cancel": self._cancel_one(params.get("order", ""))}

    # ------------------------------------------------------------------ one item

    @staticmethod
    def _either(action: Any, raw: str) -> Any:
        """Per-item answer of a multi request: the value, or {"error": ...}."""
        try:
            return action(raw)
        except _Rejected as exc:
            return {"error": str(exc)}

    def _refill_one(self, raw: str) -> int:
        order = self._order_by_raw(raw)
        if order is None:
            raise _Rejected("Incorrect order ID")
        if order.kind == "dripfeed" or not order.refill_allowed:
            raise _Rejected("This order does not support refill")
        current = self._refills.get(order.id)
        if current is not None:
            if current.status == "Pending":
                raise _Rejected("Refill request already submitted")
            if current.status == "In progress":
                raise _Rejected("Refill is currently running")
            if current.status == "Rejected":
                raise _Rejected("Refill request was rejected")
        if order.status not in ("Completed", "Partial") or order.finished_at is None:
            raise _Rejected("Order cannot be refilled at this status")
        now = self.now()
        # Warranty counts from the order's last update (its completion); 0 days = lifetime.
        if order.days_refill > 0 and now > order.finished_at + order.days_refill * DAY:
            raise _Rejected("Warranty period has expired")
        fate = self._refill_fates.pop(order.id, "Completed")
        refill = SandboxRefill(id=order.id, order=order.id, created_at=now, fate=fate)
        self._refills[order.id] = refill
        self._open_refills[order.id] = refill
        return order.id

    def _refill_status_one(self, raw: str) -> str:
        refill_id = _int_or_none(raw)
        refill = self._refills.get(refill_id) if refill_id is not None else None
        if refill is None or refill.id in self._lost_refills:
            raise _Rejected("Refill not found")
        return refill.status

    def _cancel_one(self, raw: str) -> int:
        order = self._order_by_raw(raw)
        if order is None:
            raise _Rejected("Incorrect order ID")
        if not order.cancel_allowed:
            raise _Rejected("This order cannot be cancelled")
        if order.cancel_requested_at is not None:
            raise _Rejected("The cancellation request was submitted earlier")
        if order.status not in CANCELLABLE:
            raise _Rejected("Order cannot be cancelled at this status")
        order.cancel_requested_at = self.now()
        return order.id

    # ------------------------------------------------------------------ helpers

    def _install_services(self, services: Iterable[Mapping[str, Any]]) -> None:
        for entry in services:
            service_id = _int_or_none(entry.get("service"))
            if service_id is None:
                raise ValueError(f"service entry without a numeric id: {entry!r}")
            self._services[service_id] = copy.deepcopy(dict(entry))

    def _id_list(self, raw: str, limit: int, name: str) -> list[str]:
        ids = [part.strip() for part in raw.split(",") if part.strip()]
        if len(ids) > limit:
            raise _Rejected(f"Maximum {limit} {name} per request")
        return ids

    def _order_by_raw(self, raw: str) -> SandboxOrder | None:
        order_id = _int_or_none(raw)
        if order_id is None:
            return None
        if order_id in self._forgotten and self._handling != "status":
            return None  # refill and cancel find no such order; status answers its error
        return self._orders.get(order_id)

    def _new_order(
        self, service: _Service, *, kind: str, link: str, quantity: int, paid: Decimal, now: float
    ) -> SandboxOrder:
        if service.vip is not None:
            run = float(int(service.vip.get("days", 30)) * DAY)
        else:
            run = service.avg_time_min * 60 * quantity / 1000
            run = min(max(run, MIN_RUN_SECONDS), MAX_RUN_SECONDS)
        order = SandboxOrder(
            id=self._next_id,
            service=service.id,
            kind=kind,
            link=link,
            quantity=quantity,
            paid=paid,
            charge=paid,
            created_at=now,
            start_at=now + PENDING_SECONDS,
            end_at=now + PENDING_SECONDS + run,
            run_seconds=run,
            remains=quantity,
            refill_allowed=service.refill,
            days_refill=service.days_refill,
            cancel_allowed=service.cancel,
            vip=copy.deepcopy(dict(service.vip)) if service.vip is not None else None,
        )
        self._next_id += 1
        self._track(order)
        return order

    def _track(self, order: SandboxOrder) -> None:
        self._orders[order.id] = order
        if order.kind == "dripfeed":
            self._active_parents[order.id] = order
        else:
            self._open[order.id] = order
            self._untimed.append(order.id)

    def _apply_fate(
        self, order: SandboxOrder, status: str, remains: int | None, *, strict: bool
    ) -> None:
        if status == "Partial":
            if order.quantity < 2:
                raise ValueError(f"order {order.id} has quantity 1: it cannot end Partial")
            if remains is None:
                remains = order.quantity // 2
            if not 0 < remains < order.quantity:
                if strict:
                    raise ValueError(f"remains must be within 1..{order.quantity - 1}")
                remains = min(max(remains, 1), order.quantity - 1)
        order.fate, order.fate_remains = status, remains

    # ------------------------------------------------------------------ time passing

    def _tick(self) -> None:
        """Bring every order and refill up to ``now()``. Called, under the lock,
        before anything reads or changes state.

        Only what can still change is visited: ended orders, completed parents and ended
        refills never change again. An order is a function of its fields and the clock, so at
        the clock of the previous tick only the orders placed since need bringing forward."""
        now = self.now()
        for parent in [p for p in self._active_parents.values() if p.status == "Active"]:
            self._start_due_runs(parent, now)
        if now == self._ticked_at:
            due = [self._open[order_id] for order_id in self._untimed if order_id in self._open]
        else:
            due = list(self._open.values())
        self._ticked_at = now
        self._untimed.clear()
        for order in due:
            if order.finished_at is not None:
                del self._open[order.id]
                continue
            if order.kind in ("vip_time", "vip_post"):
                self._progress_vip(order, now)
            else:
                self._progress(order, now)
            if order.finished_at is not None:
                del self._open[order.id]
        for parent in list(self._active_parents.values()):
            if parent.status != "Active":
                del self._active_parents[parent.id]
                continue
            children = [self._orders[child] for child in parent.children]
            if len(children) == parent.runs and all(c.finished_at is not None for c in children):
                parent.status = "Completed"
                parent.finished_at = max(c.finished_at or 0.0 for c in children)
                parent.charge = sum((c.charge for c in children), Decimal("0"))
                del self._active_parents[parent.id]
        for refill in list(self._open_refills.values()):
            self._progress_refill(refill, now)
            if refill.status in ("Completed", "Rejected"):
                del self._open_refills[refill.id]

    def _start_due_runs(self, parent: SandboxOrder, now: float) -> None:
        per_run = _money(parent.paid / parent.runs)
        while len(parent.children) < parent.runs:
            due = parent.created_at + len(parent.children) * parent.interval * 60
            if due > now:
                return
            # A run is an order of its own, with the parent's link, quantity and the service
            # flags the parent was placed with (the service may have changed since).
            child = replace(
                parent,
                id=self._next_id,
                kind="child",
                paid=per_run,
                charge=per_run,
                created_at=due,
                start_at=due + PENDING_SECONDS,
                end_at=due + PENDING_SECONDS + parent.run_seconds,
                status="Pending",
                remains=parent.quantity,
                runs=0,
                interval=0,
                children=[],
                parent=parent.id,
                finished_at=None,
                cancel_requested_at=None,
            )
            self._next_id += 1
            self._track(child)
            self._apply_fate(child, parent.fate, parent.fate_remains, strict=False)
            parent.children.append(child.id)

    @staticmethod
    def _delivered(order: SandboxOrder, at: float) -> int:
        if at < order.start_at:
            return 0
        if at >= order.end_at:
            return order.quantity
        return int(order.quantity * (at - order.start_at) / (order.end_at - order.start_at))

    def _progress(self, order: SandboxOrder, now: float) -> None:
        if now >= order.start_at and order.start_count == 0:
            # A plausible, stable "count before we started" per order.
            order.start_count = 100 + (order.id * 7919) % 9000
        cancel_at = (
            order.cancel_requested_at + CANCEL_SECONDS
            if order.cancel_requested_at is not None
            else math.inf
        )
        if cancel_at < order.end_at and now >= cancel_at:
            delivered = self._delivered(order, cancel_at)
            if delivered == 0:
                self._finish(order, "Canceled", order.quantity, at=cancel_at)
            else:
                self._finish(order, "Partial", order.quantity - delivered, at=cancel_at)
        elif now >= order.end_at:
            remains = {"Completed": 0, "Canceled": order.quantity}.get(
                order.fate, order.fate_remains or 0
            )
            self._finish(order, order.fate, remains, at=order.end_at)
        else:
            order.status = "Pending" if now < order.start_at else "In progress"
            order.remains = order.quantity - self._delivered(order, now)

    def _progress_vip(self, order: SandboxOrder, now: float) -> None:
        if now >= order.end_at:
            self._finish(order, "Completed", 0, at=order.end_at)
        else:
            order.status = "Pending" if now < order.start_at else "In progress"
            order.remains = 0

    def _finish(self, order: SandboxOrder, status: str, remains: int, *, at: float) -> None:
        if status == "Canceled":
            charge = Decimal("0.00")
        elif status == "Partial":
            charge = _money(order.paid * (order.quantity - remains) / order.quantity)
        else:
            charge = order.paid
        self._balance += order.paid - charge  # the refund of what was not delivered
        order.status, order.remains, order.charge, order.finished_at = status, remains, charge, at

    def _progress_refill(self, refill: SandboxRefill, now: float) -> None:
        started = refill.created_at + REFILL_PENDING_SECONDS
        if now < started:
            refill.status = "Pending"
        elif refill.fate == "Rejected":
            refill.status = "Rejected"
        elif now < started + REFILL_RUN_SECONDS:
            refill.status = "In progress"
        else:
            refill.status = "Completed"

    def _status_of(self, order: SandboxOrder) -> dict[str, Any]:
        if order.kind == "dripfeed":
            return {
                "status": order.status,
                "runs": str(len(order.children)),
                "orders": [str(child) for child in order.children],
            }
        answer: dict[str, Any] = {
            "charge": f"{order.charge:.2f}",
            "start_count": str(order.start_count),
            "status": order.status,
            "remains": str(order.remains),
            "currency": self.currency,
        }
        if order.vip is not None:
            answer["start_count"] = "0"
            answer.update(self._vip_fields(order))
        return answer

    def _vip_fields(self, order: SandboxOrder) -> dict[str, int]:
        now = min(max(self.now(), order.start_at), order.end_at)
        elapsed = now - order.start_at
        days_left = max(0, math.ceil((order.end_at - now) / DAY))
        vip = order.vip or {}
        if order.kind == "vip_time":
            limit = int(vip.get("daily_post_limit", 5))
            # One post every four hours from the start of each day, up to the limit.
            progress = (
                0
                if order.finished_at is not None
                else min(limit, int((elapsed % DAY) // (4 * 3600)))
            )
            return {"daily_Post_Limit": limit, "daily_Progress": progress, "days_Left": days_left}
        total = int(vip.get("total_posts", 30))
        spacing = (order.end_at - order.start_at) / total
        return {
            "total_posts": total,
            "completed_posts": min(total, int(elapsed // spacing)),
            "days_Left": days_left,
        }


# --------------------------------------------------------------------------- HTTP


_HTML_500: Final = (
    "<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
    "<body><h1>Internal Server Error</h1><p>The server encountered an internal error.</p>"
    "<hr><address>nginx</address></body></html>"
)
_HTML_200: Final = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    "<body><noscript>Enable JavaScript and cookies to continue</noscript></body></html>"
)
# What PHP prints before the JSON when a notice fires with html_errors off.
_PHP_WARNING: Final = (
    '\nWarning: Undefined array key "quantity" in /var/www/api/v2.php on line 42\n'
)


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _to_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=_json_default).encode("utf-8")


def _degrade_status(answer: Any, fault: _FaultTaken) -> Any:
    """unknown_status / remains_out_of_range applied to a status answer (single or multi)."""
    items = (
        [answer]
        if isinstance(answer, dict) and "status" in answer
        else (list(answer.values()) if isinstance(answer, dict) else [])
    )
    for item in items:
        if not isinstance(item, dict) or "error" in item:
            continue
        if fault.kind == "unknown_status":
            item["status"] = str(fault.params.get("word", "Stuck in queue"))
        elif "remains" in item:
            item["remains"] = str(fault.params.get("remains", -5))
    return answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Do not wait for request threads on close: some are stalling on purpose.
    block_on_close = False

    def __init__(self, address: tuple[str, int], sandbox: Sandbox, *, verbose: bool) -> None:
        self.sandbox = sandbox
        self.verbose = verbose
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-answer is the point of several faults: stay quiet.
        if self.verbose:
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in list(self.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.connections.clear()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like the real upstream behind nginx
    server_version = "sandbox-upstream/1"
    timeout = 60  # idle keep-alive connections are closed after this

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle holds the body
        # until the client's delayed ACK (~40 ms a request). nginx sets it too.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:
            sys.stderr.write(f"sandbox: {self.address_string()} {format % args}\n")

    def do_GET(self) -> None:
        self._dispatch(body=b"")

    def do_POST(self) -> None:
        length = _int_or_none(self.headers.get("Content-Length")) or 0
        if length > MAX_REQUEST_BYTES:
            self._send(413, b'{"error": "Request too large"}')
            self.close_connection = True
            return
        self._dispatch(body=self.rfile.read(length) if length > 0 else b"")

    def _dispatch(self, *, body: bytes) -> None:
        url = urlsplit(self.path)
        if url.path.rstrip("/") == "/api/v2":
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            params.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
            self._api(params)
        elif url.path.startswith("/_sandbox/"):
            self._control(url.path.removeprefix("/_sandbox/").strip("/"), body)
        else:
            self._send(404, _to_json({"error": "Not found"}))

    # ------------------------------------------------------------------ /api/v2

    def _api(self, params: dict[str, str]) -> None:
        sandbox = self.server.sandbox
        sandbox.record_call(params)
        fault = sandbox.take_fault(params.get("action", ""))
        kind = fault.kind if fault is not None else None
        options = fault.params if fault is not None else {}

        if kind == "latency":
            generation = sandbox.generation
            sandbox.sleep(float(options.get("seconds", 1.0)))
            if sandbox.generation != generation:
                self._drop(reset=False)
                return
        if kind == "http_500_html":
            self._send(
                int(options.get("status", 500)), _HTML_500.encode(), content_type="text/html"
            )
            return
        if kind == "raw_answer":
            if options.get("execute", False):
                sandbox.handle(params)
            raw = options.get("body", "")
            self._send(
                int(options.get("status", 200)),
                (raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)).encode(),
                content_type=str(options.get("content_type", "application/json")),
                headers=options.get("headers"),
            )
            return
        if kind == "html_200" and not options.get("execute", False):
            self._send(200, _HTML_200.encode(), content_type="text/html")
            return

        if kind == "out_of_funds":
            answer: Any = {"error": "Insufficient balance"}
        else:
            try:
                answer = sandbox.handle(params)
            except Exception:  # a sandbox bug: make it loud, and answer like a crashed PHP
                logger.exception("sandbox failed on %s", params.get("action"))
                self._send(500, _HTML_500.encode(), content_type="text/html")
                return
        if kind in ("unknown_status", "remains_out_of_range") and fault is not None:
            answer = _degrade_status(answer, fault)
        body = _to_json(answer)

        if kind == "timeout_after_accept":
            sandbox.sleep(float(options.get("seconds", 5.0)))
            if options.get("then", "drop") == "drop":
                self._drop(reset=False)
            else:
                self._send(200, body)
        elif kind == "drop_after_accept":
            self._drop(reset=bool(options.get("reset", False)))
        elif kind == "html_200":
            self._send(200, _HTML_200.encode(), content_type="text/html")
        elif kind == "malformed_json":
            self._send(200, _PHP_WARNING.encode() + body)
        elif kind == "truncated_json":
            half = body[: max(1, len(body) // 2)]
            if options.get("mode", "short") == "incomplete":
                self._send(200, half, content_length=len(body))
                self.close_connection = True
            else:
                self._send(200, half)
        elif kind == "slow_body":
            self._send_slowly(body, delay=float(options.get("delay", 0.5)))
        elif kind == "oversize":
            size = int(options.get("bytes", 6_000_000))
            self._send(200, body + b" " * max(0, size - len(body)))
        else:
            self._send(200, body)

    # ------------------------------------------------------------------ /_sandbox/

    def _control(self, name: str, body: bytes) -> None:
        """JSON control surface for other processes (make run, browser tests).

        GET  calls | orders | balance | services | faults
        POST reset {} | advance {"seconds"} | balance {"balance"}
             services {"services": [...]} | services/update {"service", "fields": {...}}
             services/remove {"service"} | fate {"order" (omit or null: next order),
             "status", "remains"} | refill_fate {"order", "status"}
             fault {"action", "kind", "count", "after", "params": {...}} | faults/clear
             calls/clear | answer {"order", "fields": {...}} (messy status fields; null
             drops one) | forget {"order", "error"} | omit {"action", "ids"} |
             refill/lose {"refill"} | currency {"currency", "in_services"} | messy/clear
        """
        sandbox = self.server.sandbox
        try:
            payload = json.loads(body.decode("utf-8")) if body.strip() else {}
            if not isinstance(payload, dict):
                raise ValueError("the body must be a JSON object")
            result = self._control_action(sandbox, self.command, name, payload)
            if self.command == "POST":
                sandbox.persist()
        except LookupError:
            self._send(404, _to_json({"error": f"unknown control {self.command} /_sandbox/{name}"}))
            return
        except (ValueError, TypeError, InvalidOperation) as exc:
            self._send(400, _to_json({"error": str(exc)}))
            return
        self._send(200, _to_json(result if result is not None else {"ok": True}))

    @staticmethod
    def _control_action(sandbox: Sandbox, method: str, name: str, payload: dict[str, Any]) -> Any:
        if method == "GET":
            if name == "calls":
                return [{"action": call.action, "params": call.params} for call in sandbox.calls]
            if name == "orders":
                return {
                    str(order.id): {
                        "service": order.service,
                        "kind": order.kind,
                        "link": order.link,
                        "quantity": order.quantity,
                        "status": order.status,
                        "remains": order.remains,
                        "charge": order.charge,
                        "children": order.children,
                        "parent": order.parent,
                    }
                    for order in sandbox.orders.values()
                }
            if name == "balance":
                return {"balance": f"{sandbox.balance:.2f}", "now": sandbox.now()}
            if name == "services":
                return sandbox.services
            if name == "faults":
                return sandbox.faults
            raise LookupError(name)
        if name == "reset":
            sandbox.reset()
        elif name == "advance":
            sandbox.advance(float(payload.get("seconds", 0)))
            return {"now": sandbox.now()}
        elif name == "balance":
            sandbox.set_balance(str(payload["balance"]))
        elif name == "services":
            sandbox.set_services(payload["services"])
        elif name == "services/update":
            sandbox.update_service(int(payload["service"]), **dict(payload.get("fields", {})))
        elif name == "services/remove":
            sandbox.remove_service(int(payload["service"]))
        elif name == "fate":
            remains = payload.get("remains")
            remains = int(remains) if remains is not None else None
            if payload.get("order") in (None, "next"):
                sandbox.set_next_fate(status=str(payload["status"]), remains=remains)
            else:
                sandbox.set_fate(
                    int(payload["order"]), status=str(payload["status"]), remains=remains
                )
        elif name == "refill_fate":
            sandbox.set_refill_fate(
                int(payload["order"]), status=str(payload.get("status", "Rejected"))
            )
        elif name == "fault":
            count = payload.get("count", 1)
            sandbox.inject_fault(
                payload.get("action"),
                str(payload["kind"]),
                None if count is None else int(count),
                after=int(payload.get("after", 0)),
                **dict(payload.get("params", {})),
            )
        elif name == "answer":
            sandbox.set_answer(int(payload["order"]), **dict(payload.get("fields", {})))
        elif name == "forget":
            error = str(payload.get("error", "Order not found"))
            sandbox.forget(int(payload["order"]), error=error)
        elif name == "omit":
            sandbox.omit(str(payload["action"]), [int(i) for i in payload["ids"]])
        elif name == "refill/lose":
            sandbox.lose_refill(int(payload["refill"]))
        elif name == "messy/clear":
            sandbox.clear_messy()
        elif name == "currency":
            sandbox.set_currency(
                str(payload["currency"]), in_services=bool(payload.get("in_services", False))
            )
        elif name == "faults/clear":
            sandbox.clear_faults()
        elif name == "calls/clear":
            sandbox.clear_calls()
        else:
            raise LookupError(name)
        return None

    # ------------------------------------------------------------------ writing

    def _send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        content_length: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header(
                "Content-Length", str(len(body) if content_length is None else content_length)
            )
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client left (it gave up waiting)

    def _send_slowly(self, body: bytes, *, delay: float) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.flush()
            generation = self.server.sandbox.generation
            for index in range(len(body)):
                if self.server.sandbox.generation != generation:
                    self.close_connection = True
                    return
                self.wfile.write(body[index : index + 1])
                self.wfile.flush()
                self.server.sandbox.sleep(delay)
        except OSError:
            self.close_connection = True

    def _drop(self, *, reset: bool) -> None:
        """Close the connection without a word; with ``reset``, abortively (RST)."""
        self.close_connection = True
        if reset:
            # Linger 0 + close before the server's own shutdown(SHUT_WR), which
            # would send a polite FIN first: the client gets a connection reset.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


# --------------------------------------------------------------------------- server


class SandboxServer:
    """Serves a ``Sandbox`` over HTTP from a daemon thread."""

    def __init__(self, sandbox: Sandbox | None = None, *, verbose: bool = False) -> None:
        self.sandbox = sandbox if sandbox is not None else Sandbox()
        self._verbose = verbose
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        if self._server is not None:
            raise RuntimeError("already started")
        self._server = _Server((host, port), self.sandbox, verbose=self._verbose)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sandbox-upstream:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def host(self) -> str:
        return str(self._require().server_address[0])

    @property
    def port(self) -> int:
        return int(self._require().server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The API endpoint, as the client's ``url``."""
        return f"{self.base_url}/api/v2"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.sandbox.wake_sleepers()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(
        self,
        host: str = "127.0.0.1",
        port: int = 8001,
        *,
        ready: Callable[[SandboxServer], None] | None = None,
    ) -> None:
        """Foreground serving for the command line; Ctrl-C stops it. ``ready`` is called
        once the port is bound, so whoever waits for the banner can connect at once."""
        self._server = _Server((host, port), self.sandbox, verbose=self._verbose)
        if ready is not None:
            ready(self)
        try:
            self._server.serve_forever(poll_interval=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
            self.sandbox.persist()  # the clock as it stopped

    def __enter__(self) -> SandboxServer:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _require(self) -> _Server:
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return self._server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m panel.upstream.sandbox", description="Sandbox sieulike API v2 upstream."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--key", default=DEFAULT_KEY)
    parser.add_argument("--balance", default=str(DEFAULT_BALANCE))
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="simulated seconds per real second (0 freezes the clock; 60 = a minute a second)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--currency", default=CURRENCY, help="the currency it bills in")
    parser.add_argument(
        "--catalog",
        choices=["main", "usd-demo"],
        default="main",
        help="usd-demo: the small USD catalog of the second demo provider (issue 17)",
    )
    parser.add_argument(
        "--state",
        default=None,
        help="a JSON file that keeps the orders, balance and clock across restarts "
        "(read at start if it exists, written after every change)",
    )
    args = parser.parse_args(argv)

    services = None
    if args.catalog == "usd-demo":
        from .sandbox_demo import USD_CATALOG

        services = USD_CATALOG
    sandbox = Sandbox(
        key=args.key,
        balance=Decimal(args.balance),
        time_scale=args.time_scale,
        currency=args.currency,
        services=services,
    )
    if args.state:
        from .sandbox_state import sandbox_load

        if sandbox_load(sandbox, args.state):
            print(f"sandbox upstream: state restored from {args.state}", flush=True)
        sandbox.state_path = args.state

        def stop(signum: int, frame: object) -> None:
            raise KeyboardInterrupt  # honcho stops with SIGTERM: save the clock on the way out

        signal.signal(signal.SIGTERM, stop)

    def announce(server: SandboxServer) -> None:
        print(
            f"sandbox upstream: {server.url} (key {args.key!r}, {len(sandbox.services)} services, "
            f"time x{args.time_scale:g}); controls under {server.base_url}/_sandbox/",
            flush=True,
        )

    SandboxServer(sandbox, verbose=args.verbose).serve_forever(args.host, args.port, ready=announce)


if __name__ == "__main__":
    main()
