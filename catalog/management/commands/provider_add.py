"""`python manage.py provider_add NAME --url URL --key KEY [--currency CUR] [--rate R]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.providers import ProviderError, provider_add


class Command(BaseCommand):
    help = (
        "Add a provider (an API v2 upstream), or update the one with this name. A new rate "
        "reprices its services. Sync its catalog next: sync_catalog --provider NAME."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A short name: letters, digits, - and _.")
        parser.add_argument("--url", required=True, help="Its API v2 URL.")
        parser.add_argument("--key", required=True, help="Its API key (never printed).")
        parser.add_argument("--currency", default="VND", help="What it bills in (default VND).")
        parser.add_argument(
            "--rate", default="1", help="Shop currency per one unit of its currency (default 1)."
        )
        parser.add_argument("--timeout", default="30", help="Seconds per call (default 30).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            provider = provider_add(
                name=options["name"],
                url=options["url"],
                key=options["key"],
                currency=options["currency"],
                rate=options["rate"],
                timeout=options["timeout"],
            )
        except ProviderError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Provider {provider.name}: {provider.api_url}, key {provider.masked_key}, "
                f"{provider.currency} at {provider.rate} "
                f"(as of {provider.rate_as_of:%Y-%m-%d %H:%M})."
            )
        )
