"""Reads: a customer's own entries and top-ups, wallets beside their ledger sums, ledger audits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.conf import settings
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Abs, Coalesce, Lag
from django.urls import reverse
from django.utils import timezone

from panel.money import ZERO, quantize_money

from .models import (
    BankNotification,
    BankTransfer,
    Commission,
    CommissionTransfer,
    EntryKind,
    LedgerEntry,
    TopUpRequest,
    Wallet,
    WalletKind,
)
from .vietqr import vietqr_payload

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_stubs_ext import WithAnnotations

    class _EntrySums(TypedDict):
        entries_sum: Decimal

    WalletWithSums = WithAnnotations[Wallet, _EntrySums]

_MONEY = DecimalField(max_digits=18, decimal_places=2)
_ZERO = Value(Decimal("0.00"), output_field=_MONEY)
# SQLite stores decimals as floating point and sums them as such; a difference below half a
# đồng-cent is rounding noise there, never on PostgreSQL (exact NUMERIC), and never real money.
_TOLERANCE = Decimal("0.005")


def ledger_entries_for_user(*, user: User, kind: str | None = None) -> QuerySet[LedgerEntry]:
    """The customer's own entries, newest first, optionally of one kind, each with its top-up
    (one LEFT JOIN) for `LedgerEntry.description`; the page shows the order's id, not the order.
    The main wallet's only: commission has its own page (the referral page)."""
    entries = LedgerEntry.objects.filter(wallet__user=user, wallet__kind=WalletKind.MAIN)
    entries = entries.select_related("topup", "bank_transfer")
    if kind:
        entries = entries.filter(kind=kind)
    return entries.order_by("-created_at", "-id")


def topups_for_user(*, user: User) -> QuerySet[TopUpRequest]:
    return TopUpRequest.objects.filter(user=user).order_by("-created_at", "-id")


