"""A customer orders one of each kind in the browser and follows them to the end: Completed,
Partial with its refund, a refill, a cancel; the list updates without a reload; the staff
dashboard then shows the shop's profit.

Celery beat is stood in for by the test: it moves the sandbox's clock and runs `sync_orders`
(forward, poll, refill and cancel requests), exactly what the beat schedule runs.
"""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from billing.models import EntryKind, LedgerEntry
from catalog.models import Service, SyncRun
from orders.models import CancelRequest, Order, OrderKind, OrderState, RefillRequest
from panel.staff import staff_money_by_day
from tests.factories import make_customer, make_staff, synced_catalog

from .conftest import PASSWORD, Browse, money_text

pytestmark = [
    pytest.mark.browser,
    pytest.mark.axes,
    pytest.mark.vietnamese,  # the shop's real default language, as its customers see it
    pytest.mark.django_db(transaction=True),
]

LINK = "https://www.tiktok.com/@cua_hang_hoa/video/7312345678901234567"


def _beat(sandbox: Any, *, seconds: int) -> None:
    """Time passes at the upstream, then one order cycle runs, as Celery beat would run it."""
    sandbox.advance(seconds)
    call_command("sync_orders", stdout=StringIO())


def _place(
    tab: Browse, service: Service, name: str, *, from_catalog: bool = False, **fields: Any
) -> Order:
    """Fill the new-order form for `service` and place it; returns the order."""
    page = tab.page
    if from_catalog:
        # As a customer finds it: search the catalog, then the service's "Order" button.
        tab.goto("/services/", "catalog")
        page.fill("main input[name=q]", f"#{service.pk}")
        with page.expect_navigation():
            page.press("main input[name=q]", "Enter")
        tab.snap("catalog-search")
        with page.expect_navigation():
            page.click(f"#service-{service.pk} a.btn")
        assert page.input_value("#id_service") == str(service.pk)
        tab.snap(f"new-{name}")
    else:
        tab.goto(f"/orders/new/?service={service.pk}", f"new-{name}")
    page.fill("#id_link", LINK)
    if "comments" in fields:
        page.fill("#id_comments", fields["comments"])
    if "username" in fields:
        page.fill("#id_username", fields["username"])
    if "quantity" in fields:
        page.fill("#id_quantity", str(fields["quantity"]))
    if "runs" in fields:
        page.check("#id_dripfeed")
        page.fill("#id_runs", str(fields["runs"]))
        page.fill("#id_interval", str(fields["interval"]))
    assert tab.text("[data-price]") not in ("", "–"), "the price preview is shown"
    tab.snap(f"new-{name}-filled")
    before = set(Order.objects.values_list("pk", flat=True))
    with page.expect_navigation():
        page.click("form[data-order-form] button[type=submit]:not([data-favourite])")
    (order,) = Order.objects.exclude(pk__in=before)
    assert page.url.endswith(f"/orders/{order.pk}/"), page.url
    assert page.is_visible(".msg.success")
    tab.snap(f"placed-{name}")
    # Celery is eager in tests: the forward ran within the request, to the sandbox.
    order.refresh_from_db()
    assert order.state == OrderState.PLACED and order.upstream_id, order.state
    return order


def _status(tab: Browse, order: Order) -> Any:
    return tab.page.locator(f'tr[data-order-id="{order.pk}"] [data-cell=status]')


