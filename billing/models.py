"""Wallets, the append-only ledger, top-up requests, bank transfers and referrals."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from panel.db import Digits
from panel.money import format_vnd

MONEY: Digits = {"max_digits": 16, "decimal_places": 2}


class WalletKind(models.TextChoices):
    # The customer's prepaid balance: what orders are paid from.
    MAIN = "main", _("Balance")
    # Referral commission earned, not yet moved to the balance (see billing.referrals).
    COMMISSION = "commission", _("Referral commission")


class Wallet(models.Model):
    """A customer's money in VND: the prepaid balance (`main`) and, for a referrer, a second
    wallet of kind `commission`. At most one of each kind per customer.

    `balance` is a cache of the sum of the wallet's ledger entries, kept in step by
    `billing.services` (the only writer) and verified by `manage.py check_ledger`.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallets"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=WalletKind, default=WalletKind.MAIN)
    balance = models.DecimalField(_("balance"), default=0, **MONEY)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="wallet_balance_gte_0"),
            models.UniqueConstraint(fields=["user", "kind"], name="wallet_one_per_user_and_kind"),
        ]
        # Crediting or debiting by hand is a power of its own, granted apart from viewing wallets.
        permissions = [("adjust_wallet", _("Can credit or debit a wallet"))]

    def __str__(self) -> str:
        if self.kind != WalletKind.MAIN:
            return f"{self.user} {self.kind} ({format_vnd(self.balance)})"
        return f"{self.user} ({format_vnd(self.balance)})"


