"""Project-level pages that belong to no single app."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from panel.http import AuthedRequest


@login_required
def dashboard(request: AuthedRequest) -> HttpResponse:
    """The customer's home: balance (from the context processor), orders by status, recent
    orders, spending over 30 days as server-drawn SVG bars, and services slow right now; above
    them, the shop's announcements the customer has not dismissed."""
    from catalog.selectors import services_slow_now
    from content.selectors import announcements_for_user
    from orders import selectors as orders_selectors

    spending = orders_selectors.spending_by_day(user=request.user, days=30)
    recent = orders_selectors.orders_list(user=request.user)[:5]
    return render(
        request,
        "dashboard.html",
        {
            "counts": orders_selectors.order_counts_by_status(user=request.user),
            "recent": [orders_selectors.order_row(order) for order in recent],
            "chart": _bars(spending),
            "spent_total": sum((amount for _day, amount in spending), Decimal("0")),
            "slow_services": list(services_slow_now()[:10]),
            "announcements": announcements_for_user(user=request.user),
        },
    )


CHART_WIDTH, CHART_HEIGHT, CHART_TOP = 300, 110, 100  # SVG units; bars grow up from y=100


def _bars(spending: list[tuple[date, Decimal]]) -> list[dict[str, object]]:
    """Bars for an inline SVG chart, sized here (no chart library, no inline style: CSP-safe)."""
    highest = max((amount for _day, amount in spending), default=Decimal("0")) or Decimal("1")
    slot = CHART_WIDTH / max(1, len(spending))
    bars = []
    for index, (day, amount) in enumerate(spending):
        height = round(float(amount / highest) * (CHART_TOP - 10), 1)
        bars.append(
            {
                "day": day,
                "amount": amount,
                "x": round(index * slot + 1, 1),
                "width": round(slot - 2, 1),
                "y": round(CHART_TOP - height, 1),
                "height": height,
                "label": (len(spending) - 1 - index) % 7 == 0,  # dates: today, a week back, ...
                "label_x": round(index * slot + slot / 2, 1),
            }
        )
    return bars


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for the container: the process answers and the database does too."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
