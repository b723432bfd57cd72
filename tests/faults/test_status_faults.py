"""The upstream misbehaving while orders are followed (`status`): a batch it cannot read changes
nothing and the next cycle works; odd values are clamped or left alone, never paid for twice."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from billing.models import LedgerEntry
from billing.services import wallet_balance
from orders.models import Order, OrderState
from orders.polling import orders_poll
from tests.invariants import assert_money_invariants, half_up

S = OrderState
DAY = 86400


def snapshot() -> list[tuple[Any, ...]]:
    return list(
        Order.objects.order_by("pk").values_list(
            "pk", "state", "upstream_status", "remains", "start_count", "cost", "extra"
        )
    )


@pytest.fixture
def three_ended(sandbox: Any, place: Any) -> list[Order]:
    """Three orders the upstream has ended: Completed, Partial (remains 400), Canceled."""
    orders = [place(101, quantity=1000) for _ in range(3)]
    sandbox.set_fate(orders[1].upstream_id, status="Partial", remains=400)
    sandbox.set_fate(orders[2].upstream_id, status="Canceled")
    sandbox.advance(DAY)
    return orders


UNREADABLE = {
    "http_500_html": {},
    "html_200": {"execute": True},
    "malformed_json": {},
    "truncated_json": {"mode": "short"},
    "truncated_json_incomplete": {"mode": "incomplete"},
    "drop_after_accept": {},
    "slow_body": {"delay": 0.2},
    "wrong_shape": {"body": ["not", "an", "object"]},
}
KIND = {"truncated_json_incomplete": "truncated_json", "wrong_shape": "raw_answer"}


@pytest.mark.parametrize("fault", sorted(UNREADABLE))
def test_a_status_batch_that_cannot_be_read_changes_nothing_and_the_next_cycle_works(
    sandbox: Any, three_ended: list[Order], customer: Any, settings: Any, fault: str
) -> None:
    settings.SIEULIKE_TIMEOUT = 0.5
    sandbox.inject_fault("status", KIND.get(fault, fault), **UNREADABLE[fault])
    before, entries = snapshot(), LedgerEntry.objects.count()
    # when the poll meets the fault
    started = time.monotonic()
    result = orders_poll()
    # then within the deadline, nothing changed: no state, no count, no refund
    assert time.monotonic() - started < 0.5 + 0.5
    assert result.failed_batches == 1 and result.finished == 0
    assert snapshot() == before
    assert LedgerEntry.objects.count() == entries
    assert_money_invariants(sandbox=sandbox)
    # when the next cycle reads a good answer, every order ends, refunded as it should be
    assert orders_poll().finished == 3
    completed, partial, canceled = (Order.objects.get(pk=o.pk) for o in three_ended)
    assert (completed.state, partial.state, canceled.state) == (S.COMPLETED, S.PARTIAL, S.CANCELED)
    assert partial.remains == 400
    assert_money_invariants(sandbox=sandbox)


@pytest.mark.parametrize(
    ("reported", "clamped"), [(-5, 0), (1001, 1000), (5000, 1000), (10**15, 1000)]
)
def test_remains_out_of_range_are_clamped_and_the_refund_never_exceeds_the_charge(
    sandbox: Any, place: Any, customer: Any, reported: int, clamped: int
) -> None:
    # given an order of 1000 the upstream ends Partial, reporting remains out of any range
    order = place(101, quantity=1000)
    sandbox.set_fate(order.upstream_id, status="Partial", remains=400)
    sandbox.advance(DAY)
    sandbox.inject_fault("status", "remains_out_of_range", remains=reported)
    balance = wallet_balance(user=customer)
    # when it is polled, twice
    orders_poll()
    orders_poll()
    # then the remains were clamped into 0..1000, and the refund follows, within the charge, once
    order.refresh_from_db()
    assert order.state == S.PARTIAL and order.remains == clamped
    refund = half_up(order.charge * clamped / 1000)
    assert refund <= order.charge
    assert wallet_balance(user=customer) == balance + refund
    assert_money_invariants(sandbox=sandbox)


def test_remains_out_of_range_on_a_running_order_are_clamped_and_refund_nothing(
    sandbox: Any, place: Any
) -> None:
    order = place(104, quantity=1000)  # 180 minutes per 1000: still running after 10 minutes
    sandbox.advance(600)
    sandbox.inject_fault("status", "remains_out_of_range", remains=-5)
    orders_poll()
    order.refresh_from_db()
    assert (order.state, order.remains) == (S.PLACED, 0)
    sandbox.inject_fault("status", "remains_out_of_range", remains=99999)
    orders_poll()
    order.refresh_from_db()
    assert (order.state, order.remains) == (S.PLACED, 1000)
    assert_money_invariants(sandbox=sandbox)


@pytest.mark.parametrize("word", ["Stuck in queue", "", "Refill", "Completed?", "0"])
def test_an_unknown_status_leaves_the_order_as_it_was_and_is_logged(
    sandbox: Any, three_ended: list[Order], caplog: Any, word: str
) -> None:
    sandbox.inject_fault("status", "unknown_status", word=word)
    before, entries = snapshot(), LedgerEntry.objects.count()
    with caplog.at_level(logging.WARNING, logger="orders.polling"):
        result = orders_poll()
    # the upstream's word is one we do not know (or not a word): nothing moves, and it is logged
    assert result.finished == 0 and result.unknown + result.item_errors == 3
    assert snapshot() == before and LedgerEntry.objects.count() == entries
    logged = [r.getMessage() for r in caplog.records if r.name == "orders.polling"]
    assert len(logged) == 3
    assert all(f"order {o.pk}" in m for o, m in zip(three_ended, logged, strict=True))
    # the next cycle, with real words, ends them
    assert orders_poll().finished == 3
    assert_money_invariants(sandbox=sandbox)
