"""Every write of bank-transfer top-ups (issue 14): deposit codes, notified transfers, the inbox,
staff assigning what matched nobody, customers cancelling requests, requests expiring.

Why a module of its own and not more of billing/services.py: services.py is the wallet and
ledger (the only writer of balances); this module decides *whose* money a transfer is and
calls services.py to move it. It stays in billing because it knows only billing's rows (top-up
requests, deposit codes, wallets): nothing here needs orders or catalog.

Exactly once, whatever happens: the BankTransfer row is inserted *before* anything is credited,
in the same transaction as the credit. The database refuses a second row for one provider
transaction id, and for one bank reference (the same money reported by SePay and by Casso).
A concurrent delivery blocks on the first one's unique index entry until it commits, then
fails the insert and is recorded as a duplicate; if the first rolled back, the second credits.

Lock order, as in services.py: the transfer's row, then a top-up request's row, then the wallet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.money import quantize_money

from .deposits import find_codes, new_deposit_code
from .models import BankNotification, BankTransfer, DepositCode, LedgerEntry, TopUpRequest
from .services import (
    BillingError,
    TopUpNotPending,
    deposit_with_bonus,
    topup_close_credited,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Outcome = BankNotification.Outcome
# An unauthenticated caller chooses the body: keep enough to investigate, not a disk's worth.
RAW_BODY_KEPT = 16_000


def deposit_code_for_user(*, user: User) -> str:
    """The customer's permanent deposit code, made on first use."""
    existing = DepositCode.objects.filter(user=user).values_list("code", flat=True).first()
    if existing:
        return existing
    for _attempt in range(5):
        try:
            with transaction.atomic():
                code = new_deposit_code(settings.DEPOSIT_CODE_PREFIX)
                return DepositCode.objects.create(user=user, code=code).code
        except IntegrityError:
            # Another request made this customer's code first, or (rarely) a code collision.
            existing = DepositCode.objects.filter(user=user).values_list("code", flat=True).first()
            if existing:
                return existing
    raise BillingError(_("Could not allocate a deposit code; please try again."))


@dataclass(frozen=True)
class IncomingTransfer:
    """One bank transaction as a provider described it, parsed by billing.webhooks."""

    provider: str
    provider_id: str
    reference: str
    amount: Decimal  # signed: negative is money leaving the account
    content: str
    account_number: str = ""
    transaction_time: str = ""


def bank_notification_record(
    *,
    provider: str,
    outcome: str,
    raw_body: str,
    remote_addr: str = "",
    detail: str = "",
    transfer: BankTransfer | None = None,
) -> BankNotification:
    """One line of the inbox: what came in, verbatim (capped), and what became of it."""
    return BankNotification.objects.create(
        provider=provider,
        outcome=outcome,
        detail=detail[:500],
        raw_body=raw_body[:RAW_BODY_KEPT],
        remote_addr=remote_addr[:64],
        transfer=transfer,
    )


def _already_received(incoming: IncomingTransfer) -> BankTransfer | None:
    same = Q(provider=incoming.provider, provider_id=incoming.provider_id)
    if incoming.reference:
        same |= Q(reference=incoming.reference)
    return BankTransfer.objects.filter(same).order_by("pk").first()


def bank_transfer_receive(
    *, incoming: IncomingTransfer, raw_body: str, remote_addr: str = ""
) -> BankNotification:
    """Record a notified transaction and credit it at most once; returns its inbox line.

    Outgoing and zero transfers are ignored, a transfer nobody's code is in is kept unmatched
    for staff, a repeat (same provider id or same bank reference) is a duplicate.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: the duplicate path goes on after it
                transfer = BankTransfer.objects.create(
                    provider=incoming.provider,
                    provider_id=incoming.provider_id[:64],
                    reference=incoming.reference[:64],
                    amount=quantize_money(incoming.amount),
                    content=incoming.content,
                    account_number=incoming.account_number[:32],
                    transaction_time=incoming.transaction_time[:32],
                    state=BankTransfer.State.UNMATCHED,
                )
        except IntegrityError:
            existing = _already_received(incoming)
            if existing is None:  # not a repeat: some other constraint, a bug to see
                raise
            return bank_notification_record(
                provider=incoming.provider,
                outcome=Outcome.DUPLICATE,
                raw_body=raw_body,
                remote_addr=remote_addr,
                detail=f"Already received as bank transfer #{existing.pk}.",
                transfer=existing,
            )
        outcome, detail = _settle(transfer)
        return bank_notification_record(
            provider=incoming.provider,
            outcome=outcome,
            raw_body=raw_body,
            remote_addr=remote_addr,
            detail=detail,
            transfer=transfer,
        )


def _settle(transfer: BankTransfer) -> tuple[str, str]:
    """Decide a freshly inserted transfer: ignore, leave unmatched, or credit. In the caller's
    transaction, with the transfer's row just inserted (so held by it)."""
    if transfer.amount <= 0:
        transfer.state = BankTransfer.State.IGNORED
        transfer.note = "Outgoing transfer." if transfer.amount < 0 else "Zero amount."
        transfer.save(update_fields=["state", "note"])
        return Outcome.IGNORED, transfer.note

    found = find_codes(transfer.content, prefix=settings.DEPOSIT_CODE_PREFIX)
    topups = list(
        TopUpRequest.objects.filter(reference__in=found.requests)
        .order_by("pk")
        .values_list("pk", "user_id", "reference")
    )
    codes = list(
        DepositCode.objects.filter(code__in=found.deposits)
        .order_by("pk")
        .values_list("user_id", "code")
    )
    users = {user_id for _pk, user_id, _ref in topups} | {user_id for user_id, _code in codes}
    problem = ""
    if not users:
        problem = "No deposit code or request code in the content."
    elif len(users) > 1 or len(topups) > 1:
        # Never guessed: two customers' codes (or two requests) in one transfer go to a person.
        problem = "Codes of more than one customer or request: " + ", ".join(
            [ref for _pk, _uid, ref in topups] + [code for _uid, code in codes]
        )
    if problem:
        transfer.note = problem
        transfer.save(update_fields=["note"])
        return Outcome.UNMATCHED, problem

    if topups:
        topup_pk, _uid, code = topups[0]
        topup = TopUpRequest.objects.select_for_update().select_related("user").get(pk=topup_pk)
        if topup.state == TopUpRequest.State.APPROVED:
            # Staff approved it by hand already: this may be the same money, seen twice.
            transfer.matched_code = code
            transfer.note = f"Request {code} was already credited; check before assigning."
            transfer.save(update_fields=["matched_code", "note"])
            return Outcome.UNMATCHED, transfer.note
        if topup.state != TopUpRequest.State.REJECTED:
            entry = topup_close_credited(topup=topup, received=transfer.amount, confirmed_by=None)
            _mark_credited(
                transfer, user=topup.user, entry=entry, bonus_entry=topup.bonus_entry, code=code
            )
            transfer.topup = topup
            transfer.save(update_fields=["topup"])
            difference = transfer.amount - topup.amount
            detail = f"Request {code} credited" + (
                f" (received {difference:+} VND against the amount asked)." if difference else "."
            )
            return Outcome.CREDITED, detail
        # A rejected request stays rejected; the money is still the customer's (the code says
        # whose): credit the wallet as a plain deposit.
        user = topup.user
    else:
        code = codes[0][1]
        user = DepositCode.objects.select_related("user").get(code=code).user
    entry, bonus_entry = deposit_with_bonus(
        user=user, amount=transfer.amount, memo=f"Bank transfer {_label(transfer)} ({code})"
    )
    _mark_credited(transfer, user=user, entry=entry, bonus_entry=bonus_entry, code=code)
    return Outcome.CREDITED, f"Code {code} credited to {user}."


