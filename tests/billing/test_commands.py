"""`create_customer` and `topup`: what operators and scripts rely on."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.services import api_key_user
from billing.models import EntryKind, LedgerEntry
from billing.services import wallet_balance
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_customer_prints_a_working_api_key_as_the_last_line() -> None:
    output = _run(
        "create_customer",
        "minh",
        "--email",
        "minh@example.com",
        "--password",
        "a-long-pass-2026",
        "--balance",
        "250000",
    )

    key = output.strip().splitlines()[-1]
    user = get_user_model().objects.get(username="minh")
    assert api_key_user(raw=key) == user
    assert user.check_password("a-long-pass-2026") and user.email == "minh@example.com"
    assert wallet_balance(user=user) == Decimal("250000.00")
    assert list(LedgerEntry.objects.filter(wallet__user=user).values_list("kind", "amount")) == [
        (EntryKind.DEPOSIT, Decimal("250000.00"))
    ]


def test_create_customer_without_a_password_makes_an_account_that_cannot_log_in_yet() -> None:
    output = _run("create_customer", "lan")

    user = get_user_model().objects.get(username="lan")
    assert not user.has_usable_password()
    assert wallet_balance(user=user) == Decimal("0.00")
    assert api_key_user(raw=output.strip().splitlines()[-1]) == user


@pytest.mark.parametrize(
    "args",
    [
        ("create_customer", "taken"),  # exists already
        ("create_customer", "new1", "--balance", "-5"),
        ("create_customer", "new2", "--balance", "lots"),
        ("create_customer", "new3", "--password", "123"),  # refused by the password validators
        ("create_customer", "bad name!"),
    ],
)
def test_create_customer_fails_clearly_and_creates_nothing(args: tuple[str, ...]) -> None:
    make_customer(username="taken")
    users = get_user_model().objects.count()

    with pytest.raises(CommandError):
        _run(*args)

    assert get_user_model().objects.count() == users


def test_topup_adds_a_deposit_entry_with_the_memo() -> None:
    user = make_customer(username="hoa", balance=1000)

    output = _run("topup", "hoa", "50000.50", "--memo", "Cash at the office")

    entry = LedgerEntry.objects.filter(wallet__user=user).latest("id")
    assert (entry.kind, entry.amount, entry.memo) == (
        EntryKind.DEPOSIT,
        Decimal("50000.50"),
        "Cash at the office",
    )
    assert wallet_balance(user=user) == Decimal("51000.50")
    assert "51.000,50 ₫" in output


def test_topup_without_a_memo_records_who_ran_it() -> None:
    user = make_customer(username="hoa")

    _run("topup", "hoa", "1000")

    assert LedgerEntry.objects.get(wallet__user=user).memo.startswith(
        "Top-up from the command line by "
    )


@pytest.mark.parametrize(
    ("username", "amount", "message"),
    [
        ("nobody", "1000", "No user named 'nobody'"),
        ("hoa", "0", "not a valid amount"),
        ("hoa", "-100", "not a valid amount"),
        ("hoa", "12.345", "not a valid amount"),  # never silently rounded
        ("hoa", "NaN", "not a valid amount"),
        ("hoa", "ten", "not a valid amount"),
        ("hoa", "1e20", "too large"),
    ],
)
def test_topup_refuses_an_unknown_user_or_a_bad_amount_and_writes_nothing(
    username: str, amount: str, message: str
) -> None:
    make_customer(username="hoa")

    with pytest.raises(CommandError, match=message):
        _run("topup", username, amount)

    assert LedgerEntry.objects.count() == 0
