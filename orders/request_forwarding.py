"""Refill and cancel requests upstream: forwarded in batches of 100, refills followed to their end.

Both kinds go the same way (claim a batch, one call, record each answer); they differ only in
which requests are due, which client call takes them and how an answer reads (`_Kind`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog.upstreams import client_for
from panel.enqueue import enqueue
from panel.upstream import UpstreamClient, UpstreamError

from . import attention, rules
from .errors import REASON_ORDER_FINISHED
from .models import CancelRequest, OrderState, RefillRequest
from .policy import REFILL_STATE_BY_WORD
from .selectors import provider_ids_of
from .states import FINAL_STATES, Request, request_move, requests_move

logger = logging.getLogger(__name__)

S = OrderState
R = RefillRequest.State
C = CancelRequest.State

# A refill/cancel batch claimed but never answered (worker died) is sent again after this long:
# harmless, the upstream answers "already submitted" for what it already took.
REQUEST_SENDING_TIMEOUT = timedelta(minutes=10)


@dataclass
class RequestsResult:
    refills_sent: int = 0
    refills_rejected: int = 0
    refills_updated: int = 0
    refills_finished: int = 0
    cancels_sent: int = 0
    cancels_rejected: int = 0
    failed_calls: int = 0


def requests_cycle(*, batch_size: int = 100, provider_id: int | None = None) -> RequestsResult:
    """Forward refill and cancel requests in batches of 100, then follow refill statuses (at
    every provider, or at `provider_id` only)."""
    result = RequestsResult()
    refills_forward(result=result, batch_size=batch_size, provider_id=provider_id)
    cancels_forward(result=result, batch_size=batch_size, provider_id=provider_id)
    refills_poll(result=result, batch_size=batch_size, provider_id=provider_id)
    return result


# ----------------------------------------------------------------------------- forwarding


@dataclass(frozen=True)
class _Kind:
    model: type[RefillRequest] | type[CancelRequest]
    what: str
    due: Callable[[datetime], QuerySet[Any]]  # the requests to send now
    call: Callable[[UpstreamClient], Callable[..., dict[int, Any]]]
    read: Callable[[Any, int, Any, RequestsResult], None]  # records one answer in memory
    fields: tuple[str, ...]  # what `read` may change
    notify_rejected: Callable[[int], None] | None = None  # the customer hears of a refusal


def _refills_due(now: datetime) -> QuerySet[Any]:
    return RefillRequest.objects.filter(state=R.REQUESTED, order__upstream_id__isnull=False)


def _cancels_due(now: datetime) -> QuerySet[Any]:
    # A cancel asked while the order was still on its way, for an order that has ended since.
    requests_move(
        CancelRequest.objects.filter(order__state__in=FINAL_STATES),
        from_states=[C.REQUESTED],
        to=C.REJECTED,
        now=now,
        error=REASON_ORDER_FINISHED,
    )
    return CancelRequest.objects.filter(
        state=C.REQUESTED, order__state=S.PLACED, order__upstream_id__isnull=False
    )


def _read_refill(
    request: RefillRequest, upstream_id: int, answer: Any, result: RequestsResult
) -> None:
    if answer.refill is not None:
        request_move(request, R.PENDING)
        request.upstream_refill_id, request.error = answer.refill, ""
        result.refills_sent += 1
    elif rules.is_refill_already_taken(answer.error):
        # Our earlier, unanswered attempt got through: the refill id is the order id.
        request_move(request, R.PENDING)
        request.upstream_refill_id = upstream_id
        result.refills_sent += 1
    else:
        request_move(request, R.REJECTED)
        request.error = (answer.error or "")[:500]
        result.refills_rejected += 1


def _read_cancel(
    request: CancelRequest, upstream_id: int, answer: Any, result: RequestsResult
) -> None:
    if answer.cancel is not None or rules.is_cancel_already_taken(answer.error):
        request_move(request, C.SUBMITTED)
        request.error = ""
        result.cancels_sent += 1
    else:
        request_move(request, C.REJECTED)
        request.error = (answer.error or "")[:500]
        result.cancels_rejected += 1


_REFILLS = _Kind(
    model=RefillRequest,
    what="refill",
    due=_refills_due,
    call=lambda client: client.refills,
    read=_read_refill,
    fields=("state", "upstream_refill_id", "error", "held_since", "updated_at"),
    notify_rejected=lambda refill_id: _enqueue_refill_notify(refill_id),
)
_CANCELS = _Kind(
    model=CancelRequest,
    what="cancel",
    due=_cancels_due,
    call=lambda client: client.cancels,
    read=_read_cancel,
    fields=("state", "error", "held_since", "updated_at"),
)


def refills_forward(
    *, result: RequestsResult | None = None, batch_size: int = 100, provider_id: int | None = None
) -> RequestsResult:
    return _requests_forward(
        _REFILLS, result=result or RequestsResult(), batch_size=batch_size, provider_id=provider_id
    )


def cancels_forward(
    *, result: RequestsResult | None = None, batch_size: int = 100, provider_id: int | None = None
) -> RequestsResult:
    return _requests_forward(
        _CANCELS, result=result or RequestsResult(), batch_size=batch_size, provider_id=provider_id
    )


def _requests_forward(
    kind: _Kind, *, result: RequestsResult, batch_size: int, provider_id: int | None
) -> RequestsResult:
    now = timezone.now()
    _release_stale_claims(kind.model, now=now)
    query = kind.due(now)
    if provider_id is None:  # each provider's batches go to it (see orders_poll)
        for each in provider_ids_of(query, "order__provider_id"):
            _requests_forward(kind, result=result, batch_size=batch_size, provider_id=each)
        return result
    query = query.filter(order__provider_id=provider_id)
    send = kind.call(client_for(provider_id))
    for requests, by_upstream, answers in _claimed_batches(
        kind, query, send=send, result=result, batch_size=batch_size, now=now
    ):
        for upstream_id, request in by_upstream.items():
            answer = answers.get(upstream_id)
            if answer is None:
                # Not mentioned: ask again next cycle, and after the bound, a person looks.
                request_move(request, kind.model.State.REQUESTED)
                attention.request_unanswered(
                    request, kind.model.State.ATTENTION, "not answered by the upstream"
                )
            else:
                kind.read(request, upstream_id, answer, result)
        kind.model.objects.bulk_update(requests, list(kind.fields))
        _notify_rejected(kind, requests)
    return result


def _notify_rejected(kind: _Kind, requests: list[Request]) -> None:
    if kind.notify_rejected is None:
        return
    for request in requests:
        if request.state == kind.model.State.REJECTED:
            transaction.on_commit(partial(kind.notify_rejected, request.pk), robust=True)


def _claim(model: type[Request], ids_query: QuerySet[Any], batch_size: int) -> list[int]:
    """Claim up to batch_size requests for this worker. SKIP LOCKED on PostgreSQL lets two
    workers take disjoint batches; SQLite serialises writers, which is enough there."""
    with transaction.atomic():
        ids = list(
            ids_query.select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if ids:
            requests_move(
                model.objects.filter(pk__in=ids),
                from_states=[model.State.REQUESTED],
                to=model.State.SENDING,
            )
    return ids


def _release_stale_claims(model: type[Request], *, now: datetime) -> None:
    """Requests claimed by a worker that died mid-batch go back to `requested`: a re-send is
    safe here, the upstream answers "already submitted", which is read as success."""
    requests_move(
        model.objects.filter(updated_at__lt=now - REQUEST_SENDING_TIMEOUT),
        from_states=[model.State.SENDING],
        to=model.State.REQUESTED,
        now=now,
    )


def _claimed_batches(
    kind: _Kind,
    query: QuerySet[Any],
    *,
    send: Callable[..., dict[int, Any]],
    result: RequestsResult,
    batch_size: int,
    now: datetime,
) -> Iterator[tuple[list[Any], dict[int, Any], dict[int, Any]]]:
    """Claim the requests `query` selects, batch after batch, and send each batch upstream in one
    call (`send(orders=[upstream ids])`): yields (requests, requests by upstream order id,
    answers) for the caller to record. A failed call hands its batch back (requested again) and
    ends the cycle: the rest waits for the next one. A batch is never claimed twice per cycle."""
    model = kind.model
    done: set[int] = set()
    while True:
        ids = _claim(model, query.exclude(pk__in=done) if done else query, batch_size)
        if not ids:
            return
        done.update(ids)
        requests: list[Request] = list(
            model.objects.filter(pk__in=ids, state=model.State.SENDING).select_related("order")
        )
        # The callers' queries select only orders with an upstream id.
        by_upstream = {cast(int, request.order.upstream_id): request for request in requests}
        try:
            answers = send(orders=list(by_upstream))
        except UpstreamError as exc:
            logger.warning(
                "%s batch of %s failed, retried next cycle: %s", kind.what, len(requests), exc
            )
            result.failed_calls += 1
            requests_move(
                model.objects.filter(pk__in=ids),
                from_states=[model.State.SENDING],
                to=model.State.REQUESTED,
                now=now,
            )
            return
        yield requests, by_upstream, answers


# ----------------------------------------------------------------------------- refill statuses

_FOLLOWED = (R.PENDING, R.IN_PROGRESS)


def refills_poll(
    *, result: RequestsResult | None = None, batch_size: int = 100, provider_id: int | None = None
) -> RequestsResult:
    """Follow open refills with refill_status, 100 per call, at each order's provider."""
    result = result or RequestsResult()
    open_refills = RefillRequest.objects.filter(
        state__in=_FOLLOWED, upstream_refill_id__isnull=False
    )
    if provider_id is None:
        for each in provider_ids_of(open_refills, "order__provider_id"):
            refills_poll(result=result, batch_size=batch_size, provider_id=each)
        return result
    client = client_for(provider_id)
    last_pk = 0
    while batch := list(
        open_refills.filter(order__provider_id=provider_id, pk__gt=last_pk).order_by("pk")[
            :batch_size
        ]
    ):
        last_pk = batch[-1].pk
        try:
            answers = client.refill_statuses(
                refills=[r.upstream_refill_id for r in batch if r.upstream_refill_id]
            )
        except UpstreamError as exc:
            logger.warning("refill status batch failed, retried next cycle: %s", exc)
            result.failed_calls += 1
            continue
        _apply_refill_statuses(batch, answers, result)
    return result