def test_a_customer_orders_every_kind_and_follows_them_to_the_end(
    open_tab: Any, sandbox: Any
) -> None:
    services = synced_catalog()
    make_customer(username="ngoc_han", email="nh@example.com", password=PASSWORD, balance="2000000")
    make_staff(username="quanly", email="ql@example.com", password=PASSWORD, superuser=True)
    tab = open_tab("customer", paused_clock=True)
    page = tab.page
    tab.login("ngoc_han")

    # One order of each kind, through the form.
    default = _place(tab, services[101], "default", from_catalog=True, quantity=1000)
    comments = _place(
        tab,
        services[109],
        "custom-comments",
        comments="Video hay quá!\nỦng hộ shop\nĐẹp lắm\nTuyệt vời\nSẽ mua tiếp",
    )
    dripfeed = _place(tab, services[102], "drip-feed", quantity=50, runs=2, interval=10)
    likes = _place(tab, services[110], "comment-likes", username="nguoi_binh_luan", quantity=100)
    vip = _place(tab, services[212], "vip-package", quantity=50)
    slow = _place(tab, services[104], "slow-to-cancel", quantity=1000)
    assert [o.kind for o in (default, comments, dripfeed, likes, vip)] == [
        OrderKind.DEFAULT,
        OrderKind.CUSTOM_COMMENTS,
        OrderKind.DRIPFEED,
        OrderKind.COMMENT_LIKES,
        OrderKind.PACKAGE,
    ]
    assert comments.quantity == 5 and dripfeed.runs == 2 and likes.username == "nguoi_binh_luan"

    # The upstream will deliver only 60 of the 100 comment likes.
    sandbox.set_fate(likes.upstream_id, status="Partial", remains=40)

    # The list is open while the upstream works; its rows update without a reload.
    tab.goto("/orders/", "orders-list-in-progress")
    page.evaluate("window.__sameDocument = true")
    assert "ok" not in (_status(tab, default).get_attribute("class") or "")
    _beat(sandbox, seconds=3600)
    page.clock.run_for(10_500)  # the list's 10-second poll
    page.wait_for_selector(f'tr[data-order-id="{default.pk}"] [data-cell=status].ok')
    page.wait_for_selector(f'tr[data-order-id="{likes.pk}"] [data-cell=status].warn')
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    tab.snap("orders-list-updated-live")
    for order in (default, comments, dripfeed):
        order.refresh_from_db()
        assert order.state == OrderState.COMPLETED, (order.kind, order.state)
    likes.refresh_from_db()
    assert likes.state == OrderState.PARTIAL and likes.remains == 40
    vip.refresh_from_db()
    assert vip.state == OrderState.PLACED  # a 30-day package is still running

    # The Partial order's refund, on its page and among the transactions.
    refund = LedgerEntry.objects.get(order=likes, kind=EntryKind.REFUND).amount
    assert refund == (likes.charge * 40 / 100).quantize(Decimal("0.01"))
    tab.goto(f"/orders/{likes.pk}/", "partial-order")
    assert tab.text("dd.refunded") == money_text(refund)
    tab.goto("/transactions/", "transactions-with-refund")
    row = page.locator(f'[data-testid=entry]:has(a[href="/orders/{likes.pk}/"]):has(.kind-refund)')
    assert row.count() == 1
    assert money_text(refund) in row.inner_text()

    # A refill of the completed order.
    tab.goto(f"/orders/{default.pk}/", "completed-order")
    with page.expect_navigation():
        page.click("form[data-action=refill] button")
    tab.snap("refill-asked")
    assert page.is_visible(".msg.success")
    assert page.locator("form[data-action=refill]").is_hidden()  # one open refill at a time
    refill = RefillRequest.objects.get(order=default)
    _beat(sandbox, seconds=60)  # forwarded
    _beat(sandbox, seconds=4000)  # done upstream, polled
    refill.refresh_from_db()
    assert refill.state == RefillRequest.State.COMPLETED, refill.state
    tab.goto("/orders/refills/", "refills")
    assert page.locator("tbody tr .badge.ok").count() == 1

    # A cancel of the slow order while it runs: the upstream delivers part, the rest is refunded.
    tab.goto(f"/orders/{slow.pk}/", "running-order")
    with page.expect_navigation():
        page.click("form[data-action=cancel] button")
    tab.snap("cancel-asked")
    assert page.is_visible(".msg.success")
    _beat(sandbox, seconds=10)  # the cancel request is forwarded
    _beat(sandbox, seconds=120)  # the upstream has cancelled; the poll sees it
    slow.refresh_from_db()
    # the order ended, and so did its cancel: done, with its refund on the page (issue 11)
    assert CancelRequest.objects.get(order=slow).state == CancelRequest.State.DONE
    assert slow.state in (OrderState.PARTIAL, OrderState.CANCELED), slow.state
    slow_refund = LedgerEntry.objects.get(order=slow, kind=EntryKind.REFUND).amount
    tab.goto(f"/orders/{slow.pk}/", "cancelled-order")
    assert tab.text("dd.refunded") == money_text(slow_refund)
    assert money_text(slow_refund) in tab.text("[data-testid=cancel-refund]")

    # The dashboard sums it up; in English too.
    tab.goto("/", "dashboard")
    assert page.locator("[data-testid=status-counts]").is_visible()
    with page.expect_navigation():
        page.select_option("#language-select", "en")
    tab.snap("dashboard-english")
    assert page.get_attribute("html", "lang") == "en"
    assert page.is_visible("text=Recent orders")
    with page.expect_navigation():
        page.select_option("#language-select", "vi")
    assert page.get_attribute("html", "lang") == "vi"

    # Staff see the shop's profit on their dashboard, reached from the admin.
    staff = open_tab("staff")
    staff.admin_login("quanly")
    with staff.page.expect_navigation():
        staff.page.click("[data-testid=admin-staff-dashboard]")
    staff.snap("staff-dashboard")
    money = staff_money_by_day()
    assert money.profit > 0 and money.orders == 6
    assert staff.text("[data-testid=profit-total]") == money_text(money.profit)
    assert staff.text("[data-testid=revenue-total]") == money_text(money.revenue)
    assert staff.page.locator("[data-testid=money-chart] .profit-dot").count() == 1
    assert SyncRun.objects.filter(ok=True).exists()
    assert staff.page.locator("[data-testid=last-sync] .badge.ok").count() == 1
    staff.page.click("details.money-table summary")  # opens "day by day"
    assert staff.page.locator("[data-testid=money-table] tbody tr").count() == 1
    staff.snap("staff-dashboard-day-by-day")


def test_a_mass_order_places_the_good_lines_and_explains_the_bad_one(
    open_tab: Any, sandbox: Any
) -> None:
    services = synced_catalog()
    make_customer(username="si_le", email="sl@example.com", password=PASSWORD, balance="100000")
    tab = open_tab("customer", paused_clock=True)
    page = tab.page
    tab.login("si_le")
    tab.goto("/orders/mass/", "mass-order")
    page.fill(
        "textarea[name=orders]",
        f"{services[101].pk}|{LINK}|1000\n"
        f"{services[112].pk}|{LINK}|200\n"
        f"{services[101].pk}|{LINK}|5\n",  # below the service's minimum of 20
    )
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    # First every line is priced and nothing placed; the customer confirms the total.
    tab.snap("mass-order-preview")
    assert not Order.objects.filter(user__username="si_le").exists()
    assert page.locator("[data-testid=mass-preview] tr.line-ok").count() == 2
    with page.expect_navigation():
        page.click("[data-testid=mass-confirm]")
    tab.snap("mass-order-result")
    results = page.locator("[data-testid=mass-results] tbody tr")
    assert results.count() == 3
    assert page.locator("[data-testid=mass-results] tr.line-ok").count() == 2
    bad = page.locator("[data-testid=mass-results] tr.line-error")
    assert bad.count() == 1 and "20" in bad.inner_text()
    assert Order.objects.filter(user__username="si_le", state=OrderState.PLACED).count() == 2
