"""Celery tasks: thin, fetch by id, call one service. Names match panel/celery.py's beat schedule.

Every task is safe to run twice: the services claim rows with conditional UPDATEs, so a task
redelivered after a worker died (acks_late) finds the work already done and does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="orders.tasks.order_forward_task")
def order_forward_task(order_id: int) -> str:
    # Never retried by Celery: only the service knows whether a failure was "never sent"
    # (it re-queues with backoff itself) or "maybe sent" (review), and a blind retry is the
    # one thing that could buy an order twice.
    return services.order_forward(order_id=order_id)


@shared_task(name="orders.tasks.orders_sweep_task")
def orders_sweep_task() -> dict[str, Any]:
    result = services.orders_sweep()
    return {
        "forwarded": len(result.forwarded),
        "to_review": result.to_review,
        "released": result.released,
    }


@shared_task(name="orders.tasks.orders_poll_task")
def orders_poll_task() -> dict[str, int]:
    return asdict(services.orders_poll())


@shared_task(name="orders.tasks.requests_cycle_task")
def requests_cycle_task() -> dict[str, int]:
    return asdict(services.requests_cycle())


@shared_task(name="orders.tasks.order_notify_task")
def order_notify_task(order_id: int) -> bool:
    # A mail server's trouble must never reach the poll that enqueued this: log and move on.
    try:
        return services.order_notify(order_id=order_id)
    except Exception:
        logger.exception("notice for order %s could not be sent", order_id)
        return False


@shared_task(name="orders.tasks.refill_notify_task")
def refill_notify_task(refill_id: int) -> bool:
    try:
        return services.refill_notify(refill_id=refill_id)
    except Exception:
        logger.exception("notice for refill %s could not be sent", refill_id)
        return False