class EntryKind(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit")
    CHARGE = "charge", pgettext_lazy("ledger entry kind", "Charge")
    REFUND = "refund", _("Refund")
    ADJUSTMENT = "adjustment", _("Adjustment")
    # issue 14: the shop's gift on a bank-transfer deposit (DEPOSIT_BONUS_TIERS), its own kind so
    # that reports and check_ledger tell money the shop received from money it gave.
    DEPOSIT_BONUS = "deposit_bonus", _("Deposit bonus")
    # Referrals (billing.referrals): a referrer's commission on one order of a customer they
    # referred, in their commission wallet; and a move of commission to their balance, as a
    # pair: out of the commission wallet, into the main one.
    COMMISSION = "commission", _("Referral commission")
    COMMISSION_OUT = "commission_out", _("Commission moved to the balance")
    COMMISSION_IN = "commission_in", _("Commission received")


class LedgerEntry(models.Model):
    """One change of one wallet's balance. Never updated, never deleted: a correction is a new one.

    `amount` is signed (deposits and refunds positive, charges negative, adjustments either).
    The database refuses UPDATE (and on PostgreSQL DELETE) of a row: see migration 0003.
    """

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind)
    amount = models.DecimalField(_("amount"), **MONEY)
    balance_after = models.DecimalField(_("balance after"), **MONEY)
    # A string reference, not an import: billing never imports orders (see DESIGN.md).
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    memo = models.CharField(_("memo"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="entry_balance_after_gte_0"
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero"),
            models.CheckConstraint(
                condition=(
                    Q(
                        kind__in=[
                            "deposit",
                            "refund",
                            "deposit_bonus",
                            "commission",
                            "commission_in",
                        ],
                        amount__gt=0,
                    )
                    | Q(kind__in=["charge", "commission_out"], amount__lt=0)
                    | Q(kind="adjustment")
                ),
                name="entry_amount_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        kind__in=[
                            "deposit",
                            "adjustment",
                            "deposit_bonus",
                            "commission_out",
                            "commission_in",
                        ]
                    )
                    | Q(order__isnull=False)
                ),
                name="entry_charge_refund_need_order",
            ),
            # An order is charged once and refunded at most once: its one refund covers
            # whatever was not delivered, whichever way the order ended.
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=Q(kind__in=["charge", "refund"]),
                name="entry_one_charge_one_refund_per_order",
            ),
            # ... and earns its customer's referrer a commission at most once (when it ends).
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(kind="commission"),
                name="entry_one_commission_per_order",
            ),
        ]
        indexes = [
            # The customer's transactions page filtered by kind, newest first.
            models.Index(fields=["wallet", "kind", "-created_at"], name="entry_wallet_kind_idx"),
            # The same page unfiltered: one wallet's entries in the model's ordering.
            models.Index(fields=["wallet", "-created_at", "-id"], name="entry_wallet_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {format_vnd(self.amount)}"

    @property
    def description(self) -> str:
        """What the customer reads for this entry, in the active language.

        `memo` is data written once in English (or typed by an admin), so the wording customers
        see is derived from what the entry is: its kind, its order, its top-up. Only an entry
        with nothing to derive from (a deposit or adjustment by hand) shows the memo as typed.
        Listing many entries wants `select_related("topup")`, else one query per deposit.
        """
        if self.kind == EntryKind.CHARGE and self.order_id:
            return gettext("Order #%(id)s") % {"id": self.order_id}
        if self.kind == EntryKind.REFUND and self.order_id:
            return gettext("Refund for order #%(id)s") % {"id": self.order_id}
        if self.kind == EntryKind.DEPOSIT:
            # The reverse one-to-one raises (an AttributeError) when there is no top-up.
            topup = getattr(self, "topup", None)
            if topup is not None:
                return gettext("Bank transfer %(reference)s") % {"reference": topup.reference}
            transfer = getattr(self, "bank_transfer", None)
            if transfer is not None:
                reference = transfer.reference or transfer.matched_code
                return gettext("Bank transfer %(reference)s") % {"reference": reference}
        if self.kind == EntryKind.DEPOSIT_BONUS:
            return gettext("Deposit bonus")
        if self.kind == EntryKind.COMMISSION:
            # Not the order's id: the order is another customer's.
            return gettext("Referral commission")
        if self.kind in (EntryKind.COMMISSION_OUT, EntryKind.COMMISSION_IN):
            return gettext("Referral commission moved to the balance")
        if self.memo == OPENING_BALANCE_MEMO:
            return gettext("Opening balance")
        return self.memo


# Written by `billing.services.wallet_open` when a customer is created with an opening balance.
OPENING_BALANCE_MEMO = "Opening balance"


class TopUpRequest(models.Model):
    """A customer's bank transfer waiting for an admin (or a bank notification) to confirm it."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Credited")
        REJECTED = "rejected", _("Rejected")
        # issue 14: closed by the customer, or by time when no money came (TOPUP_EXPIRE_HOURS).
        CANCELED = "canceled", pgettext_lazy("top-up state", "Canceled")
        EXPIRED = "expired", _("Expired")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="topups"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    reference = models.CharField(_("transfer reference"), max_length=32, unique=True)
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.PENDING)
    entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="topup"
    )
    # What actually arrived, which may differ from what was asked: the entry credits this.
    received = models.DecimalField(_("received"), null=True, blank=True, **MONEY)
    bonus_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="topup_bonus"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("top-up request")
        verbose_name_plural = _("top-up requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="topup_amount_gt_0"),
            models.CheckConstraint(
                condition=~Q(state="approved") | Q(entry__isnull=False),
                name="topup_approved_has_entry",
            ),
            # ...and only an approved request has one: a rejected transfer never credited anything.
            models.CheckConstraint(
                condition=Q(state="approved") | Q(entry__isnull=True),
                name="topup_entry_only_if_approved",
            ),
            models.CheckConstraint(
                condition=~Q(state="approved") | Q(received__gt=0),
                name="topup_approved_has_received",
            ),
        ]
        indexes = [
            # The expiry sweep and the dashboard: pending requests by age.
            models.Index(fields=["state", "created_at"], name="topup_state_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {format_vnd(self.amount)} ({self.state})"

    @property
    def difference(self) -> Decimal | None:
        """Received less asked (negative: less arrived), or None before anything arrived."""
        if self.received is None:
            return None
        return self.received - self.amount


# --- issue 14: bank-transfer notifications ------------------------------------------------------


class DepositCode(models.Model):
    """A customer's permanent code for transfers of any amount at any time (`billing.deposits`).

    Permanent on purpose: customers save the shop as a beneficiary with the code as the message.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposit_code"
    )
    code = models.CharField(_("deposit code"), max_length=16, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("deposit code")
        verbose_name_plural = _("deposit codes")

    def __str__(self) -> str:
        return self.code


class BankProvider(models.TextChoices):
    SEPAY = "sepay", "SePay"
    CASSO = "casso", "Casso"


class BankTransfer(models.Model):
    """One transaction on the shop's bank account, as a notification service reported it.

    Exactly once: the database refuses a second row for the same provider transaction and for
    the same bank reference (the same money reported by SePay and by Casso), and the credit is
    written in the transaction that inserts this row, so a repeat finds it and credits nothing.
    """

    class State(models.TextChoices):
        CREDITED = "credited", _("Credited")
        UNMATCHED = "unmatched", _("Unmatched")
        IGNORED = "ignored", _("Ignored")

    provider = models.CharField(_("provider"), max_length=10, choices=BankProvider)
    provider_id = models.CharField(_("provider's transaction id"), max_length=64)
    reference = models.CharField(_("bank reference"), max_length=64, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)  # signed: negative is money leaving
    content = models.TextField(_("transfer content"), blank=True)
    account_number = models.CharField(_("account"), max_length=32, blank=True)
    transaction_time = models.CharField(_("bank time"), max_length=32, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State)
    matched_code = models.CharField(_("matched code"), max_length=32, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_transfers",
    )
    topup = models.OneToOneField(
        TopUpRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="transfer"
    )
    entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="bank_transfer"
    )
    bonus_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="transfer_bonus"
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    credited_at = models.DateTimeField(_("credited"), null=True, blank=True)

    class Meta:
        verbose_name = _("bank transfer")
        verbose_name_plural = _("bank transfers")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_id"], name="banktransfer_one_per_provider_id"
            ),
            models.UniqueConstraint(
                fields=["reference"],
                condition=~Q(reference=""),
                name="banktransfer_one_per_bank_reference",
            ),
            models.CheckConstraint(
                condition=Q(state="credited", entry__isnull=False, user__isnull=False)
                | Q(~Q(state="credited"), entry__isnull=True, bonus_entry__isnull=True),
                name="banktransfer_entry_iff_credited",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "-created_at"], name="banktransfer_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.provider_id} {format_vnd(self.amount)}"


