"""SePay and Casso notifications over real HTTP (pytest-django's live server): authentication,
matching, exactly-once credit, the inbox, bonus tiers and staff assignment."""

from __future__ import annotations

import itertools
import json
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import Client
from django.urls import reverse

from billing.deposits import casso_signature
from billing.models import (
    BankNotification,
    BankTransfer,
    EntryKind,
    LedgerEntry,
    TopUpRequest,
)
from billing.selectors import ledger_problems
from billing.services import topup_request_create, wallet_balance
from billing.transfers import deposit_code_for_user
from tests.factories import make_customer, make_staff

pytestmark = pytest.mark.django_db(transaction=True)

SEPAY_KEY = "sepay-test-key-4f9a"
CASSO_KEY = "casso-test-checksum-key"
Outcome = BankNotification.Outcome
_ids = itertools.count(9000)


@pytest.fixture
def bank(settings: Any, live_server: Any) -> str:
    settings.SEPAY_WEBHOOK_KEY = SEPAY_KEY
    settings.CASSO_CHECKSUM_KEY = CASSO_KEY
    settings.DEPOSIT_BONUS_TIERS = ""
    return str(live_server.url)


def sepay_body(content: str, amount: int = 200000, **over: Any) -> dict[str, Any]:
    serial = next(_ids)
    body = {
        "id": serial,
        "gateway": "Vietcombank",
        "transactionDate": "2026-12-03 14:02:37",
        "accountNumber": "0123456789",
        "code": None,
        "content": content,
        "transferType": "in",
        "transferAmount": amount,
        "accumulated": 19077000,
        "subAccount": None,
        "referenceCode": f"FT2633{serial}",
        "description": f"BankAPINotify {content}",
    }
    body.update(over)
    return body


def post_sepay(url: str, body: dict[str, Any], key: str | None = SEPAY_KEY) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Apikey {key}"
    return requests.post(
        f"{url}/webhooks/sepay/", data=json.dumps(body), headers=headers, timeout=10
    )


def casso_data(description: str, amount: int = 200000, **over: Any) -> dict[str, Any]:
    serial = next(_ids)
    data = {
        "id": serial,
        "reference": f"FT2633{serial}",
        "description": description,
        "amount": amount,
        "runningBalance": 25000000,
        "transactionDateTime": "2026-12-03 15:06:37",
        "accountNumber": "0123456789",
        "bankName": "Vietcombank",
        "bankAbbreviation": "VCB",
        "virtualAccountNumber": "",
        "virtualAccountName": "",
        "counterAccountName": "NGUYỄN VĂN A",
        "counterAccountNumber": "8888888888",
        "counterAccountBankId": "970415",
        "counterAccountBankName": "VietinBank",
    }
    data.update(over)
    return data


def post_casso(
    url: str,
    data: dict[str, Any],
    *,
    key: str = CASSO_KEY,
    timestamp_ms: int | None = None,
    signature: str | None = None,
) -> requests.Response:
    body = {"error": 0, "data": data}
    t = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    v1 = signature or casso_signature(key=key, timestamp=t, payload=body)
    return requests.post(
        f"{url}/webhooks/casso/",
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "X-Casso-Signature": f"t={t},v1={v1}"},
        timeout=10,
    )


def outcomes() -> list[str]:
    return list(BankNotification.objects.order_by("pk").values_list("outcome", flat=True))


# --- authentication --------------------------------------------------------------------------


def test_sepay_with_its_key_credits_the_customer_whose_deposit_code_is_in_the_content(
    bank: str,
) -> None:
    user = make_customer(username="lan")
    code = deposit_code_for_user(user=user)

    response = post_sepay(bank, sepay_body(f"MBVCB.1234.{code.lower()}.CT tu 0123 LAN"))

    assert response.status_code == 200 and response.json()["success"] is True
    assert wallet_balance(user=user) == Decimal("200000.00")
    entry = LedgerEntry.objects.get(wallet__user=user)
    assert entry.kind == EntryKind.DEPOSIT
    transfer = BankTransfer.objects.get()
    assert entry.bank_transfer == transfer  # the entry points to the bank transaction
    assert transfer.state == BankTransfer.State.CREDITED and transfer.matched_code == code
    notification = BankNotification.objects.get()
    assert notification.outcome == Outcome.CREDITED
    assert f"{code.lower()}" in notification.raw_body  # kept verbatim


