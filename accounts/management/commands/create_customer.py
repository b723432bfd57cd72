"""`manage.py create_customer USERNAME [--email E] [--password P] [--balance AMOUNT]`.

Prints the customer's deposit code on a line `deposit code: CODE`, then the API key as the last
line of its output, alone, so that a script can take it with `tail -n 1`. The key is shown this
once: only its hash is stored.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import customer_create
from billing.management.arguments import parse_amount
from billing.services import BillingError
from billing.transfers import deposit_code_for_user
from panel.money import format_vnd


class Command(BaseCommand):
    help = "Create a customer with a wallet and an API key; the key is printed as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password",
            default=None,
            help="Without one, the customer sets a password through 'forgot password'.",
        )
        parser.add_argument(
            "--balance", default=None, help="An opening balance in VND (a deposit entry)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        password: str | None = options["password"]
        balance = (
            parse_amount(options["balance"], allow_zero=True)
            if options["balance"] is not None
            else None
        )
        if password is not None:
            try:
                validate_password(
                    password, user=get_user_model()(username=username, email=options["email"])
                )
            except ValidationError as exc:
                raise CommandError("Password refused: " + " ".join(exc.messages)) from exc
        try:
            user, raw_key = customer_create(
                username=username, email=options["email"], password=password, balance=balance
            )
        except BillingError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Created customer {user.get_username()} (balance {format_vnd(balance or 0)})."
        )
        if password is None:
            self.stdout.write("No password set: the customer can set one with 'forgot password'.")
        # The customer's permanent transfer message; the API key line stays the last one.
        self.stdout.write(f"deposit code: {deposit_code_for_user(user=user)}")
        self.stdout.write("API key (shown only now; store it safely):")
        self.stdout.write(raw_key)
