"""E-mails to the customer: an order ended, a refill ended (each if their profile asks)."""

from __future__ import annotations

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from accounts.selectors import customer_language, notice_wanted
from billing.selectors import order_refunded_amount

from .models import Order, OrderState, RefillRequest
from .policy import public_status
from .templatetags.orders_tags import status_label

S = OrderState
R = RefillRequest.State


_NOTICE_FLAGS: dict[str, str] = {
    S.COMPLETED: "notify_completed",
    S.PARTIAL: "notify_partial",
    S.CANCELED: "notify_canceled",
    S.FAILED: "notify_canceled",
}


def order_notify(*, order_id: int) -> bool:
    """E-mail the customer that an order ended, if their profile asks for it. True if sent."""
    order = Order.objects.select_related("user", "service").filter(pk=order_id).first()
    if order is None or order.state not in _NOTICE_FLAGS or not order.user.email:
        return False
    if not notice_wanted(user_id=order.user_id, flag=_NOTICE_FLAGS[order.state]):
        return False

    with translation.override(customer_language(user_id=order.user_id)):
        context = {
            "order": order,
            # The status in the customer's language ("Hoàn thành một phần"), as on the site.
            "status": status_label(public_status(order)),
            "refunded": order_refunded_amount(order_id=order.pk),
        }
        subject = render_to_string("orders/email/order_subject.txt", context).strip()
        body = render_to_string("orders/email/order_body.txt", context)
    EmailMessage(subject, body, None, [order.user.email]).send()
    return True


def refill_notify(*, refill_id: int) -> bool:
    refill = (
        RefillRequest.objects.select_related("order__user", "order__service")
        .filter(pk=refill_id)
        .first()
    )
    if refill is None or refill.state not in (R.COMPLETED, R.REJECTED):
        return False
    user = refill.order.user
    if not user.email or not notice_wanted(user_id=user.pk, flag="notify_refill"):
        return False
    with translation.override(customer_language(user_id=user.pk)):
        context = {"refill": refill, "order": refill.order}
        subject = render_to_string("orders/email/refill_subject.txt", context).strip()
        body = render_to_string("orders/email/refill_body.txt", context)
    EmailMessage(subject, body, None, [user.email]).send()
    return True
