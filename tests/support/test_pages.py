"""The support pages: customers reach only their own tickets, staff need the permissions, the
header shows unread counts to both sides, and what customers write is shown escaped."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from support.models import Ticket, TicketState
from support.services import ticket_open, ticket_reply
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_customer_opens_a_ticket_from_an_orders_page(customer: Any, place: Any) -> None:
    order = place()
    client = _client(customer)
    order_page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    new_url = f"{reverse('support:new')}?order={order.pk}"
    assert f'href="{new_url}"' in order_page
    form = client.get(new_url)
    assert form.context["form"].initial["order"] == order.pk
    response = client.post(
        new_url,
        {"order": order.pk, "kind": "speed_up", "subject": "Slow", "body": "Still 0 after a day"},
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("support:detail", args=[ticket.pk])
    assert (ticket.user, ticket.order, ticket.kind) == (customer, order, "speed_up")


def test_another_customers_ticket_is_a_404_like_a_missing_one(
    customer: Any, other_customer: Any
) -> None:
    ticket = ticket_open(user=customer, subject="Mine", body="Private")
    bob = _client(other_customer)
    for name, method in [
        ("support:detail", "get"),
        ("support:reply", "post"),
        ("support:close", "post"),
    ]:
        theirs = getattr(bob, method)(reverse(name, args=[ticket.pk]), {"body": "x"})
        missing = getattr(bob, method)(reverse(name, args=[987654]), {"body": "x"})
        assert theirs.status_code == missing.status_code == 404
    assert ticket.messages.count() == 1
    ticket.refresh_from_db()
    assert ticket.state == TicketState.OPEN
    assert "Mine" not in bob.get(reverse("support:list")).content.decode()


def test_messages_are_shown_escaped_with_their_line_breaks(customer: Any) -> None:
    ticket = ticket_open(
        user=customer, subject="<img src=x onerror=alert(1)>", body="<script>alert(1)</script>\nok"
    )
    html = _client(customer).get(reverse("support:detail", args=[ticket.pk])).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;<br>ok" in html
    assert "<img src=x" not in html


def test_a_too_long_reply_is_refused_with_a_clear_error(customer: Any) -> None:
    ticket = ticket_open(user=customer, subject="s", body="b")
    response = _client(customer).post(
        reverse("support:reply", args=[ticket.pk]), {"body": "x" * 4001}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["body"]
    assert ticket.messages.count() == 1


def test_opening_too_many_tickets_answers_429(customer: Any, settings: Any) -> None:
    settings.SUPPORT_TICKET_RATE_LIMIT_PER_MINUTE = 1
    client = _client(customer)
    data = {"kind": "other", "subject": "s", "body": "b"}
    assert client.post(reverse("support:new"), data).status_code == 302
    response = client.post(reverse("support:new"), data)
    assert response.status_code == 429 and Ticket.objects.count() == 1
    assert "Too many new tickets" in response.content.decode()


def test_the_header_counts_unread_tickets_for_the_customer_and_for_staff(
    customer: Any, staff: Any
) -> None:
    ticket = ticket_open(user=customer, subject="s", body="b")
    staff_page = _client(staff).get(reverse("dashboard")).content.decode()
    assert 'data-testid="staff-unread">1<' in staff_page
    ticket_reply(ticket_id=ticket.pk, author=staff, body="Answer", by_staff=True)
    client = _client(customer)
    assert 'data-testid="support-unread">1<' in client.get(reverse("dashboard")).content.decode()
    client.get(reverse("support:detail", args=[ticket.pk]))  # read
    assert 'data-testid="support-unread"' not in client.get(reverse("dashboard")).content.decode()


def test_staff_reply_and_close_from_the_staff_page(customer: Any, staff: Any) -> None:
    ticket = ticket_open(user=customer, subject="s", body="b")
    client = _client(staff)
    listing = client.get(reverse("support:staff_list"), {"state": "open", "kind": "other"})
    assert listing.status_code == 200 and f"#{ticket.pk}" in listing.content.decode()
    response = client.post(reverse("support:staff_reply", args=[ticket.pk]), {"body": "Fixed"})
    assert response.status_code == 302
    client.post(reverse("support:staff_close", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert ticket.state == TicketState.CLOSED
    html = _client(customer).get(reverse("support:detail", args=[ticket.pk])).content.decode()
    assert "Fixed" in html and "The ticket was closed." in html


def test_staff_who_may_only_view_tickets_cannot_reply(customer: Any) -> None:
    ticket = ticket_open(user=customer, subject="s", body="b")
    viewer = make_staff(username="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_ticket"))  # type: ignore[attr-defined]
    client = _client(viewer)
    assert client.get(reverse("support:staff_detail", args=[ticket.pk])).status_code == 200
    response = client.post(reverse("support:staff_reply", args=[ticket.pk]), {"body": "x"})
    assert response.status_code == 403
    assert ticket.messages.count() == 1


def test_the_staff_dashboard_shows_tickets_waiting_for_an_answer(customer: Any, staff: Any) -> None:
    ticket_open(user=customer, subject="s", body="b")
    html = _client(staff).get(reverse("staff_dashboard")).content.decode()
    assert 'data-testid="tickets-open"' in html
    assert f'href="{reverse("support:staff_list")}?state=open"' in html


def test_the_admin_filters_tickets_and_closes_them_with_an_action(
    customer: Any, staff: Any, place: Any
) -> None:
    order = place()
    refill = ticket_open(
        user=customer, subject="Refill", body="b", kind="refill", order_id=order.pk
    )
    other = ticket_open(user=customer, subject="Question", body="b")
    client = _client(staff)
    url = reverse("admin:support_ticket_changelist")
    listing = client.get(url, {"state__exact": "open", "kind__exact": "refill"})
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [refill]
    response = client.post(
        url, {"action": "close", "_selected_action": [str(other.pk)], "index": "0"}
    )
    assert response.status_code == 302
    other.refresh_from_db()
    refill.refresh_from_db()
    assert (other.state, refill.state) == (TicketState.CLOSED, TicketState.OPEN)
    assigned = client.get(url, {"assignee__id__exact": str(staff.pk)})
    assert list(assigned.context["cl"].result_list) == []
