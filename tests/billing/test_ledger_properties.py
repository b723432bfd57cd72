"""Property-based: random sequences of deposits, charges, refunds and adjustments, checked step by
step against a reference model of what every balance must be.

Invariants after every step: balance == model == sum of entries, never negative, each entry's
balance_after chained on the previous one; one charge per order; refunds never above the
charge, and a refund applied twice counts once. At the end, `check_ledger` finds nothing.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from billing.models import EntryKind, LedgerEntry, Wallet
from billing.selectors import ledger_problems
from billing.services import (
    AlreadyCharged,
    BillingError,
    InsufficientFunds,
    RefundExceedsCharge,
    wallet_adjust,
    wallet_charge,
    wallet_deposit,
    wallet_refund,
)
from tests.factories import make_customer, make_order, make_service

CUSTOMERS = 3
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500000"), places=2)
signed_amounts = st.decimals(min_value=Decimal("-500000"), max_value=Decimal("500000"), places=2)
customer = st.integers(min_value=0, max_value=CUSTOMERS - 1)


class _Rollback(Exception):
    pass


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a savepoint rolled back at teardown: examples never see each other.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.service = make_service()
        self.users = [make_customer() for _ in range(CUSTOMERS)]
        self.model = [Decimal("0.00")] * CUSTOMERS  # the reference: what each balance must be
        self.charged: dict[int, tuple[int, Decimal]] = {}  # order id -> (customer, charge)
        self.refunded: dict[int, Decimal] = {}  # order id -> the one refund applied

    def teardown(self) -> None:
        try:
            assert list(ledger_problems()) == []
        finally:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)

    @rule(who=customer, amount=amounts)
    def deposit(self, who: int, amount: Decimal) -> None:
        wallet_deposit(user=self.users[who], amount=amount)
        self.model[who] += amount

    @rule(who=customer, amount=amounts)
    def charge(self, who: int, amount: Decimal) -> None:
        # As order_place does: the order and its charge commit together or not at all.
        affordable = self.model[who] >= amount
        try:
            with transaction.atomic():
                order = make_order(user=self.users[who], charge=amount, service=self.service)
                wallet_charge(user=self.users[who], amount=amount, order_id=order.pk)
        except InsufficientFunds:
            assert not affordable
            return
        assert affordable
        self.model[who] -= amount
        self.charged[order.pk] = (who, amount)

    @precondition(lambda self: self.charged)
    @rule(data=st.data())
    def charge_again(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.charged)))
        who, amount = self.charged[order_id]
        with pytest.raises(AlreadyCharged):
            wallet_charge(user=self.users[who], amount=amount, order_id=order_id)

    @precondition(lambda self: self.charged)
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.charged)))
        who, charge = self.charged[order_id]
        # Mostly within the charge, sometimes above it, sometimes exactly all of it or nothing.
        amount = data.draw(
            st.one_of(
                st.decimals(min_value=Decimal("0"), max_value=charge, places=2),
                st.just(charge),
                st.decimals(min_value=charge + Decimal("0.01"), max_value=charge * 2 + 1, places=2),
            )
        )
        if amount > charge:
            with pytest.raises(RefundExceedsCharge):
                wallet_refund(order_id=order_id, amount=amount)
            return
        entry = wallet_refund(order_id=order_id, amount=amount)
        if order_id in self.refunded or amount == 0:
            assert entry is None
            return
        assert entry is not None and entry.amount == amount
        self.refunded[order_id] = amount
        self.model[who] += amount

    @rule(who=customer, amount=signed_amounts)
    def adjust(self, who: int, amount: Decimal) -> None:
        if amount == 0:
            with pytest.raises(BillingError):
                wallet_adjust(user=self.users[who], amount=amount, memo="zero", created_by=None)
            return
        if self.model[who] + amount < 0:
            with pytest.raises(InsufficientFunds):
                wallet_adjust(user=self.users[who], amount=amount, memo="too much", created_by=None)
            return
        wallet_adjust(user=self.users[who], amount=amount, memo="correction", created_by=None)
        self.model[who] += amount

    @invariant()
    def balances_match_the_model_and_the_ledger(self) -> None:
        for who, user in enumerate(self.users):
            wallet = Wallet.objects.get(user=user)
            entries = list(wallet.entries.order_by("id").values_list("amount", "balance_after"))
            assert wallet.balance == self.model[who] >= 0
            assert sum((amount for amount, _ in entries), Decimal("0.00")) == wallet.balance
            running = Decimal("0.00")
            for amount, balance_after in entries:
                running += amount
                assert balance_after == running >= 0

    @invariant()
    def orders_are_charged_once_and_refunded_at_most_their_charge(self) -> None:
        users = [user.pk for user in self.users]
        per_order = (
            LedgerEntry.objects.filter(wallet__user__in=users, order__isnull=False)
            .values("order_id", "kind")
            .annotate(total=Sum("amount"))
        )
        charges = {r["order_id"]: -r["total"] for r in per_order if r["kind"] == EntryKind.CHARGE}
        refunds = {r["order_id"]: r["total"] for r in per_order if r["kind"] == EntryKind.REFUND}
        assert charges == {order_id: amount for order_id, (_, amount) in self.charged.items()}
        assert refunds == self.refunded
        assert all(refunds[order_id] <= charges[order_id] for order_id in refunds)


@pytest.mark.django_db
def test_random_sequences_of_money_operations_keep_every_ledger_invariant() -> None:
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            derandomize=False,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
