"""Template helpers of the support pages."""

from __future__ import annotations

from typing import Final

from django import template
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ..models import TicketState

register = template.Library()

_STATE_CLASS: Final[dict[str, str]] = {
    TicketState.OPEN: "warn",
    TicketState.ANSWERED: "info",
    TicketState.CLOSED: "",
}

_EVENT_TEXT: Final[dict[str, Promise]] = {
    "refill": _("A refill of the order was asked."),
    "cancel": _("A cancellation of the order was asked."),
    "assigned": _("The ticket was assigned."),
    "closed": _("The ticket was closed."),
    "reopened": _("The ticket was opened again."),
}


@register.filter
def ticket_state_class(state: str) -> str:
    return _STATE_CLASS.get(state, "")


@register.filter
def ticket_event_text(event: str) -> str:
    """A line of the thread that records an act, in the reader's language."""
    return str(_EVENT_TEXT.get(event, event))
