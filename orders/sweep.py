"""The sweep: what fell through the cracks (a lost task, a dead worker, funds back upstream)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from catalog.models import Provider
from catalog.providers import provider_record_balance
from catalog.upstreams import client_for
from panel.money import charge_for
from panel.upstream import UpstreamError

from . import failover
from .forwarding import enqueue_forward
from .models import Order, OrderState
from .selectors import provider_ids_of
from .states import order_transition

logger = logging.getLogger(__name__)

S = OrderState

# How long a `sending` claim may last before the sweep decides its worker died. Well above the
# client's own deadline (SIEULIKE_TIMEOUT, 30 s by default), so a slow but live call is never
# taken for a dead one.
SENDING_TIMEOUT = timedelta(minutes=10)


@dataclass
class SweepResult:
    forwarded: list[int] = field(default_factory=list)
    to_review: int = 0
    released: int = 0  # orders no longer waiting for upstream funds
    upstream_balance: Decimal | None = None


def orders_sweep(
    *,
    forward: Callable[[int], Any] | None = None,
    grace: timedelta = timedelta(seconds=30),
    now: datetime | None = None,
) -> SweepResult:
    """Pick up what fell through the cracks; see panel/celery.py for how often.

    * `sending` claims older than SENDING_TIMEOUT: the worker died mid-call, the upstream may
      have the order, so it goes to review (never back to the queue).
    * Orders waiting for upstream funds: one balance call; the oldest ones it covers are released.
      At a provider paused since, they fail over to a backup or keep waiting, as it says.
    * Queued orders that are due (their task was lost, or their backoff has passed): forwarded,
      by default by enqueuing the task (`forward` lets sync_orders run them in-process). `grace`
      leaves just-placed orders to the task their placing already enqueued.
    """
    now = now or timezone.now()
    result = SweepResult()
    forward = forward or enqueue_forward

    for order in Order.objects.filter(state=S.SENDING, updated_at__lt=now - SENDING_TIMEOUT):
        if order_transition(
            order=order,
            to=S.REVIEW,
            reason="the worker sending it did not finish; it may have been placed",
        ):
            logger.error("order %s: stale sending claim, held for review", order.pk)
            result.to_review += 1

    released = _release_funded(result)

    due = (
        Order.objects.filter(state=S.QUEUED, waiting_for_funds=False)
        .filter(
            Q(next_attempt_at__isnull=True, updated_at__lte=now - grace)
            | Q(next_attempt_at__lte=now)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    for order_id in sorted({*due, *released}):
        forward(order_id)
        result.forwarded.append(order_id)
    return result


def _release_funded(result: SweepResult) -> list[int]:
    """Per provider: one balance call, and the oldest waiting orders it covers are released."""
    waiting = Order.objects.filter(state=S.QUEUED, waiting_for_funds=True)
    released: list[int] = []
    for provider_id in provider_ids_of(waiting):
        released += _release_funded_at(result, provider_id)
    return released


def _release_funded_at(result: SweepResult, provider_id: int) -> list[int]:
    provider = Provider.objects.get(pk=provider_id)
    waiting = list(
        Order.objects.filter(state=S.QUEUED, waiting_for_funds=True, provider_id=provider_id)
        .select_related("service", "placed_service")
        .order_by("pk")[:500]
    )
    if not waiting:
        return []
    if not provider.usable:
        # Paused since these orders began to wait: they fail over, or keep waiting, as the
        # provider says (issue 17), exactly like the queued orders order_forward meets.
        released = failover.release_paused_waiting(provider, waiting)
        result.released += len(released)
        return released
    try:
        balance = client_for(provider).balance().balance
    except UpstreamError as exc:
        logger.warning("%s balance check failed; orders keep waiting: %s", provider.name, exc)
        return []
    provider_record_balance(provider_id=provider_id, balance=balance)
    # In the provider's currency; the costs below are in the shop's, hence the rate.
    balance = balance * provider.rate
    result.upstream_balance = balance
    covered, left = [], balance
    for order in waiting:
        # The shop's cost at today's catalog price: an estimate, and a wrong one only means
        # another "Insufficient balance" and another wait, never a lost order.
        need = charge_for(failover.sent_service(order).cost_rate, order.total_quantity)
        if need > left:
            break
        covered.append(order.pk)
        left -= need
    if not covered:
        logger.error(
            "UPSTREAM OUT OF FUNDS: %s order(s) waiting, upstream balance %s", len(waiting), balance
        )
        return []
    Order.objects.filter(pk__in=covered, state=S.QUEUED, waiting_for_funds=True).update(
        waiting_for_funds=False, next_attempt_at=None
    )
    result.released += len(covered)
    return covered
