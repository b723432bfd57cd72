"""What a customer sees of an order, and may they refill or cancel it now? No queries.

The services enforce these rules and the pages use them to show or hide buttons, so both agree.
The refusals return None when the action is allowed, or the `OrderRejected` code saying why not.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from django.db.models import Q

from . import rules
from .models import Order, OrderKind, OrderState, RefillRequest

S = OrderState
R = RefillRequest.State

# The upstream's word a customer sees for each of the panel's own states (a failed order was
# refunded in full, so it reads Canceled) ...
_STATE_WORDS: Final[dict[str, str]] = {
    S.QUEUED: rules.PENDING,
    S.SENDING: rules.PENDING,
    S.REVIEW: rules.PENDING,
    S.COMPLETED: rules.COMPLETED,
    S.PARTIAL: rules.PARTIAL,
    S.CANCELED: rules.CANCELED,
    S.FAILED: rules.CANCELED,
}
# ... except while the upstream follows it (staff decide an attention order; it is still open):
# then its own word while open, Pending before it said anything, In progress for anything else
# (a final word on a placed order means the poll has not applied it yet).
_TRACKED: Final = (S.PLACED, S.ATTENTION)
_TRACKED_WORDS: Final[dict[str | None, str]] = {
    "": rules.PENDING,
    rules.PENDING: rules.PENDING,
    rules.IN_PROGRESS: rules.IN_PROGRESS,
    rules.PROCESSING: rules.PROCESSING,
}
_TRACKED_OTHERWISE: Final = rules.IN_PROGRESS


def public_status(order: Order) -> str:
    """The upstream's word for the customer: Pending, In progress, Processing, Completed,
    Partial or Canceled."""
    if order.state not in _TRACKED:
        return _STATE_WORDS[order.state]
    said = rules.normalize_status(order.upstream_status) if order.upstream_status else ""
    return _TRACKED_WORDS.get(said, _TRACKED_OTHERWISE)


def public_status_filter(word: str) -> Q | None:
    """`public_status(order) == word` as a database filter (the poll stores canonical words),
    or None for a word that is no public status."""
    if word not in rules.PUBLIC_STATUSES:
        return None
    parts = []
    if states := [state for state, shown in _STATE_WORDS.items() if shown == word]:
        parts.append(Q(state__in=states))
    if word == _TRACKED_OTHERWISE:
        others = [said for said, shown in _TRACKED_WORDS.items() if shown != word]
        parts.append(Q(state__in=_TRACKED) & ~Q(upstream_status__in=others))
    elif words := [said for said, shown in _TRACKED_WORDS.items() if shown == word]:
        parts.append(Q(state__in=_TRACKED, upstream_status__in=words))
    query = parts[0]
    for part in parts[1:]:
        query |= part
    return query


# A refill in the upstream's words, both ways: what a refill_status answer means, and what the
# customer and the API see (a refill not yet accepted upstream reads Pending).
REFILL_WORD_OF_STATE: Final[dict[str, str]] = {
    R.PENDING: rules.REFILL_PENDING,
    R.IN_PROGRESS: rules.REFILL_IN_PROGRESS,
    R.COMPLETED: rules.REFILL_COMPLETED,
    R.REJECTED: rules.REFILL_REJECTED,
}
REFILL_STATE_BY_WORD: Final[dict[str, str]] = {
    word: state for state, word in REFILL_WORD_OF_STATE.items()
}


def refill_refusal(order: Order, *, open_refill_state: str | None, now: datetime) -> str | None:
    """Why this order cannot be refilled now (an OrderRejected code), or None.

    Warranty runs from the order's end for the service's refill days; 0 days means lifetime,
    as the upstream counts it.
    """
    service = order.service
    if not service.refill or order.kind == OrderKind.DRIPFEED:
        # The upstream refuses refills of drip-feed parents: each run is its own order there.
        return "refill_unsupported"
    if order.state not in (S.COMPLETED, S.PARTIAL):
        return "refill_not_finished"
    if open_refill_state is not None:
        return "refill_running" if open_refill_state == R.IN_PROGRESS else "refill_open"
    ended = order.finished_at or order.updated_at
    if service.days_refill and ended + timedelta(days=service.days_refill) < now:
        return "warranty"
    return None


def cancel_refusal(order: Order, *, has_cancel_request: bool) -> str | None:
    """Why this order cannot be cancelled (an OrderRejected code), or None."""
    if not order.service.cancel:
        return "cancel_unsupported"
    if has_cancel_request:
        return "cancel_submitted"
    if public_status(order) not in rules.CANCELLABLE_STATUSES:
        return "cancel_status"
    return None
