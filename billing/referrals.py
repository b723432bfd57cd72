"""Referrals: every customer's link, sign-ups through it, and the referrer's commission.

Commission accrues once, at the order's END, in the same transaction as its final state and its
refund (the orders lifecycle calls `commission_on_order_end`), on what the order finally cost:
charge - refund. Ended orders never change state again and are refunded at most once, so the
refund that could reduce the commission is already known and the commission never needs
reversing: a Canceled or Failed order (refunded in full) earns nothing. `check_ledger` verifies
every commission; a OneToOne on `Commission.order` and a unique ledger constraint make it once.

Commission sits in the referrer's second wallet (kind "commission"); moving it to the balance is
a pair of entries (`billing.services.wallet_commission_move`), from REFERRAL_MIN_MOVE up.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce

from panel.money import ZERO, quantize_money

from .models import (
    Commission,
    CommissionTransfer,
    LedgerEntry,
    Referral,
    ReferralLink,
    WalletKind,
)
from .selectors import order_payment_entries
from .services import (
    BillingError,
    wallet_balance,
    wallet_commission_credit,
    wallet_commission_move,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, User

logger = logging.getLogger(__name__)

# The referral code of the link a visitor followed, until they sign up (or the session ends).
REFERRAL_SESSION_KEY = "billing_referral_code"
# Short enough to read out over the phone, without look-alikes (0/O, 1/I/L): 31^8 codes.
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 8
HUNDRED = Decimal(100)


def commission_percent() -> Decimal:
    return Decimal(str(settings.REFERRAL_COMMISSION_PERCENT))


def commission_min_move() -> Decimal:
    return quantize_money(Decimal(str(settings.REFERRAL_MIN_MOVE)))


def commission_for(*, base: Decimal, percent: Decimal) -> Decimal:
    """The commission on an order's final value: base x percent / 100, half up (pure)."""
    if base <= 0 or percent <= 0:
        return ZERO
    return quantize_money(base * percent / HUNDRED)


# --- the link and sign-ups -----------------------------------------------------------------------


def referral_link_for(*, user: User | AbstractBaseUser) -> ReferralLink:
    """The customer's referral link, made on first use with a fresh random code."""
    link = ReferralLink.objects.filter(user_id=user.pk).first()
    if link is not None:
        return link
    for _attempt in range(5):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        try:
            with transaction.atomic():
                return ReferralLink.objects.create(user_id=user.pk, code=code)
        except IntegrityError:
            # A code collision, or the same customer's other request made it first.
            found = ReferralLink.objects.filter(user_id=user.pk).first()
            if found is not None:
                return found
    raise BillingError("Could not allocate a referral code; please try again.")


def referral_link_visit(*, code: str, count: bool = True) -> ReferralLink | None:
    """The link with this code, its visit counted (an UPDATE ... SET visits = visits + 1: no
    count lost between processes) unless `count` is False; None for a code that is nobody's."""
    code = (code or "").strip().lower()[:16]
    links = ReferralLink.objects.filter(code=code)
    if not code or (count and links.update(visits=F("visits") + 1) != 1):
        return None
    return links.first()


def referral_attach(*, referred: User | AbstractBaseUser, code: str | None) -> Referral | None:
    """Attribute a new customer to the owner of the link they came through. An unknown code, the
    customer's own, or a customer already attributed changes nothing (returns None)."""
    code = (code or "").strip().lower()[:16]
    if not code:
        return None
    link = ReferralLink.objects.filter(code=code).first()
    if link is None or link.user_id == referred.pk or not link.user.is_active:
        return None
    try:
        with transaction.atomic():
            return Referral.objects.create(referrer_id=link.user_id, referred_id=referred.pk)
    except IntegrityError:
        return None  # already referred: the first link a customer signed up through counts


# --- commission ----------------------------------------------------------------------------------


def commission_on_order_end(*, order_id: int, customer_id: int) -> Commission | None:
    """Credit the referrer of this order's customer with commission on the order's final value.

    Called once per order, inside the transaction that ends it and after its refund (see the
    module's docstring); safe to call again (the first commission is returned, nothing is
    written). None when the customer was not referred, or there is nothing to pay.
    """
    # One query for the customers nobody referred (most of them): the poll ends orders by the
    # hundred.
    referral = Referral.objects.filter(referred_id=customer_id).first()
    if referral is None:
        return None
    existing = Commission.objects.filter(order_id=order_id).first()
    if existing is not None:
        return existing
    percent = commission_percent()
    moved = (
        order_payment_entries()
        .filter(order_id=order_id)
        .aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]
    )
    base = quantize_money(-moved)  # the charge (negative) plus the refund: what it cost
    amount = commission_for(base=base, percent=percent)
    if amount <= 0:
        return None
    with transaction.atomic():
        entry = wallet_commission_credit(
            referrer_id=referral.referrer_id,
            order_id=order_id,
            amount=amount,
            memo=f"Commission on order #{order_id} ({percent} % of {base})",
        )
        return Commission.objects.create(
            order_id=order_id,
            referral=referral,
            percent=percent,
            base=base,
            amount=amount,
            entry=entry,
        )


@transaction.atomic
def commission_move(*, user: User, amount: Decimal) -> CommissionTransfer:
    """Move commission to the customer's balance (from REFERRAL_MIN_MOVE up): two ledger
    entries, one record. Raises BillingError (nothing moved) when refused."""
    out, into = wallet_commission_move(user=user, amount=amount, minimum=commission_min_move())
    return CommissionTransfer.objects.create(
        user=user, amount=into.amount, out_entry=out, in_entry=into
    )


# --- the referral page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralStats:
    link: ReferralLink
    visits: int
    signups: int
    spend: Decimal  # the referred customers' ended orders, charge less refund
    earned: Decimal  # all commission ever credited
    available: Decimal  # commission not yet moved (the commission wallet's balance)
    moved: Decimal
    percent: Decimal
    min_move: Decimal

    @property
    def can_move(self) -> bool:
        return self.available > 0 and self.available >= self.min_move


def referral_stats(*, user: User) -> ReferralStats:
    """Everything the referral page shows, a handful of queries whatever the numbers."""
    link = referral_link_for(user=user)
    referred = Referral.objects.filter(referrer=user)
    spent = (
        order_payment_entries()
        .filter(
            wallet__user__referral__referrer=user,
            wallet__kind=WalletKind.MAIN,
            order__finished_at__isnull=False,
        )
        .aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]
    )
    earned = Commission.objects.filter(referral__referrer=user).aggregate(
        total=Coalesce(Sum("amount"), ZERO)
    )["total"]
    moved = CommissionTransfer.objects.filter(user=user).aggregate(
        total=Coalesce(Sum("amount"), ZERO)
    )["total"]
    return ReferralStats(
        link=link,
        visits=link.visits,
        signups=referred.count(),
        spend=quantize_money(-spent),
        earned=quantize_money(earned),
        available=wallet_balance(user=user, kind=WalletKind.COMMISSION),
        moved=quantize_money(moved),
        percent=commission_percent(),
        min_move=commission_min_move(),
    )


def commission_entries(*, user: User) -> list[LedgerEntry]:
    """The customer's commission wallet's latest entries (credits, moves, corrections)."""
    return list(
        LedgerEntry.objects.filter(wallet__user=user, wallet__kind=WalletKind.COMMISSION).order_by(
            "-created_at", "-id"
        )[:50]
    )
