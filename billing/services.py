"""Every write that touches money. The only module that changes a balance.

Each balance change: one `transaction.atomic()`, the wallet row locked with
`select_for_update()`, the check, the new balance, one ledger entry with `balance_after`.
The database backs the invariants up (balance >= 0, one charge and one refund per order),
so a bug here fails loudly instead of losing money.
"""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from panel.money import quantize_money

from .models import ApiKey, EntryKind, LedgerEntry, Profile, Wallet

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class BillingError(Exception):
    """A money operation was refused; nothing changed."""


class InsufficientFunds(BillingError):
    def __init__(self, *, balance: Decimal, needed: Decimal) -> None:
        super().__init__(f"Not enough funds on balance: {balance} < {needed}")
        self.balance = balance
        self.needed = needed


class RefundExceedsCharge(BillingError):
    pass


def _positive(amount: Decimal) -> Decimal:
    value = quantize_money(amount)
    if value <= 0:
        raise BillingError("The amount must be positive.")
    return value


def wallet_for_user(*, user: AbstractBaseUser) -> Wallet:
    """The user's wallet, created empty on first use (every customer has one)."""
    wallet, _created = Wallet.objects.get_or_create(user=user)
    return wallet


def _locked_wallet(*, wallet_id: int) -> Wallet:
    return Wallet.objects.select_for_update().get(pk=wallet_id)


def _write(
    *, wallet: Wallet, kind: str, amount: Decimal, order_id: int | None = None,
    created_by: AbstractBaseUser | None = None, memo: str = "",
) -> LedgerEntry:
    """Apply `amount` to a wallet already locked by the caller, and record it."""
    new_balance = wallet.balance + amount
    if new_balance < 0:
        raise InsufficientFunds(balance=wallet.balance, needed=-amount)
    wallet.balance = new_balance
    wallet.save(update_fields=["balance", "updated_at"])
    return LedgerEntry.objects.create(
        wallet=wallet, kind=kind, amount=amount, balance_after=new_balance,
        order_id=order_id, created_by=created_by, memo=memo[:500],
    )


@transaction.atomic
def wallet_deposit(
    *, user: AbstractBaseUser, amount: Decimal, memo: str = "", created_by: AbstractBaseUser | None = None
) -> LedgerEntry:
    """Credit money the customer paid in (a top-up)."""
    value = _positive(amount)
    wallet = _locked_wallet(wallet_id=wallet_for_user(user=user).pk)
    return _write(wallet=wallet, kind=EntryKind.DEPOSIT, amount=value, memo=memo, created_by=created_by)


@transaction.atomic
def wallet_charge(*, user: AbstractBaseUser, amount: Decimal, order_id: int, memo: str = "") -> LedgerEntry:
    """Take an order's price from the customer's wallet. Raises InsufficientFunds, changing nothing.

    Meant to run inside the caller's transaction that creates the order, so that an order
    never exists without its charge nor a charge without its order.
    """
    value = _positive(amount)
    wallet = _locked_wallet(wallet_id=wallet_for_user(user=user).pk)
    return _write(wallet=wallet, kind=EntryKind.CHARGE, amount=-value, order_id=order_id, memo=memo)


@transaction.atomic
def wallet_refund(*, order_id: int, amount: Decimal, memo: str = "",
                  created_by: AbstractBaseUser | None = None) -> LedgerEntry | None:
    """Give back what an order did not deliver, at most once and never more than it cost.

    Safe to call twice: the second call finds the first refund and returns None. A refund of
    zero (a Partial that delivered everything) writes nothing.
    """
    value = quantize_money(amount)
    charge = LedgerEntry.objects.filter(order_id=order_id, kind=EntryKind.CHARGE).first()
    if charge is None:
        raise BillingError(f"Order {order_id} was never charged.")
    if value < 0 or value > -charge.amount:
        raise RefundExceedsCharge(f"Refund {value} is not within 0..{-charge.amount} for order {order_id}.")
    # Lock first, then look: two refunders serialise on the wallet row, and the second sees
    # the first one's entry (the unique constraint is the backstop if this is ever bypassed).
    wallet = _locked_wallet(wallet_id=charge.wallet_id)
    if LedgerEntry.objects.filter(order_id=order_id, kind=EntryKind.REFUND).exists() or value == 0:
        return None
    return _write(
        wallet=wallet, kind=EntryKind.REFUND, amount=value, order_id=order_id, memo=memo, created_by=created_by
    )


@transaction.atomic
def wallet_adjust(
    *, user: AbstractBaseUser, amount: Decimal, memo: str, created_by: AbstractBaseUser | None
) -> LedgerEntry:
    """An admin's credit (positive) or debit (negative), with a required reason."""
    value = quantize_money(amount)
    if value == 0:
        raise BillingError("The amount must not be zero.")
    if not memo.strip():
        raise BillingError("A reason is required.")
    wallet = _locked_wallet(wallet_id=wallet_for_user(user=user).pk)
    return _write(wallet=wallet, kind=EntryKind.ADJUSTMENT, amount=value, memo=memo, created_by=created_by)


def order_refunded_amount(*, order_id: int) -> Decimal:
    entry = LedgerEntry.objects.filter(order_id=order_id, kind=EntryKind.REFUND).first()
    return entry.amount if entry else Decimal("0.00")


# --- API keys -----------------------------------------------------------------------------------

def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_regenerate(*, user: AbstractBaseUser) -> str:
    """Issue a new key for the user, replacing any old one. The raw key is returned once, never stored."""
    raw = secrets.token_hex(32)
    ApiKey.objects.update_or_create(
        user=user, defaults={"key_hash": hash_api_key(raw), "prefix": raw[:8], "last_used_at": None}
    )
    return raw


def api_key_user(*, raw: str) -> AbstractBaseUser | None:
    """The active user owning this key, or None.

    The lookup is by the SHA-256 of the key (an index hit); comparing the stored digest again
    with `secrets.compare_digest` keeps the final check constant-time.
    """
    if not raw or len(raw) > 200:
        return None
    digest = hash_api_key(raw)
    key = ApiKey.objects.select_related("user").filter(key_hash=digest).first()
    if key is None or not secrets.compare_digest(key.key_hash, digest) or not key.user.is_active:
        return None
    return key.user


# --- customers ----------------------------------------------------------------------------------

def customer_create(
    *, username: str, email: str = "", password: str | None = None, balance: Decimal | None = None,
    created_by: AbstractBaseUser | None = None,
) -> tuple[AbstractBaseUser, str]:
    """Create a customer with a wallet, a profile and an API key; returns (user, raw API key)."""
    user_model = get_user_model()
    try:
        with transaction.atomic():
            user = user_model.objects.create_user(username=username, email=email, password=password)
            if password is None:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            Wallet.objects.create(user=user)
            Profile.objects.create(user=user)
            raw_key = api_key_regenerate(user=user)
            if balance:
                wallet_deposit(user=user, amount=balance, memo="Opening balance", created_by=created_by)
    except IntegrityError as exc:
        raise BillingError(f"A user named {username!r} already exists.") from exc
    return user, raw_key


def touch_api_key(*, user: AbstractBaseUser) -> None:
    ApiKey.objects.filter(user=user).update(last_used_at=timezone.now())
