"""The customer's refill and cancel requests: asked here, forwarded in batches later
(orders.request_forwarding). The API asks for up to 100 orders at once, in constant queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from panel.numbers import parse_int

from .errors import REASON_CANCELED_BEFORE_SENDING, OrderRejected
from .lifecycle import order_finish
from .models import OPEN_REFILL_STATES, CancelRequest, Order, OrderState, RefillRequest
from .policy import cancel_refusal, refill_refusal
from .states import request_move

if TYPE_CHECKING:
    from django.contrib.auth.models import User

S = OrderState
R = RefillRequest.State
C = CancelRequest.State


def _own_orders(*, user: User, order_ids: Iterable[object]) -> tuple[list[int], dict[int, Order]]:
    """The integer ids asked for, each once in the order given, and those of them that are the
    user's orders (another customer's order is as absent as one that does not exist)."""
    wanted = list(dict.fromkeys(n for n in map(parse_int, order_ids) if n is not None))
    positive = [n for n in wanted if n > 0]
    orders = Order.objects.filter(user=user, pk__in=positive).select_related("service")
    return wanted, {o.pk: o for o in orders}


def _worded[Asked](answers: dict[int, Asked | OrderRejected]) -> dict[int, Asked | str]:
    """The API's form of a batch's answers: a refusal as its message."""
    return {
        order_id: answer.message if isinstance(answer, OrderRejected) else answer
        for order_id, answer in answers.items()
    }


def _only[Asked](answers: dict[int, Asked | OrderRejected], order_id: object) -> Asked:
    """The one request of a batch of one, or its refusal raised."""
    answer = answers.get(parse_int(order_id) or -1)
    if answer is None:
        raise OrderRejected("order_id")
    if isinstance(answer, OrderRejected):
        raise answer
    return answer


def _refills_many(
    *, user: User, order_ids: Iterable[object]
) -> dict[int, RefillRequest | OrderRejected]:
    wanted, orders = _own_orders(user=user, order_ids=order_ids)
    open_states = dict(
        RefillRequest.objects.filter(order_id__in=orders, state__in=OPEN_REFILL_STATES).values_list(
            "order_id", "state"
        )
    )
    now = timezone.now()
    answers: dict[int, RefillRequest | OrderRejected] = {}
    new: list[RefillRequest] = []
    for order_id in wanted:
        order = orders.get(order_id)
        code = (
            "order_id"
            if order is None
            else refill_refusal(order, open_refill_state=open_states.get(order_id), now=now)
        )
        if code is not None:
            answers[order_id] = OrderRejected(code)
            continue
        request = RefillRequest(order=order, state=R.REQUESTED)
        new.append(request)
        answers[order_id] = request
    for request in _insert_all(new):
        answers[request.order_id] = OrderRejected("refill_open")
    return answers


def _insert_all(rows: list[Any]) -> list[Any]:
    """Insert rows in one statement; when a concurrent request won a unique constraint for one of
    them, fall back to one insert each. Returns the rows that lost."""
    if not rows:
        return []
    try:
        with transaction.atomic():
            type(rows[0]).objects.bulk_create(rows)
        return []
    except IntegrityError:
        lost = []
        for row in rows:
            try:
                with transaction.atomic():
                    row.pk = None
                    row._state.adding = True
                    row.save()
            except IntegrityError:
                lost.append(row)
        return lost


def refill_request_many(*, user: User, order_ids: Iterable[int]) -> dict[int, RefillRequest | str]:
    """Ask for refills of many of the user's orders in a constant number of queries (the API's
    `refill` with up to 100 ids).

    Returns, per order id asked, the new RefillRequest or the API's refusal ("Incorrect order ID"
    for an order that does not exist or is someone else's: the two are indistinguishable).
    Ids that are not integers are left out of the answer.
    """
    return _worded(_refills_many(user=user, order_ids=order_ids))


def refill_request(*, user: User, order_id: int) -> RefillRequest:
    """Ask for a refill of one of the user's orders; raises OrderRejected."""
    return _only(_refills_many(user=user, order_ids=[order_id]), order_id)


def _cancels_many(
    *, user: User, order_ids: Iterable[object]
) -> dict[int, CancelRequest | OrderRejected]:
    wanted, orders = _own_orders(user=user, order_ids=order_ids)
    asked = set(
        CancelRequest.objects.filter(order_id__in=orders).values_list("order_id", flat=True)
    )
    answers: dict[int, CancelRequest | OrderRejected] = {}
    new: list[CancelRequest] = []
    for order_id in wanted:
        order = orders.get(order_id)
        code = (
            "order_id"
            if order is None
            else cancel_refusal(order, has_cancel_request=order_id in asked)
        )
        if order is None or code is not None:
            answers[order_id] = OrderRejected(code or "order_id")
            continue
        if order.state == S.QUEUED:
            answers[order_id] = _cancel_before_sending(order, user)
            continue
        request = CancelRequest(order=order, state=C.REQUESTED)
        new.append(request)
        answers[order_id] = request
    for request in _insert_all(new):
        answers[request.order_id] = OrderRejected("cancel_submitted")
    return answers


def _cancel_before_sending(order: Order, user: User) -> CancelRequest | OrderRejected:
    """A queued order has not left the shop: cancel it here, with a full refund. The claim is
    the same conditional UPDATE a forwarding worker uses, so exactly one of them wins."""
    try:
        with transaction.atomic():
            request = CancelRequest.objects.create(order=order, state=C.SUBMITTED)
            if not order_finish(
                order=order,
                to=S.CANCELED,
                refund=order.charge,
                actor=user,
                reason="canceled by the customer before sending",
                changes={"error": REASON_CANCELED_BEFORE_SENDING},
            ):
                # A worker claimed it a moment ago: forward the cancel like any other.
                request_move(request, C.REQUESTED)
                request.save(update_fields=["state", "updated_at"])
    except IntegrityError:
        return OrderRejected("cancel_submitted")
    return request


def cancel_request_many(*, user: User, order_ids: Iterable[int]) -> dict[int, CancelRequest | str]:
    """Ask to cancel many of the user's orders (the API's `cancel` with up to 100 ids).

    Constant queries, plus a few per order still queued here: those are cancelled at once with
    a full refund (nothing was bought upstream). The others are forwarded in batches by
    `requests_cycle`, and their refund comes only when the poll sees the upstream report them
    Canceled or Partial. Answers as `refill_request_many`.
    """
    return _worded(_cancels_many(user=user, order_ids=order_ids))


def cancel_request(*, user: User, order_id: int) -> CancelRequest:
    """Ask to cancel one of the user's orders; raises OrderRejected."""
    return _only(_cancels_many(user=user, order_ids=[order_id]), order_id)
