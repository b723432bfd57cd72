"""The seven actions of API v2 over one account's ``Book``, answering the document's shapes.

Error strings the document does not give are the sandbox's own choice: "Invalid action", "Link
is required", "Incorrect quantity", "Comments are required", "Username is required", "Order not
found" (single status), "Order cannot be refilled at this status", "Maximum N ... per request".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .book import Book
from .model import (
    CANCELLABLE,
    DAY,
    LIST_MAX,
    MAX_DRIPFEED_MINUTES,
    STATUS_MAX,
    Rejected,
    SandboxOrder,
    ServiceTerms,
    int_or_none,
    money,
)

_KINDS = {"Custom Comments": "comments", "Comment Likes": "comment_likes"}


class _Amount(NamedTuple):
    quantity: int
    comments: tuple[str, ...] = ()
    username: str = ""


class Api:
    """Answers one request of ``action``; call under the sandbox's lock, after a tick."""

    def __init__(self, book: Book, *, action: str, now: Callable[[], float]) -> None:
        self.book = book
        self.action = action
        self.now = now

    def answer(self, params: Mapping[str, str]) -> Any:
        handler = _ACTIONS.get(self.action)
        if handler is None:
            return {"error": "Invalid action"}
        try:
            return handler(self, params)
        except Rejected as exc:
            return {"error": str(exc)}

    # ------------------------------------------------------------------ balance, services

    def balance(self, params: Mapping[str, str]) -> Any:
        return {"balance": f"{self.book.balance:.2f}", "currency": self.book.currency}

    def services(self, params: Mapping[str, str]) -> Any:
        # Keys starting with "_" (a VIP package's shape) are the sandbox's own, never shown.
        extra = {"currency": self.book.currency} if self.book.currency_in_services else {}
        return [
            {**{name: value for name, value in entry.items() if not name.startswith("_")}, **extra}
            for entry in self.book.services.values()
        ]

    # ------------------------------------------------------------------ add

    def add(self, params: Mapping[str, str]) -> Any:
        service_id = int_or_none(params.get("service"))
        entry = self.book.services.get(service_id) if service_id is not None else None
        if entry is None:
            raise Rejected("Incorrect service ID")
        service = ServiceTerms.from_entry(entry)
        link = params.get("link", "").strip()
        if not link:
            raise Rejected("Link is required")
        amount = _amount(service, params)
        runs, interval = _runs(service, params)
        if amount.quantity < service.min:
            raise Rejected(f"Quantity less than minimal {service.min}")
        if amount.quantity > service.max:
            raise Rejected(f"Quantity more than maximal {service.max}")
        return {"order": self._place(service, link, amount, runs, interval)}

    def _place(
        self, service: ServiceTerms, link: str, amount: _Amount, runs: int, interval: int
    ) -> int:
        book = self.book
        # Paid in full when placed, rounded half-up to 0.01 (a drip-feed pays for every run);
        # what is not delivered comes back when the order ends.
        per_run = money(service.rate * amount.quantity / 1000)
        book.charge(per_run * runs)
        fate, fate_remains = book.next_fate()
        now = self.now()
        if runs >= 2:
            parent = book.new_order(
                service,
                kind="dripfeed",
                link=link,
                quantity=amount.quantity,
                paid=per_run * runs,
                now=now,
            )
            # A parent only schedules runs; each run is timed like an order of `quantity`.
            # "Active" is not a cancellable status: its runs are cancelled one by one.
            parent.start_at, parent.end_at = now, math.inf
            parent.status, parent.runs, parent.interval = "Active", runs, interval
            parent.fate, parent.fate_remains = fate, fate_remains
            book.tick(self.now())  # starts the first run at once
            return parent.id
        kind = _KINDS.get(service.type, "default")
        if service.vip is not None:
            kind = "vip_time" if service.vip.get("kind") == "time" else "vip_post"
        order = book.new_order(
            service, kind=kind, link=link, quantity=amount.quantity, paid=per_run, now=now
        )
        order.comments, order.username = amount.comments, amount.username
        book.apply_fate(order, fate, fate_remains, strict=False)
        return order.id

    # ------------------------------------------------------------------ status

    def status(self, params: Mapping[str, str]) -> Any:
        if "orders" in params:
            answer: dict[str, Any] = {}
            for raw in _id_list(params["orders"], STATUS_MAX, "orders"):
                if self.book.messy.is_omitted("status", int_or_none(raw)):
                    continue
                order = self._order_by_raw(raw)
                answer[raw] = (
                    self._status_item(order) if order is not None else {"error": "Order not found"}
                )
            return answer
        order = self._order_by_raw(params.get("order", ""))
        if order is None:
            raise Rejected("Order not found")
        item = self._status_item(order)
        if "error" in item:
            raise Rejected(str(item["error"]))
        return item

    def _status_item(self, order: SandboxOrder) -> dict[str, Any]:
        if order.kind == "dripfeed":
            item: dict[str, Any] = {
                "status": order.status,
                "runs": str(len(order.children)),
                "orders": [str(child) for child in order.children],
            }
        else:
            item = {
                "charge": f"{order.charge:.2f}",
                "start_count": str(order.start_count),
                "status": order.status,
                "remains": str(order.remains),
                "currency": self.book.currency,
            }
            if order.vip is not None:
                item["start_count"] = "0"
                item.update(self._vip_fields(order))
        return self.book.messy.status_item(order.id, item)

    def _vip_fields(self, order: SandboxOrder) -> dict[str, int]:
        """VIP time-based: daily_Post_Limit / daily_Progress / days_Left; post-based:
        total_posts / completed_posts / days_Left."""
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

    # ------------------------------------------------------------------ refill, cancel

    def refill(self, params: Mapping[str, str]) -> Any:
        if "orders" in params:
            return self._many(params["orders"], "order", "refill", self._refill_one)
        return {"refill": self._refill_one(params.get("order", ""))}

    def refill_status(self, params: Mapping[str, str]) -> Any:
        if "refills" in params:
            return self._many(params["refills"], "refill", "status", self._refill_status_one)
        return {"status": self._refill_status_one(params.get("refill", ""))}

    def cancel(self, params: Mapping[str, str]) -> Any:
        if "orders" in params:
            return self._many(params["orders"], "order", "cancel", self._cancel_one)
        return {"cancel": self._cancel_one(params.get("order", ""))}

    def _many(
        self, raw_ids: str, id_field: str, value_field: str, one: Callable[[str], Any]
    ) -> list[dict[str, Any]]:
        """A multi request: one item per id, the value or ``{"error": ...}``."""
        return [
            {id_field: int_or_none(raw) or raw, value_field: _either(one, raw)}
            for raw in _id_list(raw_ids, LIST_MAX, f"{id_field}s")
            if not self.book.messy.is_omitted(self.action, int_or_none(raw))
        ]

    def _refill_one(self, raw: str) -> int:
        order = self._order_by_raw(raw)
        if order is None:
            raise Rejected("Incorrect order ID")
        if order.kind == "dripfeed" or not order.refill_allowed:
            raise Rejected("This order does not support refill")
        current = self.book.refills.get(order.id)
        if current is not None and current.status in _REFILL_BLOCKED:
            raise Rejected(_REFILL_BLOCKED[current.status])
        if order.status not in ("Completed", "Partial") or order.finished_at is None:
            raise Rejected("Order cannot be refilled at this status")
        now = self.now()
        # Warranty counts from the order's last update (its completion); 0 days = lifetime.
        if order.days_refill > 0 and now > order.finished_at + order.days_refill * DAY:
            raise Rejected("Warranty period has expired")
        self.book.open_refill(order, now)
        return order.id

    def _refill_status_one(self, raw: str) -> str:
        refill_id = int_or_none(raw)
        refill = self.book.refills.get(refill_id) if refill_id is not None else None
        if refill is None or refill.id in self.book.messy.lost_refills:
            raise Rejected("Refill not found")
        return refill.status

    def _cancel_one(self, raw: str) -> int:
        order = self._order_by_raw(raw)
        if order is None:
            raise Rejected("Incorrect order ID")
        if not order.cancel_allowed:
            raise Rejected("This order cannot be cancelled")
        if order.cancel_requested_at is not None:
            raise Rejected("The cancellation request was submitted earlier")
        if order.status not in CANCELLABLE:
            raise Rejected("Order cannot be cancelled at this status")
        order.cancel_requested_at = self.now()
        return order.id

    def _order_by_raw(self, raw: str) -> SandboxOrder | None:
        order_id = int_or_none(raw)
        if order_id is None:
            return None
        if order_id in self.book.messy.forgotten and self.action != "status":
            return None  # refill and cancel find no such order; status answers its error
        return self.book.orders.get(order_id)


