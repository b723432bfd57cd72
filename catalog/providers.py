"""Every write about providers: adding one, its exchange rate (which reprices its services),
pausing it, what it last told us (balance, out of funds), and backups. Syncing them all is
`catalog.sync.catalog_sync_all`; reads for people (health, cost and profit per provider) are in
`panel.provider_report`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from panel.money import quantize_money, quantize_rate

from .models import Provider, Service, ServiceBackup, backup_problems
from .services import services_rewrite

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

RATE_PLACES = Decimal("0.000001")


class ProviderError(Exception):
    """Bad input for a provider operation; nothing was changed."""


def _clean_rate(rate: Decimal | str | int) -> Decimal:
    try:
        value = Decimal(str(rate))
    except ArithmeticError:
        raise ProviderError(f"not a number: {rate!r}") from None
    if not value.is_finite() or value <= 0:
        raise ProviderError("the exchange rate must be a positive number")
    if value != value.quantize(RATE_PLACES):
        raise ProviderError("the exchange rate has at most 6 decimal places")
    return value.quantize(RATE_PLACES)


def provider_add(
    *,
    name: str,
    url: str,
    key: str,
    currency: str = "VND",
    rate: Decimal | str | int = Decimal(1),
    timeout: Decimal | str | int = Decimal(30),
    changed_by: User | None = None,
) -> Provider:
    """Add a provider, or update the one with this name (its rate through `provider_set_rate`,
    so its services are repriced). Raises ProviderError on bad input, changing nothing."""
    clean_rate = _clean_rate(rate)
    currency = currency.strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ProviderError("the currency is a three-letter code such as VND or USD")
    provider = Provider.objects.filter(name=name).first() or Provider(
        name=name, rate=clean_rate, rate_as_of=timezone.now()
    )
    if provider.from_env:
        raise ProviderError(f"{name} is configured by SIEULIKE_* in the environment")
    provider.api_url, provider.api_key, provider.currency = url, key, currency
    provider.timeout = Decimal(str(timeout))
    try:
        provider.full_clean()
    except ValidationError as exc:
        raise ProviderError("; ".join(exc.messages)) from None
    provider.save()
    if provider.rate != clean_rate:
        provider_set_rate(provider_id=provider.pk, rate=clean_rate, changed_by=changed_by)
        provider.refresh_from_db()
    return provider


def provider_set_rate(
    *,
    provider_id: int,
    rate: Decimal | str | int,
    as_of: datetime | None = None,
    changed_by: User | None = None,
) -> int:
    """Set a provider's exchange rate (with its "as of" time) and reprice its services: each
    cost becomes its price in the provider's currency times the new rate, then the markup rules
    run on it as after a sync. Returns how many services changed."""
    clean = _clean_rate(rate)
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider_id)
        old = provider.rate
        Provider.objects.filter(pk=provider_id).update(
            rate=clean, rate_as_of=as_of or timezone.now()
        )

        def convert(service: Service) -> None:
            # Rows from before providers (or written by hand) lack the provider's own price:
            # it is what their cost was at the old rate.
            base = (
                service.upstream_rate
                if service.upstream_rate is not None
                else (quantize_rate(service.cost_rate / old))
            )
            service.upstream_rate = base
            service.cost_rate = quantize_rate(base * clean)
            return None

        ids = list(Service.objects.filter(provider_id=provider_id).values_list("pk", flat=True))
        changed = services_rewrite(service_ids=ids, change=convert, changed_by=changed_by)
    logger.info(
        "provider %s: rate %s -> %s, %s services repriced", provider.name, old, clean, changed
    )
    return changed


def provider_pause(*, provider_id: int, paused: bool = True) -> bool:
    """Pause (or resume) sending orders to a provider; its `when_paused` says whether its
    queued orders fail over to backups or wait. Returns whether anything changed."""
    changed = Provider.objects.filter(pk=provider_id).exclude(paused=paused).update(paused=paused)
    return bool(changed)


def provider_record_balance(*, provider_id: int, balance: Decimal) -> None:
    Provider.objects.filter(pk=provider_id).update(
        balance=quantize_money(balance), balance_at=timezone.now()
    )


def provider_note_out_of_funds(*, provider_id: int) -> None:
    Provider.objects.filter(pk=provider_id).update(last_out_of_funds_at=timezone.now())


# --------------------------------------------------------------------------- backups


def service_backup_add(
    *, service_id: int, backup_id: int, position: int | None = None
) -> ServiceBackup:
    """Give a service a backup at another provider, at the end of its list (or at `position`).
    Raises ValidationError, changing nothing, when the backup is not compatible."""
    service = Service.objects.select_related("provider").get(pk=service_id)
    backup = Service.objects.select_related("provider").get(pk=backup_id)
    problems = backup_problems(service=service, backup=backup)
    if problems:
        raise ValidationError(problems)
    if position is None:
        last = service.backups.aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
    row, _created = ServiceBackup.objects.update_or_create(
        service=service, backup=backup, defaults={"position": position}
    )
    return row


def service_backup_by_upstream(
    *, service_id: int, provider_name: str, upstream_service_id: int
) -> ServiceBackup:
    """`service_backup SERVICE_ID --provider NAME --service UPSTREAM_SERVICE_ID`."""
    provider = Provider.objects.filter(name=provider_name).first()
    if provider is None:
        raise ProviderError(f"no provider named {provider_name!r}")
    backup = Service.objects.filter(provider=provider, upstream_id=upstream_service_id).first()
    if backup is None:
        raise ProviderError(
            f"{provider_name} has no service {upstream_service_id} (sync its catalog first)"
        )
    if not Service.objects.filter(pk=service_id).exists():
        raise ProviderError(f"no service #{service_id}")
    return service_backup_add(service_id=service_id, backup_id=backup.pk)
