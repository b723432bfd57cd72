"""The Celery app and every periodic schedule, each with the reason for its interval."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings")

app = Celery("panel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # The upstream balance on its own clock: the staff dashboard shows it with its time, and the
    # low-balance warning must fire before orders start failing upstream, not after the next
    # catalog sync hours later. Ten minutes is one cheap call, and an "Insufficient balance"
    # triggers a check at once anyway.
    "upstream-balance": {
        "task": "catalog.tasks.upstream_balance_refresh_task",
        "schedule": 600.0,
    },
    # The upstream asks resellers to check priority services' prices at least hourly: their
    # price "may change significantly". Every 30 minutes keeps us inside that with a margin.
    "catalog-priority-prices": {
        "task": "catalog.tasks.catalog_sync_priority_task",
        "schedule": crontab(minute="*/30"),
    },
    # The rest of the catalog rarely changes price; a full sync four times a day follows new,
    # vanished and re-priced services without hammering the upstream.
    "catalog-full-sync": {
        "task": "catalog.tasks.catalog_sync_task",
        "schedule": crontab(minute=7, hour="*/6"),
    },
    # Orders enqueued while the broker was down, or lost with a worker, are still forwarded;
    # stale `sending` claims go to review. A minute bounds how long a lost order waits.
    "orders-sweep": {
        "task": "orders.tasks.orders_sweep_task",
        "schedule": 60.0,
    },
    # Open orders are polled in batches of 200 (the protocol's limit). Delivery takes minutes to
    # days; every two minutes shows progress promptly at ceil(N/200) calls a cycle.
    "orders-poll": {
        "task": "orders.tasks.orders_poll_task",
        "schedule": 120.0,
    },
    # Refill and cancel requests are forwarded in batches of 100 and their statuses followed.
    "orders-refills-cancels": {
        "task": "orders.tasks.requests_cycle_task",
        "schedule": 120.0,
    },
    # Top-up requests nobody paid stop counting as announced money after TOPUP_EXPIRE_HOURS
    # (a day by default); a quarter of an hour late is close enough for that.
    "billing-topups-expire": {
        "task": "billing.tasks.topup_expire_task",
        "schedule": crontab(minute="*/15"),
    },
}
