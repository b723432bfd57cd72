"""A top-up request's life around bank notifications: deposit codes on the page and from the
command, cancelling, expiring, the status the page polls, and the demo bank of `make run`."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import segno
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import BankNotification, DepositCode, TopUpRequest
from billing.services import BillingError, topup_request_create, wallet_balance
from billing.tasks import topup_expire_task
from billing.transfers import deposit_code_for_user, topup_cancel
from billing.vietqr import vietqr_payload
from panel.staff import staff_attention, staff_order_counts
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_client(client: Client) -> Client:
    user = make_customer(username="thu")
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client


def test_create_customer_prints_the_deposit_code_before_the_api_key_line(settings: Any) -> None:
    settings.DEPOSIT_CODE_PREFIX = "SHOP"
    out = io.StringIO()

    call_command("create_customer", "minh", stdout=out)

    lines = out.getvalue().splitlines()
    code = DepositCode.objects.get(user__username="minh").code
    assert re.fullmatch(r"SHOP[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}", code)
    assert f"deposit code: {code}" in lines
    assert lines.index(f"deposit code: {code}") < len(lines) - 1
    assert re.fullmatch(r"[0-9a-f]{64}", lines[-1])  # the API key stays the last line


def test_a_deposit_code_is_permanent_and_unique_per_customer() -> None:
    one, two = make_customer(username="one"), make_customer(username="two")

    assert deposit_code_for_user(user=one) == deposit_code_for_user(user=one)
    assert deposit_code_for_user(user=one) != deposit_code_for_user(user=two)


def test_the_top_up_page_shows_the_deposit_code_with_a_vietqr_without_amount(
    customer_client: Client, settings: Any
) -> None:
    page = customer_client.get(reverse("billing:topup")).content.decode()
    code = DepositCode.objects.get(user=customer_client.user).code  # type: ignore[attr-defined]
    assert f'data-testid="deposit-code">{code}<' in page

    svg = customer_client.get(reverse("billing:deposit_qr"))
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    # A static VietQR (no amount: any sum, any time) with the code as the purpose.
    payload = vietqr_payload(
        bank_bin=settings.SHOP_BANK_BIN, account=settings.SHOP_BANK_ACCOUNT, purpose=code
    )
    assert "010211" in payload and "5406" not in payload
    expected = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(
        expected, kind="svg", scale=6, border=4, dark="#000", light="#fff", title=code
    )
    assert svg.content == expected.getvalue()


def test_a_customer_cancels_a_pending_request_and_only_their_own(
    customer_client: Client,
) -> None:
    mine = topup_request_create(user=customer_client.user, amount=Decimal("100000"))  # type: ignore[attr-defined]
    theirs = topup_request_create(user=make_customer(username="other"), amount=Decimal("100000"))

    response = customer_client.post(reverse("billing:topup_cancel", args=[mine.reference]))
    stranger = customer_client.post(reverse("billing:topup_cancel", args=[theirs.reference]))

    assert response.status_code == 302 and stranger.status_code == 404
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.state == TopUpRequest.State.CANCELED
    assert theirs.state == TopUpRequest.State.PENDING
    assert (
        customer_client.get(reverse("billing:topup_cancel", args=[mine.reference])).status_code
        == 405
    )


def test_a_credited_request_cannot_be_canceled() -> None:
    from billing.services import topup_confirm

    user = make_customer()
    topup = topup_request_create(user=user, amount=Decimal("100000"))
    topup_confirm(topup_id=topup.pk, confirmed_by=None)

    with pytest.raises(BillingError):
        topup_cancel(topup_id=topup.pk, user=user)
    assert wallet_balance(user=user) == Decimal("100000.00")


def test_unpaid_requests_expire_and_stop_counting_as_announced(settings: Any) -> None:
    settings.TOPUP_EXPIRE_HOURS = 24
    user = make_customer()
    old = topup_request_create(user=user, amount=Decimal("300000"))
    fresh = topup_request_create(user=user, amount=Decimal("100000"))
    TopUpRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))

    # even before the sweep runs, the old one is not announced money
    attention = staff_attention(counts=staff_order_counts())
    assert (attention.topups_pending, attention.topups_pending_amount) == (1, Decimal("100000"))

    assert topup_expire_task() == 1
    assert topup_expire_task() == 0
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.state == TopUpRequest.State.EXPIRED and fresh.state == TopUpRequest.State.PENDING


def test_the_status_the_page_polls_is_the_customers_own(customer_client: Client) -> None:
    mine = topup_request_create(user=customer_client.user, amount=Decimal("100000"))  # type: ignore[attr-defined]
    theirs = topup_request_create(user=make_customer(username="other"), amount=Decimal("100000"))

    status = customer_client.get(reverse("billing:topup_status", args=[mine.reference]))
    stranger = customer_client.get(reverse("billing:topup_status", args=[theirs.reference]))

    assert status.json() == {
        "state": "pending",
        "label": "Pending",
        "final": False,
        "received": None,
        "difference": None,
        "balance": "0 ₫",
    }
    assert stranger.status_code == 404


def test_the_demo_button_is_shown_only_with_the_demo_bank(
    customer_client: Client, settings: Any
) -> None:
    topup = topup_request_create(user=customer_client.user, amount=Decimal("100000"))  # type: ignore[attr-defined]
    url = reverse("billing:topup_detail", args=[topup.reference])

    settings.BANK_DEMO = False
    assert 'data-testid="demo-pay"' not in customer_client.get(url).content.decode()
    assert (
        customer_client.post(reverse("billing:topup_demo_pay", args=[topup.reference])).status_code
        == 404
    )
    settings.BANK_DEMO = True
    assert 'data-testid="demo-pay"' in customer_client.get(url).content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_demo_bank_sends_a_signed_sepay_notification_over_http(
    live_server: Any, settings: Any
) -> None:
    import requests

    settings.BANK_DEMO = True
    settings.SEPAY_WEBHOOK_KEY = "demo-key"
    user = make_customer(username="newcomer", password="a-Long-pass-123")
    topup = topup_request_create(user=user, amount=Decimal("100000"))
    session = requests.Session()
    session.get(f"{live_server.url}/accounts/login/")
    login = session.post(
        f"{live_server.url}/accounts/login/",
        data={
            "username": "newcomer",
            "password": "a-Long-pass-123",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{live_server.url}/accounts/login/"},
    )
    assert login.ok

    session.post(
        f"{live_server.url}/topup/{topup.reference}/demo-pay/",
        data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{live_server.url}/topup/{topup.reference}/"},
    )

    topup.refresh_from_db()
    assert topup.state == TopUpRequest.State.APPROVED
    assert wallet_balance(user=user) == Decimal("100000.00")
    assert BankNotification.objects.get().provider == "sepay"


def test_the_top_up_page_polls_the_customers_own_latest_transfer(
    customer_client: Client, settings: Any
) -> None:
    from billing.transfers import IncomingTransfer, bank_transfer_receive

    url = reverse("billing:topup_recent")
    assert customer_client.get(url).json() == {"balance": "0 ₫", "latest": None}
    other = make_customer(username="other")
    for user, amount, serial in ((customer_client.user, 120000, "1"), (other, 90000, "2")):  # type: ignore[attr-defined]
        bank_transfer_receive(
            incoming=IncomingTransfer(
                provider="sepay",
                provider_id=serial,
                reference=f"FT{serial}",
                amount=Decimal(amount),
                content=deposit_code_for_user(user=user),
            ),
            raw_body="{}",
        )

    data = customer_client.get(url).json()

    assert data["balance"] == "120.000 ₫" and data["latest"]["amount"] == "120.000 ₫"
