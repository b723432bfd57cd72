"""Celery tasks: thin, fetch by id, call one service. Names match panel/celery.py's beat schedule.

Every task is safe to run twice: the services claim rows with conditional UPDATEs, so a task
redelivered after a worker died (acks_late) finds the work already done and does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.db.models import Q

from .forwarding import order_forward
from .models import OPEN_REFILL_STATES, CancelRequest, Order, OrderState
from .notices import order_notify, refill_notify
from .polling import orders_poll
from .request_forwarding import requests_cycle
from .selectors import provider_ids_of
from .sweep import orders_sweep

logger = logging.getLogger(__name__)


@shared_task(name="orders.tasks.order_forward_task")
def order_forward_task(order_id: int) -> str:
    # Never retried by Celery: only the service knows whether a failure was "never sent"
    # (it re-queues with backoff itself) or "maybe sent" (review), and a blind retry is the
    # one thing that could buy an order twice.
    return order_forward(order_id=order_id)


@shared_task(name="orders.tasks.orders_sweep_task")
def orders_sweep_task() -> dict[str, Any]:
    result = orders_sweep()
    return {
        "forwarded": len(result.forwarded),
        "to_review": result.to_review,
        "released": result.released,
    }


# Each provider is polled by its own task (issue 17): a provider that answers slowly holds one
# worker slot for its own orders while the others' polls run beside it. The tasks expire before
# the next beat tick, so a backlog never piles up behind a provider that is down, and a
# provider's task already running makes the next one skip (a cache flag; a duplicate poll would
# only be wasted work, never a wrong answer).
PER_PROVIDER_EXPIRES = 110  # seconds: under the 120 s beat interval


def _fan_out(task: Any, queryset: Any) -> list[int]:
    provider_ids = provider_ids_of(queryset)
    for provider_id in provider_ids:
        task.apply_async(args=(provider_id,), expires=PER_PROVIDER_EXPIRES)
    return provider_ids


def _once_per_provider(kind: str, provider_id: int, run: Any) -> dict[str, int]:
    key = f"orders:{kind}:provider:{provider_id}"
    if not cache.add(key, 1, timeout=PER_PROVIDER_EXPIRES * 5):
        logger.info("%s at provider %s is still running; skipped", kind, provider_id)
        return {}
    try:
        return asdict(run())
    finally:
        cache.delete(key)


@shared_task(name="orders.tasks.orders_poll_task")
def orders_poll_task() -> list[int]:
    """One poll task per provider with placed orders."""
    return _fan_out(
        orders_poll_provider_task,
        Order.objects.filter(state=OrderState.PLACED, upstream_id__isnull=False),
    )


@shared_task(name="orders.tasks.orders_poll_provider_task")
def orders_poll_provider_task(provider_id: int) -> dict[str, int]:
    return _once_per_provider("poll", provider_id, lambda: orders_poll(provider_id=provider_id))


@shared_task(name="orders.tasks.requests_cycle_task")
def requests_cycle_task() -> list[int]:
    """One refill/cancel task per provider with orders placed there."""
    return _fan_out(
        requests_cycle_provider_task,
        Order.objects.filter(upstream_id__isnull=False).filter(
            Q(refills__state__in=OPEN_REFILL_STATES)
            | Q(cancels__state=CancelRequest.State.REQUESTED)
        ),
    )


@shared_task(name="orders.tasks.requests_cycle_provider_task")
def requests_cycle_provider_task(provider_id: int) -> dict[str, int]:
    return _once_per_provider(
        "requests", provider_id, lambda: requests_cycle(provider_id=provider_id)
    )


@shared_task(name="orders.tasks.order_notify_task")
def order_notify_task(order_id: int) -> bool:
    # A mail server's trouble must never reach the poll that enqueued this: log and move on.
    try:
        return order_notify(order_id=order_id)
    except Exception:
        logger.exception("notice for order %s could not be sent", order_id)
        return False


@shared_task(name="orders.tasks.refill_notify_task")
def refill_notify_task(refill_id: int) -> bool:
    try:
        return refill_notify(refill_id=refill_id)
    except Exception:
        logger.exception("notice for refill %s could not be sent", refill_id)
        return False
