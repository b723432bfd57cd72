"""What the upstream answers: typed results, and the lenient reading of a PHP panel's JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final


class ShapeError(ValueError):
    """A value in a decoded answer is not what the protocol says it is."""


class ItemRejected(Exception):
    """A single refill/cancel/refill_status answered ``{"x": {"error": ...}}``."""


@dataclass(frozen=True)
class UpstreamService:
    service: int
    name: str
    type: str
    rate: Decimal  # price per 1000 units, in the account's currency
    min: int
    max: int
    dripfeed: bool
    refill: bool
    days_refill: int
    cancel: bool
    avg_time_min: int
    status: str  # "normal" | "slow" | "overload" (passed through as sent)
    category: str
    description: str
    priority: bool
    currency: str | None = None  # not in the protocol's services; some panels add it


@dataclass(frozen=True)
class Balance:
    balance: Decimal
    currency: str


@dataclass(frozen=True)
class OrderStatus:
    status: str | None = None  # the upstream's word, as sent
    charge: Decimal | None = None
    start_count: int | None = None
    remains: int | None = None
    currency: str | None = None
    runs: int | None = None  # drip-feed parent
    orders: tuple[int, ...] = ()  # drip-feed parent's child order ids
    daily_post_limit: int | None = None  # VIP time-based (daily_Post_Limit)
    daily_progress: int | None = None  # (daily_Progress)
    days_left: int | None = None  # (days_Left) both VIP shapes
    total_posts: int | None = None  # VIP post-based
    completed_posts: int | None = None
    # Per-item error of a multi answer, e.g. "Order not found". An item the
    # upstream sent but that could not be parsed is reported here too, as
    # "malformed item: ...", rather than failing the whole batch.
    error: str | None = None
    # Optional fields that were sent but could not be read ("charge": "N/A",
    # "remains": "12.5"), as "name: why". Such a field is None above (unknown):
    # the status word and the fields that were readable still count.
    unreadable: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefillResult:
    order: int
    refill: int | None
    error: str | None


@dataclass(frozen=True)
class RefillStatus:
    refill: int
    status: str | None
    error: str | None


@dataclass(frozen=True)
class CancelResult:
    order: int
    cancel: int | None
    error: str | None


# --------------------------------------------------------------------------- value coercion
# The upstream (a PHP panel) sends numbers as numbers or as strings, booleans
# as true/1/"1"/"true". JSON is decoded with parse_float=Decimal, so a money
# value never passes through float.


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def to_decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool):
        raise ShapeError(f"{name} is a boolean, not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise ShapeError(f"{name} is not a number: {value[:40]!r}") from None
    else:
        raise ShapeError(f"{name} is not a number: {type(value).__name__}")
    if not result.is_finite():
        raise ShapeError(f"{name} is not a finite number")
    return result


def _to_int(value: object, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = to_decimal(value, name)
    if number != number.to_integral_value():
        raise ShapeError(f"{name} is not a whole number: {number}")
    return int(number)


_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off", ""})


def _to_bool(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int | Decimal):
        if value in (0, 1):
            return bool(value)
    elif isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ShapeError(f"{name} is not a boolean: {str(value)[:40]!r}")


def to_str(value: object, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise ShapeError(f"{name} is not a string: {type(value).__name__}")


def optional[T](convert: Callable[[object, str], T], value: object, name: str) -> T | None:
    """Missing, null and "" all mean "not given" for an optional field."""
    return None if _is_blank(value) else convert(value, name)


def _lookup(item: Mapping[str, Any], name: str) -> Any:
    """Field lookup that tolerates the upstream's inconsistent casing
    (``days_Left``, ``daily_Post_Limit``)."""
    if name in item:
        return item[name]
    lowered = name.lower()
    for key, value in item.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def item_error(value: object) -> str | None:
    """``{"error": "..."}`` -> the message; anything else -> None."""
    if isinstance(value, Mapping) and "error" in value:
        return str(value["error"])
    return None


def parse_service(item: object) -> UpstreamService:
    if not isinstance(item, Mapping):
        raise ShapeError(f"service entry is a {type(item).__name__}, not an object")
    for required in ("service", "name", "type", "rate", "min", "max"):
        if _is_blank(item.get(required)):
            raise ShapeError(f"service entry has no {required!r}")
    rate = to_decimal(item["rate"], "rate")
    if rate < 0:
        raise ShapeError(f"rate is negative: {rate}")
    return UpstreamService(
        service=_to_int(item["service"], "service"),
        name=to_str(item["name"], "name"),
        type=to_str(item["type"], "type"),
        rate=rate,
        min=_to_int(item["min"], "min"),
        max=_to_int(item["max"], "max"),
        dripfeed=_to_bool(item.get("dripfeed"), "dripfeed"),
        refill=_to_bool(item.get("refill"), "refill"),
        days_refill=optional(_to_int, item.get("days_refill"), "days_refill") or 0,
        cancel=_to_bool(item.get("cancel"), "cancel"),
        avg_time_min=optional(_to_int, item.get("avg_time_min"), "avg_time_min") or 0,
        status=optional(to_str, item.get("status"), "status") or "normal",
        category=optional(to_str, item.get("category"), "category") or "",
        description=optional(to_str, item.get("description"), "description") or "",
        priority=_to_bool(item.get("priority"), "priority"),
        currency=optional(to_str, item.get("currency"), "currency"),
    )


def parse_order_status(item: Mapping[str, Any]) -> OrderStatus:
    """One order's status, in any of its shapes: plain, drip-feed parent
    (status/runs/orders), VIP time-based, VIP post-based."""
    status = item.get("status")
    if not isinstance(status, str):
        raise ShapeError(f"status is {type(status).__name__}, not a string")
    children = item.get("orders")
    if _is_blank(children):
        children = []
    if not isinstance(children, list):
        raise ShapeError("orders of a drip-feed order is not a list")
    unreadable: list[str] = []

    def lenient[T](convert: Callable[[object, str], T], name: str) -> T | None:
        # Only the status word is required: one unreadable optional field must not make the
        # whole item unusable (a Partial with a clear remains would then never end).
        try:
            return optional(convert, item.get(name), name)
        except ShapeError as exc:
            unreadable.append(str(exc))
            return None

    charge = lenient(to_decimal, "charge")
    start_count = lenient(_to_int, "start_count")
    remains = lenient(_to_int, "remains")
    currency = lenient(to_str, "currency")
    return OrderStatus(
        status=status,
        charge=charge,
        start_count=start_count,
        remains=remains,
        currency=currency,
        unreadable=tuple(unreadable),
        runs=optional(_to_int, item.get("runs"), "runs"),
        orders=tuple(_to_int(child, "orders[]") for child in children),
        daily_post_limit=optional(_to_int, _lookup(item, "daily_Post_Limit"), "daily_Post_Limit"),
        daily_progress=optional(_to_int, _lookup(item, "daily_Progress"), "daily_Progress"),
        days_left=optional(_to_int, _lookup(item, "days_Left"), "days_Left"),
        total_posts=optional(_to_int, _lookup(item, "total_posts"), "total_posts"),
        completed_posts=optional(_to_int, _lookup(item, "completed_posts"), "completed_posts"),
    )


def positive_id(value: object, name: str) -> int:
    number = _to_int(value, name) if not _is_blank(value) else None
    if number is None or number <= 0:
        raise ShapeError(f"{name} is missing or not a positive id: {str(value)[:40]!r}")
    return number


def id_or_none(value: object) -> int | None:
    try:
        return positive_id(value, "id")
    except ShapeError:
        return None


def raise_item_error(value: object) -> object:
    """Single refill/cancel/refill_status may answer ``{"x": {"error": ...}}``:
    that is a rejection like a top-level error."""
    error = item_error(value)
    if error is not None:
        raise ItemRejected(error)
    return value


def status_item(item: object) -> OrderStatus:
    if not isinstance(item, Mapping):
        return OrderStatus(error=f"malformed item: a {type(item).__name__}, not an object")
    error = item_error(item)
    if error is not None:
        return OrderStatus(error=error)
    try:
        return parse_order_status(item)
    except ShapeError as exc:
        return OrderStatus(error=f"malformed item: {exc}")
