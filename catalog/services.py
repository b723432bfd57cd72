"""Every write to services outside the sync: reprice, pause, resume, markups. Each goes through
`services_rewrite`, which reprices and records the change (see catalog.changes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from panel.money import quantize_rate

from .changes import ChangeWriter, catalog_version_bump, price_apply, pricing_rules_locked
from .models import PauseReason, Service

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def services_rewrite(
    *,
    service_ids: Iterable[int] | None,
    change: Callable[[Service], Sequence[str] | None],
    changed_by: User | None,
) -> int:
    """Load services (all when `service_ids` is None), let `change` edit each in memory, reprice
    them, and write what differs in constant queries. Returns how many services changed."""
    with transaction.atomic():
        rules = pricing_rules_locked()
        services = Service.objects.all()
        if service_ids is not None:
            services = services.filter(pk__in=list(service_ids))
        writer = ChangeWriter(now=timezone.now(), changed_by=changed_by)
        for service in services:
            before = writer.snapshot(service)
            extra = change(service)
            price_apply(service, rules)
            if extra:
                # Markup edits are rules, not history, but the row still has to be written.
                writer.changed[service.pk] = service
                writer.fields |= set(extra)
            writer.collect(service, before)
        writer.save()
        if writer.changed:
            catalog_version_bump()  # in the same transaction as the new prices
    return len(writer.changed)


def catalog_reprice(
    *, service_ids: Iterable[int] | None = None, changed_by: User | None = None
) -> int:
    """Recompute sell rates (all services, or these) from the current rules; called whenever a
    rule changes in the admin. Returns how many services changed."""
    return services_rewrite(
        service_ids=service_ids, change=lambda service: None, changed_by=changed_by
    )


def service_pause(*, service_ids: Iterable[int], changed_by: User | None = None) -> int:
    """Stop selling these services until an admin resumes them (no sync lists them again)."""

    def pause(service: Service) -> None:
        service.listed = False
        service.pause_reason = PauseReason.ADMIN

    return services_rewrite(service_ids=service_ids, change=pause, changed_by=changed_by)


def service_resume(*, service_ids: Iterable[int], changed_by: User | None = None) -> int:
    """List these services again (held for review or paused). The pricing policy still applies:
    a fixed price below cost with the "pause" policy stays paused; a vanished service stays
    unavailable until the upstream lists it again."""

    def resume(service: Service) -> None:
        service.listed = True
        service.pause_reason = PauseReason.NONE

    return services_rewrite(service_ids=service_ids, change=resume, changed_by=changed_by)


def service_set_markup(
    *,
    service_ids: Iterable[int],
    markup_percent: Decimal | None,
    fixed_rate: Decimal | None,
    changed_by: User | None = None,
) -> int:
    """Set (or clear, with None) the service-level rules, and reprice. A fixed rate wins over a
    percentage, so setting one keeps the other as it was only if given."""
    if markup_percent is not None and markup_percent < 0:
        raise ValueError("a markup cannot be negative")
    if fixed_rate is not None and fixed_rate < 0:
        raise ValueError("a price cannot be negative")
    fixed = quantize_rate(fixed_rate) if fixed_rate is not None else None

    def set_markup(service: Service) -> list[str]:
        service.markup_percent = markup_percent
        service.fixed_rate = fixed
        return ["markup_percent", "fixed_rate"]

    return services_rewrite(service_ids=service_ids, change=set_markup, changed_by=changed_by)
