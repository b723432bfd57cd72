"""The staff dashboard at /staff/: money per day, orders per state, and what needs a person now.

Reads only, aggregated in the database: the page costs the same handful of queries whether the
shop has ten orders or ten million (tests/panel/test_staff_dashboard.py counts them). The reads
sit here, beside their one view, because they span every app (orders, billing, catalog) and no
app should import the others' models for a page only staff see.

Money per day is attributed to the day the order was placed (in the shop's time zone): its
revenue is what the customer paid less what was refunded, its cost what the upstream charges
for it (`Order.cost`, which drops when the upstream refunds a Partial or a Canceled). Profit
counts only orders whose cost is settled, so an order not yet polled never shows as pure profit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from billing.selectors import balances_owed, deposit_summary, money_waiting, order_payment_entries
from catalog.models import Provider
from catalog.selectors import services_flagged, upstream_balance_status
from orders.models import CancelRequest, Order, OrderState, RefillRequest
from panel.money import ZERO, format_vnd
from panel.provider_report import provider_health, staff_money_by_provider
from support.selectors import staff_ticket_counts

DAYS = 30
FLAGGED_SHOWN = 10
ATTENTION_SHOWN = 10

# A cost is "settled" once the upstream told it, or when the upstream never took the order
# (failed: refunded in full, nothing paid upstream).
_COST_SETTLED = Q(cost__isnull=False) | Q(state=OrderState.FAILED)


@dataclass(frozen=True)
class DayMoney:
    day: date
    orders: int
    revenue: Decimal  # charges less refunds of the orders placed that day
    cost: Decimal  # the upstream's charge for them, where known
    profit: Decimal  # revenue less cost, over the orders whose cost is settled
    unsettled: int  # orders whose upstream cost is not known yet


@dataclass(frozen=True)
class MoneySummary:
    days: list[DayMoney]
    revenue: Decimal
    cost: Decimal
    profit: Decimal
    orders: int
    unsettled: int

    @property
    def margin_percent(self) -> Decimal | None:
        settled_revenue = self.profit + self.cost
        if settled_revenue <= 0:
            return None
        return (self.profit * 100 / settled_revenue).quantize(Decimal("0.1"))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def staff_money_by_day(*, days: int = DAYS, today: date | None = None) -> MoneySummary:
    """Revenue, upstream cost and profit per day of the last `days` days, oldest first, every
    day present. Two grouped queries: the ledger (what customers paid and got back) and the
    orders (what the upstream charged)."""
    tz = timezone.get_current_timezone()
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    since, until = _day_start(first), _day_start(today + timedelta(days=1))

    # Charges are negative and refunds positive: minus their sum is what the shop kept.
    paid = (
        order_payment_entries()
        .filter(order__created_at__gte=since, order__created_at__lt=until)
        .annotate(day=TruncDate("order__created_at", tzinfo=tz))
        .values("day")
        .annotate(
            net=Sum("amount"),
            net_settled=Sum(
                "amount",
                filter=Q(order__cost__isnull=False) | Q(order__state=OrderState.FAILED),
            ),
        )
        .order_by()
    )
    charged = (
        Order.objects.filter(created_at__gte=since, created_at__lt=until)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(
            orders=Count("id"),
            upstream_cost=Sum("cost"),
            unsettled=Count("id", filter=~_COST_SETTLED),
        )
        .order_by()
    )
    by_day_paid = {row["day"]: row for row in paid}
    by_day_orders = {row["day"]: row for row in charged}

    rows = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        money: Mapping[str, Any] = by_day_paid.get(day, {})
        counts: Mapping[str, Any] = by_day_orders.get(day, {})
        cost = counts.get("upstream_cost") or ZERO
        revenue = -(money.get("net") or ZERO)
        settled_revenue = -(money.get("net_settled") or ZERO)
        rows.append(
            DayMoney(
                day=day,
                orders=counts.get("orders", 0),
                revenue=revenue,
                cost=cost,
                profit=settled_revenue - cost,
                unsettled=counts.get("unsettled", 0),
            )
        )
    return MoneySummary(
        days=rows,
        revenue=sum((row.revenue for row in rows), ZERO),
        cost=sum((row.cost for row in rows), ZERO),
        profit=sum((row.profit for row in rows), ZERO),
        orders=sum(row.orders for row in rows),
        unsettled=sum(row.unsettled for row in rows),
    )


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int
    admin_url: str


@dataclass
class OrderCounts:
    states: list[StateCount] = field(default_factory=list)
    total: int = 0
    waiting_for_funds: int = 0

    def count(self, state: str) -> int:
        return next((row.count for row in self.states if row.state == state), 0)


def staff_order_counts() -> OrderCounts:
    """Orders per internal state, and how many wait for upstream funds: one grouped query."""
    changelist = reverse("admin:orders_order_changelist")
    rows = {
        row["state"]: row
        for row in Order.objects.values("state")
        .annotate(n=Count("id"), waiting=Count("id", filter=Q(waiting_for_funds=True)))
        .order_by()
    }
    result = OrderCounts()
    for state in OrderState:
        row: Mapping[str, Any] = rows.get(state.value, {})
        n = row.get("n", 0)
        result.states.append(
            StateCount(
                state=state.value,
                label=str(state.label),
                count=n,
                admin_url=f"{changelist}?state__exact={state.value}",
            )
        )
        result.total += n
        result.waiting_for_funds += row.get("waiting", 0)
    return result


@dataclass(frozen=True)
class Attention:
    """Things a person has to look at, each with where to do it in the admin."""

    orders_review: int
    orders_review_url: str
    waiting_for_funds: int
    waiting_for_funds_url: str
    refills_review: int
    cancels_review: int
    refills_review_url: str
    cancels_review_url: str
    topups_pending: int
    topups_pending_amount: Decimal
    topups_pending_url: str
    transfers_unmatched: int = 0
    transfers_unmatched_amount: Decimal = ZERO
    transfers_unmatched_url: str = ""
    inbox_url: str = ""
    # Orders the upstream's answers could not decide about for too long, with why (issue 11).
    orders_attention: int = 0
    orders_attention_url: str = ""
    orders_attention_list: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return (
            self.orders_review
            + self.orders_attention
            + self.waiting_for_funds
            + self.refills_review
            + self.cancels_review
            + self.topups_pending
            + self.transfers_unmatched
        )


def staff_attention(*, counts: OrderCounts) -> Attention:
    """Four small queries (refills and cancels needing attention, pending top-ups, the oldest
    orders needing attention with their reasons) on top of the counts."""
    orders = reverse("admin:orders_order_changelist")
    refills = RefillRequest.objects.filter(state=RefillRequest.State.ATTENTION).count()
    cancels = CancelRequest.objects.filter(state=CancelRequest.State.ATTENTION).count()
    shown = [
        (pk, reason, reverse("admin:orders_order_change", args=[pk]))
        for pk, reason in Order.objects.filter(state=OrderState.ATTENTION)
        .order_by("updated_at", "pk")
        .values_list("pk", "attention_reason")[:ATTENTION_SHOWN]
    ]
    money = money_waiting()
    return Attention(
        orders_review=counts.count(OrderState.REVIEW),
        orders_review_url=f"{orders}?state__exact={OrderState.REVIEW}",
        waiting_for_funds=counts.waiting_for_funds,
        waiting_for_funds_url=f"{orders}?waiting_for_funds__exact=1",
        refills_review=refills,
        cancels_review=cancels,
        refills_review_url=reverse("admin:orders_refillrequest_changelist")
        + f"?state__exact={RefillRequest.State.ATTENTION}",
        cancels_review_url=reverse("admin:orders_cancelrequest_changelist")
        + f"?state__exact={CancelRequest.State.ATTENTION}",
        orders_attention=counts.count(OrderState.ATTENTION),
        orders_attention_url=f"{orders}?state__exact={OrderState.ATTENTION}",
        orders_attention_list=shown,
        topups_pending=money.topups_pending,
        topups_pending_amount=money.topups_pending_amount,
        topups_pending_url=money.topups_pending_url,
        transfers_unmatched=money.transfers_unmatched,
        transfers_unmatched_amount=money.transfers_unmatched_amount,
        transfers_unmatched_url=money.transfers_unmatched_url,
        inbox_url=money.inbox_url,
    )


# --------------------------------------------------------------------------- the chart

# SVG user units. The chart is drawn here, not by a script: inline <svg> markup is not a script,
# so the Content-Security-Policy is satisfied and the page needs no chart library.
CHART_W, CHART_H = 900, 240
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 8, 892, 14, 210


def _nice_step(span: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) that cuts `span` into about `ticks` parts."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        if power * factor >= raw:
            return float(power * factor)
    return float(power * 10)


def money_chart(summary: MoneySummary) -> dict[str, Any]:
    """Geometry of the revenue/cost bars and the profit line, per day, plus gridlines."""
    values = [float(v) for row in summary.days for v in (row.revenue, row.cost, row.profit)]
    hi, lo = max([0.0, *values]), min([0.0, *values])
    step = _nice_step(hi - lo)
    # Whole steps at both ends, so that gridlines fall on round amounts.
    hi = max(step, math.ceil(hi / step) * step)
    lo = math.floor(lo / step) * step

    def y(value: float) -> float:
        return round(PLOT_TOP + (hi - value) / (hi - lo) * (PLOT_BOTTOM - PLOT_TOP), 1)

    zero = y(0.0)
    slot = (PLOT_RIGHT - PLOT_LEFT) / max(1, len(summary.days))
    bar = max(1.0, (slot - 4) / 2)
    days, points = [], []
    for index, row in enumerate(summary.days):
        left = PLOT_LEFT + index * slot + 2
        center = round(PLOT_LEFT + index * slot + slot / 2, 1)
        revenue_y, cost_y = y(float(row.revenue)), y(float(row.cost))
        profit_y = y(float(row.profit))
        days.append(
            {
                "row": row,
                "revenue": {"x": round(left, 1), "y": revenue_y, "h": round(zero - revenue_y, 1)},
                "cost": {"x": round(left + bar, 1), "y": cost_y, "h": round(zero - cost_y, 1)},
                "bar_w": round(bar, 1),
                "cx": center,
                "cy": profit_y,
                "label": (len(summary.days) - 1 - index) % 7 == 0,  # today, a week back, ...
            }
        )
        points.append(f"{center},{profit_y}")
    grid = []
    tick = lo
    while tick <= hi + step / 2:
        grid.append({"y": y(tick), "label": format_vnd(Decimal(int(tick))), "zero": tick == 0})
        tick += step
    return {
        "width": CHART_W,
        "height": CHART_H,
        "left": PLOT_LEFT,
        "right": PLOT_RIGHT,
        "zero": zero,
        "label_y": CHART_H - 8,
        "days": days,
        "profit_points": " ".join(points),
        "grid": grid,
    }


# --------------------------------------------------------------------------- the view


def _dashboard(request: HttpRequest) -> HttpResponse:
    money = staff_money_by_day()
    counts = staff_order_counts()
    balance = upstream_balance_status()
    flagged = list(services_flagged()[: FLAGGED_SHOWN + 1])
    owed = balances_owed()
    providers = list(Provider.objects.order_by("-from_env", "name"))
    since = _day_start(timezone.localdate() - timedelta(days=DAYS - 1))
    provider_rows = list(
        zip(
            provider_health(providers=providers),
            staff_money_by_provider(since=since, providers=providers),
            strict=True,
        )
    )
    return render(
        request,
        "staff/dashboard.html",
        {
            "money": money,
            "chart": money_chart(money),
            "counts": counts,
            "attention": staff_attention(counts=counts),
            "deposits": deposit_summary(since=timezone.now() - timedelta(days=DAYS)),
            "balance": balance,
            "owed": owed,
            "flagged": flagged[:FLAGGED_SHOWN],
            "flagged_more": len(flagged) > FLAGGED_SHOWN,
            "flagged_url": reverse("admin:catalog_service_changelist") + "?flagged__exact=1",
            "tickets": staff_ticket_counts(),
            "days": DAYS,
            "providers": provider_rows,
        },
    )


# Staff exactly as the admin admits them: active staff, and verified by a second factor when
# ADMIN_REQUIRE_2FA is on (the admin site's own check); anyone else goes to the admin login.
# The page shows the shop's revenue, so it is guarded like the admin, not merely by is_staff.
dashboard = admin.site.admin_view(_dashboard)
