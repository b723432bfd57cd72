"""Failover: an order refused by its provider *before being accepted* moves to the next backup.

When it is provably safe, and only then. A refusal is an answer: the provider read the request
and said no, so nothing was bought there, and sending the same order elsewhere cannot buy it
twice. Those refusals are: out of funds ("Insufficient balance"), the service disabled or
unknown, the quantity outside limits that changed since our last sync, and "unreachable" (the
connection was never made, so the request was never sent) repeated
PROVIDER_FAILOVER_UNREACHABLE_ATTEMPTS times. An ambiguous answer (a timeout after sending, a
reset, a 5xx, an unreadable body) may hide an accepted order: such an order goes to review and is
never sent anywhere else by itself (orders.forwarding.order_forward does not even ask us).

The customer's service, rate and charge never change: only `provider` and `placed_service` do.
Every `add` is recorded as a ForwardAttempt (provider, service, answer, latency, time).
"""

from __future__ import annotations

import logging
import re
import time

from catalog.models import Provider, Service
from panel.money import charge_for

from . import rules
from .models import ForwardAttempt, Order, OrderState
from .states import order_transition

logger = logging.getLogger(__name__)

A = ForwardAttempt.Outcome

# The provider's words for "this service cannot take orders now" and "your quantity is outside
# the limits" (which, the panel having checked the limits it knows, means they changed). The
# sieulike family of panels says "Incorrect service ID" and "Quantity less than minimal 10".
_SERVICE_GONE = re.compile(
    r"incorrect\s+service|service\s+(id\s+)?(not\s+found|unknown|invalid)|unknown\s+service|"
    r"service\s+(is\s+)?(disabled|inactive|unavailable|not\s+active|paused|closed)|"
    r"dịch\s*vụ\s+(không\s+tồn\s+tại|đã\s+tắt|tạm\s+dừng)",
    re.IGNORECASE,
)
_LIMITS = re.compile(
    r"quantity\s+(less|more)\s+than\s+(minimal|maximal|min|max)|"
    r"(minimum|maximum|min|max)\s+(quantity|order)\s+is",
    re.IGNORECASE,
)


def refusal_allows_failover(message: str) -> bool:
    """Does this refusal prove the order was not accepted for a reason another provider may not
    share? (A refusal of the order itself, such as a bad link, would be refused everywhere.)"""
    return bool(
        rules.is_upstream_out_of_funds(message)
        or _SERVICE_GONE.search(message or "")
        or _LIMITS.search(message or "")
    )


def sent_service(order: Order) -> Service:
    """The catalog service the order is sent as: a backup after a failover, else its own."""
    # The stubs type a nullable foreign key as Optional even where its id was just checked.
    return order.placed_service if order.placed_service_id else order.service  # type: ignore[return-value]


def record_attempt(
    order: Order, *, outcome: str, answer: str = "", started: float | None = None
) -> None:
    """One row per add call (after the call, never inside a transaction with it)."""
    latency = None if started is None else int((time.monotonic() - started) * 1000)
    service = sent_service(order)
    ForwardAttempt.objects.create(
        order=order,
        provider_id=order.provider_id,
        service=service,
        outcome=outcome,
        answer=answer[:500],
        latency_ms=latency,
    )


def next_backup(order: Order) -> Service | None:
    """The first backup of the order's service after the one it was last sent as, that can take
    this very order now: provider enabled and not paused, service on sale at its provider, the
    quantity within its limits, and its cost for the order within what the customer paid (a
    failover must never sell at a loss)."""
    chain = [order.service_id, *order.service.backups.values_list("backup_id", flat=True)]
    current = order.placed_service_id or order.service_id
    later = chain[chain.index(current) + 1 :] if current in chain else chain[1:]
    if not later:
        return None
    candidates = Service.objects.select_related("provider").in_bulk(later)
    for service_id in later:
        backup = candidates.get(service_id)
        if backup is None or not backup.provider.usable or not backup.is_available:
            continue
        if not backup.min_quantity <= order.quantity <= backup.max_quantity:
            continue
        if order.kind == "dripfeed" and not backup.dripfeed:
            continue
        if charge_for(backup.cost_rate, order.total_quantity) > order.charge:
            continue
        return backup
    return None


def move_to_backup(order: Order, *, reason: str) -> bool:
    """Hand a `sending` order refused before acceptance to its next backup: back to `queued`,
    now at the backup's provider, with a fresh attempt count. False when there is no usable
    backup (the caller then applies the usual outcome: wait for funds, retry, or fail)."""
    backup = next_backup(order)
    if backup is None:
        return False
    moved = order_transition(
        order=order,
        to=OrderState.QUEUED,
        reason=f"{reason}; failing over to {backup.provider.name} service {backup.upstream_id}",
        changes={
            "provider_id": backup.provider_id,
            "placed_service_id": backup.pk,
            "send_attempts": 0,
            "next_attempt_at": None,
            "waiting_for_funds": False,
        },
    )
    if moved:
        order.provider = backup.provider
        order.placed_service = backup
        logger.warning("order %s: %s; moved to %s", order.pk, reason, backup.provider.name)
    return moved


def release_paused_waiting(provider: Provider, waiting: list[Order]) -> list[int]:
    """Orders waiting for funds at a paused (or disabled) provider that fails over while paused:
    the ones a backup can take now stop waiting, so the sweep forwards them and order_forward
    moves them (see orders.forwarding._forward_provider_paused). Safe for the same reason as any
    refusal before acceptance: a waiting order is `queued`, its provider answered "Insufficient
    balance", so nothing was bought there. A provider that says "wait" keeps them waiting, and
    its balance is not read while it is paused (nothing may be sent to it anyway)."""
    if provider.when_paused != Provider.WhenPaused.FAILOVER:
        return []
    movable = [order.pk for order in waiting if next_backup(order) is not None]
    if not movable:
        return []
    # Conditional: an order canceled, or released, in between is left as it is.
    released = list(
        Order.objects.filter(
            pk__in=movable, state=OrderState.QUEUED, waiting_for_funds=True, provider=provider
        ).values_list("pk", flat=True)
    )
    Order.objects.filter(pk__in=released, state=OrderState.QUEUED, waiting_for_funds=True).update(
        waiting_for_funds=False, next_attempt_at=None
    )
    logger.warning(
        "%s is paused: %s order(s) waiting for its funds go to a backup",
        provider.name,
        len(released),
    )
    return released
