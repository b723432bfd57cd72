"""The sandbox's vocabulary: its timings and limits, lenient reading of parameters, and the
records it keeps (orders, refills, calls)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final, NamedTuple

DEFAULT_KEY: Final = "sandbox-key"
DEFAULT_BALANCE: Final = Decimal("100000000.00")
CURRENCY: Final = "VND"

# An order is Pending this long, then delivers its quantity linearly over the service's
# avg_time_min per 1000, clamped to [MIN_RUN_SECONDS, MAX_RUN_SECONDS].
PENDING_SECONDS: Final = 60
MIN_RUN_SECONDS: Final = 120
MAX_RUN_SECONDS: Final = 2 * 86400
# A cancellation takes effect this long after it was asked for.
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

_CENT: Final = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def int_or_none(value: object) -> int | None:
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


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=_json_default).encode("utf-8")


class Rejected(Exception):
    """An ``{"error": ...}`` answer, raised from deep inside an action."""


class SandboxCall(NamedTuple):
    action: str
    params: dict[str, str]  # without the key


@dataclass(frozen=True)
class ServiceTerms:
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
    def from_entry(cls, entry: Mapping[str, Any]) -> ServiceTerms:
        return cls(
            id=int_or_none(entry.get("service")) or 0,
            type=str(entry.get("type", "Default")),
            rate=_decimal_or_zero(entry.get("rate")),
            min=int_or_none(entry.get("min")) or 1,
            max=int_or_none(entry.get("max")) or 1,
            dripfeed=_flag(entry.get("dripfeed")),
            refill=_flag(entry.get("refill")),
            days_refill=int_or_none(entry.get("days_refill")) or 0,
            cancel=_flag(entry.get("cancel")),
            avg_time_min=int_or_none(entry.get("avg_time_min")) or 0,
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
    # The service's flags when the order was placed: the service may change afterwards.
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
