"""`python manage.py service_backup SERVICE_ID --provider NAME --service UPSTREAM_SERVICE_ID`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.providers import ProviderError, service_backup_by_upstream


class Command(BaseCommand):
    help = (
        "Give a service (the panel's id) a backup: the service with this upstream id at another "
        "provider, appended to its ordered list. Refused unless compatible (kind, min/max "
        "covering, drip-feed and refill support)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("service_id", type=int, help="The panel's service id.")
        parser.add_argument("--provider", required=True, help="The backup's provider (name).")
        parser.add_argument(
            "--service", required=True, type=int, help="The backup's id at that provider."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            row = service_backup_by_upstream(
                service_id=options["service_id"],
                provider_name=options["provider"],
                upstream_service_id=options["service"],
            )
        except ProviderError as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError("Not compatible: " + "; ".join(exc.messages)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Service #{row.service_id}: backup #{row.backup_id} "
                f"({options['provider']} {options['service']}) at position {row.position}."
            )
        )
