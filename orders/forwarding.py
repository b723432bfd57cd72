"""Sending a queued order upstream, at most once, and what each answer means.

The order is claimed queued -> sending with a conditional UPDATE that is committed before the
upstream is called, and the upstream is never called inside a transaction or while a row lock
is held. Only an answer that proves the order never reached the upstream (a refusal, or
UpstreamUnreachable) sends it back to the queue or to a backup; any doubt holds it for review.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import mail_admins
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Provider
from catalog.providers import provider_note_out_of_funds
from catalog.upstreams import client_for
from panel.enqueue import enqueue
from panel.upstream import UpstreamClient, UpstreamRejected, UpstreamUnreachable

from . import failover, rules
from .cancel_outcome import cancel_if_asked
from .errors import REASON_INVALID, REASON_UNREACHABLE
from .lifecycle import order_finish
from .models import ForwardAttempt, Order, OrderKind, OrderState
from .states import order_transition

logger = logging.getLogger(__name__)

S = OrderState
FA = ForwardAttempt.Outcome

# Unreachable is provably "never sent", so after this many tries (about 12 hours with the
# backoff capped at 30 minutes) the order is failed and refunded rather than kept forever.
MAX_SEND_ATTEMPTS = 30
# A paused provider's orders that wait are looked at again after this long.
PAUSED_RETRY = timedelta(minutes=5)
OUT_OF_FUNDS_ALERT_KEY = "alert:upstream-out-of-funds"
OUT_OF_FUNDS_ALERT_EVERY = 3600  # seconds: one e-mail an hour while orders keep waiting


def enqueue_forward(order_id: int) -> None:
    # When the broker is down the order is safely queued and the sweep will forward it.
    enqueue("orders.tasks.order_forward_task", order_id)


def order_forward(*, order_id: int) -> str:
    """Send one queued order upstream, at most once. Returns what happened, in one word.

    Must not run inside a transaction: the claim has to be committed before the call, so that
    a crash during the call leaves a visible `sending` row (the sweep holds it for review)
    instead of a queued order that would be sent a second time.
    """
    order = (
        Order.objects.select_related("service", "placed_service", "provider")
        .filter(pk=order_id)
        .first()
    )
    if order is None or order.state != S.QUEUED:
        return "skipped"
    if (not_now := _not_sendable(order)) is not None:
        return not_now
    # Built before the claim: a misconfigured client must leave the order queued, untouched.
    client = client_for(order.provider)
    attempts = order.send_attempts + 1
    if not order_transition(
        order=order,
        to=S.SENDING,
        reason=f"sending, attempt {attempts}",
        changes={"send_attempts": attempts, "next_attempt_at": None},
    ):
        return "skipped"  # another worker (or a redelivered task) has it
    return _send_claimed(client, order)


def _not_sendable(order: Order) -> str | None:
    """Why a queued order is not sent now (in one word), or None."""
    if cancel_if_asked(order):
        return "canceled"  # the customer's cancel wins: the order never reached the upstream
    if order.waiting_for_funds:
        return "waiting_for_funds"
    if order.next_attempt_at is not None and order.next_attempt_at > timezone.now():
        return "not_due"
    if not order.provider.usable:
        return _forward_provider_paused(order)
    return None


def _send(client: UpstreamClient, order: Order) -> int:
    """One add call, the right one for the order's kind."""
    # The service it is sent as: its own, or the backup it failed over to.
    service = failover.sent_service(order).upstream_id
    if order.kind == OrderKind.CUSTOM_COMMENTS:
        return client.add_comments(service=service, link=order.link, comments=order.comments)
    if order.kind == OrderKind.DRIPFEED:
        return client.add_dripfeed(
            service=service,
            link=order.link,
            quantity=order.quantity,
            runs=order.runs or 0,
            interval=order.interval or 0,
        )
    if order.kind == OrderKind.COMMENT_LIKES:
        return client.add_comment_likes(
            service=service, link=order.link, quantity=order.quantity, username=order.username
        )
    return client.add(service=service, link=order.link, quantity=order.quantity)


