"""`python manage.py demo_providers`: the second demo provider of `make run` (issue 17).

Adds the provider `usd-demo` (the second sandbox, billing in USD at 25,000 VND per dollar),
syncs its small catalog and makes three of its services backups of their equivalents at the
main sandbox. Development only; idempotent.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog.models import Provider, Service
from catalog.providers import ProviderError, provider_add, service_backup_by_upstream
from catalog.sync import SyncAlreadyRunning, catalog_sync
from panel.sandbox.demo import DEMO_BACKUPS, DEMO_USD_RATE

NAME = "usd-demo"
KEY = "usd-demo-key"


class Command(BaseCommand):
    help = "Add the USD demo provider, sync it, and set up backups (make run, sandbox only)."

    def handle(self, *args: Any, **options: Any) -> None:
        port = os.environ.get("SANDBOX_USD_PORT", "8002")
        try:
            provider = provider_add(
                name=NAME,
                url=f"http://127.0.0.1:{port}/api/v2",
                key=KEY,
                currency="USD",
                rate=DEMO_USD_RATE,
                timeout="10",
            )
        except ProviderError as exc:
            raise CommandError(str(exc)) from None
        try:
            run = catalog_sync(provider=provider)
        except SyncAlreadyRunning as exc:
            raise CommandError(str(exc)) from None
        if not run.ok:
            raise CommandError(f"{NAME}: sync failed: {run.message}")
        main = Provider.default()
        lines = []
        for backup_id, main_id in DEMO_BACKUPS:
            service = Service.objects.filter(provider=main, upstream_id=main_id).first()
            if service is None:
                continue
            try:
                service_backup_by_upstream(
                    service_id=service.pk, provider_name=NAME, upstream_service_id=backup_id
                )
            except (ProviderError, ValidationError) as exc:
                self.stderr.write(f"no backup for #{service.pk}: {exc}")
                continue
            lines.append(f"  #{service.pk} {service.name[:50]}  ->  {NAME} {backup_id}")
        main_port = os.environ.get("SANDBOX_PORT", "8001")
        self.stdout.write(
            f"Demo providers: {main.name} (VND, 127.0.0.1:{main_port}) and {NAME} "
            f"(USD x {DEMO_USD_RATE}, 127.0.0.1:{port}). Backups:\n"
            + "\n".join(lines)
            + "\nTo watch an order move to its backup, empty the main provider's account:\n"
            f"  curl -X POST http://127.0.0.1:{main_port}/_sandbox/balance "
            '-d \'{"balance": "0"}\'\n'
            "then order one of the services above: the order page in the admin lists both "
            "attempts.\n"
            f"(Or pause {main.name} in the admin's Providers.)"
        )
