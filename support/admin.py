"""Tickets in the admin: the queue with filters (state, type, assignee), each ticket's thread,
and actions to assign to oneself or close. Replying and the one-click order action live on the
staff page of the ticket (/staff/support/<id>/), linked from here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from panel.http import AuthedRequest

from .models import Ticket, TicketMessage
from .services import SupportError, ticket_assign, ticket_close


class TicketMessageInline(admin.TabularInline):
    model = TicketMessage
    extra = 0
    can_delete = False
    fields = ("created_at", "author", "by_staff", "event", "body")
    readonly_fields = fields
    ordering = ("created_at", "id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "subject",
        "user",
        "order",
        "kind",
        "state",
        "assignee",
        "unread_by_staff",
        "last_message_at",
        "thread_link",
    ]
    list_filter = ["state", "kind", "assignee", "unread_by_staff"]
    list_select_related = ["user", "order", "assignee"]
    search_fields = ["subject", "user__username", "user__email", "=order__id"]
    raw_id_fields = ["user", "order"]
    readonly_fields = [
        "user",
        "order",
        "kind",
        "subject",
        "state",
        "assignee",
        "unread_by_customer",
        "unread_by_staff",
        "created_at",
        "last_message_at",
        "closed_at",
        "thread_link",
    ]
    inlines = [TicketMessageInline]
    actions = ["assign_to_me", "close"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers open tickets; the thread is their history

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("thread"))
    def thread_link(self, ticket: Ticket) -> str:
        url = reverse("support:staff_detail", kwargs={"ticket_id": ticket.pk})
        return format_html('<a href="{}">{}</a>', url, _("Open, reply"))

    @admin.action(description=_("Assign the selected tickets to me"), permissions=["change"])
    def assign_to_me(self, request: AuthedRequest, queryset: QuerySet[Ticket]) -> None:
        for ticket in queryset:
            ticket_assign(ticket_id=ticket.pk, assignee=request.user, actor=request.user)
        count = queryset.count()
        self.message_user(
            request,
            ngettext(
                "%(count)s ticket assigned to you.", "%(count)s tickets assigned to you.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Close the selected tickets"), permissions=["change"])
    def close(self, request: AuthedRequest, queryset: QuerySet[Ticket]) -> None:
        closed = 0
        for ticket in queryset:
            try:
                closed += ticket_close(ticket_id=ticket.pk, actor=request.user, by_staff=True)
            except SupportError as exc:  # pragma: no cover - staff may close any ticket
                self.message_user(request, exc.message, messages.ERROR)
        self.message_user(
            request,
            ngettext("%(count)s ticket closed.", "%(count)s tickets closed.", closed)
            % {"count": closed},
            messages.SUCCESS,
        )
