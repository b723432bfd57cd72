"""How an order ends: its state change, refund, open cancel, commission and notice, together.

The bottom of the orders services: it imports none of them, so every stage may call it.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import transaction

from billing.referrals import commission_on_order_end
from billing.services import wallet_refund
from panel.enqueue import enqueue

from .errors import REASON_ORDER_FINISHED
from .models import CancelRequest, Order, OrderState
from .states import OPEN_CANCEL_STATES, order_transition, requests_move

if TYPE_CHECKING:
    from django.contrib.auth.models import User

S = OrderState
C = CancelRequest.State


def order_finish(
    *,
    order: Order,
    to: str,
    refund: Decimal,
    reason: str,
    actor: User | None = None,
    changes: dict[str, Any] | None = None,
) -> bool:
    """End `order` in `to` with `refund` (what `orders.rules` says is due; `wallet_refund`
    refuses more than the charge), the referrer's commission (on what the order finally cost,
    so a refund never needs reversing: see billing.referrals) and the notice, committed
    together. False, changing nothing, when the order moved meanwhile."""
    with transaction.atomic():
        if not order_transition(order=order, to=to, actor=actor, reason=reason, changes=changes):
            return False
        if refund > 0:
            wallet_refund(
                order_id=order.pk, amount=refund, memo=f"Order #{order.pk} {to}", created_by=actor
            )
        cancel_requests_close(order_id=order.pk, to=to)
        commission_on_order_end(order_id=order.pk, customer_id=order.user_id)
        transaction.on_commit(partial(_enqueue_notify, order.pk), robust=True)
    return True


def cancel_requests_close(*, order_id: int, to: str) -> None:
    """The order just ended in `to`: its open cancel request gets its real outcome, done when
    the rest was refunded (canceled, partial, failed), refused when it completed."""
    if to in (S.CANCELED, S.PARTIAL, S.FAILED):
        state, error = C.DONE, ""
    else:
        state, error = C.REJECTED, REASON_ORDER_FINISHED
    requests_move(
        CancelRequest.objects.filter(order_id=order_id),
        from_states=OPEN_CANCEL_STATES,
        to=state,
        error=error,
    )


def _enqueue_notify(order_id: int) -> None:
    enqueue("orders.tasks.order_notify_task", order_id)
