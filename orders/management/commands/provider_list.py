"""`python manage.py provider_list`: every provider, its rate, state, balance and health."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from catalog.models import Provider
from panel.provider_report import provider_health


class Command(BaseCommand):
    help = "List the providers: URL, masked key, currency and rate, state, balance, health."

    def handle(self, *args: Any, **options: Any) -> None:
        Provider.default()
        health = {row.provider.pk: row for row in provider_health()}
        for provider in Provider.objects.order_by("pk"):
            state = "disabled" if not provider.enabled else "paused" if provider.paused else "on"
            row = health.get(provider.pk)
            balance = (
                f"{provider.balance} {provider.currency} at {provider.balance_at:%Y-%m-%d %H:%M}"
                if provider.balance is not None and provider.balance_at is not None
                else "unknown"
            )
            rate_as_of = f"{provider.rate_as_of:%Y-%m-%d %H:%M}" if provider.rate_as_of else "-"
            success = f"{row.success_rate:.0%}" if row and row.success_rate is not None else "-"
            self.stdout.write(
                f"{provider.name}{' (SIEULIKE_*)' if provider.from_env else ''}: "
                f"{provider.api_url} key {provider.masked_key}; {provider.currency} x "
                f"{provider.rate} as of {rate_as_of}; {state}; "
                f"{provider.services.count()} services; balance {balance}; "
                f"sends ok {success} of {row.attempts if row else 0} in 24 h"
            )