@pytest.mark.parametrize(
    "authorization",
    [None, "Apikey wrong-key", f"Bearer {SEPAY_KEY}", f"Apikey {SEPAY_KEY}x", "Apikey "],
)
def test_sepay_with_a_wrong_or_missing_key_gets_401_and_credits_nothing(
    bank: str, authorization: str | None
) -> None:
    user = make_customer()
    code = deposit_code_for_user(user=user)
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization

    response = requests.post(
        f"{bank}/webhooks/sepay/", data=json.dumps(sepay_body(code)), headers=headers, timeout=10
    )

    assert response.status_code == 401
    assert wallet_balance(user=user) == Decimal("0.00")
    assert not BankTransfer.objects.exists()
    assert outcomes() == [Outcome.REFUSED]


def test_a_receiver_whose_key_is_not_configured_is_switched_off(bank: str, settings: Any) -> None:
    settings.SEPAY_WEBHOOK_KEY = ""
    settings.CASSO_CHECKSUM_KEY = ""
    user = make_customer()
    code = deposit_code_for_user(user=user)

    assert post_sepay(bank, sepay_body(code), key="").status_code == 404
    assert post_casso(bank, casso_data(code), key="").status_code == 404
    assert wallet_balance(user=user) == Decimal("0.00")
    assert not BankNotification.objects.exists()


def test_casso_with_a_valid_signature_credits_the_customer(bank: str) -> None:
    user = make_customer()
    code = deposit_code_for_user(user=user)

    response = post_casso(bank, casso_data(f"Chuyển tiền {code} cảm ơn", amount=150000))

    assert response.status_code == 200
    assert wallet_balance(user=user) == Decimal("150000.00")
    assert BankTransfer.objects.get().provider == "casso"
    assert outcomes() == [Outcome.CREDITED]


def test_casso_with_a_forged_signature_gets_401_and_credits_nothing(bank: str) -> None:
    user = make_customer()
    code = deposit_code_for_user(user=user)

    forged = post_casso(bank, casso_data(code), key="not-the-shops-key")
    garbage = post_casso(bank, casso_data(code), signature="ab" * 64)

    assert (forged.status_code, garbage.status_code) == (401, 401)
    assert wallet_balance(user=user) == Decimal("0.00")
    assert outcomes() == [Outcome.REFUSED, Outcome.REFUSED]


@pytest.mark.parametrize("skew_seconds", [-600, 600])
def test_casso_outside_the_timestamp_window_is_a_replay_and_refused(
    bank: str, skew_seconds: int
) -> None:
    # given a correctly signed notification captured 10 minutes ago (or dated in the future)
    user = make_customer()
    code = deposit_code_for_user(user=user)
    stamp = int((time.time() + skew_seconds) * 1000)

    response = post_casso(bank, casso_data(code), timestamp_ms=stamp)

    assert response.status_code == 401
    assert wallet_balance(user=user) == Decimal("0.00")
    notification = BankNotification.objects.get()
    assert notification.outcome == Outcome.REFUSED and "timestamp" in notification.detail


# --- exactly once -----------------------------------------------------------------------------


def test_the_same_transaction_three_times_and_from_both_services_credits_once(bank: str) -> None:
    user = make_customer()
    code = deposit_code_for_user(user=user)
    body = sepay_body(f"{code} nap tien")

    answers = [post_sepay(bank, body).status_code for _ in range(3)]
    # ...and Casso reports the same bank transaction (same bank reference) under its own id.
    answers.append(post_casso(bank, casso_data(code, reference=body["referenceCode"])).status_code)

    assert answers == [200, 200, 200, 200]
    assert wallet_balance(user=user) == Decimal("200000.00")
    assert BankTransfer.objects.count() == 1
    assert outcomes() == [Outcome.CREDITED] + [Outcome.DUPLICATE] * 3
    assert list(ledger_problems()) == []


