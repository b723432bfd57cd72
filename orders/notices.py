"""E-mails to the customer: an order ended, a refill ended (each if their profile asks)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import models
from django.template.loader import render_to_string
from django.utils import translation

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


def _wants(user_id: int, flag: str) -> bool:
    from billing.models import Profile

    profile = Profile.objects.filter(user_id=user_id).first()
    if profile is None:
        field = Profile._meta.get_field(flag)
        assert isinstance(field, models.Field)  # one of Profile's notify_* booleans
        return bool(field.default)
    return bool(getattr(profile, flag))


def _language(user_id: int) -> str:
    from billing.models import Profile

    return (
        Profile.objects.filter(user_id=user_id).values_list("language", flat=True).first()
        or settings.LANGUAGE_CODE
    )


def order_notify(*, order_id: int) -> bool:
    """E-mail the customer that an order ended, if their profile asks for it. True if sent."""
    order = Order.objects.select_related("user", "service").filter(pk=order_id).first()
    if order is None or order.state not in _NOTICE_FLAGS or not order.user.email:
        return False
    if not _wants(order.user_id, _NOTICE_FLAGS[order.state]):
        return False
    from billing.services import order_refunded_amount

    with translation.override(_language(order.user_id)):
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
    if not user.email or not _wants(user.pk, "notify_refill"):
        return False
    with translation.override(_language(user.pk)):
        context = {"refill": refill, "order": refill.order}
        subject = render_to_string("orders/email/refill_subject.txt", context).strip()
        body = render_to_string("orders/email/refill_body.txt", context)
    EmailMessage(subject, body, None, [user.email]).send()
    return True
