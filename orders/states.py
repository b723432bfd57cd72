"""The one place an order's state changes, and a refill's or a cancel's: explicit tables.

Every change is a conditional UPDATE (`WHERE id = … AND state = <the state we read>`), so it is
also a claim: when two workers, a redelivered task and a sweep race for the same order, exactly
one UPDATE changes a row and the others get False and do nothing. Each successful change writes
an OrderEvent (who, when, from, to, why) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import CancelRequest, Order, OrderEvent, OrderState, RefillRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

S = OrderState

TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    # Charged, not yet sent. A worker claims it; a customer may cancel it before it leaves
    # (nothing was bought upstream); an admin may give up on it (fail and refund).
    S.QUEUED: frozenset({S.SENDING, S.CANCELED, S.FAILED}),
    # The add call may be under way. Its answer decides: an id, a refusal, "never reached"
    # (back to queued), or no answer (review). The sweep moves a stale claim to review.
    S.SENDING: frozenset({S.PLACED, S.FAILED, S.QUEUED, S.REVIEW}),
    # A person decides: attach the upstream id, send again, or fail and refund.
    S.REVIEW: frozenset({S.PLACED, S.QUEUED, S.FAILED}),
    # Tracked by the poll until the upstream reports an end, or held undecided too long.
    S.PLACED: frozenset({S.COMPLETED, S.PARTIAL, S.CANCELED, S.ATTENTION}),
    # A person ends it (with its refund) or sends it back to polling.
    S.ATTENTION: frozenset({S.COMPLETED, S.PARTIAL, S.CANCELED, S.PLACED}),
    # Finished orders never go back.
    S.COMPLETED: frozenset(),
    S.PARTIAL: frozenset(),
    S.CANCELED: frozenset(),
    S.FAILED: frozenset(),
}

FINAL_STATES: Final = frozenset({S.COMPLETED, S.PARTIAL, S.CANCELED, S.FAILED})
OPEN_STATES: Final = frozenset(set(S) - FINAL_STATES)


class IllegalTransition(Exception):
    """A state change the table does not allow: a bug in the caller, never a race."""


def order_transition(
    *,
    order: Order,
    to: str,
    actor: User | None = None,
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> bool:
    """Move `order` from the state it was read in to `to`, with `changes` to other fields.

    Returns False, changing nothing, when the row is no longer in the state `order` was read
    in (someone else got there first). On success the in-memory `order` is updated too.
    Callers that move money run this inside their own `transaction.atomic()` together with the
    ledger write, so a state change and its refund commit or fail together.
    """
    from_state = order.state
    if to not in TRANSITIONS[from_state]:
        raise IllegalTransition(f"order {order.pk}: {from_state} -> {to} is not allowed")
    now = timezone.now()
    values: dict[str, Any] = {"state": to, "updated_at": now, **(changes or {})}
    if to in FINAL_STATES:
        values["finished_at"] = now
    with transaction.atomic():
        changed = Order.objects.filter(pk=order.pk, state=from_state).update(**values)
        if changed != 1:
            return False
        OrderEvent.objects.create(
            order_id=order.pk, from_state=from_state, to_state=to, actor=actor, reason=reason[:500]
        )
    for name, value in values.items():
        setattr(order, name, value)
    return True


def order_note(*, order_id: int, actor: User | None, reason: str) -> OrderEvent | None:
    """Record in an order's history something done about it that is not a change of state (a
    refill or cancel asked by staff from a support ticket): an event whose from and to are the
    order's current state. None when there is no such order."""
    state = Order.objects.filter(pk=order_id).values_list("state", flat=True).first()
    if state is None:
        return None
    return OrderEvent.objects.create(
        order_id=order_id, from_state=state, to_state=state, actor=actor, reason=reason[:500]
    )


# --- refill and cancel requests -----------------------------------------------------------------

R = RefillRequest.State
C = CancelRequest.State

REFILL_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    # Waiting for the requests cycle, which claims it in a batch; unanswered past the attention
    # bound, a person looks.
    R.REQUESTED: frozenset({R.SENDING, R.ATTENTION}),
    # In a batch under way: accepted (pending), refused, or back to requested (not answered, the
    # call failed, or the worker died: a re-send is answered "already submitted").
    R.SENDING: frozenset({R.REQUESTED, R.PENDING, R.REJECTED}),
    # Followed with refill_status; the upstream moves it either way between these two.
    R.PENDING: frozenset({R.IN_PROGRESS, R.COMPLETED, R.REJECTED, R.ATTENTION}),
    R.IN_PROGRESS: frozenset({R.PENDING, R.COMPLETED, R.REJECTED, R.ATTENTION}),
    R.COMPLETED: frozenset(),
    R.REJECTED: frozenset(),
    R.ATTENTION: frozenset(),
}

CANCEL_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    # DONE and REJECTED from every open state: the order ended meanwhile, and its end decides.
    C.REQUESTED: frozenset({C.SENDING, C.ATTENTION, C.DONE, C.REJECTED}),
    C.SENDING: frozenset({C.REQUESTED, C.SUBMITTED, C.DONE, C.REJECTED}),
    # Back to requested: a queued order canceled by its customer while a worker claimed it a
    # moment before; the cancel is then forwarded like any other.
    C.SUBMITTED: frozenset({C.REQUESTED, C.DONE, C.REJECTED}),
    C.ATTENTION: frozenset({C.DONE, C.REJECTED}),
    C.DONE: frozenset(),
    C.REJECTED: frozenset(),
}

OPEN_CANCEL_STATES: Final = (C.REQUESTED, C.SENDING, C.SUBMITTED, C.ATTENTION)

Request = RefillRequest | CancelRequest


def _request_table(model: type[Request]) -> dict[str, frozenset[str]]:
    return REFILL_TRANSITIONS if model is RefillRequest else CANCEL_TRANSITIONS


def request_move(request: Request, to: str, *, now: datetime | None = None) -> None:
    """Move a refill or cancel request to `to` in memory; the caller writes it (in bulk)."""
    if to not in _request_table(type(request))[request.state]:
        raise IllegalTransition(f"{request}: {request.state} -> {to} is not allowed")
    request.state = to
    request.updated_at = now or timezone.now()


def requests_move(
    queryset: QuerySet[Any],
    *,
    from_states: Iterable[str],
    to: str,
    now: datetime | None = None,
    **changes: Any,
) -> int:
    """Move the requests of `queryset` that are in one of `from_states` to `to`, in one UPDATE
    (conditional on the state, so a row that moved meanwhile is left alone). Returns how many."""
    from_states = list(from_states)
    table = _request_table(queryset.model)
    if illegal := [state for state in from_states if to not in table[state]]:
        raise IllegalTransition(f"{queryset.model.__name__}: {illegal} -> {to} is not allowed")
    values = {"state": to, "updated_at": now or timezone.now(), **changes}
    return int(queryset.filter(state__in=from_states).update(**values))