def _label(transfer: BankTransfer) -> str:
    return transfer.reference or f"{transfer.provider}:{transfer.provider_id}"


def _mark_credited(
    transfer: BankTransfer,
    *,
    user: User,
    entry: LedgerEntry,
    bonus_entry: LedgerEntry | None,
    code: str,
    assigned_by: User | None = None,
    note: str = "",
) -> None:
    transfer.state = BankTransfer.State.CREDITED
    transfer.user = user
    transfer.entry = entry
    transfer.bonus_entry = bonus_entry
    transfer.matched_code = code
    transfer.assigned_by = assigned_by
    transfer.note = note[:500]
    transfer.credited_at = timezone.now()
    transfer.save(
        update_fields=[
            "state",
            "user",
            "entry",
            "bonus_entry",
            "matched_code",
            "assigned_by",
            "note",
            "credited_at",
        ]
    )


@transaction.atomic
def bank_transfer_assign(
    *, transfer_id: int, user: User, reason: str, assigned_by: User
) -> LedgerEntry:
    """Staff give an unmatched transfer to a customer: credited once, with who and why recorded.

    The transfer's row is locked, so two staff members assigning at once credit it once; the
    second gets a BillingError.
    """
    reason = reason.strip()
    if not reason:
        raise BillingError(_("A reason is required."))
    transfer = BankTransfer.objects.select_for_update().get(pk=transfer_id)
    if transfer.state == BankTransfer.State.CREDITED:
        raise BillingError(_("This transfer was already credited."))
    if transfer.state != BankTransfer.State.UNMATCHED or transfer.amount <= 0:
        raise BillingError(_("Only an unmatched incoming transfer can be assigned."))
    entry, bonus_entry = deposit_with_bonus(
        user=user,
        amount=transfer.amount,
        memo=f"Bank transfer {_label(transfer)} assigned: {reason}",
        created_by=assigned_by,
    )
    _mark_credited(
        transfer,
        user=user,
        entry=entry,
        bonus_entry=bonus_entry,
        code=transfer.matched_code,
        assigned_by=assigned_by,
        note=reason,
    )
    return entry


@transaction.atomic
def topup_cancel(*, topup_id: int, user: User) -> TopUpRequest:
    """The customer gives up a request they no longer want. Money that still arrives for it is
    credited all the same (the code says whose it is)."""
    topup = TopUpRequest.objects.select_for_update().get(pk=topup_id, user=user)
    if topup.state == TopUpRequest.State.CANCELED:
        return topup
    if topup.state != TopUpRequest.State.PENDING:
        raise TopUpNotPending(_("This top-up is no longer waiting; it cannot be canceled."))
    topup.state = TopUpRequest.State.CANCELED
    topup.decided_by = user
    topup.decided_at = timezone.now()
    topup.save(update_fields=["state", "decided_by", "decided_at"])
    return topup


def topup_expire_stale(*, now: datetime | None = None) -> int:
    """Close requests nobody paid within TOPUP_EXPIRE_HOURS; returns how many.

    One conditional UPDATE: a request credited meanwhile is no longer pending and is left
    alone, and an expired one can still be credited if its money turns up late.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.TOPUP_EXPIRE_HOURS)
    return TopUpRequest.objects.filter(
        state=TopUpRequest.State.PENDING, created_at__lt=cutoff
    ).update(state=TopUpRequest.State.EXPIRED, decided_at=now)
