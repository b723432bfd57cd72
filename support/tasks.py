"""Celery tasks of support: thin, fetch by id, call one service."""

from __future__ import annotations

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="support.tasks.ticket_reply_notify_task")
def ticket_reply_notify_task(message_id: int) -> bool:
    # A mail server's trouble must never fail the reply that enqueued this: log and move on.
    try:
        return services.ticket_reply_notify(message_id=message_id)
    except Exception:
        logger.exception("notice for ticket message %s could not be sent", message_id)
        return False