class BankNotification(models.Model):
    """Every notification a receiver got, verbatim, with what became of it: the inbox."""

    class Outcome(models.TextChoices):
        CREDITED = "credited", _("Credited")
        DUPLICATE = "duplicate", _("Duplicate")
        UNMATCHED = "unmatched", _("Unmatched")
        IGNORED = "ignored", _("Ignored")
        REFUSED = "refused", _("Refused")

    provider = models.CharField(_("provider"), max_length=10, choices=BankProvider)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    raw_body = models.TextField(_("raw body"), blank=True)
    remote_addr = models.CharField(_("from"), max_length=64, blank=True)
    transfer = models.ForeignKey(
        BankTransfer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    created_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("bank notification")
        verbose_name_plural = _("bank notifications (inbox)")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["outcome", "-created_at"], name="banknotif_outcome_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.get_outcome_display()} #{self.pk}"


# --- referrals (billing.referrals) ----------------------------------------------------------------


class ReferralLink(models.Model):
    """A customer's referral link (`/r/<code>/`) and how many times it was followed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral_link"
    )
    code = models.CharField(_("code"), max_length=16, unique=True)
    visits = models.PositiveIntegerField(_("visits"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("referral link")
        verbose_name_plural = _("referral links")

    def __str__(self) -> str:
        return f"{self.user} ({self.code})"


class Referral(models.Model):
    """A customer who signed up through another customer's link: referred once, for good."""

    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals"
    )
    referred = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referral"
    )
    created_at = models.DateTimeField(_("signed up"), auto_now_add=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(referrer=models.F("referred")), name="referral_not_self"
            )
        ]

    def __str__(self) -> str:
        return f"{self.referred} <- {self.referrer}"


class Commission(models.Model):
    """A referrer's commission on one ended order of a customer they referred.

    Written once, when the order ends, in the same transaction as its refund, on what the order
    finally cost (charge - refund): `amount = base x percent / 100`, half up. A unique order
    (here and on the ledger entry) makes it at most once per order.
    """

    order = models.OneToOneField(
        "orders.Order", on_delete=models.PROTECT, related_name="commission"
    )
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="commissions")
    percent = models.DecimalField(_("percent"), max_digits=5, decimal_places=2)
    base = models.DecimalField(_("order value after refunds"), **MONEY)
    amount = models.DecimalField(_("commission"), **MONEY)
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="commission")
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("referral commission")
        verbose_name_plural = _("referral commissions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="commission_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(amount__lte=models.F("base")), name="commission_within_base"
            ),
        ]

    def __str__(self) -> str:
        return f"{format_vnd(self.amount)} on order {self.order_id}"


class CommissionTransfer(models.Model):
    """Commission moved to the balance: two ledger entries, out of one wallet into the other."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commission_transfers"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    out_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, related_name="commissiontransfer_out"
    )
    in_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, related_name="commissiontransfer_in"
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("commission transfer")
        verbose_name_plural = _("commission transfers")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="commissiontransfer_amount_gt_0")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {format_vnd(self.amount)}"
