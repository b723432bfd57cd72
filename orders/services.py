"""Every write of the orders app: placing, forwarding, polling, refunds, refills, cancels.

The rules that keep the shop's money safe, and where they are kept:

* An order and its charge are written in one transaction; the forward is enqueued after commit.
* Forwarding is at most once: the order is claimed queued -> sending with a conditional UPDATE
  that is committed before the upstream is called, and the upstream is never called inside a
  transaction or while a row lock is held. Only an answer that proves the order never reached
  the upstream (UpstreamUnreachable) sends it back to the queue; any doubt holds it for review.
* Every state change goes through `orders.states.order_transition`; a refund is written in the
  same transaction as the change that causes it, and `wallet_refund` refuses a second refund.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.cache import cache
from django.core.mail import mail_admins
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from billing.referrals import commission_on_order_end
from billing.services import InsufficientFunds, wallet_charge, wallet_refund
from catalog.balance import currency_mismatch, expected_currency
from catalog.models import Provider
from catalog.providers import provider_note_out_of_funds, provider_record_balance
from catalog.selectors import customer_price_for
from catalog.upstreams import client_for
from panel.db import bulk_write
from panel.enqueue import enqueue
from panel.money import ZERO, charge_for, format_vnd, quantize_money
from panel.upstream import (
    OrderStatus,
    UpstreamClient,
    UpstreamError,
    UpstreamRejected,
    UpstreamUnreachable,
)

from . import attention, failover, guards, rules
from .cancel_outcome import cancel_if_asked, cancel_requests_close
from .errors import (
    REASON_BY_SHOP,
    REASON_CANCELED_BEFORE_SENDING,
    REASON_INVALID,
    REASON_ORDER_FINISHED,
    REASON_UNREACHABLE,
    OrderRejected,
)
from .models import (
    CancelRequest,
    ForwardAttempt,
    Order,
    OrderEvent,
    OrderKind,
    OrderState,
    RefillRequest,
)
from .policy import OPEN_REFILL_STATES, cancel_refusal, refill_refusal
from .poll_packing import packed_statuses
from .states import FINAL_STATES, order_transition
from .validation import check_order

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

S = OrderState
FA = ForwardAttempt.Outcome
R = RefillRequest.State
C = CancelRequest.State

# How long a `sending` claim may last before the sweep decides its worker died. Well above the
# client's own deadline (SIEULIKE_TIMEOUT, 30 s by default), so a slow but live call is never
# taken for a dead one.
SENDING_TIMEOUT = timedelta(minutes=10)
# Unreachable is provably "never sent", so after this many tries (about 12 hours with the
# backoff capped at 30 minutes) the order is failed and refunded rather than kept forever.
MAX_SEND_ATTEMPTS = 30
# A refill/cancel batch claimed but never answered (worker died) is sent again after this long:
# harmless, the upstream answers "already submitted" for what it already took.
REQUEST_SENDING_TIMEOUT = timedelta(minutes=10)
MASS_MAX_LINES = 100


def _provider_ids(queryset: Any, field: str = "provider_id") -> list[int]:
    """The providers the rows of `queryset` belong to: every call after placing goes to the
    order's own provider, batched per provider (see orders_poll)."""
    return sorted(set(queryset.order_by().values_list(field, flat=True).distinct()))


# =============================================================================== placing


def _find_by_key(*, user: User, key: str, fingerprint: str) -> Order | None:
    existing = Order.objects.filter(user=user, idempotency_key=key).first()
    if existing is not None and existing.request_fingerprint != fingerprint:
        raise OrderRejected("idempotency_reused")
    return existing


