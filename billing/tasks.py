"""Billing's background work: thin, idempotent, one service each."""

from __future__ import annotations

import logging

from celery import shared_task

from .transfers import topup_expire_stale

logger = logging.getLogger(__name__)


@shared_task
def topup_expire_task() -> int:
    """Close top-up requests nobody paid in time (a conditional UPDATE: safe to run twice)."""
    expired = topup_expire_stale()
    if expired:
        logger.info("%d unpaid top-up request(s) expired", expired)
    return expired
