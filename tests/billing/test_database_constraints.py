"""The database itself refuses what the services never do: a bypass fails loudly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.models import EntryKind, LedgerEntry, TopUpRequest, Wallet
from billing.services import wallet_charge, wallet_refund
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


def _charged_order(balance: int = 1000, charge: int = 300):  # type: ignore[no-untyped-def]
    user = make_customer(balance=balance)
    order = make_order(user=user, charge=charge)
    entry = wallet_charge(user=user, amount=Decimal(charge), order_id=order.pk)
    return user, order, entry


def test_a_raw_update_to_a_negative_balance_is_rejected_by_the_database() -> None:
    user = make_customer(balance=10)

    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(user=user).update(balance=Decimal("-0.01"))

    assert Wallet.objects.get(user=user).balance == Decimal("10.00")


def test_saving_a_wallet_with_a_negative_balance_is_rejected_by_the_database() -> None:
    wallet = Wallet.objects.get(user=make_customer())
    wallet.balance = Decimal("-1")

    with pytest.raises(IntegrityError), transaction.atomic():
        wallet.save()


def test_a_second_refund_of_an_order_written_directly_is_rejected_by_the_database() -> None:
    _user, order, charge = _charged_order()
    first = wallet_refund(order_id=order.pk, amount=Decimal("100"))
    assert first is not None

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            wallet_id=charge.wallet_id,
            kind=EntryKind.REFUND,
            amount=Decimal("100"),
            balance_after=first.balance_after + 100,
            order=order,
        )

    assert LedgerEntry.objects.filter(order=order, kind=EntryKind.REFUND).count() == 1


def test_a_second_charge_of_an_order_written_directly_is_rejected_by_the_database() -> None:
    _user, order, charge = _charged_order()

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            wallet_id=charge.wallet_id,
            kind=EntryKind.CHARGE,
            amount=Decimal("-300"),
            balance_after=Decimal("400"),
            order=order,
        )


@pytest.mark.parametrize(
    ("kind", "amount", "with_order"),
    [
        (EntryKind.CHARGE, Decimal("5"), True),  # a charge that adds money
        (EntryKind.DEPOSIT, Decimal("-5"), False),  # a deposit that takes money
        (EntryKind.ADJUSTMENT, Decimal("0"), False),  # an entry that changes nothing
        (EntryKind.REFUND, Decimal("5"), False),  # a refund of no order
    ],
)
def test_an_entry_that_contradicts_its_kind_is_rejected_by_the_database(
    kind: str, amount: Decimal, with_order: bool
) -> None:
    user = make_customer(balance=100)
    order = make_order(user=user, charge=10) if with_order else None

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            wallet=Wallet.objects.get(user=user),
            kind=kind,
            amount=amount,
            balance_after=Decimal("100"),
            order=order,
        )


def test_rewriting_a_ledger_entry_is_rejected_by_the_database() -> None:
    _user, _order, charge = _charged_order()

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.filter(pk=charge.pk).update(amount=Decimal("-1"))

    charge.refresh_from_db()
    assert charge.amount == Decimal("-300.00")


@pytest.mark.postgres
def test_deleting_a_ledger_entry_is_rejected_by_postgresql() -> None:
    user = make_customer(balance=100)
    entry = LedgerEntry.objects.get(wallet__user=user)

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()

    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_an_approved_top_up_without_its_entry_is_rejected_by_the_database() -> None:
    user = make_customer()

    with pytest.raises(IntegrityError), transaction.atomic():
        TopUpRequest.objects.create(
            user=user, amount=Decimal("10000"), reference="NAPTEST0001", state="approved"
        )
