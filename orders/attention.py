"""Every order ends or is in front of a person (issue 11).

The poll cannot always decide: the upstream no longer knows the order ("Order not found",
"Incorrect order ID"), leaves it out of a status answer, answers a word we do not know, or ends
it without a usable count (a Partial without `remains`, drip-feed runs it cannot report). Unknown
is not undelivered: such an order is never refunded from a guess. It is *held*: `held_since`
records when the doubt began and `attention_reason` why, and a clear answer later lifts the hold.
Held for longer than ORDER_ATTENTION_AFTER_MINUTES, it goes to `attention`, which the staff
dashboard lists with its reason. Staff end it from the order's admin page (completed, partial
with the remains they enter, or canceled: each with its refund, once) or send it back to polling.
Every such decision is an OrderEvent with who and why.

The same bound applies to refill and cancel requests the upstream does not answer (see
`request_overdue`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from . import rules
from .models import CancelRequest, Order, OrderKind, OrderState, RefillRequest
from .states import order_transition

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

S = OrderState

# What a poll writes on a held order besides its upstream values.
HOLD_FIELDS = ("held_since", "attention_reason")

OUTCOMES = ("completed", "partial", "canceled")


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
        request.state, request.error, request.updated_at = attention_state, why[:500], now
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
            return S.PARTIAL, _refund(order, left), left
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
        return S.PARTIAL, _refund(order, left), left
    # Canceled: without a usable count, nothing was delivered (the upstream refunds us in
    # full); with remains strictly between 0 and the quantity, part was delivered, and the same
    # rule as Partial applies. A count out of that range (negative, zero, more than ordered)
    # says nothing believable about a cancel, and the customer keeps the full refund.
    if remains is not None and 0 < remains < total:
        return S.PARTIAL, _refund(order, remains), remains
    return S.CANCELED, order.charge, None if remains is None else total


def _refund(order: Order, left: int) -> Decimal:
    return rules.refund_for_remains(
        charge=order.charge, remains=left, total_quantity=order.total_quantity
    )


# ----------------------------------------------------------------------------- staff decisions


class AttentionError(Exception):
    """A staff decision that does not apply to the order as it is now."""


def order_attention_end(
    *, order_id: int, outcome: str, actor: User, reason: str, remains: int | None = None
) -> Order:
    """Staff end an order that needs attention: completed (no refund), partial (the remains
    they checked upstream; refund of remains x unit price) or canceled (full refund). The
    refund is written with the state change, once."""
    from .services import _finish  # the one place an order ends with its refund

    order = Order.objects.get(pk=order_id)
    if order.state != S.ATTENTION:
        raise AttentionError(f"Order #{order_id} does not need attention.")
    reason = reason.strip()
    if not reason:
        raise AttentionError("Say why (what the upstream shows): it goes into the order history.")
    total = order.total_quantity
    if outcome == "completed":
        to, refund, left = S.COMPLETED, Decimal("0"), 0
    elif outcome == "canceled":
        to, refund, left = S.CANCELED, order.charge, total
    elif outcome == "partial":
        if remains is None or not 0 < remains < total:
            raise AttentionError(f"Enter the remains: a whole number from 1 to {total - 1}.")
        to, refund, left = S.PARTIAL, _refund(order, remains), remains
    else:
        raise AttentionError(f"Unknown outcome {outcome!r}.")
    if not _finish(
        order=order,
        to=to,
        refund=refund,
        actor=actor,
        reason=f"ended by staff as {outcome}: {reason}",
        changes={"remains": left, "held_since": None},
    ):
        raise AttentionError(f"Order #{order_id} changed meanwhile; reload and try again.")
    return order


def order_attention_repoll(*, order_id: int, actor: User, reason: str) -> Order:
    """Staff send an order that needs attention back to the poll, its doubt forgotten: if the
    upstream still cannot answer, it comes back after the same bound."""
    order = Order.objects.get(pk=order_id)
    if order.state != S.ATTENTION:
        raise AttentionError(f"Order #{order_id} does not need attention.")
    reason = reason.strip() or "sent back to polling"
    if not order_transition(
        order=order,
        to=S.PLACED,
        actor=actor,
        reason=f"sent back to polling by staff: {reason}",
        changes={"held_since": None, "attention_reason": ""},
    ):
        raise AttentionError(f"Order #{order_id} changed meanwhile; reload and try again.")
    return order
