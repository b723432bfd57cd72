"""Template helpers of the order pages: the upstream's words for people, reasons in plain words."""

from __future__ import annotations

from typing import Final

from django import template
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from orders import rules
from orders.errors import plain_reason as _plain_reason
from orders.models import CancelRequest, RefillRequest
from orders.selectors import public_refill_status

register = template.Library()

STATUS_LABELS: Final[dict[str, Promise]] = {
    rules.PENDING: _("Pending"),
    rules.IN_PROGRESS: _("In progress"),
    rules.PROCESSING: _("Processing"),
    rules.COMPLETED: _("Completed"),
    rules.PARTIAL: _("Partial"),
    rules.CANCELED: _("Canceled"),
    rules.REFILL_REJECTED: _("Rejected"),
}
_STATUS_CLASSES: Final = {
    rules.COMPLETED: "ok",
    rules.PARTIAL: "warn",
    rules.CANCELED: "bad",
    rules.REFILL_REJECTED: "bad",
}


@register.filter
def status_label(word: str) -> str:
    """A public status word ("In progress") in the active language."""
    return str(STATUS_LABELS.get(word, word))


@register.filter
def status_class(word: str) -> str:
    """The badge colour of a public status word."""
    return _STATUS_CLASSES.get(word, "")


@register.filter
def plain_reason(reason: str) -> str:
    """An upstream refusal or a panel reason, in plain words for the customer."""
    return _plain_reason(reason)


_EVENT_LABELS: Final[dict[str, Promise]] = {
    # What each internal state means to a customer; the internal reasons (upstream ids, error
    # details) stay in the admin.
    "queued": _("Paid and waiting to be sent"),
    "sending": _("Being sent to the provider"),
    "review": _("Being checked by our staff"),
    "placed": _("Accepted by the provider"),
    "attention": _("Being checked by our staff"),
    "completed": _("Completed"),
    "partial": _("Partially completed"),
    "canceled": _("Canceled"),
    "failed": _("Not accepted; refunded"),
}


@register.filter
def event_label(state: str) -> str:
    """An order's state change, as its customer reads it in the history."""
    return str(_EVENT_LABELS.get(state, state))


@register.filter
def refill_label(refill: RefillRequest) -> str:
    """A refill's state in the upstream's words (Pending, In progress, Completed, Rejected)."""
    return status_label(public_refill_status(refill))


_CANCEL_LABELS: Final[dict[str, Promise]] = {
    "requested": _("Asked"),
    "sending": _("Asked"),
    "submitted": _("Sent to the provider"),
    "done": _("Done"),
    "rejected": _("Refused"),
    "attention": _("Being checked by our staff"),
}


@register.filter
def cancel_label(request: CancelRequest) -> str:
    return str(_CANCEL_LABELS.get(request.state, request.state))