def order_place(
    *,
    user: User,
    service_id: int | str,
    link: str,
    quantity: int | str | None = None,
    comments: str | None = None,
    username: str | None = None,
    runs: int | str | None = None,
    interval: int | str | None = None,
    idempotency_key: str | None = None,
    max_rate: Decimal | str | None = None,
    confirm_same_link: bool = True,
) -> Order:
    """Validate, charge and queue an order; the forward is enqueued after commit.

    `max_rate`: the price per 1000 the customer was shown; a higher current price is refused
    ("price_changed"), never charged. `confirm_same_link=False`: refuse ("same_link") while
    another order of the customer's for this service and link is still open.

    The numbers may come as given (strings from the API and mass orders): they are validated.

    Raises OrderRejected (nothing charged) with the API's wording. With an idempotency key, the
    same key and parameters return the order placed the first time; the same key with other
    parameters is refused.
    """
    key = (idempotency_key or "").strip() or None
    if key is not None and len(key) > 100:
        raise OrderRejected("idempotency_key")
    # The fingerprint is of the request as given, so a retry is recognised before validation
    # (which may now fail: the service could have been paused since the first attempt).
    fingerprint = rules.request_fingerprint(
        service=str(service_id).strip(),
        link=str(link).strip(),
        quantity=str(quantity or "").strip(),
        comments=rules.comment_lines(comments or ""),
        username=(username or "").strip(),
        runs=str(runs or "").strip(),
        interval=str(interval or "").strip(),
    )
    if key is not None and (found := _find_by_key(user=user, key=key, fingerprint=fingerprint)):
        return found
    expected_rate = guards.parse_rate(max_rate)

    checked = check_order(
        service_id=service_id,
        link=link,
        quantity=quantity,
        comments=comments,
        username=username,
        runs=runs,
        interval=interval,
    )
    # The customer's own price (their discount or fixed rate), read through the same selector
    # as every page and the API's `services`: the price shown is the price charged.
    rate = customer_price_for(user=user, service=checked.service).rate
    charge = charge_for(rate, checked.total_quantity)
    if charge <= 0:  # a service priced at zero is a catalog mistake, never a free order
        raise OrderRejected("service")
    guards.check_price(rate=rate, max_rate=expected_rate)
    guards.check_same_link(
        user=user, service_id=checked.service.pk, link=checked.link, confirmed=confirm_same_link
    )
    try:
        with transaction.atomic():
            order = Order.objects.create(
                user=user,
                service=checked.service,
                # Sent to the service's own provider first (orders.failover may move it).
                provider_id=checked.service.provider_id,
                kind=checked.kind,
                link=checked.link,
                quantity=checked.quantity,
                comments=checked.comments,
                username=checked.username,
                runs=checked.runs,
                interval=checked.interval,
                rate=rate,
                charge=charge,
                state=S.QUEUED,
                idempotency_key=key,
                request_fingerprint=fingerprint,
            )
            OrderEvent.objects.create(order=order, to_state=S.QUEUED, actor=user, reason="placed")
            wallet_charge(user=user, amount=charge, order_id=order.pk, memo=f"Order #{order.pk}")
            transaction.on_commit(partial(_enqueue_forward, order.pk), robust=True)
    except InsufficientFunds as exc:
        missing = guards.missing_amount(balance=exc.balance, needed=exc.needed)
        raise OrderRejected(
            "funds", missing=format_vnd(missing), missing_amount=f"{missing:.2f}"
        ) from None
    except IntegrityError:
        # Two requests with the same key raced: the loser's insert hit the unique constraint
        # and rolled back; the winner's order is the answer.
        if key is not None and (found := _find_by_key(user=user, key=key, fingerprint=fingerprint)):
            return found
        raise
    return order


def _enqueue_forward(order_id: int) -> None:
    # When the broker is down the order is safely queued and the sweep will forward it.
    enqueue("orders.tasks.order_forward_task", order_id)


@dataclass
class MassLineResult:
    line: int
    text: str
    order: Order | None = None
    error: str | None = None  # the API's English
    display: str | None = None  # the same, for a person


def orders_place_mass(
    *, user: User, text: str, max_rates: dict[int, Decimal] | None = None
) -> list[MassLineResult]:
    """One order per line, `service_id|link|quantity`; every line reported, the valid ones placed.

    Each line is its own transaction: a bad or unaffordable line never undoes the others.
    `max_rates` (service id -> the price per 1000 the customer was shown, see `orders.mass`):
    a line is never charged above it, and a line whose service was not shown is refused.
    """
    raw_lines = [(n, line.strip()) for n, line in enumerate((text or "").splitlines(), start=1)]
    lines = [(n, line) for n, line in raw_lines if line]
    if not lines:
        exc = OrderRejected("mass_empty")
        return [MassLineResult(line=0, text="", error=exc.message, display=exc.display)]
    if len(lines) > MASS_MAX_LINES:
        exc = OrderRejected("mass_too_many", max=MASS_MAX_LINES)
        return [MassLineResult(line=0, text="", error=exc.message, display=exc.display)]
    results = []
    for number, line in lines:
        result = MassLineResult(line=number, text=line)
        parts = [part.strip() for part in line.split("|")]
        try:
            if len(parts) != 3:
                raise OrderRejected("mass_format")
            max_rate = None
            if max_rates is not None:
                max_rate = max_rates.get(rules.as_int(parts[0]) or 0)
                if max_rate is None:
                    raise OrderRejected("price_unseen")
            result.order = order_place(
                user=user, service_id=parts[0], link=parts[1], quantity=parts[2], max_rate=max_rate
            )
        except OrderRejected as exc:
            result.error, result.display = exc.message, exc.display
        results.append(result)
    return results


# =============================================================================== finishing


def _finish(
    *,
    order: Order,
    to: str,
    refund: Decimal,
    reason: str,
    actor: User | None = None,
    changes: dict[str, Any] | None = None,
) -> bool:
    """An order's end: the state change, its refund, the referrer's commission (on what the
    order finally cost, so a refund never needs reversing: see billing.referrals) and the
    notice, committed together."""
    with transaction.atomic():
        if not order_transition(order=order, to=to, actor=actor, reason=reason, changes=changes):
            return False
        if refund > 0:
            wallet_refund(
                order_id=order.pk,
                amount=min(refund, order.charge),
                memo=f"Order #{order.pk} {to}",
                created_by=actor,
            )
        cancel_requests_close(order_id=order.pk, to=to)
        commission_on_order_end(order_id=order.pk, customer_id=order.user_id)
        transaction.on_commit(partial(_enqueue_notify, order.pk), robust=True)
    return True


def _enqueue_notify(order_id: int) -> None:
    enqueue("orders.tasks.order_notify_task", order_id)


