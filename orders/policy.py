"""May this order be refilled or cancelled now? Answers from an order already in memory, no queries.

The services enforce these rules and the pages use them to show or hide buttons, so both agree.
Each function returns None when the action is allowed, or the `OrderRejected` code saying why not.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from . import rules
from .models import Order, OrderKind, OrderState, RefillRequest

S = OrderState
R = RefillRequest.State

OPEN_REFILL_STATES = frozenset({R.REQUESTED, R.SENDING, R.PENDING, R.IN_PROGRESS})


def public_status(order: Order) -> str:
    """The upstream's word for the customer: Pending, In progress, Processing, Completed,
    Partial or Canceled. Internal states before the upstream knows the order show as Pending; a
    failed order (refunded in full) shows as Canceled."""
    state = order.state
    if state in (S.QUEUED, S.SENDING, S.REVIEW):
        return rules.PENDING
    if state in (S.PLACED, S.ATTENTION):  # staff decide an attention order; it is still open
        word = rules.normalize_status(order.upstream_status)
        # A final word on a placed order means the poll has not applied it yet: still open.
        if word in (rules.PENDING, rules.IN_PROGRESS, rules.PROCESSING):
            return word
        return rules.PENDING if not order.upstream_status else rules.IN_PROGRESS
    if state == S.COMPLETED:
        return rules.COMPLETED
    if state == S.PARTIAL:
        return rules.PARTIAL
    return rules.CANCELED


def refill_refusal(order: Order, *, open_refill_state: str | None, now: datetime) -> str | None:
    """Why this order cannot be refilled now (an OrderRejected code), or None.

    Warranty runs from the order's end for the service's refill days; 0 days means lifetime,
    as the upstream counts it.
    """
    service = order.service
    if not service.refill or order.kind == OrderKind.DRIPFEED:
        # The upstream refuses refills of drip-feed parents: each run is its own order there.
        return "refill_unsupported"
    if order.state not in (S.COMPLETED, S.PARTIAL):
        return "refill_not_finished"
    if open_refill_state is not None:
        return "refill_running" if open_refill_state == R.IN_PROGRESS else "refill_open"
    ended = order.finished_at or order.updated_at
    if service.days_refill and ended + timedelta(days=service.days_refill) < now:
        return "warranty"
    return None


def cancel_refusal(order: Order, *, has_cancel_request: bool) -> str | None:
    """Why this order cannot be cancelled (an OrderRejected code), or None."""
    if not order.service.cancel:
        return "cancel_unsupported"
    if has_cancel_request:
        return "cancel_submitted"
    if public_status(order) not in rules.CANCELLABLE_STATUSES:
        return "cancel_status"
    return None
