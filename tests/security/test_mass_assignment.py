"""Mass assignment: fields a form or the API does not offer (balance, price, rate, charge, state,
owner, upstream id, staff flags) change nothing when they are posted anyway."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.models import Profile
from billing.models import LedgerEntry, TopUpRequest
from billing.services import wallet_balance
from orders.models import Order, OrderState
from panel.money import charge_for

from .conftest import World, logged_in

pytestmark = pytest.mark.django_db

# What an attacker would like to set, with values that would be worth it.
EXTRA = {
    "balance": "999999999",
    "amount_credited": "999999999",
    "price": "0.0001",
    "rate": "0.0001",
    "sell_rate": "0.0001",
    "charge": "0.01",
    "cost": "0",
    "state": "completed",
    "status": "Completed",
    "upstream_id": "1",
    "is_staff": "on",
    "is_superuser": "on",
    "is_active": "on",
    "groups": "1",
    "user_permissions": "1",
    "entry": "1",
    "decided_by": "1",
}


def test_signing_up_with_extra_fields_makes_a_plain_customer_with_nothing_in_the_wallet() -> None:
    victim = get_user_model().objects.create_user("victim", password="x")
    client = Client()
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "newcomer",
            "email": "newcomer@example.com",
            "password1": "a-Long-unusual-passphrase-93",
            "password2": "a-Long-unusual-passphrase-93",
            "accept_terms": "on",
            **EXTRA,
            "user": str(victim.pk),
            "id": str(victim.pk),
            "pk": str(victim.pk),
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newcomer")
    assert (
        user.is_staff,
        user.is_superuser,
        user.groups.count(),
        user.user_permissions.count(),
    ) == (
        False,
        False,
        0,
        0,
    )
    assert wallet_balance(user=user) == 0
    assert not LedgerEntry.objects.filter(wallet__user=user).exists()
    victim.refresh_from_db()
    assert victim.username == "victim"


def test_saving_the_account_page_with_extra_fields_changes_only_the_offered_ones(
    world: World,
) -> None:
    user = world.a.user
    balance = wallet_balance(user=user)
    entries = LedgerEntry.objects.count()
    b_language = Profile.objects.get(user=world.b.user).language
    client = logged_in(user)
    response = client.post(
        reverse("accounts:account"),
        {
            "email": "alice.new@example.com",
            "language": "en",
            "notify_completed": "on",
            **EXTRA,
            "username": "admin",
            "user": str(world.b.user.pk),
            "password": "pwned",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "alice.new@example.com"  # offered: changed
    assert user.username == "alice" and not user.is_staff and not user.is_superuser
    assert user.check_password("correct-horse-battery-42")
    assert wallet_balance(user=user) == balance and LedgerEntry.objects.count() == entries
    # the other customer named in `user` is untouched
    assert Profile.objects.get(user=world.b.user).language == b_language != "en"
    assert get_user_model().objects.get(pk=world.b.user.pk).email == "bob@example.com"


def test_a_new_order_with_extra_fields_costs_the_catalog_price_and_belongs_to_its_buyer(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    service = world.order.service
    balance = wallet_balance(user=world.a.user)
    client = logged_in(world.a.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("orders:new"),
            {
                "service": service.pk,
                "link": "https://www.tiktok.com/@shop/video/7300000000000000002",
                "quantity": "1000",
                **EXTRA,
                "user": str(world.b.user.pk),
            },
        )
    assert response.status_code == 302
    order = Order.objects.exclude(pk=world.order.pk).get()
    assert order.user_id == world.a.user.pk
    assert order.rate == service.sell_rate
    assert order.charge == charge_for(service.sell_rate, 1000) > Decimal("1")
    assert order.state != OrderState.COMPLETED
    assert order.upstream_id != 1
    assert wallet_balance(user=world.a.user) == balance - order.charge
    assert wallet_balance(user=world.b.user) == Decimal("10000000")


def test_a_top_up_request_with_extra_fields_waits_for_the_shop_and_credits_nothing(
    world: World,
) -> None:
    balance = wallet_balance(user=world.a.user)
    client = logged_in(world.a.user)
    response = client.post(
        reverse("billing:topup"),
        {
            "amount": "100000",
            **EXTRA,
            "reference": "CHOSEN",
            "note": "paid",
            "user": str(world.b.user.pk),
        },
    )
    assert response.status_code == 302
    topup = TopUpRequest.objects.filter(user=world.a.user).latest("pk")
    assert topup.reference != "CHOSEN"
    assert (topup.amount, topup.state, topup.entry_id, topup.decided_by_id) == (
        Decimal("100000"),
        TopUpRequest.State.PENDING,
        None,
        None,
    )
    assert not TopUpRequest.objects.filter(user=world.b.user).exists()
    assert wallet_balance(user=world.a.user) == balance


def test_the_api_add_with_extra_fields_charges_the_catalog_price_to_the_keys_owner(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    service = world.order.service
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            "/api/v2",
            {
                "key": world.a.key,
                "action": "add",
                "service": service.pk,
                "link": "https://www.tiktok.com/@shop/video/7300000000000000003",
                "quantity": "1000",
                **EXTRA,
                "user": str(world.b.user.pk),
            },
        )
    answer = response.json()
    assert "order" in answer, answer
    order = Order.objects.get(pk=answer["order"])
    assert order.user_id == world.a.user.pk
    assert (order.rate, order.charge) == (service.sell_rate, charge_for(service.sell_rate, 1000))
    assert order.upstream_id != 1 and order.state != OrderState.COMPLETED
    assert wallet_balance(user=world.b.user) == Decimal("10000000")
