"""Client for the upstream provider's API v2 (sieulike), protocol only.

This module knows HTTP, form encoding, the shapes of the answers, batching and
error classes. It knows nothing of Django, models or money policy: callers get
typed values (``Decimal`` for money, ``int`` for counts) or one of three errors.

Why three error classes
-----------------------
The upstream's ``add`` has no idempotency key. If we send an order twice, the
upstream runs it twice and charges us twice. So after every failure the only
question that matters is "could the upstream have executed this request?":

``UpstreamRejected``
    The upstream answered ``{"error": "..."}``. It read the request and refused
    it (insufficient balance, bad quantity, unknown order...). Final: retrying
    gets the same answer. ``.message`` holds the upstream's words.

``UpstreamUnreachable``
    The request provably never reached the upstream: connection refused, DNS
    failure, connect timeout, TLS certificate refused. Nothing was executed, so
    it is safe to send the same request again later.

``UpstreamAmbiguous``
    The request may have been executed: the connection timed out or dropped
    after the request was sent, or the answer was not a well-formed answer
    (HTTP 5xx, an HTML page, malformed or truncated JSON, a JSON of the wrong
    shape, a body over the size cap). An ambiguous ``add`` must NEVER be
    re-sent automatically; the order has to be reconciled (by a human or by
    matching it in the upstream's order list) before anything else happens.
    ``UpstreamBadAnswer`` is the subclass raised when the upstream did answer
    but the answer could not be used (non-200, HTML, bad JSON, wrong shape,
    over the cap); plain ``UpstreamAmbiguous`` means no (complete) answer
    arrived at all. Both are equally ambiguous for an ``add``.

For read-only actions (balance, services, status, refill_status) the
distinction matters less: retry whatever is not a rejection.

Deadlines
---------
``timeout`` is a total deadline for one call: connecting, sending and reading
the whole body. requests' own timeout is per socket read, so a server that
trickles one byte per second would never trip it; the body is therefore read
in chunks against a monotonic deadline, and the socket timeout is shrunk to
the time left before every read. Known gap: DNS resolution is not bounded by
any timeout in requests/urllib3, and a server trickling its *headers* is only
bounded per read (both are rare enough in practice to accept).

The API key is a secret: it is never logged and never appears in an exception
message (snippets of bodies are redacted before they are quoted).
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import quote_plus, urlsplit

import requests
import urllib3.exceptions

__all__ = [
    "Balance",
    "CancelResult",
    "OrderStatus",
    "RefillResult",
    "RefillStatus",
    "UpstreamAmbiguous",
    "UpstreamBadAnswer",
    "UpstreamClient",
    "UpstreamError",
    "UpstreamRejected",
    "UpstreamService",
    "UpstreamUnreachable",
]

logger = logging.getLogger(__name__)

# How much of a bad body is quoted in an exception message.
_SNIPPET_CHARS: Final = 200
_READ_CHUNK: Final = 64 * 1024


# --------------------------------------------------------------------------- errors


class UpstreamError(Exception):
    """Base class of every failure of an upstream call.

    ``action`` is the API action that failed. ``partial`` is only filled by the
    batch methods (``statuses``, ``refills``, ``refill_statuses``, ``cancels``):
    it holds the results of the chunks that succeeded before this one failed,
    keyed like the method's normal return value.
    """

    def __init__(self, message: str, *, action: str) -> None:
        super().__init__(message)
        self.action = action
        self.partial: dict[int, Any] = {}


class UpstreamRejected(UpstreamError):
    """The upstream answered ``{"error": "..."}``: final, never retried."""

    def __init__(self, message: str, *, action: str) -> None:
        super().__init__(f"upstream rejected {action}: {message}", action=action)
        self.message = message


class UpstreamUnreachable(UpstreamError):
    """The request provably never reached the upstream; safe to send again."""


class UpstreamAmbiguous(UpstreamError):
    """The upstream may have executed the request; never re-send an ``add``."""


class UpstreamBadAnswer(UpstreamAmbiguous):
    """The upstream answered, but not with a usable answer (non-200, HTML,
    malformed/truncated JSON, wrong shape, body over the size cap)."""


class _ShapeError(ValueError):
    """A value in a decoded answer is not what the protocol says it is."""


class _ItemRejected(Exception):
    """A single refill/cancel/refill_status answered ``{"x": {"error": ...}}``."""


# --------------------------------------------------------------------------- results


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


def _to_decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool):
        raise _ShapeError(f"{name} is a boolean, not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise _ShapeError(f"{name} is not a number: {value[:40]!r}") from None
    else:
        raise _ShapeError(f"{name} is not a number: {type(value).__name__}")
    if not result.is_finite():
        raise _ShapeError(f"{name} is not a finite number")
    return result


def _to_int(value: object, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = _to_decimal(value, name)
    if number != number.to_integral_value():
        raise _ShapeError(f"{name} is not a whole number: {number}")
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
    raise _ShapeError(f"{name} is not a boolean: {str(value)[:40]!r}")


def _to_str(value: object, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise _ShapeError(f"{name} is not a string: {type(value).__name__}")


def _optional[T](convert: Callable[[object, str], T], value: object, name: str) -> T | None:
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


def _item_error(value: object) -> str | None:
    """``{"error": "..."}`` -> the message; anything else -> None."""
    if isinstance(value, Mapping) and "error" in value:
        return str(value["error"])
    return None


def _parse_service(item: object) -> UpstreamService:
    if not isinstance(item, Mapping):
        raise _ShapeError(f"service entry is a {type(item).__name__}, not an object")
    for required in ("service", "name", "type", "rate", "min", "max"):
        if _is_blank(item.get(required)):
            raise _ShapeError(f"service entry has no {required!r}")
    rate = _to_decimal(item["rate"], "rate")
    if rate < 0:
        raise _ShapeError(f"rate is negative: {rate}")
    return UpstreamService(
        service=_to_int(item["service"], "service"),
        name=_to_str(item["name"], "name"),
        type=_to_str(item["type"], "type"),
        rate=rate,
        min=_to_int(item["min"], "min"),
        max=_to_int(item["max"], "max"),
        dripfeed=_to_bool(item.get("dripfeed"), "dripfeed"),
        refill=_to_bool(item.get("refill"), "refill"),
        days_refill=_optional(_to_int, item.get("days_refill"), "days_refill") or 0,
        cancel=_to_bool(item.get("cancel"), "cancel"),
        avg_time_min=_optional(_to_int, item.get("avg_time_min"), "avg_time_min") or 0,
        status=_optional(_to_str, item.get("status"), "status") or "normal",
        category=_optional(_to_str, item.get("category"), "category") or "",
        description=_optional(_to_str, item.get("description"), "description") or "",
        priority=_to_bool(item.get("priority"), "priority"),
        currency=_optional(_to_str, item.get("currency"), "currency"),
    )


def _parse_order_status(item: Mapping[str, Any]) -> OrderStatus:
    """One order's status, in any of its shapes: plain, drip-feed parent
    (status/runs/orders), VIP time-based, VIP post-based."""
    status = item.get("status")
    if not isinstance(status, str):
        raise _ShapeError(f"status is {type(status).__name__}, not a string")
    children = item.get("orders")
    if _is_blank(children):
        children = []
    if not isinstance(children, list):
        raise _ShapeError("orders of a drip-feed order is not a list")
    unreadable: list[str] = []

    def lenient[T](convert: Callable[[object, str], T], name: str) -> T | None:
        # Only the status word is required: one unreadable optional field must not make the
        # whole item unusable (a Partial with a clear remains would then never end).
        try:
            return _optional(convert, item.get(name), name)
        except _ShapeError as exc:
            unreadable.append(str(exc))
            return None

    charge = lenient(_to_decimal, "charge")
    start_count = lenient(_to_int, "start_count")
    remains = lenient(_to_int, "remains")
    currency = lenient(_to_str, "currency")
    return OrderStatus(
        status=status,
        charge=charge,
        start_count=start_count,
        remains=remains,
        currency=currency,
        unreadable=tuple(unreadable),
        runs=_optional(_to_int, item.get("runs"), "runs"),
        orders=tuple(_to_int(child, "orders[]") for child in children),
        daily_post_limit=_optional(_to_int, _lookup(item, "daily_Post_Limit"), "daily_Post_Limit"),
        daily_progress=_optional(_to_int, _lookup(item, "daily_Progress"), "daily_Progress"),
        days_left=_optional(_to_int, _lookup(item, "days_Left"), "days_Left"),
        total_posts=_optional(_to_int, _lookup(item, "total_posts"), "total_posts"),
        completed_posts=_optional(_to_int, _lookup(item, "completed_posts"), "completed_posts"),
    )


def _unique_ids(ids: Iterable[int], name: str) -> list[int]:
    """Deduplicate, keep the caller's order, refuse non-ids before sending."""
    seen: dict[int, None] = {}
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be positive integers, got {value!r}")
        seen[value] = None
    return list(seen)


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _reject_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# --------------------------------------------------------------------------- exception triage

