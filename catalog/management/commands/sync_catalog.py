"""`python manage.py sync_catalog [--priority] [--allow-shrink] [--provider NAME]`: a sync of
every enabled provider (or of one), now, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import Provider, SyncRun
from catalog.sync import SyncAlreadyRunning, catalog_sync
from panel.money import format_vnd


class Command(BaseCommand):
    help = (
        "Mirror the upstream's catalog now (or, with --priority, follow the prices of priority "
        "services). Prints a summary; exits non-zero when the sync failed or another one is "
        "running."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--priority", action="store_true", help="Only follow the prices of priority services."
        )
        parser.add_argument(
            "--allow-shrink",
            action="store_true",
            help="Apply an answer that drops more than half of the services we sell (after "
            "checking upstream that it really did).",
        )
        parser.add_argument(
            "--provider", help="Sync only this provider (by name); default: every enabled one."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kind = SyncRun.Kind.PRIORITY if options["priority"] else SyncRun.Kind.FULL
        Provider.default()
        providers = Provider.objects.filter(enabled=True).order_by("pk")
        if options["provider"]:
            providers = Provider.objects.filter(name=options["provider"])
            if not providers:
                raise CommandError(f"No provider named {options['provider']!r}.")
        failures = []
        for provider in providers:
            try:
                self._sync(
                    kind,
                    provider,
                    allow_shrink=options["allow_shrink"],
                    several=len(providers) > 1,
                )
            except CommandError as exc:
                # One provider failing never stops the others' syncs.
                failures.append(str(exc))
                if len(providers) > 1:
                    self.stderr.write(str(exc))
        if failures:
            several = f"{len(failures)} syncs failed."
            raise CommandError(failures[0] if len(failures) == 1 else several)

    def _sync(self, kind: str, provider: Provider, *, allow_shrink: bool, several: bool) -> None:
        prefix = f"{provider.name}: " if several else ""
        try:
            run = catalog_sync(kind=kind, allow_shrink=allow_shrink, provider=provider)
        except SyncAlreadyRunning as exc:
            raise CommandError(f"{prefix}Not synced: {exc}.") from None
        balance = "unknown"
        if run.upstream_balance is not None:
            balance = (
                format_vnd(run.upstream_balance)
                if provider.currency == "VND"
                else f"{run.upstream_balance} {provider.currency}"
            )
        if not run.ok:
            raise CommandError(
                f"{prefix}{run.get_kind_display()} sync #{run.pk} failed, the catalog is "
                f"unchanged: {run.message} (upstream balance: {balance})"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{prefix}{run.get_kind_display()} sync #{run.pk} done: {run.created} created, "
                f"{run.updated} updated, {run.paused} paused, {run.restored} restored; "
                f"upstream balance {balance}."
            )
        )
        if run.message:
            self.stdout.write(f"Notes: {run.message}")
