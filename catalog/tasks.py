"""Celery tasks of the catalog: thin, each calls one service (schedules live in panel/celery.py).

No retries: a failed sync is recorded and changes nothing, and the next beat tick (30 minutes
for priority prices, 6 hours for the whole catalog) is the retry. A tick that finds another sync
running does nothing, which is what a duplicate delivery of the same task does too.
"""

from __future__ import annotations

import logging

from celery import shared_task

from .models import SyncRun
from .services import SyncAlreadyRunning, catalog_sync

logger = logging.getLogger(__name__)


def _run(kind: str) -> int | None:
    try:
        run = catalog_sync(kind=kind)
    except SyncAlreadyRunning as exc:
        logger.info("catalog %s sync skipped: %s", kind, exc)
        return None
    return run.pk


@shared_task(name="catalog.tasks.catalog_sync_task", ignore_result=True)
def catalog_sync_task() -> int | None:
    """The whole catalog: new, changed, vanished and returning services, and their prices."""
    return _run(SyncRun.Kind.FULL)


@shared_task(name="catalog.tasks.catalog_sync_priority_task", ignore_result=True)
def catalog_sync_priority_task() -> int | None:
    """Prices of priority services, which the upstream says may change significantly."""
    return _run(SyncRun.Kind.PRIORITY)


@shared_task(name="catalog.tasks.upstream_balance_refresh_task", ignore_result=True)
def upstream_balance_refresh_task() -> int:
    """The upstream balance, for the staff dashboard and its low-balance warning."""
    from .balance import upstream_balance_refresh

    return upstream_balance_refresh().pk
