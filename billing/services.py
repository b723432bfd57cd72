"""Every write that touches money. The only module that changes a balance.

Each balance change: one `transaction.atomic()`, the wallet row locked with
`select_for_update()`, the check, the new balance, one ledger entry with `balance_after`.
The database backs the invariants up (balance >= 0, one charge and one refund per order,
entries never rewritten), so a bug here fails loudly instead of losing money.

Lock order, everywhere: a top-up request's row before its wallet's row; a main wallet before a
commission wallet (an order's end refunds its customer's main wallet, then credits the
referrer's commission wallet; a commission move locks its customer's main wallet, then their
commission wallet): nobody ever holds a commission wallet while waiting for a main one.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.money import ZERO, format_vnd, quantize_money

from .deposits import bonus_for, parse_bonus_tiers
from .models import (
    OPENING_BALANCE_MEMO,
    EntryKind,
    LedgerEntry,
    TopUpRequest,
    Wallet,
    WalletKind,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# The columns hold 16 digits with 2 decimals; refusing more here gives a clear error instead of
# a database overflow (PostgreSQL) or a silently stored oversized value (SQLite).
MAX_AMOUNT = Decimal("99999999999999.99")

# Bank transfers are whole đồng. The bounds keep typos (an extra zero or three) from creating
# requests an admin would have to reject, and can be overridden in settings.
TOPUP_MIN_AMOUNT = Decimal(getattr(settings, "TOPUP_MIN_AMOUNT", "10000"))
TOPUP_MAX_AMOUNT = Decimal(getattr(settings, "TOPUP_MAX_AMOUNT", "100000000"))
TOPUP_MAX_PENDING = 5
# "NAP" (nạp: top up) and 8 characters without the look-alikes 0/O, 1/I/L: a customer copies the
# reference into a bank app by hand, sometimes from a phone screen. 31^8 ≈ 8.5e11 references.
REFERENCE_PREFIX = "NAP"
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 8


class BillingError(Exception):
    """A money operation was refused; nothing changed."""


class InsufficientFunds(BillingError):
    def __init__(self, *, balance: Decimal, needed: Decimal) -> None:
        super().__init__(
            _("Not enough funds: the balance is %(balance)s, %(needed)s is needed.")
            % {"balance": format_vnd(balance), "needed": format_vnd(needed)}
        )
        self.balance = balance
        self.needed = needed


class RefundExceedsCharge(BillingError):
    pass


class AlreadyCharged(BillingError):
    """The order already has its charge; an order is charged exactly once."""


class TopUpNotPending(BillingError):
    """The top-up request was already decided the other way (a rejected one is never credited)."""


def _money(amount: Decimal | int | str) -> Decimal:
    """The amount at the project's precision, or BillingError for anything that is not money."""
    try:
        value = Decimal(amount)
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise BillingError(
            _("“%(amount)s” is not an amount of money.") % {"amount": amount}
        ) from exc
    if not value.is_finite():
        # Shown as typed: format_vnd cannot write what is not a number.
        raise BillingError(_("“%(amount)s” is not an amount of money.") % {"amount": amount})
    value = quantize_money(value)
    if abs(value) > MAX_AMOUNT:
        raise BillingError(_("The amount is too large."))
    return value


def _positive(amount: Decimal | int | str) -> Decimal:
    value = _money(amount)
    if value <= 0:
        raise BillingError(_("The amount must be positive."))
    return value


def wallet_for_user(*, user: User, kind: str = WalletKind.MAIN) -> Wallet:
    """The user's wallet of this kind, created empty on first use (every customer has a main
    one; a referrer gets a commission one with their first commission)."""
    wallet, _created = Wallet.objects.get_or_create(user=user, kind=kind)
    return wallet


def wallet_balance(*, user: User, kind: str = WalletKind.MAIN) -> Decimal:
    """The user's balance now (zero without a wallet). A read: creates nothing, locks nothing."""
    balance = Wallet.objects.filter(user=user, kind=kind).values_list("balance", flat=True).first()
    return quantize_money(balance) if balance is not None else ZERO


def wallet_open(*, user: User, balance: Decimal | None, created_by: User | None) -> None:
    """A new customer's main wallet, with their opening balance (if any) as a deposit entry.
    Runs inside the caller's transaction that creates the customer (`accounts.customer_create`)."""
    Wallet.objects.create(user=user)
    if balance:
        wallet_deposit(user=user, amount=balance, memo=OPENING_BALANCE_MEMO, created_by=created_by)


