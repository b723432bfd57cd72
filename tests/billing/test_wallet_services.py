"""The money services one by one: what each writes, and what each refuses without writing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from accounts.services import api_key_regenerate, api_key_user, customer_create
from billing.models import EntryKind, LedgerEntry, Wallet
from billing.selectors import order_refunded_amount
from billing.services import (
    AlreadyCharged,
    BillingError,
    InsufficientFunds,
    RefundExceedsCharge,
    wallet_adjust,
    wallet_balance,
    wallet_charge,
    wallet_deposit,
    wallet_refund,
)
from tests.factories import make_customer, make_order, make_staff

pytestmark = pytest.mark.django_db


def _entries(user) -> list[tuple[str, Decimal, Decimal]]:  # type: ignore[no-untyped-def]
    return list(
        LedgerEntry.objects.filter(wallet__user=user)
        .order_by("id")
        .values_list("kind", "amount", "balance_after")
    )


def test_a_deposit_is_rounded_half_up_and_recorded_with_the_balance_after() -> None:
    user = make_customer()

    entry = wallet_deposit(user=user, amount=Decimal("1000.005"), memo="bank")

    assert entry.amount == Decimal("1000.01") and entry.balance_after == Decimal("1000.01")
    assert wallet_balance(user=user) == Decimal("1000.01")


@pytest.mark.parametrize(
    "amount", [Decimal("0"), Decimal("-5"), Decimal("NaN"), Decimal("Infinity"), Decimal("1e20")]
)
def test_a_deposit_of_anything_but_a_sane_positive_amount_is_refused(amount: Decimal) -> None:
    user = make_customer()

    with pytest.raises(BillingError):
        wallet_deposit(user=user, amount=amount)

    assert _entries(user) == []


def test_a_charge_beyond_the_balance_changes_nothing() -> None:
    user = make_customer(balance=100)
    order = make_order(user=user, charge="100.01")

    with pytest.raises(InsufficientFunds) as refused:
        wallet_charge(user=user, amount=Decimal("100.01"), order_id=order.pk)

    assert refused.value.balance == Decimal("100.00") and refused.value.needed == Decimal("100.01")
    assert wallet_balance(user=user) == Decimal("100.00")
    assert [kind for kind, *_ in _entries(user)] == [EntryKind.DEPOSIT]


def test_a_charge_may_take_the_balance_to_exactly_zero() -> None:
    user = make_customer(balance=100)
    order = make_order(user=user, charge=100)

    entry = wallet_charge(user=user, amount=Decimal("100"), order_id=order.pk)

    assert (entry.kind, entry.amount, entry.balance_after, entry.order_id) == (
        EntryKind.CHARGE,
        Decimal("-100.00"),
        Decimal("0.00"),
        order.pk,
    )


def test_an_order_is_charged_once_and_a_second_charge_is_refused_without_writing() -> None:
    user = make_customer(balance=1000)
    order = make_order(user=user, charge=100)
    wallet_charge(user=user, amount=Decimal("100"), order_id=order.pk)

    with pytest.raises(AlreadyCharged):
        wallet_charge(user=user, amount=Decimal("100"), order_id=order.pk)

    assert wallet_balance(user=user) == Decimal("900.00")
    assert LedgerEntry.objects.filter(order=order).count() == 1


def test_a_refund_twice_is_applied_once_and_the_second_call_returns_none() -> None:
    user = make_customer(balance=1000)
    order = make_order(user=user, charge=300)
    wallet_charge(user=user, amount=Decimal("300"), order_id=order.pk)

    first = wallet_refund(order_id=order.pk, amount=Decimal("120"), memo="partial")
    second = wallet_refund(order_id=order.pk, amount=Decimal("120"), memo="partial")

    assert first is not None and first.balance_after == Decimal("820.00")
    assert second is None
    assert wallet_balance(user=user) == Decimal("820.00")
    assert order_refunded_amount(order_id=order.pk) == Decimal("120.00")


def test_a_refund_larger_than_the_charge_is_refused() -> None:
    user = make_customer(balance=1000)
    order = make_order(user=user, charge=300)
    wallet_charge(user=user, amount=Decimal("300"), order_id=order.pk)

    with pytest.raises(RefundExceedsCharge):
        wallet_refund(order_id=order.pk, amount=Decimal("300.01"))
    with pytest.raises(RefundExceedsCharge):
        wallet_refund(order_id=order.pk, amount=Decimal("-1"))

    assert wallet_balance(user=user) == Decimal("700.00")


def test_a_full_refund_restores_the_balance_and_a_zero_refund_writes_nothing() -> None:
    user = make_customer(balance=500)
    delivered, canceled = make_order(user=user, charge=100), make_order(user=user, charge=200)
    wallet_charge(user=user, amount=Decimal("100"), order_id=delivered.pk)
    wallet_charge(user=user, amount=Decimal("200"), order_id=canceled.pk)

    assert wallet_refund(order_id=delivered.pk, amount=Decimal("0")) is None
    assert wallet_refund(order_id=canceled.pk, amount=Decimal("200")) is not None

    assert wallet_balance(user=user) == Decimal("400.00")
    assert LedgerEntry.objects.filter(kind=EntryKind.REFUND).count() == 1


def test_a_refund_of_an_order_never_charged_is_refused() -> None:
    user = make_customer(balance=500)
    order = make_order(user=user, charge=100)

    with pytest.raises(BillingError):
        wallet_refund(order_id=order.pk, amount=Decimal("50"))

    assert wallet_balance(user=user) == Decimal("500.00")


def test_an_adjustment_needs_a_reason_and_records_its_author() -> None:
    user, admin = make_customer(balance=50), make_staff(superuser=True)

    with pytest.raises(BillingError):
        wallet_adjust(user=user, amount=Decimal("10"), memo="   ", created_by=admin)
    with pytest.raises(BillingError):
        wallet_adjust(user=user, amount=Decimal("0"), memo="nothing", created_by=admin)
    entry = wallet_adjust(
        user=user, amount=Decimal("-20"), memo="Goodwill reversed", created_by=admin
    )

    assert (entry.kind, entry.amount, entry.balance_after) == (
        EntryKind.ADJUSTMENT,
        Decimal("-20.00"),
        Decimal("30.00"),
    )
    assert entry.created_by == admin and entry.memo == "Goodwill reversed"


def test_a_debit_below_zero_is_refused() -> None:
    user = make_customer(balance=50)

    with pytest.raises(InsufficientFunds):
        wallet_adjust(user=user, amount=Decimal("-50.01"), memo="too much", created_by=None)

    assert wallet_balance(user=user) == Decimal("50.00")


def test_wallet_balance_reads_without_creating_a_wallet() -> None:
    from django.contrib.auth import get_user_model

    stranger = get_user_model().objects.create_user(username="no-wallet")

    assert wallet_balance(user=stranger) == Decimal("0.00")
    assert not Wallet.objects.filter(user=stranger).exists()


def test_a_service_error_inside_the_callers_transaction_leaves_it_usable() -> None:
    # order_place charges inside its own transaction: a refused charge must not poison it.
    user = make_customer(balance=10)
    order = make_order(user=user, charge=100)

    with transaction.atomic():
        with pytest.raises(InsufficientFunds):
            wallet_charge(user=user, amount=Decimal("100"), order_id=order.pk)
        wallet_deposit(user=user, amount=Decimal("5"))

    assert wallet_balance(user=user) == Decimal("15.00")


def test_customer_create_refuses_a_taken_name_whatever_its_case_and_a_bad_name() -> None:
    make_customer(username="Alice")

    with pytest.raises(BillingError):
        customer_create(username="alice")
    with pytest.raises(BillingError):
        customer_create(username="al ice!")


def test_an_api_key_authenticates_until_it_is_regenerated() -> None:
    user, key = customer_create(
        username="bob", email="bob@example.com", password="x-long-password-1"
    )

    assert api_key_user(raw=key) == user
    new_key = api_key_regenerate(user=user)

    assert api_key_user(raw=key) is None
    assert api_key_user(raw=new_key) == user
    assert api_key_user(raw="") is None and api_key_user(raw="x" * 500) is None
    user.is_active = False
    user.save()
    assert api_key_user(raw=new_key) is None


def test_the_api_key_is_stored_only_as_a_hash_and_a_prefix() -> None:
    user, key = customer_create(username="carol")

    stored = user.api_key
    assert key not in (stored.key_hash, stored.prefix)
    assert key.startswith(stored.prefix) and len(stored.prefix) == 8


def test_the_first_deposit_of_a_user_without_a_wallet_creates_it() -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="made-in-admin")

    wallet_deposit(user=user, amount=Decimal("10"))

    assert Wallet.objects.get(user=user).balance == Decimal("10.00")


def test_refunds_of_many_orders_are_read_in_one_query(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    from billing.selectors import order_refunds

    user = make_customer(balance=1000)
    refunded, kept = make_order(user=user, charge=100), make_order(user=user, charge=100)
    for order in (refunded, kept):
        wallet_charge(user=user, amount=Decimal("100"), order_id=order.pk)
    wallet_refund(order_id=refunded.pk, amount=Decimal("40"))

    with django_assert_num_queries(1):
        refunds = order_refunds(order_ids=[refunded.pk, kept.pk])

    assert refunds == {refunded.pk: Decimal("40.00")}


def test_the_refunded_amount_reads_the_same_in_lists_pages_and_the_admin() -> None:
    from billing.selectors import order_refunded_expression, order_refunds
    from orders.models import Order

    user = make_customer(balance=1000)
    refunded, kept = make_order(user=user, charge=100), make_order(user=user, charge=100)
    for order in (refunded, kept):
        wallet_charge(user=user, amount=Decimal("100"), order_id=order.pk)
    wallet_refund(order_id=refunded.pk, amount=Decimal("40"))

    annotated = dict(
        Order.objects.filter(pk__in=[refunded.pk, kept.pk])
        .annotate(refunded=order_refunded_expression())
        .values_list("pk", "refunded")
    )

    assert annotated == {refunded.pk: Decimal("40.00"), kept.pk: Decimal("0.00")}
    assert order_refunded_amount(order_id=refunded.pk) == Decimal("40.00")
    assert order_refunded_amount(order_id=kept.pk) == Decimal("0")
    assert order_refunds(order_ids=[refunded.pk, kept.pk]) == {refunded.pk: Decimal("40.00")}
