"""Every write of support tickets: open, reply, assign, close, an order action from a ticket,
marking read, and the e-mail notice of a reply.

A ticket's row is locked (`select_for_update`) for each change of its state, so a customer's
reply and a staff member's close arriving together end in one consistent state. Nothing here
calls the network inside a transaction: the e-mail notice is enqueued after commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.customer_requests import cancel_request, refill_request
from orders.errors import OrderRejected
from orders.selectors import order_for_user
from orders.states import order_note
from panel import ratelimit
from panel.enqueue import enqueue

from .models import (
    MESSAGE_MAX,
    SUBJECT_MAX,
    MessageEvent,
    Ticket,
    TicketKind,
    TicketMessage,
    TicketState,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


class SupportError(Exception):
    """Bad input or a refused action: the message is for the person who asked, translated."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class TooManyTickets(SupportError):
    """The customer opens tickets faster than the limits allow."""


def _clean_text(text: str, *, limit: int, field: str) -> str:
    # Plain text: kept as typed (escaped when shown), but without NUL or other control
    # characters that some mail clients and databases choke on; newlines and tabs stay.
    cleaned = "".join(ch for ch in str(text) if ch in "\n\t" or ch.isprintable()).strip()
    if not cleaned:
        raise SupportError(_("Write a message."), field=field)
    if len(cleaned) > limit:
        raise SupportError(
            _("At most %(limit)s characters (you wrote %(count)s).")
            % {"limit": limit, "count": len(cleaned)},
            field=field,
        )
    return cleaned


def _locked(ticket_id: int) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket_id)


# ============================================================================ the customer's side


def ticket_open(
    *,
    user: User,
    subject: str,
    body: str,
    kind: str = TicketKind.OTHER,
    order_id: int | None = None,
) -> Ticket:
    """Open a ticket with its first message. A refill, cancel or speed-up ticket names one of
    the customer's own orders; another customer's order is refused as if it did not exist.

    Limits: SUPPORT_TICKET_RATE_LIMIT_PER_MINUTE new tickets a minute (in the shared cache) and
    SUPPORT_MAX_OPEN_TICKETS not closed at once (counted in the database under a lock of the
    customer's user row, so two tabs opening at once cannot both slip under the limit).
    """
    if kind not in TicketKind.values:
        raise SupportError(_("Choose a type."), field="kind")
    subject = _clean_text(subject, limit=SUBJECT_MAX, field="subject").replace("\n", " ")
    body = _clean_text(body, limit=MESSAGE_MAX, field="body")
    order = None
    if order_id is not None:
        order = order_for_user(user=user, order_id=order_id)
        if order is None:
            raise SupportError(_("You have no order with this ID."), field="order")
    elif kind != TicketKind.OTHER:
        raise SupportError(_("Choose the order this is about."), field="order")
    if ratelimit.exceeded(
        f"ticket-open:{user.pk}", limit=settings.SUPPORT_TICKET_RATE_LIMIT_PER_MINUTE
    ):
        raise TooManyTickets(_("Too many new tickets. Try again in a minute."))
    open_limit = settings.SUPPORT_MAX_OPEN_TICKETS
    now = timezone.now()
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if open_limit and (
            Ticket.objects.filter(user=user).exclude(state=TicketState.CLOSED).count() >= open_limit
        ):
            raise TooManyTickets(
                _(
                    "You already have %(count)s open tickets. Please wait for our answers, or "
                    "close the ones that are settled."
                )
                % {"count": open_limit}
            )
        ticket = Ticket.objects.create(
            user=user,
            order=order,
            kind=kind,
            subject=subject,
            last_message_at=now,
            unread_by_staff=True,
        )
        TicketMessage.objects.create(ticket=ticket, author=user, body=body)
    # Counted only when a ticket was really opened: a refused attempt (bad input, too many open)
    # does not use up the customer's minute.
    ratelimit.hit(f"ticket-open:{user.pk}", limit=settings.SUPPORT_TICKET_RATE_LIMIT_PER_MINUTE)
    return ticket


def ticket_reply(*, ticket_id: int, author: User, body: str, by_staff: bool) -> TicketMessage:
    """Add a message to a ticket's thread.

    The caller has checked who may write (the ticket's customer, or staff). A customer's message
    opens the ticket again if it was closed or answered; a staff member's marks it answered,
    and the customer is e-mailed (after commit, if their profile asks for it).
    """
    body = _clean_text(body, limit=MESSAGE_MAX, field="body")
    if not by_staff and not ratelimit.hit(
        f"ticket-reply:{author.pk}", limit=settings.SUPPORT_MESSAGE_RATE_LIMIT_PER_MINUTE
    ):
        raise TooManyTickets(_("Too many messages. Try again in a minute."))
    now = timezone.now()
    with transaction.atomic():
        ticket = _locked(ticket_id)
        if not by_staff and ticket.user_id != author.pk:
            raise SupportError(_("This ticket is not yours."))
        if not by_staff and ticket.is_closed:
            TicketMessage.objects.create(ticket=ticket, author=author, event=MessageEvent.REOPENED)
        message = TicketMessage.objects.create(
            ticket=ticket, author=author, body=body, by_staff=by_staff
        )
        ticket.last_message_at = now
        ticket.closed_at = None
        if by_staff:
            ticket.state = TicketState.ANSWERED
            ticket.unread_by_customer = True
            ticket.unread_by_staff = False
            if ticket.assignee_id is None:  # whoever answers first takes it
                ticket.assignee = author
        else:
            ticket.state = TicketState.OPEN
            ticket.unread_by_staff = True
        ticket.save()
        if by_staff:
            transaction.on_commit(partial(_enqueue_notice, message.pk), robust=True)
    return message


