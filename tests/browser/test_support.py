"""Support and the shop's pages in a real browser: a customer opens a ticket from an order's page,
staff reply and refill the order from the ticket in one click, and the customer sees the reply
(and the header's unread counts on both sides). Then the shop's pages and an announcement."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from content.models import Announcement, AnnouncementDismissal, ContactDetails, Page
from orders.models import OrderEvent, OrderState, RefillRequest
from support.models import Ticket, TicketState
from tests.factories import make_customer, make_staff, place_order, synced_catalog

from .conftest import PASSWORD, Browse

pytestmark = [
    pytest.mark.browser,
    pytest.mark.axes,
    pytest.mark.vietnamese,  # the shop's real default language, as its customers see it
    pytest.mark.django_db(transaction=True),
]

LINK = "https://www.tiktok.com/@cua_hang_hoa/video/7312345678901234567"


def _beat(sandbox: Any, *, seconds: int) -> None:
    sandbox.advance(seconds)
    call_command("sync_orders", stdout=StringIO())


def _submit(tab: Browse, selector: str, shot: str) -> None:
    with tab.page.expect_navigation():
        tab.page.click(selector)
    tab.snap(shot)


def test_a_customer_asks_for_a_refill_in_a_ticket_and_staff_refill_from_it(
    open_tab: Any, sandbox: Any
) -> None:
    services = synced_catalog()
    customer = make_customer(
        username="thu_trang", email="tt@example.com", password=PASSWORD, balance="500000"
    )
    make_staff(username="hotro", email="ht@example.com", password=PASSWORD, superuser=True)
    order = place_order(user=customer, service=services[101], link=LINK, quantity=1000)
    _beat(sandbox, seconds=3 * 86400)
    order.refresh_from_db()
    assert order.state == OrderState.COMPLETED

    # The customer opens a ticket from the order's page: it is about that order.
    tab = open_tab("customer")
    page = tab.page
    tab.login("thu_trang")
    tab.goto(f"/orders/{order.pk}/", "completed-order")
    _submit(tab, "[data-testid=order-ticket]", "new-ticket-for-order")
    assert f"#{order.pk}" in tab.text("[data-testid=ticket-order]")
    assert page.input_value("#id_order") == str(order.pk)
    page.select_option("#id_kind", "refill")
    page.fill("#id_body", "Lượt thích bị tụt <b>200</b>, nhờ shop bảo hành giúp.")
    _submit(tab, "[data-testid=ticket-form] button[type=submit]", "ticket-opened")
    ticket = Ticket.objects.get()
    assert (ticket.order_id, ticket.kind, ticket.state) == (order.pk, "refill", "open")
    assert page.url.endswith(f"/support/{ticket.pk}/")
    # written as plain text: the markup shows as typed
    assert "<b>200</b>" in tab.text("[data-testid=customer-message]")

    # Staff see it waiting on their dashboard and in the header, open it, reply and refill.
    staff = open_tab("staff")
    spage = staff.page
    staff.admin_login("hotro")
    staff.goto("/staff/", "staff-dashboard")
    assert staff.text("[data-testid=tickets-open] .stat") == "1"
    assert staff.text("[data-testid=staff-unread]") == "1"
    _submit(staff, "[data-testid=tickets-open]", "staff-tickets")
    spage.select_option("#id_kind", "refill")
    _submit(staff, "[data-testid=ticket-filters] button[type=submit]", "staff-tickets-refill")
    assert spage.locator("[data-testid=staff-tickets] tbody tr").count() == 1
    _submit(staff, f'tr[data-ticket-id="{ticket.pk}"] td a >> nth=0', "staff-ticket")
    assert spage.locator("[data-testid=staff-unread]").count() == 0  # read now
    spage.fill("[data-testid=staff-reply-form] textarea", "Shop đã gửi bảo hành cho đơn của bạn.")
    _submit(staff, "[data-testid=staff-reply-form] button[type=submit]", "staff-replied")
    assert spage.is_visible(".msg.success")
    _submit(staff, "[data-testid=order-action-button]", "staff-refilled")
    assert spage.is_visible(".msg.success")
    assert spage.locator('[data-testid=thread] [data-event="refill"]').count() == 1
    assert staff.text("[data-testid=ticket-assignee]") == "hotro"

    # The refill is the order's, asked as the customer would, and is on the order's history.
    refill = RefillRequest.objects.get(order=order)
    assert refill.state == RefillRequest.State.REQUESTED
    note = OrderEvent.objects.get(order=order, actor__username="hotro")
    assert f"#{ticket.pk}" in note.reason
    _beat(sandbox, seconds=60)  # forwarded upstream with the next cycle
    assert sandbox.calls_of("refill") == [{"action": "refill", "orders": str(order.upstream_id)}]

    # The customer sees a new reply in the header, then the reply and the refill in the thread.
    tab.goto("/", "dashboard-with-reply")
    assert tab.text("[data-testid=support-unread]") == "1"
    _submit(tab, "[data-testid=nav-support]", "my-tickets")
    assert page.locator("[data-testid=ticket-new-reply]").count() == 1
    _submit(tab, f'tr[data-ticket-id="{ticket.pk}"] td a >> nth=0', "ticket-with-reply")
    assert "Shop đã gửi bảo hành" in tab.text("[data-testid=staff-message]")
    assert page.locator('[data-testid=thread] [data-event="refill"]').count() == 1
    assert page.locator("[data-testid=support-unread]").count() == 0
    ticket.refresh_from_db()
    assert ticket.state == TicketState.ANSWERED
    # ... and the refill on the order's page
    tab.goto(f"/orders/{order.pk}/", "order-with-refill")
    assert page.locator("form[data-action=refill]").is_hidden()

    # Solved: the customer closes the ticket.
    tab.goto(f"/support/{ticket.pk}/", "ticket-again")
    _submit(tab, "[data-testid=close-ticket]", "ticket-closed")
    ticket.refresh_from_db()
    assert ticket.state == TicketState.CLOSED


def test_the_shops_pages_and_an_announcement(open_tab: Any, sandbox: Any) -> None:
    make_customer(username="bao_ngoc", email="bn@example.com", password=PASSWORD)
    Page.objects.create(
        kind="terms",
        title_vi="Điều khoản dịch vụ",
        title_en="Terms of service",
        body_vi="Điều 1. Không hoàn tiền cho link riêng tư.",
        body_en="Article 1. No refund for private links.",
    )
    ContactDetails.objects.create(
        pk=1,
        phone="0901 234 567",
        zalo_url="https://zalo.me/0901234567",
        telegram_url="https://t.me/cua_hang",
    )
    item = Announcement.objects.create(
        title_vi="Dịch vụ TikTok mới",
        title_en="New TikTok services",
        body_vi="Giá tốt hơn từ hôm nay.",
        starts_at=timezone.now() - timedelta(minutes=1),
    )
    tab = open_tab("visitor")
    page = tab.page

    # A visitor reads the terms from the footer, in Vietnamese, then in English.
    tab.goto("/accounts/login/", "login")
    _submit(tab, "[data-testid=footer-links] a[href='/terms/']", "terms-vi")
    assert "Không hoàn tiền" in tab.text("[data-testid=shop-page-terms]")
    with page.expect_navigation():
        page.select_option("#language-select", "en")
    tab.snap("terms-en")
    assert "No refund for private links" in tab.text("[data-testid=shop-page-terms]")
    with page.expect_navigation():
        page.select_option("#language-select", "vi")
    _submit(tab, "[data-testid=footer-links] a[href='/contact/']", "contact")
    assert page.locator("[data-testid=contact-zalo]").get_attribute("href") == (
        "https://zalo.me/0901234567"
    )
    assert page.locator("[data-testid=contact-telegram]").count() == 1
    tab.goto("/faq/", "faq-empty")

    # The customer sees the announcement on the dashboard until they dismiss it.
    tab.login("bao_ngoc")
    assert "Dịch vụ TikTok mới" in tab.text("[data-testid=announcements]")
    _submit(tab, "[data-testid=announcement-dismiss]", "announcement-dismissed")
    assert page.locator("[data-testid=announcement]").count() == 0
    assert AnnouncementDismissal.objects.filter(announcement=item).count() == 1
    tab.goto("/", "dashboard-again")
    assert page.locator("[data-testid=announcement]").count() == 0
