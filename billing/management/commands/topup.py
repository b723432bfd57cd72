"""`manage.py topup USERNAME AMOUNT [--memo TEXT]`: credit a customer with a deposit entry."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.management.arguments import parse_amount
from billing.services import BillingError, wallet_deposit
from panel.money import format_vnd


class Command(BaseCommand):
    help = "Add a deposit entry to a customer's wallet (money received outside the panel)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("amount", help="VND, positive, at most two decimals, e.g. 100000")
        parser.add_argument(
            "--memo", default="", help="Why (shown to the customer and in the ledger)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        amount = parse_amount(options["amount"])
        users = get_user_model()
        try:
            user = users.objects.get(**{users.USERNAME_FIELD: options["username"]})
        except users.DoesNotExist as exc:
            raise CommandError(f"No user named {options['username']!r}.") from exc
        # The command runs outside any web session, so the ledger has no `created_by`; the memo
        # keeps the operating-system account that ran it, for the audit trail.
        memo = options["memo"].strip() or f"Top-up from the command line by {_operator()}"
        try:
            entry = wallet_deposit(user=user, amount=amount, memo=memo)
        except BillingError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Credited {format_vnd(entry.amount)} to {user.get_username()}: "
            f"balance {format_vnd(entry.balance_after)} (ledger entry {entry.pk})."
        )


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"
