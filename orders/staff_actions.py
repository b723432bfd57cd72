"""What only a person decides: an order held for review (the upstream may have it) or one that
needs attention (the poll cannot decide). Called from the order's admin page."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from . import rules
from .attention import remains_refund
from .cancel_outcome import cancel_if_asked
from .errors import REASON_BY_SHOP
from .forwarding import enqueue_forward
from .lifecycle import order_finish
from .models import Order, OrderState
from .states import order_transition

if TYPE_CHECKING:
    from django.contrib.auth.models import User

S = OrderState


class OrderActionError(Exception):
    """A staff action that does not apply to the order as it is now."""


def order_attach_upstream_id(*, order_id: int, upstream_id: int, actor: User) -> Order:
    """Review resolved: the upstream does have this order (found in its order list)."""
    order = Order.objects.get(pk=order_id)
    if order.state != S.REVIEW:
        raise OrderActionError(f"Order #{order_id} is not held for review.")
    if (
        upstream_id <= 0
        or Order.objects.filter(upstream_id=upstream_id).exclude(pk=order_id).exists()
    ):
        raise OrderActionError(
            f"Upstream order {upstream_id} is not valid or already attached to another order."
        )
    try:
        ok = order_transition(
            order=order,
            to=S.PLACED,
            actor=actor,
            reason=f"upstream order {upstream_id} attached after review",
            changes={"upstream_id": upstream_id, "upstream_status": rules.PENDING, "error": ""},
        )
    except IntegrityError:
        ok = False
    if not ok:
        raise OrderActionError(f"Order #{order_id} changed meanwhile; reload and try again.")
    return order


def order_send_again(*, order_id: int, actor: User) -> Order:
    """Review resolved: a person checked the upstream has no such order; send it again."""
    order = Order.objects.get(pk=order_id)
    if order.state != S.REVIEW:
        raise OrderActionError(f"Order #{order_id} is not held for review.")
    with transaction.atomic():
        if not order_transition(
            order=order,
            to=S.QUEUED,
            actor=actor,
            reason="checked upstream: not placed; sent again by staff",
            changes={"next_attempt_at": None, "waiting_for_funds": False},
        ):
            raise OrderActionError(f"Order #{order_id} changed meanwhile; reload and try again.")
    # Provably not upstream (a person checked): a cancel the customer asked for wins.
    if not cancel_if_asked(order):
        transaction.on_commit(partial(enqueue_forward, order.pk), robust=True)
    return order


def order_fail_and_refund(*, order_id: int, actor: User) -> Order:
    """Review (or a long wait for upstream funds) resolved by giving the customer's money back."""
    order = Order.objects.get(pk=order_id)
    if order.state not in (S.REVIEW, S.QUEUED):
        raise OrderActionError(f"Order #{order_id} is neither held for review nor queued.")
    if not order_finish(
        order=order,
        to=S.FAILED,
        refund=order.charge,
        actor=actor,
        reason="failed and refunded by staff",
        changes={"error": REASON_BY_SHOP},
    ):
        raise OrderActionError(f"Order #{order_id} changed meanwhile; reload and try again.")
    return order


def order_attention_end(
    *, order_id: int, outcome: str, actor: User, reason: str, remains: int | None = None
) -> Order:
    """Staff end an order that needs attention: completed (no refund), partial (the remains
    they checked upstream; refund of remains x unit price) or canceled (full refund). The
    refund is written with the state change, once."""
    order = Order.objects.get(pk=order_id)
    if order.state != S.ATTENTION:
        raise OrderActionError(f"Order #{order_id} does not need attention.")
    reason = reason.strip()
    if not reason:
        raise OrderActionError("Say why (what the upstream shows): it goes into the order history.")
    total = order.total_quantity
    if outcome == "completed":
        to, refund, left = S.COMPLETED, Decimal("0"), 0
    elif outcome == "canceled":
        to, refund, left = S.CANCELED, order.charge, total
    elif outcome == "partial":
        if remains is None or not 0 < remains < total:
            raise OrderActionError(f"Enter the remains: a whole number from 1 to {total - 1}.")
        to, refund, left = S.PARTIAL, remains_refund(order, remains), remains
    else:
        raise OrderActionError(f"Unknown outcome {outcome!r}.")
    if not order_finish(
        order=order,
        to=to,
        refund=refund,
        actor=actor,
        reason=f"ended by staff as {outcome}: {reason}",
        changes={"remains": left, "held_since": None},
    ):
        raise OrderActionError(f"Order #{order_id} changed meanwhile; reload and try again.")
    return order


def order_attention_repoll(*, order_id: int, actor: User, reason: str) -> Order:
    """Staff send an order that needs attention back to the poll, its doubt forgotten: if the
    upstream still cannot answer, it comes back after the same bound."""
    order = Order.objects.get(pk=order_id)
    if order.state != S.ATTENTION:
        raise OrderActionError(f"Order #{order_id} does not need attention.")
    reason = reason.strip() or "sent back to polling"
    if not order_transition(
        order=order,
        to=S.PLACED,
        actor=actor,
        reason=f"sent back to polling by staff: {reason}",
        changes={"held_since": None, "attention_reason": ""},
    ):
        raise OrderActionError(f"Order #{order_id} changed meanwhile; reload and try again.")
    return order