def _send_claimed(client: UpstreamClient, order: Order) -> str:
    started = time.monotonic()
    try:
        upstream_id = _send(client, order)
    except UpstreamRejected as exc:
        return _forward_refused(order, exc.message, started)
    except UpstreamUnreachable as exc:
        return _forward_not_reached(order, str(exc), started)
    except ValueError as exc:
        # The client refuses bad arguments before sending anything: provably never sent.
        logger.error("order %s: refused by the client before sending: %s", order.pk, exc)
        order_finish(
            order=order,
            to=S.FAILED,
            refund=order.charge,
            reason=f"not sent: {exc}",
            changes={"error": REASON_INVALID},
        )
        return "failed"
    except Exception as exc:
        # UpstreamAmbiguous, or anything unexpected once the request may have left: the
        # upstream may have placed it, so it is never sent again (nor to a backup) without a
        # person deciding.
        failover.record_attempt(order, outcome=FA.AMBIGUOUS, answer=str(exc), started=started)
        logger.error(
            "order %s: the upstream may have placed it (%s); held for review", order.pk, exc
        )
        order_transition(order=order, to=S.REVIEW, reason=f"no clear answer: {exc}")
        return "review"
    failover.record_attempt(
        order, outcome=FA.PLACED, answer=f"order {upstream_id}", started=started
    )
    return _forward_placed(order, upstream_id)


def _forward_refused(order: Order, message: str, started: float) -> str:
    out_of_funds = rules.is_upstream_out_of_funds(message)
    failover.record_attempt(
        order,
        outcome=FA.OUT_OF_FUNDS if out_of_funds else FA.REFUSED,
        answer=message,
        started=started,
    )
    if out_of_funds:
        provider_note_out_of_funds(provider_id=order.provider_id)
    # Refused before being accepted: provably not bought there, so a backup may take it.
    if failover.refusal_allows_failover(message) and failover.move_to_backup(
        order, reason=f"{order.provider.name} refused: {message}"
    ):
        return order_forward(order_id=order.pk)
    return _forward_rejected(order, message)


def _forward_not_reached(order: Order, detail: str, started: float) -> str:
    failover.record_attempt(order, outcome=FA.UNREACHABLE, answer=detail, started=started)
    if order.send_attempts >= settings.PROVIDER_FAILOVER_UNREACHABLE_ATTEMPTS and (
        failover.move_to_backup(
            order, reason=f"{order.provider.name} unreachable {order.send_attempts} times"
        )
    ):
        return order_forward(order_id=order.pk)
    return _forward_unreachable(order, detail)


def _forward_provider_paused(order: Order) -> str:
    """The order's provider is paused (or disabled): its orders fail over, or wait, as the
    provider says. Nothing was sent, so a backup is always safe here."""
    name = order.provider.name
    if order.provider.when_paused == Provider.WhenPaused.FAILOVER and failover.next_backup(order):
        if not order_transition(
            order=order, to=S.SENDING, reason=f"{name} is paused: moving to a backup"
        ):
            return "skipped"
        failover.record_attempt(order, outcome=FA.SKIPPED, answer=f"{name} is paused")
        if failover.move_to_backup(order, reason=f"{name} is paused"):
            return order_forward(order_id=order.pk)
        # The backup became unusable in between: back in the queue, untouched.
        order_transition(order=order, to=S.QUEUED, reason=f"{name} is paused; no backup")
    Order.objects.filter(pk=order.pk, state=S.QUEUED).update(
        next_attempt_at=timezone.now() + PAUSED_RETRY
    )
    return "provider_paused"