def _apply_refill_statuses(
    batch: list[RefillRequest], answers: dict[int, Any], result: RequestsResult
) -> None:
    changed, finished = [], []
    for request in batch:
        outcome = _refill_status(request, answers.get(request.upstream_refill_id or 0))
        if outcome is not None:
            changed.append(request)
        if outcome == "finished":
            finished.append(request.pk)
    if changed:
        # Filtered on the open states: a refill never leaves Completed or Rejected.
        RefillRequest.objects.filter(state__in=_FOLLOWED).bulk_update(
            changed, ["state", "error", "held_since", "updated_at"]
        )
        result.refills_updated += len(changed)
        result.refills_finished += len(finished)
    for refill_id in finished:
        transaction.on_commit(partial(_enqueue_refill_notify, refill_id), robust=True)


def _refill_status(request: RefillRequest, answer: Any) -> str | None:
    """Apply one refill_status answer in memory: "finished", "changed", or None (no write)."""
    if answer is None or answer.error:
        why = f"upstream: {answer.error}" if answer else "missing from the answer"
        logger.warning("refill %s: %s", request.pk, why)
        return "changed" if attention.request_unanswered(request, R.ATTENTION, why) else None
    state = REFILL_STATE_BY_WORD.get(rules.normalize_refill_status(answer.status) or "")
    if state is None:
        logger.warning("refill %s: unknown status %r, left as it was", request.pk, answer.status)
        why = f"unknown refill status {str(answer.status)[:100]!r}"
        return "changed" if attention.request_unanswered(request, R.ATTENTION, why) else None
    held = request.held_since is not None
    if held:
        request.held_since, request.updated_at = None, timezone.now()
    if state == request.state:
        return "changed" if held else None
    request_move(request, state)
    if state == R.REJECTED:
        request.error = "Refill request was rejected"
    return "finished" if state in (R.COMPLETED, R.REJECTED) else "changed"


def _enqueue_refill_notify(refill_id: int) -> None:
    enqueue("orders.tasks.refill_notify_task", refill_id)
