"""Client for the upstream provider's API v2 (sieulike), protocol only: no Django, no models,
no money policy. Callers get typed values (``Decimal`` for money, ``int`` for counts) or one of
the errors of ``errors.py``; the HTTP side is ``transport.py``, the answers' shapes
``answers.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

import requests

from .answers import (
    Balance,
    CancelResult,
    ItemRejected,
    OrderStatus,
    RefillResult,
    RefillStatus,
    ShapeError,
    UpstreamService,
    id_or_none,
    item_error,
    optional,
    parse_order_status,
    parse_service,
    positive_id,
    raise_item_error,
    status_item,
    to_decimal,
    to_str,
)
from .errors import UpstreamBadAnswer, UpstreamError, UpstreamRejected
from .transport import Transport

logger = logging.getLogger(__name__)


class UpstreamClient:
    """Speaks API v2 to one upstream account.

    One instance per process (or per thread) is the intended use: it owns a
    pooled ``requests.Session``. Every method either returns typed values or
    raises ``UpstreamRejected`` / ``UpstreamUnreachable`` / ``UpstreamAmbiguous``
    (see errors.py). Arguments that are wrong before anything is sent raise
    ``ValueError``.
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
        self._transport = Transport(
            url=url,
            key=key,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_body_bytes=max_body_bytes,
            session=session,
        )

    def __repr__(self) -> str:  # never show the key
        return f"<UpstreamClient {self._transport.url}>"

    def close(self) -> None:
        self._transport.close()

    # ------------------------------------------------------------------ account

    def balance(self) -> Balance:
        answer = self._call_object("balance", {})
        return self._parse(
            "balance",
            answer,
            lambda a: Balance(
                balance=to_decimal(a.get("balance"), "balance"),
                currency=optional(to_str, a.get("currency"), "currency") or "",
            ),
        )

    def services(self) -> list[UpstreamService]:
        """The whole catalog, or an error: one unparseable entry fails the call,
        because a silently dropped entry would look like a removed service."""
        answer = self._transport.call("services", {})
        if not isinstance(answer, list):
            raise self._bad_shape("services", f"expected a list, got {type(answer).__name__}")
        return self._parse("services", answer, lambda a: [parse_service(item) for item in a])

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
        return self._parse("add", answer, lambda a: positive_id(a.get("order"), "order"))

    # ------------------------------------------------------------------ status

    def status(self, *, order: int) -> OrderStatus:
        _check_positive(order=order)
        answer = self._call_object("status", {"order": order})
        return self._parse("status", answer, parse_order_status)

    def statuses(self, *, orders: Iterable[int]) -> dict[int, OrderStatus]:
        """Status of many orders, STATUS_BATCH ids per call.

        Orders the upstream does not mention are absent from the result (and
        so are ids it mentions that were not asked for). If any call fails, the
        error is raised and ``exc.partial`` holds the chunks already answered.
        """
        results: dict[int, OrderStatus] = {}
        for chunk in _chunks(_unique_ids(orders, "orders"), self.STATUS_BATCH):
            try:
                answer = self._transport.call("status", {"orders": ",".join(map(str, chunk))})
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
                order_id = id_or_none(key)
                if order_id is None or order_id not in wanted:
                    logger.warning("upstream status: ignoring unexpected key %.40r", key)
                    continue
                results[order_id] = status_item(item)
        return results

    # ------------------------------------------------------------------ refill

    def refill(self, *, order: int) -> int:
        """Request a refill; returns the refill id (the upstream uses the order id)."""
        _check_positive(order=order)
        answer = self._call_object("refill", {"order": order})
        return self._parse(
            "refill", answer, lambda a: positive_id(raise_item_error(a.get("refill")), "refill")
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
            parse=positive_id,
            make=lambda key, value, error: RefillResult(order=key, refill=value, error=error),
        )

    def refill_status(self, *, refill: int) -> str:
        _check_positive(refill=refill)
        answer = self._call_object("refill_status", {"refill": refill})
        return self._parse(
            "refill_status", answer, lambda a: to_str(raise_item_error(a.get("status")), "status")
        )

    def refill_statuses(self, *, refills: Iterable[int]) -> dict[int, RefillStatus]:
        return self._batch_list(
            "refill_status",
            "refills",
            refills,
            self.REFILL_BATCH,
            id_field="refill",
            value_field="status",
            parse=to_str,
            make=lambda key, value, error: RefillStatus(refill=key, status=value, error=error),
        )

    # ------------------------------------------------------------------ cancel

    def cancel(self, *, order: int) -> int:
        _check_positive(order=order)
        answer = self._call_object("cancel", {"order": order})
        return self._parse(
            "cancel", answer, lambda a: positive_id(raise_item_error(a.get("cancel")), "cancel")
        )

    def cancels(self, *, orders: Iterable[int]) -> dict[int, CancelResult]:
        return self._batch_list(
            "cancel",
            "orders",
            orders,
            self.CANCEL_BATCH,
            id_field="order",
            value_field="cancel",
            parse=positive_id,
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
                answer = self._transport.call(action, {param: ",".join(map(str, chunk))})
                if not isinstance(answer, list):
                    raise self._bad_shape(action, f"expected a list, got {type(answer).__name__}")
            except UpstreamError as exc:
                exc.partial = dict(results)
                raise
            wanted = set(chunk)
            for item in answer:
                key = id_or_none(item.get(id_field)) if isinstance(item, Mapping) else None
                if key is None or key not in wanted:
                    logger.warning("upstream %s: ignoring unexpected item", action)
                    continue
                value = item.get(value_field)
                error = item_error(value)
                if error is not None:
                    results[key] = make(key, None, error)
                    continue
                try:
                    parsed = parse(value, value_field)
                except ShapeError as exc:
                    results[key] = make(key, None, f"malformed item: {exc}")
                else:
                    results[key] = make(key, parsed, None)
        return results

    # ------------------------------------------------------------------ answers

    def _call_object(self, action: str, params: Mapping[str, str | int]) -> Mapping[str, Any]:
        answer = self._transport.call(action, params)
        if not isinstance(answer, Mapping):
            raise self._bad_shape(action, f"expected an object, got {type(answer).__name__}")
        return answer

    def _parse[A, R](self, action: str, answer: A, parse: Callable[[A], R]) -> R:
        try:
            return parse(answer)
        except ItemRejected as exc:
            raise UpstreamRejected(self._transport.redact(str(exc)), action=action) from None
        except ShapeError as exc:
            raise self._bad_shape(action, str(exc)) from None

    def _bad_shape(self, action: str, detail: str) -> UpstreamBadAnswer:
        return UpstreamBadAnswer(
            f"upstream {action}: unexpected answer shape: {self._transport.redact(detail)}",
            action=action,
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


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_link(link: str) -> str:
    if not isinstance(link, str) or not link.strip():
        raise ValueError("link must not be empty")
    return link