@pytest.mark.postgres
def test_concurrent_deliveries_of_one_transaction_credit_once(bank: str) -> None:
    user = make_customer()
    code = deposit_code_for_user(user=user)
    body = sepay_body(f"{code}")
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def deliver() -> None:
        barrier.wait(timeout=10)
        statuses.append(post_sepay(bank, body).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert statuses == [200] * 6
    assert connection.vendor == "postgresql"
    assert wallet_balance(user=user) == Decimal("200000.00")
    assert LedgerEntry.objects.filter(wallet__user=user).count() == 1
    assert sorted(outcomes()) == [Outcome.CREDITED] + [Outcome.DUPLICATE] * 5
    assert list(ledger_problems()) == []


# --- what credits nothing ---------------------------------------------------------------------


def test_outgoing_zero_and_unmatched_transfers_credit_nothing_and_are_kept(bank: str) -> None:
    user = make_customer()
    code = deposit_code_for_user(user=user)

    answers = [
        post_sepay(bank, sepay_body(code, transferType="out")).status_code,
        post_casso(bank, casso_data(code, amount=-50000)).status_code,
        post_sepay(bank, sepay_body(code, amount=0)).status_code,
        post_sepay(bank, sepay_body("tien an trua khong ma")).status_code,
        post_sepay(bank, sepay_body("NTZZZZZZ NAPZZZZZZZZ codes nobody has")).status_code,
    ]

    assert answers == [200] * 5
    assert wallet_balance(user=user) == Decimal("0.00")
    assert outcomes() == [Outcome.IGNORED] * 3 + [Outcome.UNMATCHED] * 2
    states = list(BankTransfer.objects.order_by("pk").values_list("state", flat=True))
    assert states == ["ignored"] * 3 + ["unmatched"] * 2
    assert BankTransfer.objects.order_by("pk")[0].amount == Decimal("-200000.00")


def test_codes_of_two_customers_in_one_transfer_are_never_guessed(bank: str) -> None:
    one, two = make_customer(username="one"), make_customer(username="two")
    text = f"{deposit_code_for_user(user=one)} {deposit_code_for_user(user=two)}"

    assert post_sepay(bank, sepay_body(text)).status_code == 200

    assert outcomes() == [Outcome.UNMATCHED]
    assert wallet_balance(user=one) == wallet_balance(user=two) == Decimal("0.00")


# --- request codes ------------------------------------------------------------------------------


def test_a_request_code_closes_the_request_and_credits_what_arrived_even_if_different(
    bank: str, client: Client
) -> None:
    user = make_customer()
    topup = topup_request_create(user=user, amount=Decimal("500000"))
    # The bank lower-cased it, stripped the punctuation around it and added its own words.
    mangled = f"IBFT {topup.reference.lower()}chuyen khoan tu NGUYEN VAN A"

    assert post_sepay(bank, sepay_body(mangled, amount=450000)).status_code == 200

    topup.refresh_from_db()
    assert topup.state == TopUpRequest.State.APPROVED
    assert topup.received == Decimal("450000.00")
    assert topup.entry is not None and topup.entry.amount == Decimal("450000.00")
    assert wallet_balance(user=user) == Decimal("450000.00")
    assert BankTransfer.objects.get().topup == topup
    # the customer sees what arrived and the difference
    client.force_login(user)
    status = client.get(reverse("billing:topup_status", args=[topup.reference])).json()
    assert status["state"] == "approved" and status["final"] is True
    assert status["received"] == "450.000 ₫" and status["difference"] == "-50.000 ₫"
    page = client.get(reverse("billing:topup_detail", args=[topup.reference])).content.decode()
    assert "450.000 ₫" in page and "-50.000 ₫" in page
    assert list(ledger_problems()) == []


def test_money_for_a_request_staff_already_approved_goes_to_a_person(bank: str) -> None:
    from billing.services import topup_confirm

    user = make_customer()
    topup = topup_request_create(user=user, amount=Decimal("100000"))
    topup_confirm(topup_id=topup.pk, confirmed_by=make_staff())

    assert post_sepay(bank, sepay_body(topup.reference, amount=100000)).status_code == 200

    assert wallet_balance(user=user) == Decimal("100000.00")
    assert outcomes() == [Outcome.UNMATCHED]


# --- bonus tiers ------------------------------------------------------------------------------


def test_deposit_bonus_tiers_add_their_own_ledger_entry(bank: str, settings: Any) -> None:
    settings.DEPOSIT_BONUS_TIERS = "1000000:3,5000000:5"
    small, middle, big = (make_customer(username=n) for n in ("small", "middle", "big"))

    post_sepay(bank, sepay_body(deposit_code_for_user(user=small), amount=999000))
    post_sepay(bank, sepay_body(deposit_code_for_user(user=middle), amount=2000000))
    topup = topup_request_create(user=big, amount=Decimal("5000000"))
    post_casso(bank, casso_data(topup.reference, amount=5000000))

    assert wallet_balance(user=small) == Decimal("999000.00")
    assert wallet_balance(user=middle) == Decimal("2060000.00")
    assert wallet_balance(user=big) == Decimal("5250000.00")
    bonuses = LedgerEntry.objects.filter(kind=EntryKind.DEPOSIT_BONUS).order_by("pk")
    assert [(e.wallet.user.username, e.amount) for e in bonuses] == [
        ("middle", Decimal("60000.00")),
        ("big", Decimal("250000.00")),
    ]
    # money received stays apart from the gift
    deposits = LedgerEntry.objects.filter(kind=EntryKind.DEPOSIT).order_by("pk")
    assert [e.amount for e in deposits] == [
        Decimal("999000.00"),
        Decimal("2000000.00"),
        Decimal("5000000.00"),
    ]
    assert list(ledger_problems()) == []


# --- staff ------------------------------------------------------------------------------------


def test_staff_assign_an_unmatched_transfer_which_credits_once_with_the_reason(
    bank: str, client: Client
) -> None:
    customer = make_customer(username="khach")
    post_sepay(bank, sepay_body("chuyen tien cho shop", amount=300000))
    transfer = BankTransfer.objects.get()
    assert transfer.state == BankTransfer.State.UNMATCHED
    staff = make_staff(username="boss", superuser=True)
    client.force_login(staff)
    url = reverse("admin:billing_banktransfer_assign", args=[transfer.pk])

    no_reason = client.post(url, {"username": "khach", "reason": "  "})
    first = client.post(url, {"username": "khach", "reason": "Khách gửi ảnh chụp biên lai"})
    second = client.post(url, {"username": "khach", "reason": "again"})

    assert no_reason.status_code == 200
    assert first.status_code == 302
    assert second.status_code == 200 and "already credited" in second.content.decode()
    transfer.refresh_from_db()
    assert transfer.state == BankTransfer.State.CREDITED and transfer.user == customer
    assert transfer.assigned_by == staff and transfer.note == "Khách gửi ảnh chụp biên lai"
    assert wallet_balance(user=customer) == Decimal("300000.00")
    assert LogEntry.objects.filter(object_id=str(transfer.pk)).count() == 1
    # ...and the same notification delivered again, or replayed by staff, credits nothing more
    notification = BankNotification.objects.get()
    assert post_sepay(bank, json.loads(notification.raw_body)).status_code == 200
    client.post(
        reverse("admin:billing_banknotification_changelist"),
        {"action": "replay", "_selected_action": [notification.pk]},
    )
    assert wallet_balance(user=customer) == Decimal("300000.00")
    assert outcomes() == [Outcome.UNMATCHED, Outcome.DUPLICATE, Outcome.DUPLICATE]


def test_the_inbox_and_the_dashboard_show_notifications_and_unmatched_transfers(
    bank: str, client: Client
) -> None:
    post_sepay(bank, sepay_body("no code at all", amount=120000))
    post_sepay(bank, sepay_body("x"), key="wrong")
    client.force_login(make_staff(username="boss", superuser=True))

    inbox = client.get(reverse("admin:billing_banknotification_changelist")).content.decode()
    dashboard = client.get(reverse("staff_dashboard")).content.decode()

    assert "Unmatched" in inbox and "Refused" in inbox
    assert 'data-testid="transfers-unmatched"' in dashboard
    assert "120.000 ₫ matched no customer" in dashboard
