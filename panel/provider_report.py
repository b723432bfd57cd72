"""What staff see per provider (issue 17): health and money. Reads only, aggregated in the
database, a constant number of queries whatever the number of orders (like panel/staff.py,
whose dashboard shows them, and `provider_list`, which prints them).

Health is read from the record of every `add` (orders.ForwardAttempt) over the last 24 hours:
how many were answered with an order id, how long they took; the balance is the one the last
sync or balance check read, with its time; the last out-of-funds time is when a provider last
answered "Insufficient balance".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from billing.selectors import order_payment_entries
from catalog.models import Provider
from orders.models import ForwardAttempt, Order, OrderState
from panel.money import ZERO

HEALTH_WINDOW = timedelta(hours=24)
A = ForwardAttempt.Outcome


@dataclass(frozen=True)
class ProviderHealth:
    provider: Provider
    attempts: int  # add calls in the window (a paused provider's skipped orders not counted)
    placed: int
    success_rate: Decimal | None  # placed / attempts; None without attempts
    latency_ms: int | None  # mean time of an add call
    out_of_funds: int  # "Insufficient balance" answers in the window
    open_orders: int  # placed there, not ended yet

    @property
    def state(self) -> str:
        if not self.provider.enabled:
            return "disabled"
        return "paused" if self.provider.paused else "on"


def provider_health(
    *, now: datetime | None = None, providers: list[Provider] | None = None
) -> list[ProviderHealth]:
    """Every provider's health: two queries (three without `providers`)."""
    since = (now or timezone.now()) - HEALTH_WINDOW
    calls = {
        row["provider_id"]: row
        for row in ForwardAttempt.objects.filter(at__gte=since)
        .exclude(outcome=A.SKIPPED)
        .values("provider_id")
        .annotate(
            n=Count("id"),
            placed=Count("id", filter=Q(outcome=A.PLACED)),
            funds=Count("id", filter=Q(outcome=A.OUT_OF_FUNDS)),
            latency=Avg("latency_ms"),
        )
        .order_by()
    }
    open_orders = dict(
        Order.objects.filter(state=OrderState.PLACED)
        .values("provider_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("provider_id", "n")
    )
    rows = []
    for provider in providers if providers is not None else _providers():
        row: Mapping[str, Any] = calls.get(provider.pk, {})
        n = row.get("n", 0)
        rows.append(
            ProviderHealth(
                provider=provider,
                attempts=n,
                placed=row.get("placed", 0),
                success_rate=(Decimal(row["placed"]) / n).quantize(Decimal("0.001")) if n else None,
                latency_ms=int(row["latency"]) if row.get("latency") is not None else None,
                out_of_funds=row.get("funds", 0),
                open_orders=open_orders.get(provider.pk, 0),
            )
        )
    return rows


@dataclass(frozen=True)
class ProviderMoney:
    provider: Provider
    orders: int
    revenue: Decimal  # what customers paid for the orders sent there, less refunds
    cost: Decimal  # what the provider charged, in the shop's currency
    profit: Decimal  # over the orders whose cost is settled (as the dashboard counts it)


def _providers() -> list[Provider]:
    return list(Provider.objects.order_by("-from_env", "name"))


def staff_money_by_provider(
    *, since: datetime, providers: list[Provider] | None = None
) -> list[ProviderMoney]:
    """Revenue, cost and profit of the orders placed since `since`, per provider they were sent
    to (after any failover): two grouped queries."""
    paid = {
        row["order__provider_id"]: row
        for row in order_payment_entries()
        .filter(order__created_at__gte=since)
        .values("order__provider_id")
        .annotate(
            net=Sum("amount"),
            net_settled=Sum(
                "amount",
                filter=Q(order__cost__isnull=False) | Q(order__state=OrderState.FAILED),
            ),
        )
        .order_by()
    }
    charged = {
        row["provider_id"]: row
        for row in Order.objects.filter(created_at__gte=since)
        .values("provider_id")
        .annotate(orders=Count("id"), cost=Sum("cost"))
        .order_by()
    }
    rows = []
    for provider in providers if providers is not None else _providers():
        money: Mapping[str, Any] = paid.get(provider.pk, {})
        counts: Mapping[str, Any] = charged.get(provider.pk, {})
        cost = counts.get("cost") or ZERO
        rows.append(
            ProviderMoney(
                provider=provider,
                orders=counts.get("orders", 0),
                revenue=-(money.get("net") or ZERO),
                cost=cost,
                profit=-(money.get("net_settled") or ZERO) - cost,
            )
        )
    return rows
