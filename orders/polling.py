"""The poll: follow placed orders with `status` calls and apply what the upstream reports.

Per page of orders: one SELECT, the status call(s), one bulk UPDATE of the open orders whose
upstream values changed (an unchanged order is not written at all), and for each order that
ended, its own small transaction through `order_finish`. An order whose call fails changes
nothing and is asked again next cycle; one the answers cannot decide about is held, and after
the attention bound goes to a person (orders/attention.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from catalog.balance import currency_mismatch, expected_currency
from catalog.models import Provider
from catalog.upstreams import client_for
from panel.db import bulk_write
from panel.money import ZERO, quantize_money
from panel.upstream import OrderStatus, UpstreamClient, UpstreamError

from . import attention, rules
from .lifecycle import order_finish
from .models import Order, OrderKind, OrderState
from .poll_packing import packed_statuses
from .selectors import provider_ids_of

logger = logging.getLogger(__name__)

S = OrderState


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


def orders_poll(*, batch_size: int = 200, provider_id: int | None = None) -> PollResult:
    """Follow every placed order, `batch_size` per page, the ids packed into `status` calls of
    exactly 200 (drip-feed runs included: see orders/poll_packing.py).

    Pages are per provider (each order is followed where it was placed), so a cycle makes
    the sum over providers of ceil(n / 200) status calls. Without `provider_id`, every provider
    in turn; the beat runs one task per provider instead (see orders.tasks).
    """
    if provider_id is None:
        result = PollResult()
        placed = Order.objects.filter(state=S.PLACED, upstream_id__isnull=False)
        for each in provider_ids_of(placed):
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


@dataclass
class _Page:
    """One page of the poll: its counts, and the open orders to write in one statement."""

    result: PollResult
    now: datetime
    still_open: list[Order] = field(default_factory=list)

    def undecided(self, order: Order, reason: str, *, changed: bool = False) -> None:
        outcome = attention.order_undecided(
            order=order,
            reason=reason,
            now=self.now,
            changes={name: getattr(order, name) for name in _POLLED},
        )
        if outcome == "attention":
            self.result.attention += 1
        elif outcome == "held" or changed:
            self.keep(order)

    def keep(self, order: Order) -> None:
        order.updated_at = self.now
        self.still_open.append(order)

    def write(self) -> None:
        if not self.still_open:
            return
        # Filtered on state: an order that ended meanwhile (another poller) keeps its final values.
        # One statement on PostgreSQL (see panel/db.py: bulk_update cost ~0.13 s of Python here).
        bulk_write(Order.objects.filter(state=S.PLACED), self.still_open, [*_POLLED, "updated_at"])
        self.result.updated += len(self.still_open)


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
    page = _Page(result=result, now=timezone.now())
    for order in batch:
        answer = answers.get(order.upstream_id or 0)
        if answer is None or answer.error:
            _unanswered(page, order, answer)
        elif order.pk not in unsure:
            _apply_answer(page, order, answer, answers, currency)
    page.write()


def _unanswered(page: _Page, order: Order, answer: OrderStatus | None) -> None:
    """Missing from the status answer, or answered with an error of its own."""
    if answer is None:
        logger.warning(
            "order %s: upstream %s missing from the status answer", order.pk, order.upstream_id
        )
        page.undecided(order, "missing from the upstream's status answers")
        return
    page.result.item_errors += 1
    logger.warning("order %s: upstream %s: %s", order.pk, order.upstream_id, answer.error)
    if order.extra.get("poll_error") != answer.error:
        order.extra = {**order.extra, "poll_error": answer.error}
    page.undecided(order, f"upstream: {answer.error}")


def _apply_answer(
    page: _Page,
    order: Order,
    answer: OrderStatus,
    answers: dict[int, OrderStatus],
    currency: str | None,
) -> None:
    word = rules.normalize_status(answer.status)
    if word is None:
        page.result.unknown += 1
        logger.warning(
            "order %s: unknown upstream status %r, left as it was", order.pk, answer.status
        )
        page.undecided(order, f"unknown upstream status {str(answer.status)[:100]!r}")
        return
    before = _polled_values(order)
    answer = _readable_fields(order, answer, currency)
    _apply_counts(order, answer, word, answers)
    if word in rules.FINAL_STATUSES:
        _apply_final(page, order, word, answer.remains, before)
        return
    lost_runs = [
        child["id"] for child in order.extra.get("children", []) if child["status"] is None
    ]
    if lost_runs:
        # A run the upstream cannot report stays unknown while its parent runs on: the hold
        # (and its clock) is kept, so that the parent reaches a person within the bound
        # instead of starting the clock again when it ends.
        page.undecided(
            order,
            f"drip-feed runs the upstream cannot report: {lost_runs[:10]}",
            changed=_polled_values(order) != before,
        )
        return
    if order.held_since is not None:
        attention.order_decided(order)
    elif _polled_values(order) == before:
        return  # nothing new: no write, and updated_at keeps the time of the last change
    page.keep(order)


def _readable_fields(order: Order, answer: OrderStatus, currency: str | None) -> OrderStatus:
    """An unreadable charge, or one in another currency, is recorded as unknown and logged; the
    word and the readable fields still decide."""
    if answer.unreadable:
        logger.warning("order %s: unreadable upstream fields: %s", order.pk, answer.unreadable)
        if any(name.startswith("charge") for name in answer.unreadable):
            order.cost = None  # what the upstream charges changes over time: now unknown
    if (problem := currency_mismatch(answer.currency, expected=currency)) is not None:
        logger.error("UPSTREAM CURRENCY: order %s: cost not recorded: %s", order.pk, problem)
        answer = replace(answer, charge=None)
        order.cost = None
        order.extra = {**order.extra, "currency_error": problem}
    return answer


def _apply_final(
    page: _Page, order: Order, word: str, remains: int | None, before: tuple[Any, ...]
) -> None:
    decision = attention.final_decision(order=order, word=word, remains=remains)
    if isinstance(decision, str):
        logger.error("order %s: %s; held, not refunded from a guess", order.pk, decision)
        page.undecided(order, decision, changed=_polled_values(order) != before)
        return
    if _finish_from_poll(order, word, decision):
        page.result.finished += 1


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
    for name in rules.VIP_FIELDS:
        value = getattr(answer, name)
        if value is not None:
            extra[name] = value
    if order.kind == OrderKind.DRIPFEED:
        _apply_runs(order, answer, answers, extra)
    order.extra = extra


def _apply_runs(
    order: Order, answer: OrderStatus, answers: dict[int, OrderStatus], extra: dict[str, Any]
) -> None:
    """A drip-feed parent: its runs, each run's own answer, and the remains of the whole."""
    if answer.runs is not None:
        extra["runs_started"] = answer.runs
    if answer.orders:
        extra["orders"] = [int(child) for child in answer.orders]
    children = [
        _run_state(child, answers.get(int(child)), order.quantity)
        for child in extra.get("orders", [])
    ]
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


def _run_state(child: int, state: OrderStatus | None, quantity: int) -> dict[str, Any]:
    if state is None or state.error:
        return {"id": child, "status": None, "remains": None, "charge": None}
    return {
        "id": child,
        "status": rules.normalize_status(state.status),
        "remains": rules.clamp_remains(state.remains, quantity),
        "charge": str(state.charge) if state.charge is not None else None,
    }


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
    return order_finish(order=order, to=to, refund=refund, reason=why, changes=changes)