# Causes that can only happen before a single byte of the request was sent.
_NEVER_SENT: Final[tuple[type[BaseException], ...]] = (
    # refused, network unreachable, DNS failure (NameResolutionError is a subclass)
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    ConnectionRefusedError,
    ssl.SSLCertVerificationError,  # the handshake failed, so no request was sent
)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """Every exception reachable from ``exc``: __cause__, __context__, args
    and urllib3's MaxRetryError.reason."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked: list[object] = [
            current.__cause__,
            current.__context__,
            getattr(current, "reason", None),
        ]
        linked.extend(current.args)
        pending.extend(item for item in linked if isinstance(item, BaseException))


def _never_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        # ReadTimeout, ChunkedEncodingError, ...: the request was sent.
        return False
    return any(isinstance(cause, _NEVER_SENT) for cause in _causes(exc))


# --------------------------------------------------------------------------- the client


class UpstreamClient:
    """Speaks API v2 to one upstream account.

    One instance per process (or per thread) is the intended use: it owns a
    pooled ``requests.Session``. Every method either returns typed values or
    raises ``UpstreamRejected`` / ``UpstreamUnreachable`` / ``UpstreamAmbiguous``
    (see the module docstring). Arguments that are wrong before anything is
    sent raise ``ValueError``.
    """

    STATUS_BATCH: Final = 200
    REFILL_BATCH: Final = 100
    CANCEL_BATCH: Final = 100

    def __init__(
        self,
        *,
        url: str,
        key: str,
        timeout: float = 30.0,
        connect_timeout: float = 3.05,
        max_body_bytes: int = 5_000_000,
        session: requests.Session | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("upstream url must be an absolute http(s) URL")
        if not key:
            raise ValueError("upstream key must not be empty")
        if timeout <= 0 or connect_timeout <= 0 or max_body_bytes <= 0:
            raise ValueError("timeouts and max_body_bytes must be positive")
        self._url = url
        self._key = key
        self._timeout = float(timeout)
        self._connect_timeout = float(connect_timeout)
        self._max_body_bytes = max_body_bytes
        # requests' default adapter does not retry (urllib3 Retry(0, read=False)),
        # which is what we need: a retried POST could place an order twice.
        self._session = session if session is not None else requests.Session()

    def __repr__(self) -> str:  # never show the key
        return f"<UpstreamClient {self._url}>"

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------------ account

    def balance(self) -> Balance:
        answer = self._call_object("balance", {})
        return self._parse(
            "balance",
            answer,
            lambda a: Balance(
                balance=_to_decimal(a.get("balance"), "balance"),
                currency=_optional(_to_str, a.get("currency"), "currency") or "",
            ),
        )

    def services(self) -> list[UpstreamService]:
        """The whole catalog, or an error: one unparseable entry fails the call,
        because a silently dropped entry would look like a removed service."""
        answer = self._call("services", {})
        if not isinstance(answer, list):
            raise self._bad_shape("services", f"expected a list, got {type(answer).__name__}")
        return self._parse("services", answer, lambda a: [_parse_service(item) for item in a])

    # ------------------------------------------------------------------ orders

    def add(self, *, service: int, link: str, quantity: int) -> int:
        _check_positive(service=service, quantity=quantity)
        return self._add({"service": service, "link": _check_link(link), "quantity": quantity})

    def add_comments(self, *, service: int, link: str, comments: str | Sequence[str]) -> int:
        """Custom Comments: one comment per line. A sequence is joined with "\\n";
        a comment that itself contains a line break would silently become two
        comments upstream, so it is refused."""
        _check_positive(service=service)
        if isinstance(comments, str):
            text = comments
        else:
            lines = list(comments)
            if any("\n" in line or "\r" in line for line in lines):
                raise ValueError("a comment must not contain a line break")
            text = "\n".join(lines)
        if not text.strip():
            raise ValueError("comments must not be empty")
        return self._add({"service": service, "link": _check_link(link), "comments": text})

    def add_dripfeed(
        self, *, service: int, link: str, quantity: int, runs: int, interval: int
    ) -> int:
        """``quantity`` is per run; ``interval`` is in minutes."""
        _check_positive(service=service, quantity=quantity, runs=runs, interval=interval)
        return self._add(
            {
                "service": service,
                "link": _check_link(link),
                "quantity": quantity,
                "runs": runs,
                "interval": interval,
            }
        )

    def add_comment_likes(self, *, service: int, link: str, quantity: int, username: str) -> int:
        _check_positive(service=service, quantity=quantity)
        if not username.strip():
            raise ValueError("username must not be empty")
        return self._add(
            {
                "service": service,
                "link": _check_link(link),
                "quantity": quantity,
                "username": username,
            }
        )

    def _add(self, params: Mapping[str, str | int]) -> int:
        answer = self._call_object("add", params)
        if "error" in answer:
            # Both an order id and an error: we cannot tell whether it was placed.
            raise self._bad_shape("add", "answer has both 'order' and 'error'")
        return self._parse("add", answer, lambda a: _positive_id(a.get("order"), "order"))

    # ------------------------------------------------------------------ status

    def status(self, *, order: int) -> OrderStatus:
        _check_positive(order=order)
        answer = self._call_object("status", {"order": order})
        return self._parse("status", answer, _parse_order_status)

    def statuses(self, *, orders: Iterable[int]) -> dict[int, OrderStatus]:
        """Status of many orders, STATUS_BATCH ids per call.

        Orders the upstream does not mention are absent from the result (and
        so are ids it mentions that were not asked for). If any call fails, the
        error is raised and ``exc.partial`` holds the chunks already answered.
        """
        results: dict[int, OrderStatus] = {}
        for chunk in _chunks(_unique_ids(orders, "orders"), self.STATUS_BATCH):
            try:
                answer = self._call("status", {"orders": ",".join(map(str, chunk))})
                if answer == []:
                    answer = {}  # PHP's json_encode writes an empty array as [], never {}
                if not isinstance(answer, Mapping):
                    raise self._bad_shape(
                        "status",
                        f"expected an object keyed by order id, got {type(answer).__name__}",
                    )
            except UpstreamError as exc:
                exc.partial = dict(results)
                raise
            wanted = set(chunk)
            for key, item in answer.items():
                order_id = _id_or_none(key)
                if order_id is None or order_id not in wanted:
                    logger.warning("upstream status: ignoring unexpected key %.40r", key)
                    continue
                results[order_id] = _status_item(item)
        return results

    # ------------------------------------------------------------------ refill

    def refill(self, *, order: int) -> int:
        """Request a refill; returns the refill id (the upstream uses the order id)."""
        _check_positive(order=order)
        answer = self._call_object("refill", {"order": order})
        return self._parse(
            "refill", answer, lambda a: _positive_id(_raise_item_error(a.get("refill")), "refill")
        )

    def refills(self, *, orders: Iterable[int]) -> dict[int, RefillResult]:
        """Refill many orders, REFILL_BATCH per call; per-order errors in the
        result. A failed call raises with ``exc.partial`` (see ``statuses``).
        Re-sending after an ambiguous failure is harmless: the upstream answers
        "Refill request already submitted" for orders it already took."""
        return self._batch_list(
            "refill",
            "orders",
            orders,
            self.REFILL_BATCH,
            id_field="order",
            value_field="refill",
            parse=_positive_id,
            make=lambda key, value, error: RefillResult(order=key, refill=value, error=error),
        )

    def refill_status(self, *, refill: int) -> str:
        _check_positive(refill=refill)
        answer = self._call_object("refill_status", {"refill": refill})
        return self._parse(
            "refill_status", answer, lambda a: _to_str(_raise_item_error(a.get("status")), "status")
        )

    def refill_statuses(self, *, refills: Iterable[int]) -> dict[int, RefillStatus]:
        return self._batch_list(
            "refill_status",
            "refills",
            refills,
            self.REFILL_BATCH,
            id_field="refill",
            value_field="status",
            parse=_to_str,
            make=lambda key, value, error: RefillStatus(refill=key, status=value, error=error),
        )

    # ------------------------------------------------------------------ cancel

    def cancel(self, *, order: int) -> int:
        _check_positive(order=order)
        answer = self._call_object("cancel", {"order": order})
        return self._parse(
            "cancel", answer, lambda a: _positive_id(_raise_item_error(a.get("cancel")), "cancel")
        )

    def cancels(self, *, orders: Iterable[int]) -> dict[int, CancelResult]:
        return self._batch_list(
            "cancel",
            "orders",
            orders,
            self.CANCEL_BATCH,
            id_field="order",
            value_field="cancel",
            parse=_positive_id,
            make=lambda key, value, error: CancelResult(order=key, cancel=value, error=error),
        )

    # ------------------------------------------------------------------ batch lists

    def _batch_list[T](
        self,
        action: str,
        param: str,
        ids: Iterable[int],
        size: int,
        *,
        id_field: str,
        value_field: str,
        parse: Callable[[object, str], Any],
        make: Callable[[int, Any, str | None], T],
    ) -> dict[int, T]:
        """refill/cancel/refill_status with many ids: the answer is a list of
        ``{id_field: id, value_field: value | {"error": ...}}``."""
        results: dict[int, T] = {}
        for chunk in _chunks(_unique_ids(ids, param), size):
            try:
                answer = self._call(action, {param: ",".join(map(str, chunk))})
                if not isinstance(answer, list):
                    raise self._bad_shape(action, f"expected a list, got {type(answer).__name__}")
            except UpstreamError as exc:
                exc.partial = dict(results)
                raise
            wanted = set(chunk)
            for item in answer:
                key = _id_or_none(item.get(id_field)) if isinstance(item, Mapping) else None
                if key is None or key not in wanted:
                    logger.warning("upstream %s: ignoring unexpected item", action)
                    continue
                value = item.get(value_field)
                error = _item_error(value)
                if error is not None:
                    results[key] = make(key, None, error)
                    continue
                try:
                    parsed = parse(value, value_field)
                except _ShapeError as exc:
                    results[key] = make(key, None, f"malformed item: {exc}")
                else:
                    results[key] = make(key, parsed, None)
        return results

    # ------------------------------------------------------------------ transport

    def _call_object(self, action: str, params: Mapping[str, str | int]) -> Mapping[str, Any]:
        answer = self._call(action, params)
        if not isinstance(answer, Mapping):
            raise self._bad_shape(action, f"expected an object, got {type(answer).__name__}")
        return answer

    def _parse[A, R](self, action: str, answer: A, parse: Callable[[A], R]) -> R:
        try:
            return parse(answer)
        except _ItemRejected as exc:
            raise UpstreamRejected(self._redact(str(exc)), action=action) from None
        except _ShapeError as exc:
            raise self._bad_shape(action, str(exc)) from None

    def _bad_shape(self, action: str, detail: str) -> UpstreamBadAnswer:
        return UpstreamBadAnswer(
            f"upstream {action}: unexpected answer shape: {self._redact(detail)}", action=action
        )

    def _call(self, action: str, params: Mapping[str, str | int]) -> Any:
        """POST one action; return the decoded JSON, or raise.

        A whole-answer ``{"error": "..."}`` raises UpstreamRejected here, for
        every action (per-item errors of multi answers are inside lists or
        keyed objects, so they never look like this).
        """
        started = time.monotonic()
        deadline = started + self._timeout
        try:
            response = self._session.post(
                self._url,
                data={"key": self._key, "action": action, **params},
                timeout=(min(self._connect_timeout, self._timeout), self._timeout),
                stream=True,
                # A redirected POST is re-sent (307/308), possibly to another
                # host, with our key in it; never follow.
                allow_redirects=False,
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as exc:
            # `from None`: requests' exception carries the prepared request,
            # whose body holds the key; do not chain it into our error.
            raise self._transport_error(action, exc, started) from None

        with response:
            if response.status_code != 200:
                snippet = self._read_snippet(response, deadline)
                raise UpstreamBadAnswer(
                    f"upstream {action}: HTTP {response.status_code}: {snippet}", action=action
                )
            body = self._read_body(action, response, deadline)

        answer = self._decode(action, body, response.headers.get("Content-Type", ""))
        if isinstance(answer, Mapping) and "error" in answer and "order" not in answer:
            message = self._redact(str(answer["error"]))
            logger.info("upstream %s rejected: %s", action, message)
            raise UpstreamRejected(message, action=action)
        logger.debug("upstream %s answered in %.3fs", action, time.monotonic() - started)
        return answer

    def _transport_error(
        self, action: str, exc: requests.RequestException, started: float
    ) -> UpstreamError:
        elapsed = time.monotonic() - started
        detail = self._redact(f"{type(exc).__name__}: {exc}")[:300]
        if _never_sent(exc):
            logger.warning("upstream %s unreachable after %.2fs: %s", action, elapsed, detail)
            return UpstreamUnreachable(f"upstream {action}: not reached: {detail}", action=action)
        logger.warning("upstream %s ambiguous after %.2fs: %s", action, elapsed, detail)
        return UpstreamAmbiguous(f"upstream {action}: sent, no answer: {detail}", action=action)

    def _read_body(self, action: str, response: requests.Response, deadline: float) -> bytes:
        raw = response.raw
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._past_deadline(action, size)
            _shrink_read_timeout(raw, remaining)
            try:
                # read1 returns as soon as some bytes are there, so the deadline
                # is checked even when the server trickles the body.
                chunk = raw.read1(_READ_CHUNK, decode_content=True)
            except (
                urllib3.exceptions.HTTPError,
                http.client.HTTPException,
                OSError,
                ValueError,
            ) as exc:
                timed_out = isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError)
                if timed_out or time.monotonic() >= deadline:  # the shrunken socket timeout fired
                    raise self._past_deadline(action, size) from None
                detail = self._redact(f"{type(exc).__name__}: {exc}")[:300]
                raise UpstreamAmbiguous(
                    f"upstream {action}: answer broken off after {size} bytes: {detail}",
                    action=action,
                ) from None
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self._max_body_bytes:
                raise UpstreamBadAnswer(
                    f"upstream {action}: answer larger than {self._max_body_bytes} bytes",
                    action=action,
                )
            chunks.append(chunk)

    def _past_deadline(self, action: str, size: int) -> UpstreamAmbiguous:
        return UpstreamAmbiguous(
            f"upstream {action}: answer not complete within the {self._timeout:g}s deadline "
            f"({size} bytes read)",
            action=action,
        )

    def _read_snippet(self, response: requests.Response, deadline: float) -> str:
        """Best effort: a short quote of an error page, never blocking past the deadline."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "(no body read)"
        _shrink_read_timeout(response.raw, remaining)
        try:
            data = response.raw.read1(_SNIPPET_CHARS * 4, decode_content=True)
        except Exception:  # noqa: BLE001 - only decorates an error already being raised
            return "(body unreadable)"
        return self._snippet(data)

    def _decode(self, action: str, body: bytes, content_type: str) -> Any:
        try:
            text = body.decode("utf-8-sig")  # a BOM from a PHP include is common enough
        except UnicodeDecodeError:
            raise UpstreamBadAnswer(
                f"upstream {action}: answer is not UTF-8: {self._snippet(body)}", action=action
            ) from None
        if not text.strip():
            raise UpstreamBadAnswer(f"upstream {action}: empty answer", action=action)
        # Judged by the body, not the Content-Type: PHP panels often send JSON
        # labelled text/html, and error pages labelled application/json.
        if text.lstrip().startswith("<"):
            raise UpstreamBadAnswer(
                f"upstream {action}: answered HTML ({content_type or 'no content type'}), "
                f"not JSON: {self._snippet(body)}",
                action=action,
            )
        try:
            return json.loads(text, parse_float=Decimal, parse_constant=_reject_json_constant)
        except ValueError as exc:
            kind = "truncated JSON" if _at_end(exc, text) else "malformed JSON"
            raise UpstreamBadAnswer(
                f"upstream {action}: {kind}: {self._snippet(body)}", action=action
            ) from None

    def _snippet(self, data: bytes) -> str:
        text = data[: _SNIPPET_CHARS * 4].decode("utf-8", errors="replace")
        return repr(self._redact(" ".join(text.split()))[:_SNIPPET_CHARS])

    def _redact(self, text: str) -> str:
        for secret in {self._key, quote_plus(self._key)}:
            text = text.replace(secret, "***")
        return text


