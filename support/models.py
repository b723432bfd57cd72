"""Support tickets: a customer's question (about an order or not) and its thread of messages.

`support` sits above the apps that sell and know: it uses orders, catalog and billing through
their services and selectors; none of them imports it (templates find its URLs only when the
app is installed).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

SUBJECT_MAX = 150
# Long enough for a real complaint with links and counts, short enough that nobody pastes a book.
MESSAGE_MAX = 4000


class TicketKind(models.TextChoices):
    REFILL = "refill", _("Refill")
    CANCEL = "cancel", pgettext_lazy("ticket kind", "Cancel")
    SPEED_UP = "speed_up", _("Speed up")
    OTHER = "other", _("Other")


class TicketState(models.TextChoices):
    OPEN = "open", pgettext_lazy("ticket state", "Open")  # waiting for the shop
    ANSWERED = "answered", _("Answered")  # the shop replied; waiting for the customer
    CLOSED = "closed", pgettext_lazy("ticket state", "Closed")


class Ticket(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("customer"),
    )
    # String reference: orders never imports support.
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("order"),
    )
    kind = models.CharField(_("type"), max_length=10, choices=TicketKind, default=TicketKind.OTHER)
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX)
    state = models.CharField(
        _("state"), max_length=10, choices=TicketState, default=TicketState.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assigned to"),
        limit_choices_to={"is_staff": True},
    )
    # "Something new for you to read", one flag per side: the header's counts are one indexed
    # COUNT each, and opening the ticket clears the reader's flag.
    unread_by_customer = models.BooleanField(_("unread by the customer"), default=False)
    unread_by_staff = models.BooleanField(_("unread by staff"), default=True)
    created_at = models.DateTimeField(_("opened"), auto_now_add=True)
    last_message_at = models.DateTimeField(_("last message"), db_index=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("support ticket")
        verbose_name_plural = _("support tickets")
        ordering = ["-last_message_at", "-id"]
        constraints = [
            # A ticket about a refill, a cancel or a speed-up is about one order.
            models.CheckConstraint(
                condition=Q(kind="other") | Q(order__isnull=False),
                name="ticket_order_kind_has_order",
            ),
            models.CheckConstraint(
                condition=Q(state="closed") | Q(closed_at__isnull=True),
                name="ticket_closed_at_only_if_closed",
            ),
        ]
        indexes = [
            # The customer's list, and their unread count in the header.
            models.Index(fields=["user", "-last_message_at"], name="ticket_user_recent_idx"),
            models.Index(
                fields=["user"],
                condition=Q(unread_by_customer=True),
                name="ticket_customer_unread_idx",
            ),
            # The staff queue, filtered by state; and the staff unread count.
            models.Index(fields=["state", "-last_message_at"], name="ticket_state_recent_idx"),
            models.Index(
                fields=["state"], condition=Q(unread_by_staff=True), name="ticket_staff_unread_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def is_closed(self) -> bool:
        return self.state == TicketState.CLOSED

    @property
    def offers_order_action(self) -> bool:
        """A refill or cancel ticket about an order offers staff that order action."""
        return self.order_id is not None and self.kind in (TicketKind.REFILL, TicketKind.CANCEL)


class MessageEvent(models.TextChoices):
    """What a line of the thread records besides a written message (shown translated)."""

    MESSAGE = "", _("Message")
    REFILL = "refill", _("Refill asked")
    CANCEL = "cancel", _("Cancellation asked")
    ASSIGNED = "assigned", _("Assigned")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")


class TicketMessage(models.Model):
    """One line of a ticket's thread: a message by the customer or staff, or something done
    (a refill asked, the ticket closed). Never edited: the thread is the ticket's history."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    by_staff = models.BooleanField(_("by staff"), default=False)
    # Plain text, escaped when shown (linebreaksbr), never HTML.
    body = models.TextField(_("message"), max_length=MESSAGE_MAX, blank=True)
    event = models.CharField(
        _("event"), max_length=10, choices=MessageEvent, default=MessageEvent.MESSAGE, blank=True
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(event="") | ~Q(body=""), name="ticket_message_has_text"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.event or 'message'}"