def _locked_wallet(*, wallet_id: int) -> Wallet:
    return Wallet.objects.select_for_update().get(pk=wallet_id)


def _locked_wallet_of(*, user: User, kind: str = WalletKind.MAIN) -> Wallet:
    """The user's wallet, locked: one query when it exists (every customer's main one does)."""
    wallet = Wallet.objects.select_for_update().filter(user=user, kind=kind).first()
    if wallet is None:
        wallet = _locked_wallet(wallet_id=wallet_for_user(user=user, kind=kind).pk)
    return wallet


def _write(
    *,
    wallet: Wallet,
    kind: str,
    amount: Decimal,
    order_id: int | None = None,
    created_by: User | None = None,
    memo: str = "",
) -> LedgerEntry:
    """Apply `amount` to a wallet already locked by the caller, and record it."""
    new_balance = wallet.balance + amount
    if new_balance < 0:
        raise InsufficientFunds(balance=wallet.balance, needed=-amount)
    if new_balance > MAX_AMOUNT:
        raise BillingError(_("The balance would exceed the largest amount the shop can hold."))
    wallet.balance = new_balance
    wallet.save(update_fields=["balance", "updated_at"])
    return LedgerEntry.objects.create(
        wallet=wallet,
        kind=kind,
        amount=amount,
        balance_after=new_balance,
        order_id=order_id,
        created_by=created_by,
        memo=memo[:500],
    )


@transaction.atomic
def wallet_deposit(
    *,
    user: User,
    amount: Decimal,
    memo: str = "",
    created_by: User | None = None,
) -> LedgerEntry:
    """Credit money the customer paid in (a top-up)."""
    value = _positive(amount)
    wallet = _locked_wallet_of(user=user)
    return _write(
        wallet=wallet, kind=EntryKind.DEPOSIT, amount=value, memo=memo, created_by=created_by
    )


@transaction.atomic
def wallet_charge(*, user: User, amount: Decimal, order_id: int, memo: str = "") -> LedgerEntry:
    """Take an order's price from the customer's wallet.

    Raises InsufficientFunds or AlreadyCharged, changing nothing. Meant to run inside the
    caller's transaction that creates the order, so that an order never exists without its
    charge nor a charge without its order.
    """
    value = _positive(amount)
    wallet = _locked_wallet_of(user=user)
    # Under the lock, so that two charges of one order by one customer cannot both pass; the
    # unique constraint is the backstop across wallets.
    if LedgerEntry.objects.filter(order_id=order_id, kind=EntryKind.CHARGE).exists():
        raise AlreadyCharged(_("Order %(order)s is already charged.") % {"order": order_id})
    return _write(wallet=wallet, kind=EntryKind.CHARGE, amount=-value, order_id=order_id, memo=memo)


@transaction.atomic
def wallet_refund(
    *, order_id: int, amount: Decimal, memo: str = "", created_by: User | None = None
) -> LedgerEntry | None:
    """Give back what an order did not deliver, at most once and never more than it cost.

    Safe to call twice: the second call finds the first refund and returns None. A refund of
    zero (a Partial that delivered everything) writes nothing.
    """
    value = _money(amount)
    # The charge is immutable, so it is safe to read before locking.
    charge = LedgerEntry.objects.filter(order_id=order_id, kind=EntryKind.CHARGE).first()
    if charge is None:
        raise BillingError(_("Order %(order)s was never charged.") % {"order": order_id})
    if value < 0 or value > -charge.amount:
        raise RefundExceedsCharge(
            _("A refund of %(amount)s is not within 0..%(charge)s for order %(order)s.")
            % {"amount": value, "charge": -charge.amount, "order": order_id}
        )
    # Lock first, then look: two refunders serialise on the wallet row, and the second sees
    # the first one's entry (the unique constraint is the backstop if this is ever bypassed).
    wallet = _locked_wallet(wallet_id=charge.wallet_id)
    existing = LedgerEntry.objects.filter(order_id=order_id, kind=EntryKind.REFUND).first()
    if existing is not None:
        if existing.amount != value:
            # Not an error (the caller's retry must stay harmless), but a sign that two code
            # paths disagree about what the order delivered: worth a look.
            logger.warning(
                "Order %s already refunded %s; a second refund of %s was ignored.",
                order_id,
                existing.amount,
                value,
            )
        return None
    if value == 0:
        return None
    return _write(
        wallet=wallet,
        kind=EntryKind.REFUND,
        amount=value,
        order_id=order_id,
        memo=memo,
        created_by=created_by,
    )