def _at_end(exc: ValueError, text: str) -> bool:
    """True if the JSON decoder stopped at the end of the text (it wanted more)."""
    return isinstance(exc, json.JSONDecodeError) and exc.pos >= len(text.rstrip())


def _shrink_read_timeout(raw: Any, remaining: float) -> None:
    """Bound the next socket read by the time left before the deadline.

    Reaches into urllib3's connection; if that ever changes shape we fall back
    to the read timeout set at request time, and the deadline check between
    reads still bounds the call to about twice the timeout.
    """
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        try:
            sock.settimeout(max(remaining, 0.001))
        except OSError:
            pass


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_link(link: str) -> str:
    if not isinstance(link, str) or not link.strip():
        raise ValueError("link must not be empty")
    return link


def _positive_id(value: object, name: str) -> int:
    number = _to_int(value, name) if not _is_blank(value) else None
    if number is None or number <= 0:
        raise _ShapeError(f"{name} is missing or not a positive id: {str(value)[:40]!r}")
    return number


def _id_or_none(value: object) -> int | None:
    try:
        return _positive_id(value, "id")
    except _ShapeError:
        return None


def _raise_item_error(value: object) -> object:
    """Single refill/cancel/refill_status may answer ``{"x": {"error": ...}}``:
    that is a rejection like a top-level error."""
    error = _item_error(value)
    if error is not None:
        raise _ItemRejected(error)
    return value


def _status_item(item: object) -> OrderStatus:
    if not isinstance(item, Mapping):
        return OrderStatus(error=f"malformed item: a {type(item).__name__}, not an object")
    error = _item_error(item)
    if error is not None:
        return OrderStatus(error=error)
    try:
        return _parse_order_status(item)
    except _ShapeError as exc:
        return OrderStatus(error=f"malformed item: {exc}")
