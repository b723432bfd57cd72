"""Deposits under faults: a database failure in the middle of a credit, a late payment for a
request that expired or was canceled, a notification for a rejected request. Money is never
lost and never credited twice; `check_ledger` stays clean (tests/faults/conftest.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from billing import services
from billing.models import BankNotification, BankTransfer, TopUpRequest
from billing.services import topup_reject, topup_request_create, wallet_balance
from billing.transfers import deposit_code_for_user, topup_cancel, topup_expire_stale
from tests.invariants import assert_money_invariants

from .world import Clock

pytestmark = pytest.mark.django_db
KEY = "fault-sepay-key"


@pytest.fixture(autouse=True)
def _sepay(settings: Any) -> None:
    settings.SEPAY_WEBHOOK_KEY = KEY
    settings.DEPOSIT_BONUS_TIERS = "100000:10"


def deliver(content: str, amount: int, serial: int) -> int:
    client = Client(raise_request_exception=False)
    body = {
        "id": serial,
        "transferType": "in",
        "transferAmount": amount,
        "content": content,
        "referenceCode": f"FT{serial}",
    }
    return client.post(
        "/webhooks/sepay/",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Apikey {KEY}"},
    ).status_code


def test_a_database_failure_mid_credit_credits_nothing_and_the_retry_credits_once(
    customer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = deposit_code_for_user(user=customer)
    before = wallet_balance(user=customer)
    real_write = services._write
    calls = {"n": 0}

    def failing_bonus(**kwargs: Any) -> Any:
        # the deposit is written, then the database fails on the bonus entry
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return real_write(**kwargs)

    monkeypatch.setattr(services, "_write", failing_bonus)

    assert deliver(code, 200000, 1) == 500
    assert wallet_balance(user=customer) == before
    assert not BankTransfer.objects.exists()  # rolled back with the credit: the retry is new
    assert BankNotification.objects.get().outcome == BankNotification.Outcome.REFUSED

    assert deliver(code, 200000, 1) == 200  # SePay's retry
    assert deliver(code, 200000, 1) == 200  # and another
    assert wallet_balance(user=customer) == before + Decimal("220000.00")
    assert_money_invariants()


def test_money_for_an_expired_or_canceled_request_is_still_credited_once(
    customer: Any, clock: Clock
) -> None:
    expired = topup_request_create(user=customer, amount=Decimal("100000"))
    canceled = topup_request_create(user=customer, amount=Decimal("50000"))
    topup_cancel(topup_id=canceled.pk, user=customer)
    clock.advance(hours=30)
    assert topup_expire_stale() == 1
    before = wallet_balance(user=customer)

    assert deliver(f"{expired.reference} ck", 100000, 2) == 200
    assert deliver(f"{canceled.reference} ck", 50000, 3) == 200
    assert deliver(f"{canceled.reference} ck", 50000, 3) == 200

    expired.refresh_from_db()
    canceled.refresh_from_db()
    assert expired.state == canceled.state == TopUpRequest.State.APPROVED
    assert wallet_balance(user=customer) == before + Decimal("160000.00")  # +10 % on 100.000
    assert_money_invariants()


def test_money_for_a_rejected_request_is_credited_to_its_customer_as_a_plain_deposit(
    customer: Any, staff: Any
) -> None:
    topup = topup_request_create(user=customer, amount=Decimal("80000"))
    topup_reject(topup_id=topup.pk, rejected_by=staff)
    before = wallet_balance(user=customer)

    assert deliver(topup.reference, 80000, 4) == 200

    topup.refresh_from_db()
    assert topup.state == TopUpRequest.State.REJECTED and topup.entry is None
    assert wallet_balance(user=customer) == before + Decimal("80000.00")
    assert BankTransfer.objects.get().state == BankTransfer.State.CREDITED
    assert_money_invariants()


def test_the_expiry_sweep_never_touches_a_request_credited_meanwhile(
    customer: Any, clock: Clock
) -> None:
    topup = topup_request_create(user=customer, amount=Decimal("30000"))
    assert deliver(topup.reference, 30000, 5) == 200
    clock.advance(hours=48)

    assert topup_expire_stale() == 0
    topup.refresh_from_db()
    assert topup.state == TopUpRequest.State.APPROVED
    assert topup.created_at < clock.now() - timedelta(hours=24)