def _forward_placed(order: Order, upstream_id: int) -> str:
    changes = {
        "upstream_id": upstream_id,
        "upstream_status": rules.PENDING,
        "error": "",
        "waiting_for_funds": False,
    }
    try:
        if order_transition(
            order=order, to=S.PLACED, reason=f"upstream order {upstream_id}", changes=changes
        ):
            return "placed"
        # Our claim went stale while the call was under way (the sweep holds such orders for
        # review). We do know the answer, so record it rather than leave it to a person.
        order.refresh_from_db()
        if (
            order.state == S.REVIEW
            and order.upstream_id is None
            and order_transition(
                order=order,
                to=S.PLACED,
                reason=f"upstream order {upstream_id} (answered late)",
                changes=changes,
            )
        ):
            return "placed"
    except IntegrityError:
        pass  # another order already holds this upstream id: an upstream bug, or a manual attach
    logger.error(
        "order %s: the upstream placed it as %s but it could not be recorded", order.pk, upstream_id
    )
    order.refresh_from_db()
    if order.state == S.SENDING:
        order_transition(
            order=order,
            to=S.REVIEW,
            reason=f"upstream answered order id {upstream_id}, which could not be recorded",
        )
    return "review"


def _alert_staff_out_of_funds(message: str) -> None:
    """E-mail the shop's ADMINS that the upstream account is empty, at most once an hour.

    `cache.add` is the dedupe: only the first worker to see the refusal in the hour sends.
    A mail failure is logged and never affects the order (it is already safely queued).
    """
    if not settings.ADMINS or not cache.add(OUT_OF_FUNDS_ALERT_KEY, 1, OUT_OF_FUNDS_ALERT_EVERY):
        return
    waiting = Order.objects.filter(state=S.QUEUED, waiting_for_funds=True).count()
    try:
        mail_admins(
            "Upstream out of funds: orders are waiting",
            f"The upstream refused an order with {message!r}. {waiting} order(s) wait for the "
            "upstream account to be topped up; they are sent again automatically once its "
            "balance covers them.",
        )
    except Exception:  # a broken mail setup must not break forwarding
        logger.exception("could not e-mail the out-of-funds alert")


def _forward_rejected(order: Order, message: str) -> str:
    if rules.is_upstream_out_of_funds(message):
        # The shop's upstream account is empty: not the customer's problem. The order waits,
        # and the sweep sends it again once a balance check shows the upstream can pay.
        logger.error(
            "UPSTREAM OUT OF FUNDS: order %s is waiting (%s). Top up the upstream account.",
            order.pk,
            message,
        )
        order_transition(
            order=order,
            to=S.QUEUED,
            reason=f"upstream: {message}",
            # Not a failed attempt to reach the upstream: the give-up count starts afresh.
            changes={"waiting_for_funds": True, "send_attempts": 0},
        )
        if cancel_if_asked(order):
            return "canceled"
        _alert_staff_out_of_funds(message)
        transaction.on_commit(_enqueue_balance_refresh, robust=True)
        return "waiting_for_funds"
    order_finish(
        order=order,
        to=S.FAILED,
        refund=order.charge,
        reason=f"upstream refused: {message}",
        changes={"error": message[:500]},
    )
    return "failed"


def _enqueue_balance_refresh() -> None:
    """After an "Insufficient balance", read the upstream balance at once: the dashboard and the
    low-balance warning must not wait for the next scheduled check."""
    enqueue("catalog.tasks.upstream_balance_refresh_task")


def _forward_unreachable(order: Order, detail: str) -> str:
    if order.send_attempts >= MAX_SEND_ATTEMPTS:
        order_finish(
            order=order,
            to=S.FAILED,
            refund=order.charge,
            reason=f"unreachable {order.send_attempts} times: {detail}",
            changes={"error": REASON_UNREACHABLE},
        )
        return "failed"
    retry_at = timezone.now() + rules.forward_backoff(order.send_attempts)
    if order_transition(
        order=order,
        to=S.QUEUED,
        reason=f"not reached, retry at {retry_at:%H:%M:%S}: {detail}",
        changes={"next_attempt_at": retry_at},
    ) and cancel_if_asked(order):
        return "canceled"
    return "retry"
