"""Create the demo admin and customer for `make run` (idempotent; prints the credentials)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.services import api_key_regenerate, customer_create
from billing.services import wallet_balance
from billing.transfers import deposit_code_for_user
from panel.money import format_vnd

ADMIN = ("admin", "admin-demo-2026")
CUSTOMER = ("demo", "demo-customer-2026")


class Command(BaseCommand):
    help = "Create a demo admin and a demo customer with a balance (development only)."

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        if not users.objects.filter(username=ADMIN[0]).exists():
            users.objects.create_superuser(
                username=ADMIN[0], email="admin@example.com", password=ADMIN[1]
            )
        if users.objects.filter(username=CUSTOMER[0]).exists():
            customer = users.objects.get(username=CUSTOMER[0])
            key = api_key_regenerate(user=customer)
        else:
            customer, key = customer_create(
                username=CUSTOMER[0],
                email="demo@example.com",
                password=CUSTOMER[1],
                balance=Decimal("500000"),
            )
        balance = format_vnd(wallet_balance(user=customer))
        self.stdout.write(
            "Demo accounts (development only):\n"
            f"  admin:    {ADMIN[0]} / {ADMIN[1]}   (http://127.0.0.1:8000/admin/)\n"
            f"  customer: {CUSTOMER[0]} / {CUSTOMER[1]}   (balance {balance})\n"
            f"  customer deposit code: {deposit_code_for_user(user=customer)}"
            "   (/topup/: a request's page has a button that plays the bank)\n"
            f"  customer API key: {key}"
        )