# =============================================================================== forwarding


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
    if cancel_if_asked(order):
        return "canceled"  # the customer's cancel wins: the order never reached the upstream
    if order.waiting_for_funds:
        return "waiting_for_funds"
    now = timezone.now()
    if order.next_attempt_at is not None and order.next_attempt_at > now:
        return "not_due"
    if not order.provider.usable:
        return _forward_provider_paused(order)
    # Built before the claim: a misconfigured client must leave the order queued, untouched.
    client = client_for(order.provider)
    attempts = order.send_attempts + 1
    claimed = order_transition(
        order=order,
        to=S.SENDING,
        reason=f"sending, attempt {attempts}",
        changes={"send_attempts": attempts, "next_attempt_at": None},
    )
    if not claimed:
        return "skipped"  # another worker (or a redelivered task) has it

    started = time.monotonic()
    try:
        upstream_id = _send(client, order)
    except UpstreamRejected as exc:
        out_of_funds = rules.is_upstream_out_of_funds(exc.message)
        failover.record_attempt(
            order,
            outcome=FA.OUT_OF_FUNDS if out_of_funds else FA.REFUSED,
            answer=exc.message,
            started=started,
        )
        if out_of_funds:
            provider_note_out_of_funds(provider_id=order.provider_id)
        # Refused before being accepted: provably not bought there, so a backup may take it.
        if failover.refusal_allows_failover(exc.message) and failover.move_to_backup(
            order, reason=f"{order.provider.name} refused: {exc.message}"
        ):
            return order_forward(order_id=order.pk)
        return _forward_rejected(order, exc.message)
    except UpstreamUnreachable as exc:
        failover.record_attempt(order, outcome=FA.UNREACHABLE, answer=str(exc), started=started)
        if order.send_attempts >= settings.PROVIDER_FAILOVER_UNREACHABLE_ATTEMPTS and (
            failover.move_to_backup(
                order,
                reason=f"{order.provider.name} unreachable {order.send_attempts} times",
            )
        ):
            return order_forward(order_id=order.pk)
        return _forward_unreachable(order, str(exc))
    except ValueError as exc:
        # The client refuses bad arguments before sending anything: provably never sent.
        logger.error("order %s: refused by the client before sending: %s", order.pk, exc)
        _finish(
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


# A paused provider's orders that wait are looked at again after this long.
PAUSED_RETRY = timedelta(minutes=5)


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


OUT_OF_FUNDS_ALERT_KEY = "alert:upstream-out-of-funds"
OUT_OF_FUNDS_ALERT_EVERY = 3600  # seconds: one e-mail an hour while orders keep waiting


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
    _finish(
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
        _finish(
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


# =============================================================================== sweeping


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
    forward = forward or _enqueue_forward

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
    for provider_id in _provider_ids(waiting):
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


# =============================================================================== polling


@dataclass
class PollResult:
    orders: int = 0
    batches: int = 0
    failed_batches: int = 0
    updated: int = 0
    finished: int = 0
    item_errors: int = 0
    unknown: int = 0
    attention: int = 0  # orders moved to "needs attention" this cycle


# What a poll writes onto an order that is still open (and `updated_at`, when one changed).
_POLLED = (
    "upstream_status",
    "start_count",
    "remains",
    "cost",
    "extra",
    "held_since",
    "attention_reason",
)
_VIP_FIELDS = ("daily_post_limit", "daily_progress", "days_left", "total_posts", "completed_posts")


def orders_poll(*, batch_size: int = 200, provider_id: int | None = None) -> PollResult:
    """Follow every placed order, `batch_size` per page, the ids packed into `status` calls of
    exactly 200 (drip-feed runs included: see orders/poll_packing.py).

    Per page: one SELECT, the status call(s), one bulk UPDATE of the open orders whose upstream
    values changed (none when nothing changed: an unchanged order is not written at all), and
    for each order that ended, its own small transaction through `order_transition` (an UPDATE,
    an event, and the refund: a bounded handful of queries per finished order, each finished
    order once). An order whose call fails changes nothing and is asked again next cycle. An
    order the answers cannot decide about is held, and after the attention bound goes to a
    person (orders/attention.py).

    Pages are per provider (each order is followed where it was placed), so a cycle makes
    the sum over providers of ceil(n / 200) status calls. Without `provider_id`, every provider
    in turn; the beat runs one task per provider instead (see orders.tasks).
    """
    if provider_id is None:
        result = PollResult()
        placed = Order.objects.filter(state=S.PLACED, upstream_id__isnull=False)
        for each in _provider_ids(placed):
            _add_counts(result, orders_poll(batch_size=batch_size, provider_id=each))
        return result
    result = PollResult()
    provider = Provider.objects.get(pk=provider_id)
    client = client_for(provider)
    currency = expected_currency(provider)

    def pages() -> Iterator[list[Order]]:
        last_pk = 0
        while True:
            page = list(
                Order.objects.filter(
                    state=S.PLACED,
                    upstream_id__isnull=False,
                    provider_id=provider_id,
                    pk__gt=last_pk,
                ).order_by("pk")[:batch_size]
            )
            if not page:
                return
            last_pk = page[-1].pk
            result.batches += 1
            result.orders += len(page)
            yield page

    for packed in packed_statuses(
        pages(), ids_of=_status_ids, call=client.statuses, size=client.STATUS_BATCH
    ):
        result.failed_batches += packed.failed_calls
        _poll_batch(
            client,
            packed.items,
            packed.answers,
            packed.failed,
            result,
            rate=provider.rate,
            currency=currency,
        )
    return result


def _add_counts(total: Any, part: Any) -> None:
    for name, value in vars(part).items():
        setattr(total, name, getattr(total, name) + value)


def _in_shop_currency(answers: dict[int, OrderStatus], rate: Decimal) -> dict[int, OrderStatus]:
    """The provider's charges converted to the shop's currency (what `Order.cost` holds)."""
    if rate == 1:
        return answers
    return {
        key: replace(answer, charge=quantize_money(answer.charge * rate))
        if answer.charge is not None
        else answer
        for key, answer in answers.items()
    }


def _status_ids(order: Order) -> list[int]:
    # Drip-feed parents answer without counts; their child orders tell what was delivered.
    ids = [order.upstream_id] if order.upstream_id else []
    if order.kind == OrderKind.DRIPFEED:
        ids.extend(int(child) for child in order.extra.get("orders", []))
    return ids


def _poll_batch(
    client: UpstreamClient,
    batch: list[Order],
    answers: dict[int, OrderStatus],
    failed: set[int],
    result: PollResult,
    *,
    rate: Decimal = Decimal(1),
    currency: str | None = None,
) -> None:
    batch = [order for order in batch if not failed.intersection(_status_ids(order))]
    answers, unsure = _with_new_children(client, batch, answers)
    answers = _in_shop_currency(answers, rate)

    now = timezone.now()
    still_open: list[Order] = []

    def undecided(order: Order, reason: str, *, changed: bool = False) -> None:
        outcome = attention.order_undecided(
            order=order,
            reason=reason,
            now=now,
            changes={name: getattr(order, name) for name in _POLLED},
        )
        if outcome == "attention":
            result.attention += 1
        elif outcome == "held" or changed:
            order.updated_at = now
            still_open.append(order)

    for order in batch:
        answer = answers.get(order.upstream_id or 0)
        if answer is None:
            logger.warning(
                "order %s: upstream %s missing from the status answer", order.pk, order.upstream_id
            )
            undecided(order, "missing from the upstream's status answers")
            continue
        if answer.error:
            result.item_errors += 1
            logger.warning("order %s: upstream %s: %s", order.pk, order.upstream_id, answer.error)
            if order.extra.get("poll_error") != answer.error:
                order.extra = {**order.extra, "poll_error": answer.error}
            undecided(order, f"upstream: {answer.error}")
            continue
        word = rules.normalize_status(answer.status)
        if order.pk in unsure:
            continue
        if word is None:
            result.unknown += 1
            logger.warning(
                "order %s: unknown upstream status %r, left as it was", order.pk, answer.status
            )
            undecided(order, f"unknown upstream status {str(answer.status)[:100]!r}")
            continue
        before = _polled_values(order)
        if answer.unreadable:
            # Recorded as unknown and logged; the word and the readable fields still decide.
            logger.warning("order %s: unreadable upstream fields: %s", order.pk, answer.unreadable)
            if any(field.startswith("charge") for field in answer.unreadable):
                order.cost = None  # what the upstream charges changes over time: now unknown
        if (problem := currency_mismatch(answer.currency, expected=currency)) is not None:
            logger.error("UPSTREAM CURRENCY: order %s: cost not recorded: %s", order.pk, problem)
            answer = dataclasses.replace(answer, charge=None)
            order.cost = None
            order.extra = {**order.extra, "currency_error": problem}
        _apply_counts(order, answer, word, answers)
        if word in rules.FINAL_STATUSES:
            decision = attention.final_decision(order=order, word=word, remains=answer.remains)
            if isinstance(decision, str):
                logger.error("order %s: %s; held, not refunded from a guess", order.pk, decision)
                undecided(order, decision, changed=_polled_values(order) != before)
                continue
            if _finish_from_poll(order, word, decision):
                result.finished += 1
            continue
        lost_runs = [
            child["id"] for child in order.extra.get("children", []) if child["status"] is None
        ]
        if lost_runs:
            # A run the upstream cannot report stays unknown while its parent runs on: the hold
            # (and its clock) is kept, so that the parent reaches a person within the bound
            # instead of starting the clock again when it ends.
            undecided(
                order,
                f"drip-feed runs the upstream cannot report: {lost_runs[:10]}",
                changed=_polled_values(order) != before,
            )
            continue
        if order.held_since is not None:
            attention.order_decided(order)
        elif _polled_values(order) == before:
            continue  # nothing new: no write, and updated_at keeps the time of the last change
        order.updated_at = now
        still_open.append(order)
    if still_open:
        # Filtered on state: an order that ended meanwhile (another poller) keeps its final values.
        # One statement on PostgreSQL (see panel/db.py: bulk_update cost ~0.13 s of Python here).
        bulk_write(Order.objects.filter(state=S.PLACED), still_open, [*_POLLED, "updated_at"])
        result.updated += len(still_open)


def _polled_values(order: Order) -> tuple[Any, ...]:
    # `extra` is rebuilt as a new dict by _apply_counts: compared by value, not identity.
    return tuple(getattr(order, name) for name in _POLLED)


def _with_new_children(
    client: UpstreamClient, batch: list[Order], answers: dict[int, OrderStatus]
) -> tuple[dict[int, OrderStatus], set[int]]:
    """Drip-feed runs started since the last poll are not in the first call: ask for them too
    (one more call, only when a parent has new runs). Parents whose runs could not be read are
    returned as unsure and left alone this cycle: their refund must follow real deliveries."""
    parents = {}
    for order in batch:
        answer = answers.get(order.upstream_id or 0)
        if order.kind == OrderKind.DRIPFEED and answer is not None and not answer.error:
            parents[order.pk] = [child for child in answer.orders if child not in answers]
    missing = sorted({child for children in parents.values() for child in children})
    if not missing:
        return answers, set()
    try:
        return {**answers, **client.statuses(orders=missing)}, set()
    except UpstreamError as exc:
        logger.warning("drip-feed runs status failed, their parents wait a cycle: %s", exc)
        return answers, {pk for pk, children in parents.items() if children}


def _apply_counts(
    order: Order, answer: OrderStatus, word: str, answers: dict[int, OrderStatus]
) -> None:
    """Copy the upstream's counts onto the order in memory (saved by the caller)."""
    order.upstream_status = word
    if answer.start_count is not None:
        order.start_count = answer.start_count
    if answer.remains is not None:
        order.remains = rules.clamp_remains(answer.remains, order.total_quantity)
    if answer.charge is not None:
        order.cost = answer.charge
    extra = {key: value for key, value in order.extra.items() if key != "poll_error"}
    for name in _VIP_FIELDS:
        value = getattr(answer, name)
        if value is not None:
            extra[name] = value
    if order.kind == OrderKind.DRIPFEED:
        if answer.runs is not None:
            extra["runs_started"] = answer.runs
        if answer.orders:
            extra["orders"] = [int(child) for child in answer.orders]
        children = []
        for child in extra.get("orders", []):
            state = answers.get(int(child))
            if state is None or state.error:
                children.append({"id": child, "status": None, "remains": None, "charge": None})
                continue
            children.append(
                {
                    "id": child,
                    "status": rules.normalize_status(state.status),
                    "remains": rules.clamp_remains(state.remains, order.quantity),
                    "charge": str(state.charge) if state.charge is not None else None,
                }
            )
        extra["children"] = children
        known = [Decimal(c["charge"]) for c in children if c["charge"] is not None]
        if known:
            order.cost = sum(known, ZERO)
        # Remains of the whole drip-feed: runs not started, plus what each run still lacks.
        order.remains = rules.dripfeed_remains(
            runs=order.runs or 0,
            quantity=order.quantity,
            children=[(c["remains"], c["status"]) for c in children],
        )
    order.extra = extra


def _finish_from_poll(order: Order, word: str, decision: tuple[str, Decimal, int | None]) -> bool:
    """Apply a final status as `attention.final_decision` read it: Completed, Partial (refund of
    the remains), Canceled (refund of all, or of the remains when part was delivered)."""
    to, refund, left = decision
    order.remains = left
    attention.order_decided(order)
    changes = {name: getattr(order, name) for name in _POLLED}
    why = f"upstream: {word}"
    if word == rules.CANCELED and to == S.PARTIAL:
        why = f"upstream: Canceled after partial delivery ({left} of {order.total_quantity} left)"
    return _finish(order=order, to=to, refund=refund, reason=why, changes=changes)


# ==================================================================== refill and cancel requests


def _ids(order_ids: Iterable[object]) -> list[int | None]:
    return [rules.as_int(raw) for raw in order_ids]


def _refills_many(
    *, user: User, order_ids: Iterable[object]
) -> dict[int, RefillRequest | OrderRejected]:
    wanted = _ids(order_ids)
    ids = {value for value in wanted if value is not None and value > 0}
    orders = {
        o.pk: o for o in Order.objects.filter(user=user, pk__in=ids).select_related("service")
    }
    open_states = dict(
        RefillRequest.objects.filter(order_id__in=orders, state__in=OPEN_REFILL_STATES).values_list(
            "order_id", "state"
        )
    )
    now = timezone.now()
    answers: dict[int, RefillRequest | OrderRejected] = {}
    new: list[RefillRequest] = []
    for order_id in wanted:
        if order_id is None or order_id in answers:
            continue
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
    return {
        order_id: answer.message if isinstance(answer, OrderRejected) else answer
        for order_id, answer in _refills_many(user=user, order_ids=order_ids).items()
    }


def refill_request(*, user: User, order_id: int) -> RefillRequest:
    """Ask for a refill of one of the user's orders; raises OrderRejected."""
    answer = _refills_many(user=user, order_ids=[order_id]).get(rules.as_int(order_id) or -1)
    if isinstance(answer, RefillRequest):
        return answer
    raise answer or OrderRejected("order_id")


def _cancels_many(
    *, user: User, order_ids: Iterable[object]
) -> dict[int, CancelRequest | OrderRejected]:
    wanted = _ids(order_ids)
    ids = {value for value in wanted if value is not None and value > 0}
    orders = {
        o.pk: o for o in Order.objects.filter(user=user, pk__in=ids).select_related("service")
    }
    asked = set(
        CancelRequest.objects.filter(order_id__in=orders).values_list("order_id", flat=True)
    )
    answers: dict[int, CancelRequest | OrderRejected] = {}
    new: list[CancelRequest] = []
    for order_id in wanted:
        if order_id is None or order_id in answers:
            continue
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
            if not _finish(
                order=order,
                to=S.CANCELED,
                refund=order.charge,
                actor=user,
                reason="canceled by the customer before sending",
                changes={"error": REASON_CANCELED_BEFORE_SENDING},
            ):
                # A worker claimed it a moment ago: forward the cancel like any other.
                request.state = C.REQUESTED
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
    return {
        order_id: answer.message if isinstance(answer, OrderRejected) else answer
        for order_id, answer in _cancels_many(user=user, order_ids=order_ids).items()
    }


def cancel_request(*, user: User, order_id: int) -> CancelRequest:
    """Ask to cancel one of the user's orders; raises OrderRejected."""
    answer = _cancels_many(user=user, order_ids=[order_id]).get(rules.as_int(order_id) or -1)
    if isinstance(answer, CancelRequest):
        return answer
    raise answer or OrderRejected("order_id")


# =========================================================================== forwarding requests


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


def _claim(
    model: type[RefillRequest] | type[CancelRequest], ids_query: Any, batch_size: int
) -> list[int]:
    """Claim up to batch_size requests for this worker. SKIP LOCKED on PostgreSQL lets two
    workers take disjoint batches; SQLite serialises writers, which is enough there."""
    with transaction.atomic():
        ids = list(
            ids_query.select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if ids:
            model.objects.filter(pk__in=ids, state="requested").update(
                state="sending", updated_at=timezone.now()
            )
    return ids


def _release_stale_claims(
    model: type[RefillRequest] | type[CancelRequest], *, now: datetime
) -> None:
    """Requests claimed by a worker that died mid-batch go back to `requested`: a re-send is
    safe here, the upstream answers "already submitted", which is read as success."""
    model.objects.filter(state="sending", updated_at__lt=now - REQUEST_SENDING_TIMEOUT).update(
        state="requested", updated_at=now
    )


def _claimed_batches(
    model: type[RefillRequest] | type[CancelRequest],
    query: Any,
    *,
    send: Callable[..., dict[int, Any]],
    what: str,
    result: RequestsResult,
    batch_size: int,
    now: datetime,
) -> Iterator[tuple[list[Any], dict[int, Any], dict[int, Any]]]:
    """Claim the requests `query` selects, batch after batch, and send each batch upstream in one
    call (`send(orders=[upstream ids])`): yields (requests, requests by upstream order id,
    answers) for the caller to record. A failed call hands its batch back (requested again) and
    ends the cycle: the rest waits for the next one. A batch is never claimed twice per cycle."""
    done: set[int] = set()
    while True:
        ids = _claim(model, query.exclude(pk__in=done) if done else query, batch_size)
        if not ids:
            return
        done.update(ids)
        requests: list[RefillRequest | CancelRequest] = list(
            model.objects.filter(pk__in=ids, state="sending").select_related("order")
        )
        # The callers' queries select only orders with an upstream id.
        by_upstream = {cast(int, request.order.upstream_id): request for request in requests}
        try:
            answers = send(orders=list(by_upstream))
        except UpstreamError as exc:
            logger.warning(
                "%s batch of %s failed, retried next cycle: %s", what, len(requests), exc
            )
            result.failed_calls += 1
            model.objects.filter(pk__in=ids, state="sending").update(
                state="requested", updated_at=now
            )
            return
        yield requests, by_upstream, answers


def refills_forward(
    *, result: RequestsResult | None = None, batch_size: int = 100, provider_id: int | None = None
) -> RequestsResult:
    result = result or RequestsResult()
    now = timezone.now()
    _release_stale_claims(RefillRequest, now=now)
    query = RefillRequest.objects.filter(state=R.REQUESTED, order__upstream_id__isnull=False)
    if provider_id is None:  # each provider's batches go to it (see orders_poll)
        for each in _provider_ids(query, "order__provider_id"):
            refills_forward(result=result, batch_size=batch_size, provider_id=each)
        return result
    query = query.filter(order__provider_id=provider_id)
    for requests, by_upstream, answers in _claimed_batches(
        RefillRequest,
        query,
        send=client_for(provider_id).refills,
        what="refill",
        result=result,
        batch_size=batch_size,
        now=now,
    ):
        for upstream_id, request in by_upstream.items():
            answer = answers.get(upstream_id)
            request.updated_at = timezone.now()
            if answer is None:
                # Not mentioned: ask again next cycle, and after the bound, a person looks.
                request.state = R.REQUESTED
                attention.request_unanswered(request, R.ATTENTION, "not answered by the upstream")
            elif answer.refill is not None:
                request.state, request.upstream_refill_id, request.error = (
                    R.PENDING,
                    answer.refill,
                    "",
                )
                result.refills_sent += 1
            elif _squash(answer.error) in (
                "refillrequestalreadysubmitted",
                "refilliscurrentlyrunning",
            ):
                # Our earlier, unanswered attempt got through: the refill id is the order id.
                request.state, request.upstream_refill_id = R.PENDING, upstream_id
                result.refills_sent += 1
            else:
                request.state, request.error = R.REJECTED, (answer.error or "")[:500]
                result.refills_rejected += 1
        RefillRequest.objects.bulk_update(
            requests, ["state", "upstream_refill_id", "error", "held_since", "updated_at"]
        )
        for request in requests:
            if request.state == R.REJECTED:
                transaction.on_commit(partial(_enqueue_refill_notify, request.pk), robust=True)
    return result


def _squash(text: str | None) -> str:
    return "".join(ch for ch in (text or "").lower() if ch.isalnum())


def cancels_forward(
    *, result: RequestsResult | None = None, batch_size: int = 100, provider_id: int | None = None
) -> RequestsResult:
    result = result or RequestsResult()
    now = timezone.now()
    _release_stale_claims(CancelRequest, now=now)
    # A cancel asked while the order was still on its way, for an order that has ended since.
    CancelRequest.objects.filter(state=C.REQUESTED, order__state__in=FINAL_STATES).update(
        state=C.REJECTED, error=REASON_ORDER_FINISHED, updated_at=now
    )
    query = CancelRequest.objects.filter(
        state=C.REQUESTED, order__state=S.PLACED, order__upstream_id__isnull=False
    )
    if provider_id is None:  # each provider's batches go to it (see orders_poll)
        for each in _provider_ids(query, "order__provider_id"):
            cancels_forward(result=result, batch_size=batch_size, provider_id=each)
        return result
    query = query.filter(order__provider_id=provider_id)
    for requests, by_upstream, answers in _claimed_batches(
        CancelRequest,
        query,
        send=client_for(provider_id).cancels,
        what="cancel",
        result=result,
        batch_size=batch_size,
        now=now,
    ):
        for upstream_id, request in by_upstream.items():
            answer = answers.get(upstream_id)
            request.updated_at = timezone.now()
            if answer is None:
                request.state = C.REQUESTED
                attention.request_unanswered(request, C.ATTENTION, "not answered by the upstream")
            elif (
                answer.cancel is not None
                or _squash(answer.error) == "thecancellationrequestwassubmittedearlier"
            ):
                request.state, request.error = C.SUBMITTED, ""
                result.cancels_sent += 1
            else:
                request.state, request.error = C.REJECTED, (answer.error or "")[:500]
                result.cancels_rejected += 1
        CancelRequest.objects.bulk_update(requests, ["state", "error", "held_since", "updated_at"])
    return result


def refills_poll(
    *, result: RequestsResult | None = None, batch_size: int = 100, provider_id: int | None = None
) -> RequestsResult:
    """Follow open refills with refill_status, 100 per call, at each order's provider."""
    result = result or RequestsResult()
    open_refills = RefillRequest.objects.filter(
        state__in=[R.PENDING, R.IN_PROGRESS], upstream_refill_id__isnull=False
    )
    if provider_id is None:
        for each in _provider_ids(open_refills, "order__provider_id"):
            refills_poll(result=result, batch_size=batch_size, provider_id=each)
        return result
    client = client_for(provider_id)
    last_pk = 0
    while True:
        batch = list(
            open_refills.filter(order__provider_id=provider_id, pk__gt=last_pk).order_by("pk")[
                :batch_size
            ]
        )
        if not batch:
            return result
        last_pk = batch[-1].pk
        try:
            answers = client.refill_statuses(
                refills=[r.upstream_refill_id for r in batch if r.upstream_refill_id]
            )
        except UpstreamError as exc:
            logger.warning("refill status batch failed, retried next cycle: %s", exc)
            result.failed_calls += 1
            continue
        changed, finished = [], []
        for request in batch:
            answer = answers.get(request.upstream_refill_id or 0)
            if answer is None or answer.error:
                why = f"upstream: {answer.error}" if answer else "missing from the answer"
                logger.warning("refill %s: %s", request.pk, why)
                if attention.request_unanswered(request, R.ATTENTION, why):
                    changed.append(request)
                continue
            word = rules.normalize_refill_status(answer.status)
            state = {
                rules.REFILL_PENDING: R.PENDING,
                rules.REFILL_IN_PROGRESS: R.IN_PROGRESS,
                rules.REFILL_COMPLETED: R.COMPLETED,
                rules.REFILL_REJECTED: R.REJECTED,
            }.get(word or "")
            if state is None:
                logger.warning(
                    "refill %s: unknown status %r, left as it was", request.pk, answer.status
                )
                why = f"unknown refill status {str(answer.status)[:100]!r}"
                if attention.request_unanswered(request, R.ATTENTION, why):
                    changed.append(request)
                continue
            if request.held_since is not None:
                request.held_since, request.updated_at = None, timezone.now()
                if state == request.state:
                    changed.append(request)
            if state != request.state:
                request.state, request.updated_at = state, timezone.now()
                if state == R.REJECTED:
                    request.error = "Refill request was rejected"
                changed.append(request)
                if state in (R.COMPLETED, R.REJECTED):
                    finished.append(request.pk)
        if changed:
            # Filtered on the open states: a refill never leaves Completed or Rejected.
            RefillRequest.objects.filter(state__in=[R.PENDING, R.IN_PROGRESS]).bulk_update(
                changed, ["state", "error", "held_since", "updated_at"]
            )
            result.refills_updated += len(changed)
            result.refills_finished += len(finished)
        for refill_id in finished:
            transaction.on_commit(partial(_enqueue_refill_notify, refill_id), robust=True)


def _enqueue_refill_notify(refill_id: int) -> None:
    enqueue("orders.tasks.refill_notify_task", refill_id)


# =============================================================================== one whole cycle


@dataclass
class CycleResult:
    sweep: SweepResult
    forwarded: dict[str, int]
    poll: PollResult
    requests: RequestsResult
    waiting_for_funds: int = 0


def orders_cycle() -> CycleResult:
    """Everything the beat schedule does, once, in this process (`manage.py sync_orders`)."""
    outcomes: dict[str, int] = {}

    def forward_now(order_id: int) -> None:
        outcome = order_forward(order_id=order_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    sweep = orders_sweep(forward=forward_now, grace=timedelta(0))
    poll = orders_poll()
    requests = requests_cycle()
    waiting = Order.objects.filter(state=S.QUEUED, waiting_for_funds=True).count()
    return CycleResult(
        sweep=sweep, forwarded=outcomes, poll=poll, requests=requests, waiting_for_funds=waiting
    )


# =============================================================================== staff decisions


class OrderActionError(Exception):
    """A staff action that does not apply to the order as it is now."""


def order_attach_upstream_id(*, order_id: int, upstream_id: int, actor: User) -> Order:
    """Review resolved: the upstream does have this order (found in its order list)."""
    order = Order.objects.get(pk=order_id)
    if order.state != S.REVIEW:
        raise OrderActionError(f"Order #{order_id} is not held for review.")
    if (
        upstream_id <= 0
        or Order.objects.filter(upstream_id=upstream_id).exclude(pk=order_id).exists()
    ):
        raise OrderActionError(
            f"Upstream order {upstream_id} is not valid or already attached to another order."
        )
    try:
        ok = order_transition(
            order=order,
            to=S.PLACED,
            actor=actor,
            reason=f"upstream order {upstream_id} attached after review",
            changes={"upstream_id": upstream_id, "upstream_status": rules.PENDING, "error": ""},
        )
    except IntegrityError:
        ok = False
    if not ok:
        raise OrderActionError(f"Order #{order_id} changed meanwhile; reload and try again.")
    return order


def order_send_again(*, order_id: int, actor: User) -> Order:
    """Review resolved: a person checked the upstream has no such order; send it again."""
    order = Order.objects.get(pk=order_id)
    if order.state != S.REVIEW:
        raise OrderActionError(f"Order #{order_id} is not held for review.")
    with transaction.atomic():
        if not order_transition(
            order=order,
            to=S.QUEUED,
            actor=actor,
            reason="checked upstream: not placed; sent again by staff",
            changes={"next_attempt_at": None, "waiting_for_funds": False},
        ):
            raise OrderActionError(f"Order #{order_id} changed meanwhile; reload and try again.")
    # Provably not upstream (a person checked): a cancel the customer asked for wins.
    if not cancel_if_asked(order):
        transaction.on_commit(partial(_enqueue_forward, order.pk), robust=True)
    return order


def order_fail_and_refund(*, order_id: int, actor: User) -> Order:
    """Review (or a long wait for upstream funds) resolved by giving the customer's money back."""
    order = Order.objects.get(pk=order_id)
    if order.state not in (S.REVIEW, S.QUEUED):
        raise OrderActionError(f"Order #{order_id} is neither held for review nor queued.")
    if not _finish(
        order=order,
        to=S.FAILED,
        refund=order.charge,
        actor=actor,
        reason="failed and refunded by staff",
        changes={"error": REASON_BY_SHOP},
    ):
        raise OrderActionError(f"Order #{order_id} changed meanwhile; reload and try again.")
    return order


# =============================================================================== notices


_NOTICE_FLAGS: dict[str, str] = {
    S.COMPLETED: "notify_completed",
    S.PARTIAL: "notify_partial",
    S.CANCELED: "notify_canceled",
    S.FAILED: "notify_canceled",
}


def _wants(user_id: int, flag: str) -> bool:
    from billing.models import Profile

    profile = Profile.objects.filter(user_id=user_id).first()
    if profile is None:
        field = Profile._meta.get_field(flag)
        assert isinstance(field, models.Field)  # one of Profile's notify_* booleans
        return bool(field.default)
    return bool(getattr(profile, flag))


def _language(user_id: int) -> str:
    from billing.models import Profile

    return (
        Profile.objects.filter(user_id=user_id).values_list("language", flat=True).first()
        or settings.LANGUAGE_CODE
    )


def order_notify(*, order_id: int) -> bool:
    """E-mail the customer that an order ended, if their profile asks for it. True if sent."""
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string
    from django.utils import translation

    from .policy import public_status
    from .templatetags.orders_tags import status_label

    order = Order.objects.select_related("user", "service").filter(pk=order_id).first()
    if order is None or order.state not in _NOTICE_FLAGS or not order.user.email:
        return False
    if not _wants(order.user_id, _NOTICE_FLAGS[order.state]):
        return False
    from billing.services import order_refunded_amount

    with translation.override(_language(order.user_id)):
        context = {
            "order": order,
            # The status in the customer's language ("Hoàn thành một phần"), as on the site.
            "status": status_label(public_status(order)),
            "refunded": order_refunded_amount(order_id=order.pk),
        }
        subject = render_to_string("orders/email/order_subject.txt", context).strip()
        body = render_to_string("orders/email/order_body.txt", context)
    EmailMessage(subject, body, None, [order.user.email]).send()
    return True


def refill_notify(*, refill_id: int) -> bool:
    from django.core.mail import EmailMessage
    from django.template.loader import render_to_string
    from django.utils import translation

    refill = (
        RefillRequest.objects.select_related("order__user", "order__service")
        .filter(pk=refill_id)
        .first()
    )
    if refill is None or refill.state not in (R.COMPLETED, R.REJECTED):
        return False
    user = refill.order.user
    if not user.email or not _wants(user.pk, "notify_refill"):
        return False
    with translation.override(_language(user.pk)):
        context = {"refill": refill, "order": refill.order}
        subject = render_to_string("orders/email/refill_subject.txt", context).strip()
        body = render_to_string("orders/email/refill_body.txt", context)
    EmailMessage(subject, body, None, [user.email]).send()
    return True
