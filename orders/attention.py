"""Every order ends or is in front of a person (issue 11).

When the poll cannot decide (the upstream no longer knows the order, leaves it out of an answer,
answers an unknown word, or ends it without a usable count), the order is never refunded from a
guess: it is *held* (`held_since`, `attention_reason`), a clear answer later lifts the hold, and
held longer than ORDER_ATTENTION_AFTER_MINUTES it goes to `attention` for a person
(orders.staff_actions). Refill and cancel requests the upstream does not answer get the same bound.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from . import rules
from .models import CancelRequest, Order, OrderKind, OrderState, RefillRequest
from .states import order_transition, request_move

logger = logging.getLogger(__name__)

S = OrderState


def attention_after() -> timedelta:
    """How long the poll may stay undecided about an order before a person must look at it."""
    return timedelta(minutes=int(settings.ORDER_ATTENTION_AFTER_MINUTES))


def request_overdue(since: datetime, *, now: datetime) -> bool:
    """A refill or cancel request unanswered since `since` is overdue for a person."""
    return now - since >= attention_after()


def request_unanswered(
    request: RefillRequest | CancelRequest, attention_state: str, why: str
) -> bool:
    """A refill or cancel request the upstream did not answer usably: held from now, and after
    the attention bound moved (in memory; the caller writes) to `attention_state` with the
    reason. True when something changed that must be written."""
    now = timezone.now()
    if request.held_since is None:
        request.held_since, request.updated_at = now, now
        return True
    if request_overdue(request.held_since, now=now):
        logger.error("%s needs attention: %s", request, why)
        request_move(request, attention_state, now=now)
        request.error = why[:500]
        return True
    return False


def order_undecided(
    *, order: Order, reason: str, now: datetime, changes: dict[str, Any] | None = None
) -> str:
    """The poll could not decide about a placed order, for `reason`.

    Returns "attention" when the order has been undecided for longer than the bound and was
    moved to `attention` (written here, with `changes` and an event), "held" when the hold was
    recorded in memory for the caller's bulk write (first time, or a new reason), or "same"
    when nothing changed.
    """
    reason = reason[:500]
    if order.held_since is not None and now - order.held_since >= attention_after():
        values = {**(changes or {}), "attention_reason": reason}
        if order_transition(
            order=order,
            to=S.ATTENTION,
            reason=f"undecided since {order.held_since:%Y-%m-%d %H:%M:%S}: {reason}",
            changes=values,
        ):
            logger.error("order %s needs attention: %s", order.pk, reason)
            return "attention"
        return "same"  # ended or moved meanwhile: nothing to do
    if order.held_since is None:
        order.held_since = now
        logger.warning("order %s: held, the poll cannot decide: %s", order.pk, reason)
    if order.attention_reason == reason and order.held_since != now:
        return "same"
    order.attention_reason = reason
    return "held"


def order_decided(order: Order) -> None:
    """A clear answer: whatever held the order no longer does (in memory, written by the poll)."""
    order.held_since = None
    order.attention_reason = ""


# ----------------------------------------------------------------------------- final answers


def final_decision(
    *, order: Order, word: str, remains: int | None
) -> tuple[str, Decimal, int | None] | str:
    """What a final upstream word means for the order: (state, refund, remains to record), or,
    when the answer gives no usable count, the reason to hold it instead.

    `remains` is the count of *this* answer (None when missing or unreadable): never one saved by
    an earlier poll, which says what was left then, not at the end.
    """
    total = order.total_quantity
    if order.kind == OrderKind.DRIPFEED:
        children = order.extra.get("children", [])
        unreadable = [
            c["id"]
            for c in children
            if c["status"] is None
            or c["status"] not in rules.FINAL_STATUSES
            or (c["status"] == rules.PARTIAL and c["remains"] is None)
        ]
        if unreadable:
            return f"drip-feed runs without a usable final status: {unreadable[:10]}"
        left = order.remains or 0
        if left >= total:
            return S.CANCELED, order.charge, left
        if left > 0:
            return S.PARTIAL, remains_refund(order, left), left
        return S.COMPLETED, Decimal("0"), 0
    if word == rules.COMPLETED:
        return (
            S.COMPLETED,
            Decimal("0"),
            0 if remains is None else rules.clamp_remains(remains, total),
        )
    if word == rules.PARTIAL:
        if remains is None:
            return "Partial without a usable remains"
        left = rules.clamp_remains(remains, total) or 0
        return S.PARTIAL, remains_refund(order, left), left
    # Canceled: without a usable count, nothing was delivered (the upstream refunds us in
    # full); with remains strictly between 0 and the quantity, part was delivered, and the same
    # rule as Partial applies. A count out of that range (negative, zero, more than ordered)
    # says nothing believable about a cancel, and the customer keeps the full refund.
    if remains is not None and 0 < remains < total:
        return S.PARTIAL, remains_refund(order, remains), remains
    return S.CANCELED, order.charge, None if remains is None else total


def remains_refund(order: Order, left: int) -> Decimal:
    """The refund of what `left` units not delivered cost the customer."""
    return rules.refund_for_remains(
        charge=order.charge, remains=left, total_quantity=order.total_quantity
    )