@transaction.atomic
def wallet_adjust(
    *,
    user: User,
    amount: Decimal,
    memo: str,
    created_by: User | None,
    kind: str = WalletKind.MAIN,
) -> LedgerEntry:
    """An admin's credit (positive) or debit (negative), with a required reason.

    The entry records who and why; a debit never takes the balance below zero.
    """
    value = _money(amount)
    if value == 0:
        raise BillingError(_("The amount must not be zero."))
    if not memo.strip():
        raise BillingError(_("A reason is required."))
    wallet = _locked_wallet_of(user=user, kind=kind)
    return _write(
        wallet=wallet,
        kind=EntryKind.ADJUSTMENT,
        amount=value,
        memo=memo.strip(),
        created_by=created_by,
    )


@transaction.atomic
def wallet_commission_credit(
    *, referrer_id: int, order_id: int, amount: Decimal, memo: str = ""
) -> LedgerEntry:
    """Credit a referrer's commission on one order to their commission wallet (made on first use).

    At most once per order: checked under the wallet's lock, and a unique constraint on the
    ledger says so too. Called by `billing.referrals` when the order ends.
    """
    value = _positive(amount)
    commission_wallets = Wallet.objects.filter(user_id=referrer_id, kind=WalletKind.COMMISSION)
    wallet = commission_wallets.select_for_update().first()
    if wallet is None:
        Wallet.objects.get_or_create(user_id=referrer_id, kind=WalletKind.COMMISSION)
        wallet = commission_wallets.select_for_update().get()
    if LedgerEntry.objects.filter(order_id=order_id, kind=EntryKind.COMMISSION).exists():
        raise AlreadyCharged(
            _("Order %(order)s already earned its commission.") % {"order": order_id}
        )
    return _write(
        wallet=wallet, kind=EntryKind.COMMISSION, amount=value, order_id=order_id, memo=memo
    )


@transaction.atomic
def wallet_commission_move(
    *, user: User, amount: Decimal, minimum: Decimal
) -> tuple[LedgerEntry, LedgerEntry]:
    """Move commission to the customer's balance: one entry out of the commission wallet, one
    into the main wallet, in one transaction. Refused (nothing changes) below `minimum` or
    beyond the commission earned."""
    value = _positive(amount)
    if value < minimum:
        raise BillingError(
            _("The smallest amount you can move is %(minimum)s.") % {"minimum": format_vnd(minimum)}
        )
    # Lock order: the main wallet, then the commission wallet (see the module's docstring).
    main = _locked_wallet_of(user=user)
    commission = (
        Wallet.objects.select_for_update().filter(user=user, kind=WalletKind.COMMISSION).first()
    )
    available = commission.balance if commission is not None else ZERO
    if commission is None or value > available:
        raise InsufficientFunds(balance=available, needed=value)
    out = _write(
        wallet=commission, kind=EntryKind.COMMISSION_OUT, amount=-value, memo="Moved to balance"
    )
    into = _write(
        wallet=main, kind=EntryKind.COMMISSION_IN, amount=value, memo="Referral commission"
    )
    return out, into


# --- top-ups by bank transfer ---------------------------------------------------------------------


def _new_reference() -> str:
    return REFERENCE_PREFIX + "".join(
        secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH)
    )


def topup_request_create(*, user: User, amount: Decimal) -> TopUpRequest:
    """A request to top up by bank transfer, with a fresh unique transfer reference.

    Nothing is credited: the money arrives at the bank, and an admin (or a bank notification)
    confirms it with `topup_confirm`.
    """
    value = _positive(amount)
    if value != value.to_integral_value():
        raise BillingError(_("Bank transfers are in whole đồng."))
    if not TOPUP_MIN_AMOUNT <= value <= TOPUP_MAX_AMOUNT:
        raise BillingError(
            _("A top-up must be between %(min)s and %(max)s.")
            % {"min": format_vnd(TOPUP_MIN_AMOUNT), "max": format_vnd(TOPUP_MAX_AMOUNT)}
        )
    # Requests past their expiry no longer count, even before the sweep has marked them.
    pending = TopUpRequest.objects.filter(
        user=user,
        state=TopUpRequest.State.PENDING,
        created_at__gt=timezone.now() - timedelta(hours=settings.TOPUP_EXPIRE_HOURS),
    ).count()
    if pending >= TOPUP_MAX_PENDING:
        raise BillingError(
            _("You already have %(count)d top-ups waiting; please wait until they are confirmed.")
            % {"count": pending}
        )
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return TopUpRequest.objects.create(
                    user=user, amount=value, reference=_new_reference()
                )
        except IntegrityError:
            # A reference collision: astronomically rare, but cheap to survive.
            continue
    raise BillingError(_("Could not allocate a transfer reference; please try again."))