def ticket_close(*, ticket_id: int, actor: User, by_staff: bool) -> bool:
    """Close a ticket (its customer or staff). False if it was closed already."""
    with transaction.atomic():
        ticket = _locked(ticket_id)
        if not by_staff and ticket.user_id != actor.pk:
            raise SupportError(_("This ticket is not yours."))
        if ticket.is_closed:
            return False
        now = timezone.now()
        TicketMessage.objects.create(
            ticket=ticket, author=actor, by_staff=by_staff, event=MessageEvent.CLOSED
        )
        ticket.state = TicketState.CLOSED
        ticket.closed_at = now
        # Closed by the other side is news for this side (nothing to read for the closer).
        if by_staff:
            ticket.unread_by_customer = True
        ticket.unread_by_staff = False
        ticket.save()
    return True


def ticket_mark_read(*, ticket: Ticket, by_staff: bool) -> None:
    """The reader opened the ticket: nothing is unread for their side any more."""
    field = "unread_by_staff" if by_staff else "unread_by_customer"
    if getattr(ticket, field):
        Ticket.objects.filter(pk=ticket.pk).update(**{field: False})
        setattr(ticket, field, False)


# ============================================================================ staff decisions


def ticket_assign(*, ticket_id: int, assignee: User | None, actor: User) -> Ticket:
    """Give a ticket to a staff member (or to nobody), recorded in the thread."""
    if assignee is not None and not (assignee.is_staff and assignee.is_active):
        raise SupportError(_("Tickets can be assigned to active staff only."), field="assignee")
    with transaction.atomic():
        ticket = _locked(ticket_id)
        if ticket.assignee_id == (assignee.pk if assignee else None):
            return ticket
        ticket.assignee = assignee
        ticket.save(update_fields=["assignee"])
        TicketMessage.objects.create(
            ticket=ticket,
            author=actor,
            by_staff=True,
            event=MessageEvent.ASSIGNED,
            body=assignee.get_username() if assignee else "",
        )
    return ticket


@dataclass(frozen=True)
class OrderActionResult:
    ticket: Ticket
    message: TicketMessage
    done: str  # what happened, for staff, translated


def ticket_order_action(*, ticket_id: int, actor: User) -> OrderActionResult:
    """Do what a refill or cancel ticket asks: the orders service asks the upstream for a refill
    (or a cancel) of the ticket's order exactly as if its customer had pressed the button, and
    the act is recorded in both histories: the ticket's thread (the customer sees it) and the
    order's events (who, and from which ticket).

    The orders services refuse what the customer could not ask either (an order not refillable
    yet, a refill already open, a second cancel): those raise SupportError and record nothing.
    No network call: the request is forwarded by the next requests cycle, like any other.
    """
    with transaction.atomic():
        ticket = _locked(ticket_id)
        if not ticket.offers_order_action or ticket.order_id is None:
            raise SupportError(_("This ticket asks for no refill or cancel."))
        order_id = ticket.order_id
        customer = ticket.user
        try:
            with transaction.atomic():
                if ticket.kind == TicketKind.REFILL:
                    refill_request(user=customer, order_id=order_id)
                    event, done = MessageEvent.REFILL, _("Refill asked for order #%(id)s.")
                else:
                    request = cancel_request(user=customer, order_id=order_id)
                    event, done = MessageEvent.CANCEL, _("Cancellation of order #%(id)s asked.")
                    if request.state == request.State.SUBMITTED:
                        done = _("Order #%(id)s was canceled and refunded.")
        except OrderRejected as exc:
            raise SupportError(exc.display) from exc
        message = TicketMessage.objects.create(
            ticket=ticket, author=actor, by_staff=True, event=event
        )
        order_note(
            order_id=order_id,
            actor=actor,
            reason=f"{event} asked by staff ({actor.get_username()}) from support ticket "
            f"#{ticket.pk}",
        )
        ticket.last_message_at = message.created_at
        ticket.unread_by_customer = True
        if ticket.assignee_id is None:
            ticket.assignee = actor
        ticket.save(update_fields=["last_message_at", "unread_by_customer", "assignee"])
    return OrderActionResult(ticket=ticket, message=message, done=done % {"id": order_id})


# ============================================================================ notices


def _enqueue_notice(message_id: int) -> None:
    enqueue("support.tasks.ticket_reply_notify_task", message_id)


def ticket_reply_notify(*, message_id: int) -> bool:
    """E-mail the customer that staff replied, if their profile asks for it (the notice flags
    live in the customer's profile (accounts), as the order notices' do). True if sent."""
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string
    from django.utils import translation

    from accounts.services import profile_for_user

    message = (
        TicketMessage.objects.select_related("ticket__user")
        .filter(pk=message_id, by_staff=True, event=MessageEvent.MESSAGE)
        .first()
    )
    if message is None:
        return False
    customer = message.ticket.user
    if not customer.email:
        return False
    profile = profile_for_user(user=customer)
    if not profile.notify_ticket_reply:
        return False
    with translation.override(profile.language or settings.LANGUAGE_CODE):
        context = {"ticket": message.ticket, "message": message}
        subject = render_to_string("support/email/reply_subject.txt", context).strip()
        body = render_to_string("support/email/reply_body.txt", context)
    EmailMessage(subject, body, None, [customer.email]).send()
    return True
