"""Staff views of the money: wallets (read-only, credited or debited only through the ledger),
the ledger itself (read-only), top-up requests (approve / reject) and referrals (read-only).

Every change of money here calls billing.services and is audited twice: the ledger entry carries
who (`created_by`) and why (`memo`), and the admin's LogEntry history records the action.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from panel.admin_mixins import NoDeleteMixin
from panel.http import AuthedRequest
from panel.money import format_vnd

from .admin_base import confirm_page
from .forms import TopUpApproveForm, WalletAdjustForm
from .models import (
    Commission,
    CommissionTransfer,
    LedgerEntry,
    Referral,
    ReferralLink,
    TopUpRequest,
    Wallet,
)
from .selectors import wallets_with_entry_sums
from .services import (
    TOPUP_CREDITABLE,
    BillingError,
    TopUpNotPending,
    topup_confirm,
    topup_reject,
    wallet_adjust,
)

if TYPE_CHECKING:
    from .selectors import WalletWithSums


@admin.register(Wallet)
class WalletAdmin(NoDeleteMixin, admin.ModelAdmin[Wallet]):
    """The customers' view: balance and the sum of the ledger side by side."""

    list_display = [
        "user",
        "kind",
        "email",
        "balance_vnd",
        "entries_sum_vnd",
        "consistent",
        "updated_at",
        "links",
    ]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    ordering = ["-updated_at"]
    list_filter = ["kind"]
    fields = readonly_fields = (
        "user",
        "kind",
        "balance_vnd",
        "entries_sum_vnd",
        "consistent",
        "created_at",
        "updated_at",
        "links",
    )
    actions = ["adjust_action"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Wallet]:
        return wallets_with_entry_sums().select_related("user")

    @admin.display(description=_("e-mail"), ordering="user__email")
    def email(self, wallet: Wallet) -> str:
        return wallet.user.email

    @admin.display(description=_("balance"), ordering="balance")
    def balance_vnd(self, wallet: Wallet) -> str:
        return format_vnd(wallet.balance)

    @admin.display(description=_("sum of entries"), ordering="entries_sum")
    def entries_sum_vnd(self, wallet: WalletWithSums) -> str:
        return format_vnd(wallet.entries_sum)

    @admin.display(description=_("consistent"), boolean=True)
    def consistent(self, wallet: WalletWithSums) -> bool:
        return wallet.balance == wallet.entries_sum

    @admin.display(description=_("links"))
    def links(self, wallet: Wallet) -> str:
        ledger = reverse("admin:billing_ledgerentry_changelist") + f"?wallet__id__exact={wallet.pk}"
        adjust = reverse("admin:billing_wallet_adjust", args=[wallet.pk])
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            ledger,
            gettext("Ledger"),
            adjust,
            gettext("Credit or debit"),
        )

    @admin.action(description=_("Credit or debit the selected wallet…"), permissions=["adjust"])
    def adjust_action(
        self, request: HttpRequest, queryset: QuerySet[Wallet]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(
                request, gettext("Select exactly one wallet to credit or debit."), messages.WARNING
            )
            return None
        return redirect("admin:billing_wallet_adjust", queryset.get().pk)

    def has_adjust_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.adjust_wallet")

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:wallet_id>/adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="billing_wallet_adjust",
            ),
            *super().get_urls(),
        ]

    def adjust_view(self, request: AuthedRequest, wallet_id: int) -> HttpResponse:
        """An intermediate page: the amount (signed) and a required reason, then wallet_adjust."""
        if not self.has_adjust_permission(request):
            raise PermissionDenied
        wallet = get_object_or_404(Wallet.objects.select_related("user"), pk=wallet_id)
        form = WalletAdjustForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            amount: Decimal = form.cleaned_data["amount"]
            reason: str = form.cleaned_data["reason"]
            try:
                entry = wallet_adjust(
                    user=wallet.user,
                    amount=amount,
                    memo=reason,
                    created_by=request.user,
                    kind=wallet.kind,
                )
            except BillingError as exc:
                form.add_error("amount", str(exc))
            else:
                self.log_change(
                    request,
                    wallet,
                    f"{'Credited' if amount > 0 else 'Debited'} {format_vnd(abs(amount))}: "
                    f"{reason} "
                    f"(ledger entry {entry.pk}, balance {format_vnd(entry.balance_after)})",
                )
                self.message_user(
                    request,
                    gettext("%(user)s: %(amount)s recorded; the balance is now %(balance)s.")
                    % {
                        "user": wallet.user,
                        "amount": format_vnd(amount),
                        "balance": format_vnd(entry.balance_after),
                    },
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:billing_wallet_change", args=[wallet.pk])
                )
        return confirm_page(
            self,
            request,
            "billing/admin/wallet_adjust.html",
            title=gettext("Credit or debit %(user)s") % {"user": wallet.user},
            original=wallet,
            wallet=wallet,
            form=form,
            balance=format_vnd(wallet.balance),
        )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(NoDeleteMixin, admin.ModelAdmin[LedgerEntry]):
    list_display = [
        "id",
        "created_at",
        "customer",
        "kind",
        "amount_vnd",
        "balance_after_vnd",
        "order",
        "created_by",
        "memo",
    ]
    list_display_links = ["id"]
    list_filter = ["kind", "created_at"]
    date_hierarchy = "created_at"
    # "=order__id": an order id is matched exactly (and skipped for a search that is not a number).
    search_fields = ["wallet__user__username", "memo", "=order__id"]
    list_select_related = ["wallet__user", "created_by"]
    list_per_page = 100
    # Counting a large ledger on every page view is the slow part; "Show all" counts on demand.
    show_full_result_count = False
    fields = readonly_fields = (
        "id",
        "wallet",
        "kind",
        "amount_vnd",
        "balance_after_vnd",
        "order",
        "created_by",
        "memo",
        "created_at",
    )

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # The wallet list links here filtered to one wallet.
        return lookup in {"wallet__id__exact", "order__id__exact"} or super().lookup_allowed(
            lookup, value, request
        )

    @admin.display(description=_("customer"), ordering="wallet__user__username")
    def customer(self, entry: LedgerEntry) -> str:
        return str(entry.wallet.user)

    @admin.display(description=_("amount"), ordering="amount")
    def amount_vnd(self, entry: LedgerEntry) -> str:
        return format_vnd(entry.amount)

    @admin.display(description=_("balance after"), ordering="balance_after")
    def balance_after_vnd(self, entry: LedgerEntry) -> str:
        return format_vnd(entry.balance_after)


