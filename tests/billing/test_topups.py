"""Top-ups by bank transfer: the request, the page with its VietQR code, crediting exactly once."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
import segno
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from billing.models import EntryKind, LedgerEntry, TopUpRequest
from billing.services import (
    BillingError,
    TopUpNotPending,
    topup_confirm,
    topup_reject,
    topup_request_create,
    wallet_balance,
)
from billing.vietqr import vietqr_payload
from tests.factories import make_customer, make_staff

pytestmark = pytest.mark.django_db
REFERENCE = re.compile(r"NAP[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{8}")


@pytest.fixture
def customer_client(client: Client):  # type: ignore[no-untyped-def]
    user = make_customer(username="thu")
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client


def test_asking_for_a_top_up_gives_a_unique_unambiguous_reference_and_credits_nothing() -> None:
    user = make_customer()

    references = {
        topup_request_create(user=user, amount=Decimal("100000")).reference for _ in range(5)
    }

    assert len(references) == 5
    assert all(REFERENCE.fullmatch(ref) for ref in references)
    assert wallet_balance(user=user) == Decimal("0.00")


@pytest.mark.parametrize("amount", ["9999", "100000001", "10000.50"])
def test_a_top_up_outside_the_bounds_or_in_fractions_of_a_dong_is_refused(amount: str) -> None:
    with pytest.raises(BillingError):
        topup_request_create(user=make_customer(), amount=Decimal(amount))

    assert not TopUpRequest.objects.exists()


def test_a_customer_cannot_pile_up_pending_top_ups() -> None:
    user = make_customer()
    for _ in range(5):
        topup_request_create(user=user, amount=Decimal("10000"))

    with pytest.raises(BillingError):
        topup_request_create(user=user, amount=Decimal("10000"))


def test_a_top_up_confirmed_twice_is_credited_once_with_the_same_entry() -> None:
    user, admin = make_customer(), make_staff(superuser=True)
    topup = topup_request_create(user=user, amount=Decimal("200000"))

    first = topup_confirm(topup_id=topup.pk, confirmed_by=admin)
    second = topup_confirm(topup_id=topup.pk, confirmed_by=admin)

    assert first.pk == second.pk
    assert (first.kind, first.amount, first.created_by) == (
        EntryKind.DEPOSIT,
        Decimal("200000.00"),
        admin,
    )
    assert topup.reference in first.memo
    assert wallet_balance(user=user) == Decimal("200000.00")
    topup.refresh_from_db()
    assert (topup.state, topup.entry_id, topup.decided_by) == (
        TopUpRequest.State.APPROVED,
        first.pk,
        admin,
    )


def test_a_rejected_top_up_is_never_credited_and_a_credited_one_never_rejected() -> None:
    user = make_customer()
    rejected = topup_request_create(user=user, amount=Decimal("10000"))
    credited = topup_request_create(user=user, amount=Decimal("20000"))

    topup_reject(topup_id=rejected.pk, rejected_by=None)
    topup_reject(topup_id=rejected.pk, rejected_by=None)  # harmless twice
    topup_confirm(topup_id=credited.pk, confirmed_by=None)

    with pytest.raises(TopUpNotPending):
        topup_confirm(topup_id=rejected.pk, confirmed_by=None)
    with pytest.raises(TopUpNotPending):
        topup_reject(topup_id=credited.pk, rejected_by=None)
    assert wallet_balance(user=user) == Decimal("20000.00")


def test_the_top_up_page_creates_a_request_from_a_vietnamese_style_amount(
    customer_client: Client,
) -> None:
    response = customer_client.post(reverse("billing:topup"), {"amount": "150.000"})

    topup = TopUpRequest.objects.get(user=customer_client.user)  # type: ignore[attr-defined]
    assert topup.amount == Decimal("150000")
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:topup_detail", args=[topup.reference])


@pytest.mark.parametrize("amount", ["5000", "abc", "1.5", "1.00.0"])
def test_the_top_up_page_refuses_a_bad_amount_with_an_error(
    customer_client: Client, amount: str
) -> None:
    response = customer_client.post(reverse("billing:topup"), {"amount": amount})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not TopUpRequest.objects.exists()


def test_the_transfer_page_shows_the_shops_account_the_amount_the_reference_and_the_qr(
    customer_client: Client,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.SHOP_BANK_NAME, settings.SHOP_BANK_ACCOUNT = "Techcombank", "19036578901011"
    settings.SHOP_BANK_ACCOUNT_NAME = "CONG TY SMM"
    topup = topup_request_create(user=customer_client.user, amount=Decimal("150000"))  # type: ignore[attr-defined]

    page = customer_client.get(
        reverse("billing:topup_detail", args=[topup.reference])
    ).content.decode()

    for text in ("Techcombank", "19036578901011", "CONG TY SMM", "150.000 ₫", topup.reference):
        assert text in page
    assert reverse("billing:topup_qr", args=[topup.reference]) in page
    assert "<script>" not in page and 'style="' not in page  # CSP: no inline script or style


def test_the_qr_code_is_a_local_svg_of_the_exact_vietqr_payload(
    customer_client: Client, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.SHOP_BANK_BIN, settings.SHOP_BANK_ACCOUNT = "970407", "19036578901011"
    topup = topup_request_create(user=customer_client.user, amount=Decimal("150000"))  # type: ignore[attr-defined]

    response = customer_client.get(reverse("billing:topup_qr", args=[topup.reference]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    # The same payload drawn by the same library gives the same picture: the code holds it.
    expected = io.BytesIO()
    payload = vietqr_payload(
        bank_bin="970407", account="19036578901011", amount=150000, purpose=topup.reference
    )
    segno.make(payload, error="m", micro=False).save(
        expected, kind="svg", scale=6, border=4, dark="#000", light="#fff", title=topup.reference
    )
    assert response.content == expected.getvalue()


def test_the_page_lists_pending_and_past_requests_of_this_customer_only(
    customer_client: Client,
) -> None:
    mine_pending = topup_request_create(user=customer_client.user, amount=Decimal("10000"))  # type: ignore[attr-defined]
    mine_done = topup_request_create(user=customer_client.user, amount=Decimal("20000"))  # type: ignore[attr-defined]
    topup_confirm(topup_id=mine_done.pk, confirmed_by=None)
    theirs = topup_request_create(user=make_customer(), amount=Decimal("30000"))

    response = customer_client.get(reverse("billing:topup"))

    assert [t.reference for t in response.context["pending"]] == [mine_pending.reference]
    assert [t.reference for t in response.context["past"]] == [mine_done.reference]
    assert theirs.reference not in response.content.decode()


def test_another_customers_top_up_and_its_qr_are_not_found(customer_client: Client) -> None:
    theirs = topup_request_create(user=make_customer(), amount=Decimal("30000"))

    assert (
        customer_client.get(reverse("billing:topup_detail", args=[theirs.reference])).status_code
        == 404
    )
    assert (
        customer_client.get(reverse("billing:topup_qr", args=[theirs.reference])).status_code == 404
    )


def test_approving_is_no_longer_a_bulk_action_of_the_list(admin_client: Client) -> None:
    user = make_customer()
    topup = topup_request_create(user=user, amount=Decimal("50000"))

    admin_client.post(
        reverse("admin:billing_topuprequest_changelist"),
        {"action": "approve", "_selected_action": [topup.pk]},
    )

    topup.refresh_from_db()
    assert topup.state == TopUpRequest.State.PENDING
    assert wallet_balance(user=user) == Decimal("0.00")


def test_staff_approve_on_the_requests_page_with_the_amount_received_once(
    admin_client: Client,
) -> None:
    # given a request for 50.000 ₫ whose bank statement shows 48.000 ₫
    user = make_customer()
    topup = topup_request_create(user=user, amount=Decimal("50000"))
    url = reverse("admin:billing_topuprequest_approve", args=[topup.pk])
    assert (
        url
        in admin_client.get(
            reverse("admin:billing_topuprequest_change", args=[topup.pk])
        ).content.decode()
    )
    page = admin_client.get(url)
    assert page.status_code == 200 and 'value="50000"' in page.content.decode()

    # when staff submit without confirming, nothing happens
    response = admin_client.post(url, {"received": "48.000"})
    assert response.status_code == 200 and wallet_balance(user=user) == Decimal("0.00")

    # when they confirm (twice: a double click)
    for _ in range(2):
        response = admin_client.post(url, {"received": "48.000", "confirm": "on"})
        assert response.status_code == 302

    # then 48.000 ₫ is credited once, the request is closed with who approved it
    topup.refresh_from_db()
    assert topup.state == TopUpRequest.State.APPROVED
    assert topup.received == Decimal("48000.00") and topup.difference == Decimal("-2000.00")
    assert topup.decided_by is not None and topup.decided_by.username == "admin"
    assert wallet_balance(user=user) == Decimal("48000.00")
    assert LedgerEntry.objects.filter(wallet__user=user, kind=EntryKind.DEPOSIT).count() == 1
    assert (
        LogEntry.objects.filter(
            object_id=str(topup.pk), change_message__startswith="Approved"
        ).count()
        == 1
    )


def test_staff_without_the_adjust_permission_cannot_approve(client: Client) -> None:
    staff = make_staff(username="viewer")
    staff.user_permissions.add(Permission.objects.get(codename="view_topuprequest"))  # type: ignore[attr-defined]
    client.force_login(staff)
    topup = topup_request_create(user=make_customer(), amount=Decimal("50000"))

    response = client.post(
        reverse("admin:billing_topuprequest_approve", args=[topup.pk]),
        {"received": "50000", "confirm": "on"},
    )

    assert response.status_code == 403
    topup.refresh_from_db()
    assert topup.state == TopUpRequest.State.PENDING


def test_admin_reject_action_rejects_without_crediting(admin_client: Client) -> None:
    user = make_customer()
    topup = topup_request_create(user=user, amount=Decimal("50000"))

    admin_client.post(
        reverse("admin:billing_topuprequest_changelist"),
        {"action": "reject", "_selected_action": [topup.pk]},
    )

    topup.refresh_from_db()
    assert topup.state == TopUpRequest.State.REJECTED
    assert wallet_balance(user=user) == Decimal("0.00")
