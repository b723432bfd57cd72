"""Referrals: the link, sign-ups through it, commission when a referred customer's order ends
(on charge - refund, once), moves of commission to the balance, and the ledger's audit of it."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from billing.models import (
    Commission,
    CommissionTransfer,
    EntryKind,
    LedgerEntry,
    Referral,
    ReferralLink,
    Wallet,
    WalletKind,
)
from billing.referrals import (
    commission_for,
    commission_move,
    commission_on_order_end,
    referral_attach,
    referral_link_for,
    referral_stats,
)
from billing.selectors import ledger_problems
from billing.services import BillingError, wallet_balance, wallet_commission_credit
from catalog.models import Service
from orders.polling import orders_poll
from orders.staff_actions import order_fail_and_refund
from tests.factories import PASSWORD, make_customer, make_staff, place_order

D = Decimal
LATER = 3 * 86400  # every sandbox order of these tests has ended by then
LINK = "https://tiktok.com/@user/video/"


@pytest.fixture(autouse=True)
def _referral_settings(settings: Any) -> None:
    settings.REFERRAL_COMMISSION_PERCENT = D("10")
    settings.REFERRAL_MIN_MOVE = D("1.00")


def referred_pair(*, balance: str = "100000") -> tuple[Any, Any]:
    referrer = make_customer()
    customer = make_customer(balance=balance)
    assert referral_attach(referred=customer, code=referral_link_for(user=referrer).code)
    return referrer, customer


def commission_balance(user: Any) -> Decimal:
    return wallet_balance(user=user, kind=WalletKind.COMMISSION)


def assert_ledger_clean() -> None:
    assert list(ledger_problems()) == []
    call_command("check_ledger", stdout=StringIO())


# --- the link and sign-ups -----------------------------------------------------------------------


def test_the_commission_is_the_percentage_of_the_final_value_half_up() -> None:
    assert commission_for(base=D("3.70"), percent=D("10")) == D("0.37")
    assert commission_for(base=D("0.05"), percent=D("10")) == D("0.01")  # 0.005 half up
    assert commission_for(base=D("0.04"), percent=D("10")) == D("0.00")
    assert commission_for(base=D("0"), percent=D("10")) == D("0.00")


@pytest.mark.django_db
def test_a_visit_through_the_link_is_counted_and_the_sign_up_attributed() -> None:
    referrer = make_customer()
    code = referral_link_for(user=referrer).code
    visitor = Client()
    visit = visitor.get(reverse("billing:referral_visit", args=[code]))
    assert visit.status_code == 302 and visit["Location"] == reverse("accounts:signup")
    visitor.get(reverse("billing:referral_visit", args=[code]))  # the same visitor again
    assert ReferralLink.objects.get(code=code).visits == 1
    response = visitor.post(
        reverse("accounts:signup"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "accept_terms": "on",
        },
    )
    assert response.status_code == 302
    referral = Referral.objects.get(referred__username="newbie")
    assert referral.referrer == referrer


@pytest.mark.django_db
def test_an_unknown_code_counts_nothing_and_attributes_nobody() -> None:
    visitor = Client()
    assert visitor.get("/r/nosuchcode/").status_code == 302
    customer = make_customer()
    assert referral_attach(referred=customer, code="nosuchcode") is None
    assert not Referral.objects.exists()


@pytest.mark.django_db
def test_nobody_refers_themselves_or_is_referred_twice() -> None:
    referrer, customer = referred_pair()
    assert referral_attach(referred=referrer, code=referral_link_for(user=referrer).code) is None
    other = make_customer()
    assert referral_attach(referred=customer, code=referral_link_for(user=other).code) is None
    assert Referral.objects.get(referred=customer).referrer == referrer


# --- commission on ended orders (over HTTP against the sandbox) ---------------------------------


@pytest.mark.django_db
def test_completed_and_partial_orders_leave_exactly_the_right_commission(
    sandbox: Any, catalog: dict[int, Service]
) -> None:
    # given a referred customer with a completed, a partial and a canceled order
    referrer, customer = referred_pair()
    completed = place_order(user=customer, service=catalog[101], link=LINK + "1", quantity=1000)
    partial = place_order(user=customer, service=catalog[101], link=LINK + "2", quantity=3000)
    canceled = place_order(user=customer, service=catalog[101], link=LINK + "3", quantity=1000)
    sandbox.set_fate(partial.upstream_id, status="Partial", remains=1234)
    sandbox.set_fate(canceled.upstream_id, status="Canceled")
    # when they end (polled twice: nothing is paid twice)
    sandbox.advance(LATER)
    orders_poll()
    orders_poll()
    for order in (completed, partial, canceled):
        order.refresh_from_db()
    assert (completed.state, partial.state, canceled.state) == ("completed", "partial", "canceled")
    # then the referrer earned 10 % of what each order finally cost, half up, once per order
    refund = LedgerEntry.objects.get(order=partial, kind=EntryKind.REFUND).amount
    assert refund == (partial.charge * 1234 / 3000).quantize(D("0.01"))
    expected = {
        completed.pk: (completed.charge * D("0.1")).quantize(D("0.01")),
        partial.pk: ((partial.charge - refund) * D("0.1")).quantize(D("0.01")),
    }
    got = dict(Commission.objects.values_list("order_id", "amount"))
    assert got == expected
    assert commission_balance(referrer) == sum(expected.values())
    assert LedgerEntry.objects.filter(kind=EntryKind.COMMISSION).count() == 2
    # and the page's numbers agree
    stats = referral_stats(user=referrer)
    assert stats.signups == 1
    assert stats.spend == completed.charge + partial.charge - refund
    assert stats.earned == stats.available == sum(expected.values())
    assert_ledger_clean()


@pytest.mark.django_db
def test_an_order_failed_and_refunded_in_full_earns_nothing(
    sandbox: Any, catalog: dict[int, Service]
) -> None:
    referrer, customer = referred_pair()
    order = place_order(
        user=customer, service=catalog[101], forward=False, link=LINK, quantity=1000
    )
    order_fail_and_refund(order_id=order.pk, actor=make_staff())
    assert not Commission.objects.exists() and commission_balance(referrer) == 0
    assert_ledger_clean()


@pytest.mark.django_db
def test_commission_is_written_at_most_once_per_order(
    sandbox: Any, catalog: dict[int, Service]
) -> None:
    referrer, customer = referred_pair()
    order = place_order(user=customer, service=catalog[101], link=LINK, quantity=1000)
    sandbox.advance(LATER)
    orders_poll()
    first = Commission.objects.get(order=order)
    # called again (a retry, a second worker): the same commission, nothing written
    assert commission_on_order_end(order_id=order.pk, customer_id=customer.pk) == first
    with pytest.raises(BillingError):
        wallet_commission_credit(referrer_id=referrer.pk, order_id=order.pk, amount=D("1"))
    # and the database refuses a second commission entry for the order, however it is written
    wallet = Wallet.objects.get(user=referrer, kind=WalletKind.COMMISSION)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            wallet=wallet,
            kind=EntryKind.COMMISSION,
            amount=D("1"),
            balance_after=D("2"),
            order=order,
        )
    assert commission_balance(referrer) == first.amount
    assert_ledger_clean()


@pytest.mark.django_db
def test_a_customer_nobody_referred_earns_nobody_anything(
    sandbox: Any, catalog: dict[int, Service]
) -> None:
    customer = make_customer(balance="100000")
    place_order(user=customer, service=catalog[101], link=LINK, quantity=1000)
    sandbox.advance(LATER)
    orders_poll()
    assert not Commission.objects.exists()
    assert not Wallet.objects.filter(kind=WalletKind.COMMISSION).exists()


# --- moving commission to the balance ------------------------------------------------------------


def earn(referrer: Any, customer: Any, sandbox: Any, service: Service, quantity: int) -> Decimal:
    order = place_order(
        user=customer, service=service, link=LINK + str(quantity), quantity=quantity
    )
    sandbox.advance(LATER)
    orders_poll()
    return Commission.objects.get(order=order).amount


@pytest.mark.django_db
def test_commission_moves_to_the_balance_as_two_entries(
    sandbox: Any, catalog: dict[int, Service], settings: Any
) -> None:
    referrer, customer = referred_pair()
    earned = earn(referrer, customer, sandbox, catalog[101], 10_000)  # 55,500 x 10 % = 5,550
    assert earned == D("5550.00")
    settings.REFERRAL_MIN_MOVE = D("2000.00")
    with pytest.raises(BillingError, match="smallest amount"):
        commission_move(user=referrer, amount=D("1999.99"))
    with pytest.raises(BillingError, match="Not enough"):
        commission_move(user=referrer, amount=D("5550.01"))
    transfer = commission_move(user=referrer, amount=D("5000.00"))
    balances = (commission_balance(referrer), wallet_balance(user=referrer))
    assert balances == (D("550.00"), D("5000.00"))
    assert (transfer.out_entry.amount, transfer.in_entry.amount) == (D("-5000.00"), D("5000.00"))
    assert transfer.out_entry.wallet.kind == WalletKind.COMMISSION
    assert transfer.in_entry.wallet.kind == WalletKind.MAIN
    assert CommissionTransfer.objects.count() == 1
    assert_ledger_clean()


@pytest.mark.django_db
def test_without_commission_there_is_nothing_to_move() -> None:
    with pytest.raises(BillingError):
        commission_move(user=make_customer(), amount=D("5"))
    assert (
        not LedgerEntry.objects.exists()
        or not LedgerEntry.objects.filter(
            kind__in=[EntryKind.COMMISSION_OUT, EntryKind.COMMISSION_IN]
        ).exists()
    )


@pytest.mark.django_db
def test_the_referral_page_shows_the_numbers_and_moves_commission(
    sandbox: Any, catalog: dict[int, Service]
) -> None:
    referrer, customer = referred_pair()
    earn(referrer, customer, sandbox, catalog[101], 10_000)
    ReferralLink.objects.filter(user=referrer).update(visits=7)
    client = Client()
    client.login(username=referrer.username, password=PASSWORD)
    page = client.get(reverse("billing:referrals")).content.decode()
    assert 'data-testid="referral-visits">7<' in page
    assert 'data-testid="referral-signups">1<' in page
    assert 'data-testid="referral-earned">5.550 ₫<' in page
    assert referral_link_for(user=referrer).code in page
    response = client.post(reverse("billing:commission_move"), {"amount": "5550"})
    assert response.status_code == 302
    assert wallet_balance(user=referrer) == D("5550.00") and commission_balance(referrer) == 0
    # a bad amount is an error on the page, and nothing moves
    response = client.post(reverse("billing:commission_move"), {"amount": "1"})
    assert response.status_code == 200 and "Not enough" in response.content.decode()
    assert_ledger_clean()


# --- the audit ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_check_ledger_flags_a_commission_that_is_not_its_orders(
    sandbox: Any, catalog: dict[int, Service]
) -> None:
    # a commission credited outside billing.referrals, for an order nobody referred
    customer = make_customer(balance="100000")
    order = place_order(user=customer, service=catalog[101], link=LINK, quantity=1000)
    stranger = make_customer()
    wallet_commission_credit(referrer_id=stranger.pk, order_id=order.pk, amount=D("0.37"))
    problems = list(ledger_problems())
    assert any("no commission record" in problem for problem in problems), problems
    with pytest.raises(CommandError):
        call_command("check_ledger", stdout=StringIO())
