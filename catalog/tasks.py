"""Celery tasks of the catalog: thin, each calls one service (schedules live in panel/celery.py).

No retries: a failed sync is recorded and changes nothing, and the next beat tick (30 minutes
for priority prices, 6 hours for the whole catalog) is the retry. A tick that finds another sync
running does nothing, which is what a duplicate delivery of the same task does too.
"""

from __future__ import annotations

import logging

from celery import shared_task

from .balance import upstream_balance_refresh
from .models import Provider, SyncRun
from .sync import SyncAlreadyRunning, catalog_sync

logger = logging.getLogger(__name__)


def _run(kind: str, provider: Provider) -> int | None:
    try:
        run = catalog_sync(kind=kind, provider=provider)
    except SyncAlreadyRunning as exc:
        logger.info("catalog %s sync skipped: %s", kind, exc)
        return None
    return run.pk


def _fan_out(kind: str) -> list[int]:
    # One task per provider (issue 17), each under that provider's own lock: a provider that is
    # slow or down never delays another's sync.
    Provider.default()
    ids = list(Provider.objects.filter(enabled=True).order_by("pk").values_list("pk", flat=True))
    for provider_id in ids:
        catalog_sync_provider_task.delay(provider_id, kind)
    return ids


@shared_task(name="catalog.tasks.catalog_sync_task", ignore_result=True)
def catalog_sync_task() -> list[int]:
    """The whole catalog of every provider: new, changed, vanished and returning services."""
    return _fan_out(SyncRun.Kind.FULL)


@shared_task(name="catalog.tasks.catalog_sync_priority_task", ignore_result=True)
def catalog_sync_priority_task() -> list[int]:
    """Prices of priority services, which the upstream says may change significantly."""
    return _fan_out(SyncRun.Kind.PRIORITY)


@shared_task(name="catalog.tasks.catalog_sync_provider_task", ignore_result=True)
def catalog_sync_provider_task(provider_id: int, kind: str) -> int | None:
    provider = Provider.objects.filter(pk=provider_id, enabled=True).first()
    if provider is None:
        return None
    return _run(kind, provider)


@shared_task(name="catalog.tasks.upstream_balance_refresh_task", ignore_result=True)
def upstream_balance_refresh_task() -> int:
    """The upstream balance, for the staff dashboard and its low-balance warning."""
    return upstream_balance_refresh().pk
