"""`manage.py check_ledger` finds each corruption, names it, exits non-zero, writes nothing."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import EntryKind, LedgerEntry, TopUpRequest, Wallet
from billing.services import topup_confirm, wallet_charge, wallet_deposit, wallet_refund
from tests.factories import make_customer, make_order, make_service

pytestmark = pytest.mark.django_db


def _check() -> tuple[bool, str]:
    out = StringIO()
    try:
        call_command("check_ledger", stdout=out)
    except CommandError:  # what `manage.py` turns into exit status 1
        return False, out.getvalue()
    return True, out.getvalue()


def _busy_ledger(customers: int = 3) -> list:  # type: ignore[type-arg]
    service = make_service()
    users = []
    for _ in range(customers):
        user = make_customer(balance=1000)
        order = make_order(user=user, charge=300, service=service)
        wallet_charge(user=user, amount=Decimal("300"), order_id=order.pk)
        wallet_refund(order_id=order.pk, amount=Decimal("100"))
        users.append(user)
    return users


def test_a_consistent_ledger_passes() -> None:
    _busy_ledger()

    ok, output = _check()

    assert ok, output
    assert "Ledger OK" in output


def test_a_corrupted_balance_is_found_and_its_wallet_named() -> None:
    alice, bob, _carol = _busy_ledger()
    # Given a balance changed behind the services' back (the database allows any value >= 0).
    Wallet.objects.filter(user=bob).update(balance=Decimal("5000"))

    ok, output = _check()

    assert not ok
    wallet = Wallet.objects.get(user=bob)
    assert (
        f"wallet {wallet.pk} ({bob.username}): balance 5000.00 != sum of entries 800.00" in output
    )
    assert alice.username not in output  # only the broken wallet is reported


def test_a_broken_balance_after_chain_is_found() -> None:
    (user,) = _busy_ledger(customers=1)
    wallet = Wallet.objects.get(user=user)
    # An entry written directly, its balance_after not following from the previous one.
    bad = LedgerEntry.objects.create(
        wallet=wallet, kind=EntryKind.ADJUSTMENT, amount=Decimal("10"), balance_after=Decimal("999")
    )

    ok, output = _check()

    assert not ok
    assert f"entry {bad.pk} has balance_after 999.00, expected 810.00" in output


def test_a_refund_above_the_charge_and_a_charge_on_another_customers_wallet_are_found() -> None:
    alice, bob = make_customer(balance=1000), make_customer(balance=1000)
    alices_order = make_order(user=alice, charge=100)
    wallet_charge(user=bob, amount=Decimal("100"), order_id=alices_order.pk)  # the wrong wallet
    wallet = Wallet.objects.get(user=bob)
    LedgerEntry.objects.create(
        wallet=wallet,
        kind=EntryKind.REFUND,
        amount=Decimal("150"),
        balance_after=Decimal("1050"),
        order=alices_order,
    )
    Wallet.objects.filter(pk=wallet.pk).update(balance=Decimal("1050"))

    ok, output = _check()

    assert not ok
    assert f"order {alices_order.pk}: refunded 150.00 > charged 100.00" in output
    assert f"concerns order {alices_order.pk} of another customer" in output


def test_a_top_up_credited_with_the_wrong_amount_is_found() -> None:
    user = make_customer()
    topup = TopUpRequest.objects.create(
        user=user, amount=Decimal("50000"), reference="NAPWRONG0001"
    )
    topup_confirm(topup_id=topup.pk, confirmed_by=None)
    stray = wallet_deposit(user=user, amount=Decimal("1"))
    TopUpRequest.objects.filter(pk=topup.pk).update(entry=stray)

    ok, output = _check()

    assert not ok
    assert "top-up NAPWRONG0001" in output


def test_the_check_changes_nothing() -> None:
    _busy_ledger()
    Wallet.objects.filter(pk=Wallet.objects.first().pk).update(balance=Decimal("1"))
    before = list(Wallet.objects.order_by("pk").values_list("balance", "updated_at"))
    entries = LedgerEntry.objects.count()

    _check()

    assert list(Wallet.objects.order_by("pk").values_list("balance", "updated_at")) == before
    assert LedgerEntry.objects.count() == entries


def test_the_number_of_queries_does_not_grow_with_the_ledger(django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    users = _busy_ledger(customers=25)
    Wallet.objects.filter(user__in=users[:10]).update(balance=Decimal("1"))

    # 8 for the ledger and the top-ups, 2 for bank transfers (issue 14), 3 for referral
    # commissions and their moves.
    with django_assert_max_num_queries(13):
        ok, output = _check()

    assert not ok
    assert output.count("!= sum of entries") == 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_check_runs_in_a_read_only_transaction(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from django.db import InternalError

    make_customer(balance=100)

    def sneaky_write():  # type: ignore[no-untyped-def]
        Wallet.objects.update(balance=Decimal("1"))
        yield from ()

    monkeypatch.setattr("billing.management.commands.check_ledger.ledger_problems", sneaky_write)

    with pytest.raises(InternalError, match="read-only transaction"):
        call_command("check_ledger", stdout=StringIO())
    assert Wallet.objects.get().balance == Decimal("100.00")
