"""The sandbox's clock tick costs what can still change, not every order ever placed."""

from __future__ import annotations

from typing import Any

import pytest

from panel.sandbox import DEFAULT_BALANCE, Sandbox
from panel.sandbox.book import Book

from .conftest import KEY

LINK = "https://www.facebook.com/somepage/posts/1234567890"


@pytest.fixture
def visits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Ids of the orders `Book.tick` brings forward, in order (one entry per visit)."""
    seen: list[int] = []
    progress = Book._progress

    def counted(self: Book, order: Any, now: float) -> None:
        seen.append(order.id)
        progress(self, order, now)

    monkeypatch.setattr(Book, "_progress", counted)
    return seen


def add(sandbox: Sandbox, service: int, quantity: int) -> int:
    answer = sandbox.handle(
        {
            "key": KEY,
            "action": "add",
            "service": str(service),
            "link": LINK,
            "quantity": str(quantity),
        }
    )
    return int(answer["order"])


def test_placing_orders_at_an_unchanged_clock_brings_each_new_order_forward_once(
    visits: list[int],
) -> None:
    # given a sandbox whose clock does not move (as in tests: time_scale 0)
    sandbox = Sandbox(key=KEY)
    # when 300 orders are placed, one request each, then the balance is read
    ids = [add(sandbox, 404, 1000) for _ in range(300)]
    balance = sandbox.balance
    # then every order was brought forward exactly once (not 300 x 300 / 2 times), in id order
    assert visits == ids
    assert balance < DEFAULT_BALANCE
    assert {o.status for o in sandbox.orders.values()} == {"Pending"}


def test_a_moved_clock_moves_every_open_order_and_never_again_an_ended_one(
    visits: list[int],
) -> None:
    # given two fast orders (ended 3 minutes after they start) and a slow one (a day)
    sandbox = Sandbox(key=KEY)
    fast = [add(sandbox, 101, 100), add(sandbox, 101, 100)]
    slow = add(sandbox, 404, 1000)
    sandbox.advance(60 + 30)
    assert {sandbox.orders[i].status for i in [*fast, slow]} == {"In progress"}
    # when the clock moves past the fast ones' end, and then on
    sandbox.advance(600)
    ended = [sandbox.orders[i].status for i in fast]
    before = sandbox.orders[slow].remains
    visits.clear()
    sandbox.advance(3600)
    # then the ended orders are no longer visited, the open one still moves on
    assert ended == ["Completed", "Completed"]
    assert visits == [slow]
    assert sandbox.orders[slow].remains < before
    assert sandbox.orders[slow].status == "In progress"


def test_a_reset_forgets_the_open_orders_and_the_clock_of_the_last_tick(
    visits: list[int],
) -> None:
    sandbox = Sandbox(key=KEY)
    add(sandbox, 404, 1000)
    sandbox.advance(120)
    sandbox.reset()
    visits.clear()
    # when a new order is placed after the reset, at the same clock value as before it
    order = add(sandbox, 404, 1000)
    sandbox.advance(120)
    # then only that order is visited and it runs as any new order does
    assert set(visits) == {order}
    assert sandbox.orders[order].status == "In progress" and list(sandbox.orders) == [order]