def wallets_with_entry_sums() -> QuerySet[WalletWithSums]:
    """Wallets annotated with `entries_sum`, the sum of their ledger (what the balance must equal).

    A correlated subquery rather than a JOIN + GROUP BY: a page of 100 wallets sums only those
    100 wallets' entries, through the entries' wallet index.
    """
    sums = (
        LedgerEntry.objects.filter(wallet=OuterRef("pk"))
        .order_by()
        .values("wallet")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Wallet.objects.annotate(
        entries_sum=Coalesce(Subquery(sums, output_field=_MONEY), _ZERO, output_field=_MONEY)
    )


def ledger_problems() -> Iterator[str]:
    """Every violated ledger invariant, one sentence each. A handful of queries whatever the size
    of the ledger: the comparisons run in the database and only the broken rows come back."""
    yield from _wallet_problems()
    yield from _chain_problems()
    yield from _order_problems()
    yield from _commission_problems()
    yield from _topup_problems()
    yield from _bank_transfer_problems()


def _wallet_problems() -> Iterator[str]:
    """1. The balance is never negative, and equals the sum of the wallet's entries."""
    wallets = (
        wallets_with_entry_sums()
        .annotate(diff=Abs(ExpressionWrapper(F("balance") - F("entries_sum"), output_field=_MONEY)))
        .filter(Q(balance__lt=0) | Q(diff__gt=_TOLERANCE))
        .select_related("user")
        .order_by("pk")
    )
    for wallet in wallets:
        if wallet.balance < 0:
            yield f"wallet {wallet.pk} ({wallet.user}): negative balance {wallet.balance}"
        if abs(wallet.balance - wallet.entries_sum) > _TOLERANCE:
            yield (
                f"wallet {wallet.pk} ({wallet.user}): balance {quantize_money(wallet.balance)} "
                f"!= sum of entries {quantize_money(wallet.entries_sum)}"
            )


def _chain_problems() -> Iterator[str]:
    """2. Each entry's balance_after is the previous entry's (in the order they were written,
    which is id order: they were written under the wallet's lock) plus its amount, never below
    zero."""
    previous = Window(Lag("balance_after"), partition_by=[F("wallet_id")], order_by=F("id").asc())
    chain = (
        LedgerEntry.objects.annotate(previous_after=previous)
        .annotate(
            expected_after=ExpressionWrapper(
                Coalesce(F("previous_after"), _ZERO) + F("amount"), output_field=_MONEY
            )
        )
        .annotate(
            gap=Abs(
                ExpressionWrapper(F("balance_after") - F("expected_after"), output_field=_MONEY)
            )
        )
        .filter(gap__gt=_TOLERANCE)
        .order_by()
        .values_list("pk", "wallet_id", "balance_after", "expected_after")
    )
    for entry_id, wallet_id, after, expected in sorted(chain):
        yield (
            f"wallet {wallet_id}: entry {entry_id} has balance_after {quantize_money(after)}, "
            f"expected {quantize_money(expected)}"
        )

    negative = LedgerEntry.objects.filter(balance_after__lt=0).order_by("pk")
    for entry_id, wallet_id, after in negative.values_list("pk", "wallet_id", "balance_after"):
        yield f"wallet {wallet_id}: entry {entry_id} has a negative balance_after {after}"


def _order_problems() -> Iterator[str]:
    """3. One charge per order; refunds of an order never above its charge. 4. An order is paid
    from, and refunded to, its own customer's (main) wallet."""
    per_order = (
        LedgerEntry.objects.filter(order__isnull=False)
        .order_by()
        .values("order_id")
        .annotate(
            charges=Count("pk", filter=Q(kind=EntryKind.CHARGE)),
            refunds=Count("pk", filter=Q(kind=EntryKind.REFUND)),
            charged=Coalesce(
                Sum(-F("amount"), filter=Q(kind=EntryKind.CHARGE)), _ZERO, output_field=_MONEY
            ),
            refunded=Coalesce(
                Sum("amount", filter=Q(kind=EntryKind.REFUND)), _ZERO, output_field=_MONEY
            ),
        )
        .filter(Q(charges__gt=1) | Q(refunds__gt=1) | Q(refunded__gt=F("charged") + _TOLERANCE))
        .order_by("order_id")
    )
    for row in per_order:
        order_id = row["order_id"]
        if row["charges"] > 1:
            yield f"order {order_id}: charged {row['charges']} times"
        if row["refunds"] > 1:
            yield f"order {order_id}: refunded {row['refunds']} times"
        if row["refunded"] > row["charged"] + _TOLERANCE:
            yield (
                f"order {order_id}: refunded {quantize_money(row['refunded'])} "
                f"> charged {quantize_money(row['charged'])}"
            )

    strangers = (
        LedgerEntry.objects.filter(
            order__isnull=False, kind__in=[EntryKind.CHARGE, EntryKind.REFUND]
        )
        .exclude(order__user_id=F("wallet__user_id"), wallet__kind=WalletKind.MAIN)
        .order_by("pk")
        .values_list("pk", "wallet_id", "order_id")
    )
    for entry_id, wallet_id, order_id in strangers:
        yield f"wallet {wallet_id}: entry {entry_id} concerns order {order_id} of another customer"


def _topup_problems() -> Iterator[str]:
    """5. A credited top-up credited its own customer with what was received, as a deposit."""
    topups = (
        TopUpRequest.objects.filter(entry__isnull=False)
        .exclude(
            entry__kind=EntryKind.DEPOSIT,
            entry__amount=F("received"),
            entry__wallet__user_id=F("user_id"),
        )
        .order_by("pk")
        .values_list("reference", "entry_id")
    )
    for reference, entry_id in topups:
        yield f"top-up {reference}: entry {entry_id} is not a deposit of its amount to its customer"


def _bank_transfer_problems() -> Iterator[str]:
    """6. A credited bank transfer is one deposit of its own amount to its customer, and every
    deposit bonus belongs to a bank-transfer deposit (a top-up or a notified transfer)."""
    transfers = (
        BankTransfer.objects.filter(entry__isnull=False)
        .exclude(
            entry__kind=EntryKind.DEPOSIT,
            entry__amount=F("amount"),
            entry__wallet__user_id=F("user_id"),
        )
        .order_by("pk")
        .values_list("pk", "entry_id")
    )
    for transfer_id, entry_id in transfers:
        yield f"bank transfer {transfer_id}: entry {entry_id} is not a deposit of its amount"
    orphans = (
        LedgerEntry.objects.filter(
            kind=EntryKind.DEPOSIT_BONUS, topup_bonus__isnull=True, transfer_bonus__isnull=True
        )
        .order_by("pk")
        .values_list("pk", "wallet_id")
    )
    for entry_id, wallet_id in orphans:
        yield f"wallet {wallet_id}: bonus entry {entry_id} belongs to no bank-transfer deposit"


def _commission_problems() -> Iterator[str]:
    """Referral money, in three queries: every commission entry has its Commission row, sits in
    the commission wallet of the order's customer's referrer, and is the order's final value
    (charge - refund) x the recorded percent, half up; every move is a pair of entries, out of
    the commission wallet into the main one; and each kind stays in its kind of wallet."""
    commission_kinds = [EntryKind.COMMISSION, EntryKind.COMMISSION_OUT]
    strays = (
        LedgerEntry.objects.filter(
            Q(kind__in=commission_kinds, wallet__kind=WalletKind.MAIN)
            | Q(wallet__kind=WalletKind.COMMISSION)
            & ~Q(kind__in=[*commission_kinds, EntryKind.ADJUSTMENT])
            | Q(kind=EntryKind.COMMISSION, commission__isnull=True)
            | Q(kind=EntryKind.COMMISSION_OUT, commissiontransfer_out__isnull=True)
            | Q(kind=EntryKind.COMMISSION_IN, commissiontransfer_in__isnull=True)
        )
        .order_by("pk")
        .values_list("pk", "wallet_id", "kind")
    )
    for entry_id, wallet_id, kind in strays:
        yield (
            f"wallet {wallet_id}: entry {entry_id} ({kind}) is out of place or has no "
            "commission record or transfer"
        )

    def order_sum(kind: str) -> Subquery:
        amounts = (
            LedgerEntry.objects.filter(order_id=OuterRef("order_id"), kind=kind)
            .order_by()
            .values("amount")[:1]
        )
        return Subquery(amounts, output_field=_MONEY)

    commissions = (
        Commission.objects.annotate(
            charged=Coalesce(order_sum(EntryKind.CHARGE), _ZERO, output_field=_MONEY),
            refunded=Coalesce(order_sum(EntryKind.REFUND), _ZERO, output_field=_MONEY),
        )
        .select_related("entry__wallet", "referral")
        .only(
            "order_id",
            "percent",
            "base",
            "amount",
            "order__user_id",
            "referral__referrer_id",
            "referral__referred_id",
            "entry__kind",
            "entry__order_id",
            "entry__amount",
            "entry__wallet__user_id",
            "entry__wallet__kind",
        )
        .select_related("order")
        .order_by("pk")
    )
    for commission in commissions:
        order_id, entry = commission.order_id, commission.entry
        base = -commission.charged - commission.refunded
        expected = quantize_money(base * commission.percent / 100)
        if (
            abs(commission.base - base) > _TOLERANCE
            or abs(commission.amount - expected) > _TOLERANCE
        ):
            yield (
                f"order {order_id}: commission {quantize_money(commission.amount)} on "
                f"{quantize_money(commission.base)}, but the order's value after refunds is "
                f"{quantize_money(base)} ({expected} at {commission.percent} %)"
            )
        if (
            entry.kind != EntryKind.COMMISSION
            or entry.order_id != order_id
            or abs(entry.amount - commission.amount) > _TOLERANCE
            or entry.wallet.kind != WalletKind.COMMISSION
            or entry.wallet.user_id != commission.referral.referrer_id
            or commission.referral.referred_id != commission.order.user_id
        ):
            yield f"order {order_id}: commission entry {entry.pk} is not its referrer's commission"

    broken_moves = (
        CommissionTransfer.objects.exclude(
            out_entry__kind=EntryKind.COMMISSION_OUT,
            in_entry__kind=EntryKind.COMMISSION_IN,
            out_entry__amount=-F("amount"),
            in_entry__amount=F("amount"),
            out_entry__wallet__user_id=F("user_id"),
            out_entry__wallet__kind=WalletKind.COMMISSION,
            in_entry__wallet__user_id=F("user_id"),
            in_entry__wallet__kind=WalletKind.MAIN,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for transfer_id in broken_moves:
        yield f"commission transfer {transfer_id}: its two entries do not match"


def topup_qr_payload(*, topup: TopUpRequest) -> str:
    """The VietQR payload asking for this top-up's amount, to the shop's account, with its
    reference as the transfer's purpose.

    Raises ValueError when the shop's bank settings are not something a bank app would accept.
    """
    return vietqr_payload(
        bank_bin=settings.SHOP_BANK_BIN,
        account=settings.SHOP_BANK_ACCOUNT,
        amount=topup.amount,
        purpose=topup.reference,
    )


def latest_transfer_for_user(*, user: User) -> BankTransfer | None:
    """The customer's most recently credited bank transfer (one indexed query)."""
    return (
        BankTransfer.objects.filter(user=user, state=BankTransfer.State.CREDITED)
        .order_by("-credited_at", "-pk")
        .only("pk", "amount")
        .first()
    )


def deposit_qr_payload(*, code: str) -> str:
    """A static VietQR (no amount) to the shop's account with the customer's deposit code as the
    purpose: saved once, paid any amount at any time."""
    return vietqr_payload(
        bank_bin=settings.SHOP_BANK_BIN, account=settings.SHOP_BANK_ACCOUNT, purpose=code
    )


# --- what an order cost its customer: the one place the ledger's refunds are read ----------------


def _refunds() -> QuerySet[LedgerEntry]:
    # An order has at most one refund (a unique constraint): its refund is its refunded total.
    return LedgerEntry.objects.filter(kind=EntryKind.REFUND).order_by()


def order_refunds(*, order_ids: Iterable[int]) -> dict[int, Decimal]:
    """The refunded amount of each of these orders that has one, in one query: order lists, the
    API's multi-order status, notices."""
    ids = list(order_ids)
    if not ids:
        return {}
    return dict(_refunds().filter(order_id__in=ids).values_list("order_id", "amount"))


def order_refunded_amount(*, order_id: int) -> Decimal:
    """What was refunded of one order (zero when nothing was)."""
    return order_refunds(order_ids=[order_id]).get(order_id, ZERO)


def order_refunded_expression() -> Coalesce:
    """The same amount as an expression over a queryset of orders, for pages that sort or compute
    on it (the orders admin's "refunded" and "profit" columns): zero when nothing was refunded."""
    refund = _refunds().filter(order_id=OuterRef("pk")).values("amount")[:1]
    return Coalesce(Subquery(refund, output_field=_MONEY), _ZERO, output_field=_MONEY)


def order_payment_entries() -> QuerySet[LedgerEntry]:
    """Every order's charge (negative) and refund (positive): minus their sum over some orders is
    what customers paid for them after refunds. For reports that filter and group it their way
    (by day, by provider, by customer) in one query."""
    return LedgerEntry.objects.filter(kind__in=[EntryKind.CHARGE, EntryKind.REFUND]).order_by()


# --- for the staff dashboard (panel/staff.py): money waiting for a person, deposits -------------


@dataclass(frozen=True)
class MoneyWaiting:
    """Money staff must look at, with where to do it in the admin."""

    topups_pending: int
    topups_pending_amount: Decimal
    topups_pending_url: str
    transfers_unmatched: int
    transfers_unmatched_amount: Decimal
    transfers_unmatched_url: str
    inbox_url: str


def money_waiting() -> MoneyWaiting:
    """Top-ups announced and not credited yet, and bank transfers no code matched: two queries."""
    # Only requests still within their expiry count as announced: one nobody paid for a day is
    # not money on its way (the beat marks them expired; this holds even while it lags).
    topups = TopUpRequest.objects.filter(
        state=TopUpRequest.State.PENDING,
        created_at__gt=timezone.now() - timedelta(hours=settings.TOPUP_EXPIRE_HOURS),
    ).aggregate(n=Count("id"), amount=Sum("amount"))
    unmatched = BankTransfer.objects.filter(
        state=BankTransfer.State.UNMATCHED, amount__gt=0
    ).aggregate(n=Count("id"), amount=Sum("amount"))
    return MoneyWaiting(
        topups_pending=topups["n"] or 0,
        topups_pending_amount=topups["amount"] or ZERO,
        topups_pending_url=reverse("admin:billing_topuprequest_changelist")
        + f"?state__exact={TopUpRequest.State.PENDING}",
        transfers_unmatched=unmatched["n"] or 0,
        transfers_unmatched_amount=unmatched["amount"] or ZERO,
        transfers_unmatched_url=reverse("admin:billing_banktransfer_changelist")
        + f"?state__exact={BankTransfer.State.UNMATCHED}",
        inbox_url=reverse("admin:billing_banknotification_changelist"),
    )


@dataclass(frozen=True)
class DepositSummary:
    """Money customers sent by bank transfer, and the bonuses the shop added, since a time:
    two kinds of ledger entry, never added together."""

    received: Decimal
    bonuses: Decimal
    notifications: int
    refused: int


def deposit_summary(*, since: datetime) -> DepositSummary:
    """Two small aggregates: the ledger's deposits and bonuses, the inbox's outcomes."""
    sums = LedgerEntry.objects.filter(
        created_at__gte=since, kind__in=[EntryKind.DEPOSIT, EntryKind.DEPOSIT_BONUS]
    ).aggregate(
        received=Sum("amount", filter=Q(kind=EntryKind.DEPOSIT)),
        bonuses=Sum("amount", filter=Q(kind=EntryKind.DEPOSIT_BONUS)),
    )
    inbox = BankNotification.objects.filter(created_at__gte=since).aggregate(
        n=Count("id"), refused=Count("id", filter=Q(outcome=BankNotification.Outcome.REFUSED))
    )
    return DepositSummary(
        received=sums["received"] or ZERO,
        bonuses=sums["bonuses"] or ZERO,
        notifications=inbox["n"] or 0,
        refused=inbox["refused"] or 0,
    )


def balances_owed() -> Decimal:
    """What the shop owes its customers: the sum of every wallet's balance (one aggregate)."""
    return Wallet.objects.aggregate(total=Sum("balance"))["total"] or ZERO
