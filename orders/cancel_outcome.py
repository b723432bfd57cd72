"""A customer's cancel wins while the order has provably not reached the upstream.

An order back in the queue (the send was unreachable, staff pressed "send again", the upstream
was out of funds) has not been bought upstream: an open cancel request cancels it here, with a
full refund, before anything is sent again. (When an order ends, its open cancel ends with it:
`orders.lifecycle.cancel_requests_close`.)
"""

from __future__ import annotations

import logging

from .errors import REASON_CANCELED_BEFORE_SENDING
from .lifecycle import order_finish
from .models import CancelRequest, Order, OrderState
from .states import OPEN_CANCEL_STATES

logger = logging.getLogger(__name__)

S = OrderState


def cancel_if_asked(order: Order) -> bool:
    """If the customer asked to cancel this queued order, cancel it now with a full refund.

    True when this call canceled it. The claim is the same conditional UPDATE a forwarding
    worker uses, so exactly one of them wins.
    """
    if order.state != S.QUEUED:
        return False
    asked = (
        CancelRequest.objects.filter(order_id=order.pk, state__in=OPEN_CANCEL_STATES)
        .select_related("order__user")
        .first()
    )
    if asked is None:
        return False
    ended = order_finish(
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
