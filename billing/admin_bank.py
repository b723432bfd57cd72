"""Staff views of bank-transfer notifications (issue 14): the inbox of every notification with
its raw body and outcome, and the transfers, where staff assign an unmatched one to a customer.

Money moves only through billing.transfers (which calls billing.services); each assignment is
recorded on the transfer (who, why) and in the admin's history.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from panel.admin_mixins import NoDeleteMixin
from panel.http import AuthedRequest
from panel.money import format_vnd

from .admin_base import confirm_page
from .forms import TransferAssignForm
from .models import BankNotification, BankProvider, BankTransfer
from .services import BillingError
from .transfers import bank_transfer_assign, bank_transfer_receive
from .webhooks import parse_casso, parse_sepay


@admin.register(BankTransfer)
class BankTransferAdmin(NoDeleteMixin, admin.ModelAdmin[BankTransfer]):
    list_display = [
        "id",
        "created_at",
        "provider",
        "reference",
        "amount_vnd",
        "state",
        "user",
        "matched_code",
        "short_content",
    ]
    list_filter = ["state", "provider", "created_at"]
    search_fields = ["reference", "provider_id", "content", "matched_code", "user__username"]
    list_select_related = ["user"]
    show_full_result_count = False
    fields = readonly_fields = (
        "provider",
        "provider_id",
        "reference",
        "amount_vnd",
        "content",
        "account_number",
        "transaction_time",
        "state",
        "matched_code",
        "user",
        "topup",
        "entry",
        "bonus_entry",
        "note",
        "assigned_by",
        "created_at",
        "credited_at",
        "assign_link",
    )

    @admin.display(description=_("amount"), ordering="amount")
    def amount_vnd(self, transfer: BankTransfer) -> str:
        return format_vnd(transfer.amount)

    @admin.display(description=_("transfer content"))
    def short_content(self, transfer: BankTransfer) -> str:
        return transfer.content[:80]

    @admin.display(description=_("assign"))
    def assign_link(self, transfer: BankTransfer) -> str:
        if transfer.state != BankTransfer.State.UNMATCHED or transfer.amount <= 0:
            return "–"
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:billing_banktransfer_assign", args=[transfer.pk]),
            gettext("Assign to a customer…"),
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:transfer_id>/assign/",
                self.admin_site.admin_view(self.assign_view),
                name="billing_banktransfer_assign",
            ),
            *super().get_urls(),
        ]

    def assign_view(self, request: AuthedRequest, transfer_id: int) -> HttpResponse:
        # Assigning credits money: the same power as crediting a wallet by hand.
        if not request.user.has_perm("billing.adjust_wallet"):
            raise PermissionDenied
        transfer = get_object_or_404(BankTransfer, pk=transfer_id)
        change_url = reverse("admin:billing_banktransfer_change", args=[transfer.pk])
        form = TransferAssignForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            customer = form.cleaned_data["username"]
            reason = form.cleaned_data["reason"]
            try:
                entry = bank_transfer_assign(
                    transfer_id=transfer.pk,
                    user=customer,
                    reason=reason,
                    assigned_by=request.user,
                )
            except BillingError as exc:
                form.add_error(None, str(exc))
            else:
                self.log_change(
                    request,
                    transfer,
                    f"Assigned to {customer}: {reason} (ledger entry {entry.pk})",
                )
                self.message_user(
                    request,
                    gettext("%(amount)s credited to %(user)s.")
                    % {"amount": format_vnd(entry.amount), "user": customer},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
        return confirm_page(
            self,
            request,
            "billing/admin/transfer_assign.html",
            title=gettext("Assign bank transfer #%(id)s") % {"id": transfer.pk},
            original=transfer,
            transfer=transfer,
            form=form,
        )


@admin.register(BankNotification)
class BankNotificationAdmin(NoDeleteMixin, admin.ModelAdmin[BankNotification]):
    """The inbox: every notification received, verbatim, with what became of it."""

    list_display = ["id", "created_at", "provider", "outcome", "transfer", "detail", "remote_addr"]
    list_filter = ["outcome", "provider", "created_at"]
    search_fields = ["raw_body", "detail", "=transfer__id"]
    list_select_related = ["transfer"]
    show_full_result_count = False
    fields = readonly_fields = (
        "provider",
        "outcome",
        "detail",
        "transfer",
        "remote_addr",
        "created_at",
        "raw_body_shown",
    )
    actions = ["replay"]

    @admin.display(description=_("raw body"))
    def raw_body_shown(self, notification: BankNotification) -> str:
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", notification.raw_body)

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.adjust_wallet")

    @admin.action(
        description=_("Process again (credits only what was never credited)"),
        permissions=["replay"],
    )
    def replay(self, request: AuthedRequest, queryset: QuerySet[BankNotification]) -> None:
        """Run stored notifications through the receiver's logic again: a repeat is recorded as
        a duplicate and credits nothing. Refused ones are skipped: they never proved who sent
        them, and replaying them would credit a forgery."""
        done = 0
        for notification in queryset.exclude(outcome=BankNotification.Outcome.REFUSED):
            parse = parse_sepay if notification.provider == BankProvider.SEPAY else parse_casso
            try:
                incoming = parse(json.loads(notification.raw_body))
            except ValueError:
                continue
            result = bank_transfer_receive(
                incoming=incoming, raw_body=notification.raw_body, remote_addr="staff replay"
            )
            self.log_change(request, notification, f"Replayed: {result.outcome}")
            done += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d notification processed again.",
                "%(count)d notifications processed again.",
                done,
            )
            % {"count": done},
            messages.SUCCESS,
        )
