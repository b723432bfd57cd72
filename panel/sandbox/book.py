"""What the upstream account remembers (balance, services, orders, refills, fates) and how its
orders move on with the clock.

An order is Pending for ``PENDING_SECONDS``, then In progress while its quantity is delivered
linearly, then ends with its *fate*: Completed by default, or Partial / Canceled when set.
Partial and Canceled refund the undelivered part to the balance, and ``charge`` drops to match.
A drip-feed parent starts a run (an order of ``quantity``) every ``interval`` minutes, the first
at once, and is Completed when every run has started and ended. A VIP package runs for its
days. A refill is Pending ``REFILL_PENDING_SECONDS``, In progress ``REFILL_RUN_SECONDS``, then
Completed (or Rejected, by fate). A cancellation takes effect ``CANCEL_SECONDS`` after it was
asked for: Canceled if nothing was delivered yet, otherwise Partial.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from .messy import Messy
from .model import (
    CANCEL_SECONDS,
    DAY,
    FIRST_ORDER_ID,
    MAX_RUN_SECONDS,
    MIN_RUN_SECONDS,
    ORDER_FATES,
    PENDING_SECONDS,
    REFILL_FATES,
    REFILL_PENDING_SECONDS,
    REFILL_RUN_SECONDS,
    Rejected,
    SandboxOrder,
    SandboxRefill,
    ServiceTerms,
    int_or_none,
    money,
)


class Book:
    """One upstream account. Not thread-safe: the ``Sandbox`` holds its lock around it."""

    def __init__(
        self, *, balance: Decimal, services: Iterable[Mapping[str, Any]], currency: str
    ) -> None:
        self.balance = balance
        self.services: dict[int, dict[str, Any]] = {}
        self.install_services(services)
        self.orders: dict[int, SandboxOrder] = {}
        self.refills: dict[int, SandboxRefill] = {}
        # What `tick` still has to move forward, so that its cost follows the orders that
        # can change, not every order ever placed (insertion order is id order).
        self.open: dict[int, SandboxOrder] = {}  # orders and runs not ended, no parents
        self.active_parents: dict[int, SandboxOrder] = {}
        self.open_refills: dict[int, SandboxRefill] = {}
        # The clock of the last tick, and the orders placed since: at an unchanged clock only
        # those need a tick (bringing an order to the same time again changes nothing).
        self.ticked_at: float | None = None
        self.untimed: list[int] = []
        self.refill_fates: dict[int, str] = {}
        self.next_fates: deque[tuple[str, int | None]] = deque()
        self.next_id = FIRST_ORDER_ID
        self.messy = Messy()
        self.currency = currency
        self.currency_in_services = False

    def install_services(self, services: Iterable[Mapping[str, Any]]) -> None:
        for entry in services:
            service_id = int_or_none(entry.get("service"))
            if service_id is None:
                raise ValueError(f"service entry without a numeric id: {entry!r}")
            self.services[service_id] = copy.deepcopy(dict(entry))

    # ------------------------------------------------------------------ placing

    def charge(self, amount: Decimal) -> None:
        if amount > self.balance:
            raise Rejected("Insufficient balance")
        self.balance -= amount

    def next_fate(self) -> tuple[str, int | None]:
        return self.next_fates.popleft() if self.next_fates else ("Completed", None)

    def new_order(
        self,
        service: ServiceTerms,
        *,
        kind: str,
        link: str,
        quantity: int,
        paid: Decimal,
        now: float,
    ) -> SandboxOrder:
        if service.vip is not None:
            run = float(int(service.vip.get("days", 30)) * DAY)
        else:
            run = service.avg_time_min * 60 * quantity / 1000
            run = min(max(run, MIN_RUN_SECONDS), MAX_RUN_SECONDS)
        order = SandboxOrder(
            id=self.next_id,
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
        self.next_id += 1
        self._track(order)
        return order

    def open_refill(self, order: SandboxOrder, now: float) -> None:
        fate = self.refill_fates.pop(order.id, "Completed")
        refill = SandboxRefill(id=order.id, order=order.id, created_at=now, fate=fate)
        self.refills[order.id] = refill
        self.open_refills[order.id] = refill

    def _track(self, order: SandboxOrder) -> None:
        self.orders[order.id] = order
        if order.kind == "dripfeed":
            self.active_parents[order.id] = order
        else:
            self.open[order.id] = order
            self.untimed.append(order.id)

    # ------------------------------------------------------------------ fates

    def set_fate(self, order: int, status: str, remains: int | None) -> None:
        if status not in ORDER_FATES:
            raise ValueError(f"fate must be one of {sorted(ORDER_FATES)}")
        target = self.orders.get(order)
        if target is None:
            raise ValueError(f"no order {order}")
        if target.kind == "dripfeed":
            # Runs not started yet inherit the parent's fate; started ones get it now.
            target.fate, target.fate_remains = status, remains
            for child in target.children:
                if self.orders[child].finished_at is None:
                    self.apply_fate(self.orders[child], status, remains, strict=False)
            return
        if target.finished_at is not None:
            raise ValueError(f"order {order} has already ended ({target.status})")
        self.apply_fate(target, status, remains, strict=True)

    def set_refill_fate(self, order: int, status: str) -> None:
        if status not in REFILL_FATES:
            raise ValueError(f"refill fate must be one of {sorted(REFILL_FATES)}")
        refill = self.refills.get(order)
        if refill is not None and refill.status in ("Pending", "In progress"):
            refill.fate = status
        else:
            self.refill_fates[order] = status

    @staticmethod
    def apply_fate(order: SandboxOrder, status: str, remains: int | None, *, strict: bool) -> None:
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

    def tick(self, now: float) -> None:
        """Bring every order and refill up to ``now``.

        Only what can still change is visited: ended orders, completed parents and ended
        refills never change again. An order is a function of its fields and the clock, so at
        the clock of the previous tick only the orders placed since need bringing forward."""
        for parent in [p for p in self.active_parents.values() if p.status == "Active"]:
            self._start_due_runs(parent, now)
        if now == self.ticked_at:
            due = [self.open[order_id] for order_id in self.untimed if order_id in self.open]
        else:
            due = list(self.open.values())
        self.ticked_at = now
        self.untimed.clear()
        for order in due:
            self._bring_forward(order, now)
        self._end_parents()
        for refill in list(self.open_refills.values()):
            self._progress_refill(refill, now)
            if refill.status in ("Completed", "Rejected"):
                del self.open_refills[refill.id]

    def _bring_forward(self, order: SandboxOrder, now: float) -> None:
        if order.finished_at is None:
            if order.kind in ("vip_time", "vip_post"):
                self._progress_vip(order, now)
            else:
                self._progress(order, now)
        if order.finished_at is not None:
            del self.open[order.id]

    def _end_parents(self) -> None:
        for parent in list(self.active_parents.values()):
            if parent.status != "Active":
                del self.active_parents[parent.id]
                continue
            children = [self.orders[child] for child in parent.children]
            if len(children) == parent.runs and all(c.finished_at is not None for c in children):
                parent.status = "Completed"
                parent.finished_at = max(c.finished_at or 0.0 for c in children)
                parent.charge = sum((c.charge for c in children), Decimal("0"))
                del self.active_parents[parent.id]

    def _start_due_runs(self, parent: SandboxOrder, now: float) -> None:
        per_run = money(parent.paid / parent.runs)
        while len(parent.children) < parent.runs:
            due = parent.created_at + len(parent.children) * parent.interval * 60
            if due > now:
                return
            # A run is an order of its own, with the parent's link, quantity and the service
            # flags the parent was placed with (the service may have changed since).
            child = replace(
                parent,
                id=self.next_id,
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
            self.next_id += 1
            self._track(child)
            self.apply_fate(child, parent.fate, parent.fate_remains, strict=False)
            parent.children.append(child.id)

    @staticmethod
    def delivered(order: SandboxOrder, at: float) -> int:
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
            delivered = self.delivered(order, cancel_at)
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
            order.remains = order.quantity - self.delivered(order, now)

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
            charge = money(order.paid * (order.quantity - remains) / order.quantity)
        else:
            charge = order.paid
        self.balance += order.paid - charge  # the refund of what was not delivered
        order.status, order.remains, order.charge, order.finished_at = status, remains, charge, at

    @staticmethod
    def _progress_refill(refill: SandboxRefill, now: float) -> None:
        started = refill.created_at + REFILL_PENDING_SECONDS
        if now < started:
            refill.status = "Pending"
        elif refill.fate == "Rejected":
            refill.status = "Rejected"
        elif now < started + REFILL_RUN_SECONDS:
            refill.status = "In progress"
        else:
            refill.status = "Completed"
