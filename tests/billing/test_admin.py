"""Django admin: wallets with balance and ledger sum side by side, audited credits and debits,
a read-only ledger, API keys by prefix only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import EntryKind, LedgerEntry, Wallet
from billing.services import wallet_balance, wallet_deposit
from tests.factories import make_customer, make_staff

pytestmark = pytest.mark.django_db


def _adjust_url(user) -> str:  # type: ignore[no-untyped-def]
    return reverse("admin:billing_wallet_adjust", args=[Wallet.objects.get(user=user).pk])


def test_the_wallet_list_shows_balance_and_ledger_sum_in_a_constant_number_of_queries(
    admin_client: Client,
) -> None:
    url = reverse("admin:billing_wallet_changelist")
    for _ in range(3):
        make_customer(balance=1000)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for _ in range(20):
        wallet_deposit(user=make_customer(balance=1000), amount=Decimal("5"))
    broken = make_customer(username="broken", balance=2000)
    Wallet.objects.filter(user=broken).update(balance=Decimal("1"))

    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url)

    assert len(many) == len(few)
    page = response.content.decode()
    assert "1.005 ₫" in page and "2.000 ₫" in page
    wallets = {w.user.username: w for w in response.context["cl"].result_list}
    assert wallets["broken"].entries_sum == Decimal("2000.00") and wallets[
        "broken"
    ].balance == Decimal("1.00")


def test_a_wallet_cannot_be_added_edited_or_deleted_in_admin(admin_client: Client) -> None:
    wallet = Wallet.objects.get(user=make_customer(balance=100))

    assert admin_client.get(reverse("admin:billing_wallet_add")).status_code == 403
    admin_client.post(
        reverse("admin:billing_wallet_change", args=[wallet.pk]), {"balance": "999999"}
    )
    assert (
        admin_client.get(reverse("admin:billing_wallet_delete", args=[wallet.pk])).status_code
        == 403
    )

    wallet.refresh_from_db()
    assert wallet.balance == Decimal("100.00")


def test_crediting_a_wallet_writes_an_adjustment_with_author_and_reason_and_a_log_entry(
    admin_client: Client,
) -> None:
    user = make_customer(balance=100)
    admin = get_user_model().objects.get(username="admin")  # pytest-django's admin_client

    response = admin_client.post(
        _adjust_url(user), {"amount": "50000", "reason": "Compensation for order #12"}
    )

    assert response.status_code == 302
    entry = LedgerEntry.objects.filter(wallet__user=user).latest("id")
    assert (entry.kind, entry.amount, entry.created_by, entry.memo) == (
        EntryKind.ADJUSTMENT,
        Decimal("50000.00"),
        admin,
        "Compensation for order #12",
    )
    assert wallet_balance(user=user) == Decimal("50100.00")
    log = LogEntry.objects.get(object_id=str(Wallet.objects.get(user=user).pk), action_flag=CHANGE)
    assert "Compensation for order #12" in log.get_change_message() and log.user == admin


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": "500", "reason": "   "}, "reason"),  # a reason is required
        ({"amount": "0", "reason": "nothing"}, "amount"),
        ({"amount": "-100.01", "reason": "debit too much"}, "amount"),  # never below zero
    ],
)
def test_a_credit_or_debit_without_reason_or_beyond_the_balance_is_refused(
    admin_client: Client, data: dict[str, str], field: str
) -> None:
    user = make_customer(balance=100)

    response = admin_client.post(_adjust_url(user), data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert wallet_balance(user=user) == Decimal("100.00")
    assert not LogEntry.objects.exists()


def test_staff_without_the_adjust_permission_cannot_credit(client: Client) -> None:
    staff = make_staff(username="clerk", superuser=False)
    staff.user_permissions.add(Permission.objects.get(codename="view_wallet"))
    client.force_login(staff)
    user = make_customer()

    assert client.get(reverse("admin:billing_wallet_changelist")).status_code == 200
    assert (
        client.post(_adjust_url(user), {"amount": "1000", "reason": "why not"}).status_code == 403
    )
    assert wallet_balance(user=user) == Decimal("0.00")


def test_the_ledger_admin_is_read_only_and_searchable_by_order_id(admin_client: Client) -> None:
    user = make_customer(username="lan", balance=100)
    entry = LedgerEntry.objects.get(wallet__user=user)

    assert admin_client.get(reverse("admin:billing_ledgerentry_add")).status_code == 403
    assert (
        admin_client.get(reverse("admin:billing_ledgerentry_delete", args=[entry.pk])).status_code
        == 403
    )
    page = admin_client.get(
        reverse("admin:billing_ledgerentry_change", args=[entry.pk])
    ).content.decode()
    assert 'name="amount"' not in page  # displayed, not editable
    assert (
        admin_client.get(reverse("admin:billing_ledgerentry_changelist") + "?q=lan")
        .context["cl"]
        .result_count
        == 1
    )
    assert (
        admin_client.get(reverse("admin:billing_ledgerentry_changelist") + "?q=12345")
        .context["cl"]
        .result_count
        == 0
    )
    filtered = admin_client.get(
        reverse("admin:billing_ledgerentry_changelist")
        + f"?wallet__id__exact={entry.wallet_id}&kind__exact=deposit"
    )
    assert filtered.context["cl"].result_count == 1


def test_the_ledger_list_does_not_query_per_row(admin_client: Client) -> None:
    url = reverse("admin:billing_ledgerentry_changelist")
    make_customer(balance=10)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for _ in range(15):
        make_customer(balance=10)

    with CaptureQueriesContext(connection) as many:
        admin_client.get(url)

    assert len(many) == len(few)


def test_the_api_key_admin_shows_the_prefix_never_the_hash(admin_client: Client) -> None:
    user = make_customer()
    key = user.api_key

    page = admin_client.get(reverse("admin:accounts_apikey_changelist")).content.decode()

    assert f"{key.prefix}…" in page and key.key_hash not in page
    assert admin_client.get(reverse("admin:accounts_apikey_add")).status_code == 403


def test_the_credit_or_debit_page_shows_the_wallet_and_its_balance(admin_client: Client) -> None:
    user = make_customer(username="minh", balance=Decimal("12345"))

    response = admin_client.get(_adjust_url(user))

    assert response.status_code == 200
    page = response.content.decode()
    assert "minh" in page and "12.345 ₫" in page and 'name="reason"' in page


def test_the_wallet_action_leads_to_the_credit_or_debit_page_for_one_wallet(
    admin_client: Client,
) -> None:
    wallet = Wallet.objects.get(user=make_customer())
    url = reverse("admin:billing_wallet_changelist")

    response = admin_client.post(url, {"action": "adjust_action", "_selected_action": [wallet.pk]})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:billing_wallet_adjust", args=[wallet.pk])


def test_every_billing_admin_page_opens_for_a_superuser(admin_client: Client) -> None:
    from billing.services import topup_request_create

    user = make_customer(balance=100)
    topup = topup_request_create(user=user, amount=Decimal("10000"))
    entry = LedgerEntry.objects.get(wallet__user=user)
    pages = [
        reverse("admin:billing_wallet_change", args=[entry.wallet_id]),
        reverse("admin:billing_ledgerentry_change", args=[entry.pk]),
        reverse("admin:billing_topuprequest_change", args=[topup.pk]),
        reverse("admin:billing_topuprequest_changelist") + "?state__exact=pending",
        reverse("admin:accounts_apikey_change", args=[user.api_key.pk]),
    ]

    assert [admin_client.get(url).status_code for url in pages] == [200] * len(pages)