# A refill that is still open, or was rejected, blocks the next one.
_REFILL_BLOCKED = {
    "Pending": "Refill request already submitted",
    "In progress": "Refill is currently running",
    "Rejected": "Refill request was rejected",
}

_ACTIONS: dict[str, Callable[[Api, Mapping[str, str]], Any]] = {
    "balance": Api.balance,
    "services": Api.services,
    "add": Api.add,
    "status": Api.status,
    "refill": Api.refill,
    "refill_status": Api.refill_status,
    "cancel": Api.cancel,
}


def _amount(service: ServiceTerms, params: Mapping[str, str]) -> _Amount:
    """How much is ordered: comment lines for Custom Comments, else ``quantity``."""
    if service.type == "Custom Comments":
        comments = tuple(
            line.strip() for line in params.get("comments", "").splitlines() if line.strip()
        )
        if not comments:
            raise Rejected("Comments are required")
        return _Amount(len(comments), comments=comments)
    quantity = int_or_none(params.get("quantity"))
    if quantity is None:
        raise Rejected("Incorrect quantity")
    if service.type != "Comment Likes":
        return _Amount(quantity)
    username = params.get("username", "").strip()
    if not username:
        raise Rejected("Username is required")
    return _Amount(quantity, username=username)


def _runs(service: ServiceTerms, params: Mapping[str, str]) -> tuple[int, int]:
    """(runs, interval in minutes); runs >= 2 activates drip feed, as the document says."""
    if not params.get("runs", "").strip():
        return 1, 0
    runs = int_or_none(params.get("runs")) or 0
    if runs < 1:
        raise Rejected("Runs must be at least 1")
    if runs < 2:
        return runs, 0
    if not service.dripfeed:
        raise Rejected("This service does not support drip feed")
    interval = int_or_none(params.get("interval")) or 0
    if interval < 1:
        raise Rejected("Interval must be at least 1 minute")
    total = runs * interval
    if total > MAX_DRIPFEED_MINUTES:
        raise Rejected(f"Total time {total} minutes cannot exceed {MAX_DRIPFEED_MINUTES} minutes")
    return runs, interval


def _id_list(raw: str, limit: int, name: str) -> list[str]:
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    if len(ids) > limit:
        raise Rejected(f"Maximum {limit} {name} per request")
    return ids


def _either(one: Callable[[str], Any], raw: str) -> Any:
    """Per-item answer of a multi request: the value, or {"error": ...}."""
    try:
        return one(raw)
    except Rejected as exc:
        return {"error": str(exc)}
