"""Real concurrency on PostgreSQL: threads with their own connections racing on one wallet.

SQLite serialises every writer, so these prove nothing there and run on PostgreSQL only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from billing.models import EntryKind, LedgerEntry
from billing.selectors import ledger_problems
from billing.services import (
    InsufficientFunds,
    topup_confirm,
    topup_request_create,
    wallet_balance,
    wallet_charge,
    wallet_deposit,
    wallet_refund,
)
from tests.factories import make_customer, make_order, make_service

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(workers: list[Callable[[], Any]]) -> list[Any]:
    """Run every worker in its own thread, all released at once; return results or exceptions."""
    barrier = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)

    def run(i: int, work: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = exc
        finally:
            connection.close()  # each thread has its own connection; give it back

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a worker hung: a lock was never released"
    return results


def test_twenty_concurrent_charges_on_a_wallet_that_affords_ten_never_overdraw() -> None:
    user = make_customer(balance=1000)
    service = make_service()

    def place_order() -> int:
        # As order_place does: the order and its charge in one transaction.
        with transaction.atomic():
            order = make_order(user=user, charge=100, service=service)
            wallet_charge(user=user, amount=Decimal("100"), order_id=order.pk)
            return order.pk

    results = _race([place_order] * 20)

    placed = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert (len(placed), len(refused)) == (10, 10), results
    assert wallet_balance(user=user) == Decimal("0.00")
    assert LedgerEntry.objects.filter(wallet__user=user, kind=EntryKind.CHARGE).count() == 10
    assert list(ledger_problems()) == []


def test_concurrent_deposits_and_charges_lose_no_update() -> None:
    user = make_customer(balance=500)
    service = make_service()
    orders = [make_order(user=user, charge=50, service=service).pk for _ in range(10)]

    deposits = [lambda: wallet_deposit(user=user, amount=Decimal("100"))] * 10
    charges = [
        lambda pk=pk: wallet_charge(user=user, amount=Decimal("50"), order_id=pk) for pk in orders
    ]
    results = _race(deposits + charges)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert wallet_balance(user=user) == Decimal("1000.00")  # 500 + 10 x 100 - 10 x 50
    assert list(ledger_problems()) == []


def test_a_refund_raced_by_ten_workers_is_applied_once() -> None:
    user = make_customer(balance=1000)
    order = make_order(user=user, charge=400)
    wallet_charge(user=user, amount=Decimal("400"), order_id=order.pk)

    results = _race([lambda: wallet_refund(order_id=order.pk, amount=Decimal("400"))] * 10)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len([r for r in results if r is not None]) == 1
    assert wallet_balance(user=user) == Decimal("1000.00")


def test_a_top_up_confirmed_by_ten_workers_at_once_is_credited_once() -> None:
    user = make_customer()
    topup = topup_request_create(user=user, amount=Decimal("300000"))

    results = _race([lambda: topup_confirm(topup_id=topup.pk, confirmed_by=None)] * 10)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({entry.pk for entry in results}) == 1
    assert wallet_balance(user=user) == Decimal("300000.00")
    assert LedgerEntry.objects.filter(wallet__user=user, kind=EntryKind.DEPOSIT).count() == 1