@transaction.atomic
def deposit_with_bonus(
    *, user: User, amount: Decimal, memo: str, created_by: User | None = None
) -> tuple[LedgerEntry, LedgerEntry | None]:
    """Credit a bank transfer that arrived, and the shop's bonus on it (DEPOSIT_BONUS_TIERS).

    Two entries under one lock: the deposit is the money received, the bonus its own kind, so
    that check_ledger and the reports never mistake the shop's gift for money it was paid.
    """
    value = _positive(amount)
    wallet = _locked_wallet_of(user=user)
    entry = _write(
        wallet=wallet, kind=EntryKind.DEPOSIT, amount=value, memo=memo, created_by=created_by
    )
    bonus = bonus_for(value, parse_bonus_tiers(settings.DEPOSIT_BONUS_TIERS))
    bonus_entry = None
    if bonus > 0:
        bonus_entry = _write(
            wallet=wallet,
            kind=EntryKind.DEPOSIT_BONUS,
            amount=bonus,
            memo=f"Deposit bonus on {memo}",
            created_by=created_by,
        )
    return entry, bonus_entry


# A request still open: pending, or given up (by the customer or by time) before money came.
# Money that arrives for one of these closes it as credited; only a rejected one stays closed.
TOPUP_CREDITABLE = (
    TopUpRequest.State.PENDING,
    TopUpRequest.State.EXPIRED,
    TopUpRequest.State.CANCELED,
)


def topup_close_credited(
    *, topup: TopUpRequest, received: Decimal, confirmed_by: User | None
) -> LedgerEntry:
    """Credit `received` for a request whose row the caller has locked, and close it.

    Shared by staff approval and bank notifications; runs inside the caller's transaction.
    """
    entry, bonus_entry = deposit_with_bonus(
        # Memos are data in one language, for staff; customers read `LedgerEntry.description`.
        user=topup.user,
        amount=received,
        memo=f"Bank transfer {topup.reference}",
        created_by=confirmed_by,
    )
    topup.state = TopUpRequest.State.APPROVED
    topup.entry = entry
    topup.bonus_entry = bonus_entry
    topup.received = entry.amount
    topup.decided_by = confirmed_by
    topup.decided_at = timezone.now()
    topup.save(
        update_fields=["state", "entry", "bonus_entry", "received", "decided_by", "decided_at"]
    )
    return entry


@transaction.atomic
def topup_confirm(
    *, topup_id: int, confirmed_by: User | None, received: Decimal | None = None
) -> LedgerEntry:
    """Credit a top-up request exactly once, however many times (even concurrently) it is called.

    `received` is what the bank statement shows (the amount asked when omitted). The request
    row is locked first: a second caller waits, then finds it approved and gets the same ledger
    entry back without writing anything. A rejected request is never credited.
    """
    topup = TopUpRequest.objects.select_for_update().select_related("user").get(pk=topup_id)
    if topup.state == TopUpRequest.State.APPROVED:
        # An approved request always has its entry (constraint topup_approved_has_entry).
        assert topup.entry_id is not None
        return LedgerEntry.objects.get(pk=topup.entry_id)
    if topup.state not in TOPUP_CREDITABLE:
        raise TopUpNotPending(
            _("Top-up %(reference)s was rejected; it cannot be credited.")
            % {"reference": topup.reference}
        )
    return topup_close_credited(
        topup=topup,
        received=topup.amount if received is None else received,
        confirmed_by=confirmed_by,
    )


@transaction.atomic
def topup_reject(*, topup_id: int, rejected_by: User | None, note: str = "") -> TopUpRequest:
    """Close a top-up request whose money never arrived. Rejecting twice is harmless; a credited
    request cannot be rejected (take money back with an adjustment instead)."""
    topup = TopUpRequest.objects.select_for_update().get(pk=topup_id)
    if topup.state == TopUpRequest.State.REJECTED:
        return topup
    if topup.state == TopUpRequest.State.APPROVED:
        raise TopUpNotPending(
            _("Top-up %(reference)s was already credited; use an adjustment to take money back.")
            % {"reference": topup.reference}
        )
    topup.state = TopUpRequest.State.REJECTED
    topup.decided_by = rejected_by
    topup.decided_at = timezone.now()
    topup.note = note[:500]
    topup.save(update_fields=["state", "decided_by", "decided_at", "note"])
    return topup
