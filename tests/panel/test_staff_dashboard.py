"""The staff dashboard at /staff/: money per day from real orders, what needs a person, and a
constant number of queries however many orders there are."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.services import topup_request_create
from catalog.models import PricingSettings, Service, SyncRun
from orders.models import Order, OrderState
from orders.polling import orders_poll
from panel.staff import money_chart, staff_money_by_day
from tests.factories import make_customer, make_staff, place_order

pytestmark = pytest.mark.django_db

LINK = "https://tiktok.com/@shop/video/1"


@pytest.fixture
def customer() -> Any:
    return make_customer(username="khach", password=None, balance="1000000")


@pytest.fixture
def staff(client: Any) -> Any:
    user = make_staff(username="nhanvien", email="", password="x")
    client.force_login(user)
    return user


def _place(customer: Any, service: Service, quantity: int, *, forward: bool = True) -> Order:
    """Placed, and forwarded unless not `forward` (the sandbox's catalog is the `catalog` fixture,
    sold at cost x 1.5)."""
    return place_order(
        user=customer, service=service, link=LINK, quantity=quantity, forward=forward
    )


def test_profit_is_what_customers_kept_less_what_the_upstream_charged(
    sandbox: Any, catalog: dict[int, Service], customer: Any
) -> None:
    # given one completed order, one partial (40% refunded, upstream refunds us as much)...
    service = catalog[101]  # cost 3.700, sold at 5.550 per 1000
    completed = _place(customer, service, 1000)
    partial = _place(customer, service, 1000)
    sandbox.set_fate(partial.upstream_id, status="Partial", remains=400)
    # ...one not yet sent (its cost is unknown), and one placed 40 days ago (out of the window)
    unsent = _place(customer, service, 1000, forward=False)
    old = _place(customer, service, 1000)
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    sandbox.advance(3600)

    # when the poll brings the final statuses
    orders_poll()

    # then revenue counts every order of the window, profit only the settled ones
    assert Order.objects.get(pk=completed.pk).state == OrderState.COMPLETED
    assert Order.objects.get(pk=partial.pk).state == OrderState.PARTIAL
    summary = staff_money_by_day()
    assert summary.orders == 3
    assert summary.revenue == Decimal("5550") + Decimal("3330") + Decimal("5550")
    assert summary.cost == Decimal("3700") + Decimal("2220")
    assert summary.profit == Decimal("1850") + Decimal("1110")
    assert summary.unsettled == 1
    today = summary.days[-1]
    assert today.day == timezone.localdate() and today.profit == summary.profit
    assert Order.objects.get(pk=unsent.pk).cost is None


def test_a_failed_order_costs_nothing_and_earns_nothing(
    sandbox: Any, catalog: dict[int, Service], customer: Any
) -> None:
    # given an order the upstream refuses (refunded in full by the forward)
    sandbox.inject_fault("add", "raw_answer", body={"error": "Link is invalid"})
    order = _place(customer, catalog[101], 1000)
    assert order.state == OrderState.FAILED

    summary = staff_money_by_day()

    assert (summary.revenue, summary.cost, summary.profit) == (Decimal("0"),) * 3
    assert summary.unsettled == 0


def test_days_are_the_shops_days_in_ho_chi_minh_city(
    sandbox: Any, catalog: dict[int, Service], customer: Any
) -> None:
    # given an order placed at 00:30 in Ho Chi Minh City, which is still "yesterday" in UTC
    order = _place(customer, catalog[101], 1000, forward=False)
    today = timezone.localdate()
    just_after_midnight = timezone.make_aware(
        datetime.combine(today, datetime.min.time()) + timedelta(minutes=30)
    )
    assert just_after_midnight.astimezone(timezone.UTC).date() == today - timedelta(days=1)
    Order.objects.filter(pk=order.pk).update(created_at=just_after_midnight)

    summary = staff_money_by_day()

    assert summary.days[-1].orders == 1 and summary.days[-2].orders == 0
    assert len(summary.days) == 30 and summary.days[0].day == today - timedelta(days=29)


def test_only_staff_reach_the_dashboard(client: Any, customer: Any) -> None:
    url = reverse("staff_dashboard")
    login = reverse("admin:login")
    # anonymous
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(login)
    # a customer
    client.force_login(customer)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(login)


def test_staff_without_a_second_factor_are_sent_to_the_admin_login_when_it_is_required(
    client: Any, staff: Any, settings: Any
) -> None:
    settings.ADMIN_REQUIRE_2FA = True
    response = client.get(reverse("staff_dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_the_dashboard_shows_money_orders_and_what_needs_attention(
    client: Any, staff: Any, sandbox: Any, catalog: dict[int, Service], customer: Any
) -> None:
    # given orders, one held for review, a pending top-up, a low upstream balance, a flagged
    # service and a failed last sync
    _place(customer, catalog[101], 1000)
    review = _place(customer, catalog[101], 1000, forward=False)
    Order.objects.filter(pk=review.pk).update(state=OrderState.REVIEW)
    topup_request_create(user=customer, amount=Decimal("200000"))
    PricingSettings.objects.update_or_create(pk=1, defaults={"upstream_balance_warning": 500000})
    SyncRun.objects.create(
        kind=SyncRun.Kind.FULL, ok=True, finished_at=timezone.now(), upstream_balance=100000
    )
    SyncRun.objects.create(
        kind=SyncRun.Kind.FULL, ok=False, finished_at=timezone.now(), message="upstream down"
    )
    Service.objects.filter(pk=catalog[104].pk).update(flagged=True)

    response = client.get(reverse("staff_dashboard"))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="money-chart"' in page
    orders_admin = reverse("admin:orders_order_changelist")
    assert f'href="{orders_admin}?state__exact=review"' in page
    assert f'href="{orders_admin}?waiting_for_funds__exact=1"' in page
    assert response.context["attention"].orders_review == 1
    assert response.context["attention"].topups_pending == 1
    assert 'data-testid="upstream-balance-warning"' in page and "100.000 ₫" in page
    assert "upstream down" in page  # the last sync failed, and why
    assert catalog[104].name in page
    assert reverse("admin:catalog_service_changelist") + "?flagged__exact=1" in page
    assert response.context["money"].revenue == Decimal("11100")


def test_the_admin_links_to_the_staff_dashboard(client: Any, staff: Any) -> None:
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert f'href="{reverse("staff_dashboard")}"' in response.content.decode()


def test_the_dashboard_costs_the_same_queries_for_few_or_many_orders(
    client: Any,
    staff: Any,
    sandbox: Any,
    catalog: dict[int, Service],
    customer: Any,
    django_assert_max_num_queries: Any,
) -> None:
    url = reverse("staff_dashboard")
    _place(customer, catalog[101], 1000)
    client.get(url)  # warm: the pricing settings row is created on first read
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200

    # given many more orders, over several days, of several states
    for n in range(12):
        order = _place(customer, catalog[101 + n % 3], 1000, forward=n % 2 == 0)
        Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=n))
    SyncRun.objects.create(kind=SyncRun.Kind.FULL, ok=True, finished_at=timezone.now())
    Service.objects.filter(upstream_id__in=[104, 105]).update(flagged=True)

    with django_assert_max_num_queries(len(few)):
        assert client.get(url).status_code == 200
    # session, user, wallet and unread tickets (context processors), then the dashboard's own
    # reads (the support tickets' tile among them; issue 11 added the orders needing attention
    # with their reasons, and the balance's own readings; issue 17's providers table adds five:
    # providers, attempts, open orders, ledger and orders per provider)
    assert len(few) <= 27  # 22, and 5 for the providers table (issue 17)


def test_the_chart_puts_negative_profit_below_the_zero_line() -> None:
    from panel.staff import DayMoney, MoneySummary

    day = timezone.localdate()
    rows = [
        DayMoney(
            day=day,
            orders=1,
            revenue=Decimal("100"),
            cost=Decimal("150"),
            profit=Decimal("-50"),
            unsettled=0,
        ),
        DayMoney(
            day=day + timedelta(1),
            orders=1,
            revenue=Decimal("300"),
            cost=Decimal("100"),
            profit=Decimal("200"),
            unsettled=0,
        ),
    ]
    summary = MoneySummary(
        days=rows,
        revenue=Decimal("400"),
        cost=Decimal("250"),
        profit=Decimal("150"),
        orders=2,
        unsettled=0,
    )

    chart = money_chart(summary)

    loss, gain = chart["days"]
    assert loss["cy"] > chart["zero"] > gain["cy"]  # SVG y grows downwards
    assert gain["revenue"]["h"] > gain["cost"]["h"] > 0
    assert any(line["zero"] for line in chart["grid"])
