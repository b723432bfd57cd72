"""A customer's cancel: it wins while the order has provably not reached the upstream, and it
always ends with an outcome the order page can show (issue 11, items 6 and 7).

* An order that is back in the queue (the send was unreachable, staff pressed "send again", the
  upstream was out of funds) has provably not been bought upstream: an open cancel request
  cancels it here, with a full refund, before anything is sent again.
* When an order ends, its open cancel request ends with it: done when the order ended canceled,
  partial or failed (the rest was refunded), rejected ("the order had already finished") when it
  completed. Run inside the transaction that ends the order.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from .errors import REASON_CANCELED_BEFORE_SENDING, REASON_ORDER_FINISHED
from .models import CancelRequest, Order, OrderState

logger = logging.getLogger(__name__)

S = OrderState
C = CancelRequest.State

OPEN_CANCEL_STATES = (C.REQUESTED, C.SENDING, C.SUBMITTED, C.ATTENTION)


def cancel_requests_close(*, order_id: int, to: str) -> None:
    """The order just ended in `to`: its open cancel request gets its real outcome."""
    if to in (S.CANCELED, S.PARTIAL, S.FAILED):
        state, error = C.DONE, ""
    else:
        state, error = C.REJECTED, REASON_ORDER_FINISHED
    CancelRequest.objects.filter(order_id=order_id, state__in=OPEN_CANCEL_STATES).update(
        state=state, error=error, updated_at=timezone.now()
    )


def cancel_if_asked(order: Order) -> bool:
    """If the customer asked to cancel this queued order, cancel it now with a full refund.

    True when it was canceled (here or by someone else a moment before). The claim is the same
    conditional UPDATE a forwarding worker uses, so exactly one of them wins.
    """
    from .services import _finish  # the one place an order ends with its refund

    if order.state != S.QUEUED:
        return False
    asked = (
        CancelRequest.objects.filter(order_id=order.pk, state__in=OPEN_CANCEL_STATES)
        .select_related("order__user")
        .first()
    )
    if asked is None:
        return False
    ended = _finish(
        order=order,
        to=S.CANCELED,
        refund=order.charge,
        actor=asked.order.user,
        reason="canceled by the customer: the order had not reached the upstream",
        changes={"error": REASON_CANCELED_BEFORE_SENDING, "waiting_for_funds": False},
    )
    if ended:
        logger.info("order %s: canceled as asked before it reached the upstream", order.pk)
    return ended


__all__ = ["OPEN_CANCEL_STATES", "cancel_if_asked", "cancel_requests_close"]
