"""Everything the beat schedule does, once, in this process (`manage.py sync_orders`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .forwarding import order_forward
from .models import Order, OrderState
from .polling import PollResult, orders_poll
from .request_forwarding import RequestsResult, requests_cycle
from .sweep import SweepResult, orders_sweep

S = OrderState


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
