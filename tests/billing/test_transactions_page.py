"""The customer's transactions page: own entries only, filterable, paginated, constant queries."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.services import (
    topup_confirm,
    topup_request_create,
    wallet_adjust,
    wallet_charge,
    wallet_deposit,
    wallet_refund,
)
from tests.factories import make_customer, make_order, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(client: Client):  # type: ignore[no-untyped-def]
    user = make_customer(username="khanh", balance=1_000_000)
    client.force_login(user)
    return user


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_page_shows_only_the_customers_own_entries(client: Client, customer) -> None:  # type: ignore[no-untyped-def]
    wallet_deposit(user=customer, amount=Decimal("5000"), memo="mine-memo")
    wallet_deposit(user=make_customer(), amount=Decimal("7000"), memo="their-memo")

    response = client.get(reverse("billing:transactions"))

    page = response.content.decode()
    assert "mine-memo" in page and "their-memo" not in page
    assert {entry.wallet.user_id for entry in response.context["page"].object_list} == {customer.pk}


def test_each_entry_shows_its_amount_balance_after_order_and_memo(client: Client, customer) -> None:  # type: ignore[no-untyped-def]
    order = make_order(user=customer, charge="130000")
    wallet_charge(user=customer, amount=Decimal("130000"), order_id=order.pk, memo="Order placed")
    wallet_refund(order_id=order.pk, amount=Decimal("30000"), memo="Partial")

    page = client.get(reverse("billing:transactions")).content.decode()

    assert "-130.000 ₫" in page and "+30.000 ₫" in page  # amounts, signed
    assert "870.000 ₫" in page and "900.000 ₫" in page  # balances after
    assert f"Order #{order.pk}" in page and f"Refund for order #{order.pk}" in page


def test_times_are_shown_in_the_shops_time_zone(client: Client, customer) -> None:  # type: ignore[no-untyped-def]
    with mock.patch(
        "django.utils.timezone.now", return_value=datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    ):
        wallet_deposit(user=customer, amount=Decimal("1"))

    page = client.get(reverse("billing:transactions")).content.decode()

    assert (
        'datetime="2026-03-02T00:30:00+07:00"' in page
    )  # 17:30 UTC is 00:30 the next day in Hà Nội


def test_the_page_filters_by_kind_and_keeps_the_filter_across_pages(
    client: Client, customer
) -> None:  # type: ignore[no-untyped-def]
    service = make_service()
    for _ in range(55):
        wallet_charge(
            user=customer,
            amount=Decimal("10"),
            order_id=make_order(user=customer, charge=10, service=service).pk,
        )

    charges = client.get(reverse("billing:transactions") + "?kind=charge")
    deposits = client.get(reverse("billing:transactions") + "?kind=deposit")

    assert charges.context["page"].paginator.count == 55
    assert len(charges.context["page"].object_list) == 50
    assert "?kind=charge&amp;page=2" in charges.content.decode()
    assert [e.kind for e in deposits.context["page"].object_list] == ["deposit"]
    # An unknown kind is ignored rather than an error.
    assert (
        client.get(reverse("billing:transactions") + "?kind=bogus").context["page"].paginator.count
        == 56
    )


def test_the_number_of_queries_does_not_grow_with_the_entries(client: Client, customer) -> None:  # type: ignore[no-untyped-def]
    url = reverse("billing:transactions")
    few = _queries(client, url)
    service = make_service()
    for _ in range(60):
        order = make_order(user=customer, charge=10, service=service)
        wallet_charge(user=customer, amount=Decimal("10"), order_id=order.pk)
        wallet_refund(order_id=order.pk, amount=Decimal("5"))

    many = _queries(client, url)

    assert many == few
    assert many <= 6  # session, user, balance, count, page


def test_customers_read_descriptions_derived_from_the_entry_not_the_stored_memo(
    client: Client, customer
) -> None:  # type: ignore[no-untyped-def]
    # given a charge and a refund whose memos are English data, a credited bank transfer, and an
    # adjustment typed by an admin
    order = make_order(user=customer, charge="1000")
    wallet_charge(user=customer, amount=Decimal("1000"), order_id=order.pk, memo="stored-charge")
    wallet_refund(order_id=order.pk, amount=Decimal("400"), memo="stored-refund")
    topup = topup_request_create(user=customer, amount=Decimal("50000"))
    topup_confirm(topup_id=topup.pk, confirmed_by=None)
    wallet_adjust(
        user=customer, amount=Decimal("5"), memo="Goodwill for the delay", created_by=None
    )

    # when the customer opens the transactions page
    page = client.get(reverse("billing:transactions")).content.decode()

    # then each reads what the entry is, and only the admin's own words are shown as typed
    assert f"Order #{order.pk}" in page and f"Refund for order #{order.pk}" in page
    assert f"Bank transfer {topup.reference}" in page and "Goodwill for the delay" in page
    assert "stored-charge" not in page and "stored-refund" not in page


def test_the_descriptions_go_through_the_translation_catalog(client: Client, customer) -> None:  # type: ignore[no-untyped-def]
    # given every kind of derived description (the opening balance of 1.000.000 ₫ among them)
    order = make_order(user=customer, charge="1000")
    wallet_charge(user=customer, amount=Decimal("1000"), order_id=order.pk)
    wallet_refund(order_id=order.pk, amount=Decimal("400"))
    topup = topup_request_create(user=customer, amount=Decimal("50000"))
    topup_confirm(topup_id=topup.pk, confirmed_by=None)

    # when the catalog translates (a stand-in that marks every string it is asked for)
    with mock.patch("billing.models.gettext", side_effect=lambda text: f"[vi] {text}"):
        page = client.get(reverse("billing:transactions")).content.decode()

    # then every description was asked of it, placeholders filled after translating
    assert f"[vi] Order #{order.pk}" in page
    assert f"[vi] Refund for order #{order.pk}" in page
    assert f"[vi] Bank transfer {topup.reference}" in page
    assert "[vi] Opening balance" in page