@admin.register(TopUpRequest)
class TopUpRequestAdmin(NoDeleteMixin, admin.ModelAdmin[TopUpRequest]):
    list_display = [
        "reference",
        "user",
        "amount_vnd",
        "received_vnd",
        "state",
        "created_at",
        "decided_by",
        "decided_at",
        "entry",
    ]
    list_filter = ["state", "created_at"]
    search_fields = ["reference", "user__username", "user__email"]
    list_select_related = ["user", "decided_by", "entry"]
    fields = readonly_fields = (
        "reference",
        "user",
        "amount_vnd",
        "received_vnd",
        "state",
        "entry",
        "decided_by",
        "decided_at",
        "note",
        "created_at",
        "approve_link",
    )
    # Approving is not a bulk action any more: it credits money, so it happens on the
    # request's own page, with the amount the bank statement shows and a confirmation.
    actions = ["reject"]
    ordering = ["-created_at"]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        # Approving credits money: the same power as crediting a wallet by hand.
        return request.user.has_perm("billing.adjust_wallet")

    @admin.display(description=_("amount"), ordering="amount")
    def amount_vnd(self, topup: TopUpRequest) -> str:
        return format_vnd(topup.amount)

    @admin.display(description=_("received"), ordering="received")
    def received_vnd(self, topup: TopUpRequest) -> str:
        return format_vnd(topup.received) if topup.received is not None else "–"

    @admin.display(description=_("approve"))
    def approve_link(self, topup: TopUpRequest) -> str:
        if topup.state not in TOPUP_CREDITABLE:
            return "–"
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:billing_topuprequest_approve", args=[topup.pk]),
            gettext("Approve: the money arrived…"),
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:topup_id>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="billing_topuprequest_approve",
            ),
            *super().get_urls(),
        ]

    def approve_view(self, request: AuthedRequest, topup_id: int) -> HttpResponse:
        """The amount received (editable: banks deliver what the customer sent, not what was
        asked) and a confirmation box, then topup_confirm, recording who approved."""
        if not self.has_decide_permission(request):
            raise PermissionDenied
        topup = get_object_or_404(TopUpRequest.objects.select_related("user"), pk=topup_id)
        change_url = reverse("admin:billing_topuprequest_change", args=[topup.pk])
        if topup.state not in TOPUP_CREDITABLE:
            self.message_user(
                request, gettext("This request can no longer be approved."), messages.WARNING
            )
            return HttpResponseRedirect(change_url)
        form = TopUpApproveForm(request.POST or None, initial={"received": int(topup.amount)})
        if request.method == "POST" and form.is_valid():
            received: Decimal = form.cleaned_data["received"]
            try:
                entry = topup_confirm(
                    topup_id=topup.pk, confirmed_by=request.user, received=received
                )
            except BillingError as exc:
                form.add_error(None, str(exc))
            else:
                self.log_change(
                    request,
                    topup,
                    f"Approved: credited {format_vnd(entry.amount)} (ledger entry {entry.pk})",
                )
                self.message_user(
                    request,
                    gettext("%(reference)s: %(amount)s credited to %(user)s.")
                    % {
                        "reference": topup.reference,
                        "amount": format_vnd(entry.amount),
                        "user": topup.user,
                    },
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
        return confirm_page(
            self,
            request,
            "billing/admin/topup_approve.html",
            title=gettext("Approve top-up %(reference)s") % {"reference": topup.reference},
            original=topup,
            topup=topup,
            form=form,
        )

    @admin.action(description=_("Reject: the money never arrived"), permissions=["decide"])
    def reject(self, request: AuthedRequest, queryset: QuerySet[TopUpRequest]) -> None:
        rejected = 0
        for topup in queryset.order_by("pk"):
            try:
                topup_reject(topup_id=topup.pk, rejected_by=request.user)
            except TopUpNotPending as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            if topup.state in TOPUP_CREDITABLE:
                rejected += 1
                self.log_change(request, topup, "Rejected")
        self.message_user(
            request,
            ngettext("%(count)d top-up rejected.", "%(count)d top-ups rejected.", rejected)
            % {"count": rejected},
            messages.SUCCESS,
        )


# --- referrals (read-only: commission is written when an order ends, moves by the customer) -------


@admin.register(ReferralLink)
class ReferralLinkAdmin(NoDeleteMixin, admin.ModelAdmin[ReferralLink]):
    list_display = ["user", "code", "visits", "created_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "=code"]
    fields = readonly_fields = ("user", "code", "visits", "created_at")


@admin.register(Referral)
class ReferralAdmin(NoDeleteMixin, admin.ModelAdmin[Referral]):
    list_display = ["referred", "referrer", "created_at"]
    list_select_related = ["referred", "referrer"]
    search_fields = ["referred__username", "referrer__username"]
    fields = readonly_fields = ("referred", "referrer", "created_at")


@admin.register(Commission)
class CommissionAdmin(NoDeleteMixin, admin.ModelAdmin[Commission]):
    list_display = ["order", "referrer", "percent", "base_vnd", "amount_vnd", "created_at"]
    list_select_related = ["referral__referrer"]
    search_fields = ["referral__referrer__username", "=order__id"]
    list_filter = ["created_at"]
    fields = readonly_fields = (
        "order",
        "referral",
        "percent",
        "base_vnd",
        "amount_vnd",
        "entry",
        "created_at",
    )

    @admin.display(description=_("referrer"), ordering="referral__referrer__username")
    def referrer(self, commission: Commission) -> str:
        return str(commission.referral.referrer)

    @admin.display(description=_("order value after refunds"), ordering="base")
    def base_vnd(self, commission: Commission) -> str:
        return format_vnd(commission.base)

    @admin.display(description=_("amount"), ordering="amount")
    def amount_vnd(self, commission: Commission) -> str:
        return format_vnd(commission.amount)


@admin.register(CommissionTransfer)
class CommissionTransferAdmin(NoDeleteMixin, admin.ModelAdmin[CommissionTransfer]):
    list_display = ["user", "amount_vnd", "created_at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = readonly_fields = ("user", "amount_vnd", "out_entry", "in_entry", "created_at")

    @admin.display(description=_("amount"), ordering="amount")
    def amount_vnd(self, transfer: CommissionTransfer) -> str:
        return format_vnd(transfer.amount)


# The inbox of bank notifications and the transfers they reported (issue 14).
from . import admin_bank  # noqa: E402, F401
