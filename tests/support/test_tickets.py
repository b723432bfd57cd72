"""Support tickets at the service level: opening (own orders only, limits), the thread, the
staff's order action from a ticket recorded in both histories, notices and unread counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from accounts.models import Profile
from orders.models import CancelRequest, OrderEvent, OrderState, RefillRequest
from orders.request_forwarding import requests_cycle
from support.models import MESSAGE_MAX, MessageEvent, Ticket, TicketKind, TicketState
from support.selectors import (
    staff_ticket_counts,
    ticket_for_user,
    tickets_for_staff,
    unread_for_customer,
    unread_for_staff,
)
from support.services import (
    SupportError,
    TooManyTickets,
    ticket_assign,
    ticket_close,
    ticket_mark_read,
    ticket_open,
    ticket_order_action,
    ticket_reply,
)

pytestmark = pytest.mark.django_db


def _open(user: Any, **overrides: Any) -> Ticket:
    fields: dict[str, Any] = {"subject": "Help", "body": "My likes dropped", "kind": "other"}
    return ticket_open(user=user, **{**fields, **overrides})


# --- opening ---


def test_a_ticket_about_an_order_is_linked_to_it_and_waits_for_staff(
    customer: Any, place: Any
) -> None:
    order = place()
    ticket = _open(customer, kind=TicketKind.SPEED_UP, order_id=order.pk, body="Faster please")
    assert (ticket.order_id, ticket.kind, ticket.state) == (order.pk, "speed_up", "open")
    assert [m.body for m in ticket.messages.all()] == ["Faster please"]
    assert unread_for_staff() == 1 and unread_for_customer(user=customer) == 0


def test_a_ticket_about_another_customers_order_is_refused_like_a_missing_one(
    customer: Any, other_customer: Any, place: Any
) -> None:
    theirs = place(user=other_customer)
    for order_id in (theirs.pk, 987654321):
        with pytest.raises(SupportError) as refused:
            _open(customer, kind=TicketKind.REFILL, order_id=order_id)
        assert refused.value.field == "order"
    assert not Ticket.objects.exists()


def test_a_refill_ticket_without_an_order_is_refused(customer: Any) -> None:
    with pytest.raises(SupportError) as refused:
        _open(customer, kind=TicketKind.REFILL)
    assert refused.value.field == "order" and not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("body", ""), ("body", "   \n "), ("body", "x" * (MESSAGE_MAX + 1)), ("subject", "y" * 151)],
)
def test_an_empty_or_too_long_message_is_refused_and_nothing_is_written(
    customer: Any, field: str, value: str
) -> None:
    with pytest.raises(SupportError) as refused:
        _open(customer, **{field: value})
    assert refused.value.field == field
    assert not Ticket.objects.exists()


def test_a_message_is_kept_as_plain_text_without_control_characters(customer: Any) -> None:
    ticket = _open(customer, body="<b>hi</b>\x00\x07 there\nline two")
    assert ticket.messages.get().body == "<b>hi</b> there\nline two"


def test_opening_tickets_is_rate_limited_per_customer(
    customer: Any, other_customer: Any, settings: Any
) -> None:
    settings.SUPPORT_TICKET_RATE_LIMIT_PER_MINUTE = 2
    _open(customer)
    _open(customer)
    with pytest.raises(TooManyTickets):
        _open(customer)
    assert Ticket.objects.filter(user=customer).count() == 2
    _open(other_customer)  # someone else is not limited by alice


def test_a_customer_cannot_keep_more_than_the_limit_of_tickets_open(
    customer: Any, settings: Any
) -> None:
    settings.SUPPORT_TICKET_RATE_LIMIT_PER_MINUTE = 0
    settings.SUPPORT_MAX_OPEN_TICKETS = 2
    first = _open(customer)
    _open(customer)
    with pytest.raises(TooManyTickets):
        _open(customer)
    ticket_close(ticket_id=first.pk, actor=customer, by_staff=False)
    _open(customer)  # a closed one makes room


# --- the thread ---


def test_a_staff_reply_answers_the_ticket_and_is_unread_by_the_customer_until_seen(
    customer: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = _open(customer)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket_id=ticket.pk, author=staff, body="We are on it", by_staff=True)
    ticket.refresh_from_db()
    assert ticket.state == TicketState.ANSWERED and ticket.assignee == staff
    assert unread_for_customer(user=customer) == 1 and unread_for_staff() == 0
    ticket_mark_read(ticket=ticket, by_staff=False)
    assert unread_for_customer(user=customer) == 0
    # the customer writes back: open again, unread for staff
    ticket_reply(ticket_id=ticket.pk, author=customer, body="Thanks", by_staff=False)
    ticket.refresh_from_db()
    assert ticket.state == TicketState.OPEN and unread_for_staff() == 1


def test_a_customer_cannot_write_in_someone_elses_ticket(
    customer: Any, other_customer: Any
) -> None:
    ticket = _open(customer)
    with pytest.raises(SupportError):
        ticket_reply(ticket_id=ticket.pk, author=other_customer, body="hi", by_staff=False)
    with pytest.raises(SupportError):
        ticket_close(ticket_id=ticket.pk, actor=other_customer, by_staff=False)
    assert ticket.messages.count() == 1
    assert ticket_for_user(user=other_customer, ticket_id=ticket.pk) is None


def test_writing_in_a_closed_ticket_opens_it_again_on_the_record(customer: Any, staff: Any) -> None:
    ticket = _open(customer)
    assert ticket_close(ticket_id=ticket.pk, actor=staff, by_staff=True) is True
    assert ticket_close(ticket_id=ticket.pk, actor=staff, by_staff=True) is False
    ticket_reply(ticket_id=ticket.pk, author=customer, body="Not solved", by_staff=False)
    ticket.refresh_from_db()
    assert ticket.state == TicketState.OPEN and ticket.closed_at is None
    assert [m.event for m in ticket.messages.all()] == ["", "closed", "reopened", ""]


def test_staff_assign_and_filter_by_state_type_and_assignee(
    customer: Any, staff: Any, place: Any
) -> None:
    order = place()
    refill = _open(customer, kind=TicketKind.REFILL, order_id=order.pk)
    other = _open(customer)
    ticket_assign(ticket_id=refill.pk, assignee=staff, actor=staff)
    ticket_close(ticket_id=other.pk, actor=staff, by_staff=True)
    assert list(tickets_for_staff(viewer=staff)) == [refill]  # not closed, by default
    assert list(tickets_for_staff(viewer=staff, state="closed")) == [other]
    assert set(tickets_for_staff(viewer=staff, state="all")) == {refill, other}
    assert list(tickets_for_staff(viewer=staff, state="all", kind="refill")) == [refill]
    assert list(tickets_for_staff(viewer=staff, state="all", assignee="me")) == [refill]
    assert list(tickets_for_staff(viewer=staff, state="all", assignee="none")) == [other]
    assert list(tickets_for_staff(viewer=staff, assignee=str(staff.pk))) == [refill]
    assert refill.messages.filter(event=MessageEvent.ASSIGNED).count() == 1
    counts = staff_ticket_counts()
    assert (counts.waiting, counts.unassigned) == (1, 0)


def test_a_ticket_is_assigned_to_staff_only(customer: Any, other_customer: Any) -> None:
    ticket = _open(customer)
    with pytest.raises(SupportError):
        ticket_assign(ticket_id=ticket.pk, assignee=other_customer, actor=other_customer)


# --- the order action ---


def test_staff_refill_from_a_ticket_asks_the_refill_and_records_it_in_both_histories(
    customer: Any, staff: Any, completed: Any, sandbox: Any
) -> None:
    order = completed()
    ticket = _open(customer, kind=TicketKind.REFILL, order_id=order.pk, body="Likes dropped")
    result = ticket_order_action(ticket_id=ticket.pk, actor=staff)
    # the refill is the customer's, as if they had pressed the button, and goes upstream
    refill = RefillRequest.objects.get(order=order)
    assert refill.state == RefillRequest.State.REQUESTED
    requests_cycle()
    assert sandbox.calls_of("refill") == [{"action": "refill", "orders": str(order.upstream_id)}]
    # recorded in the ticket's thread (the customer sees it) ...
    assert result.message.event == MessageEvent.REFILL and result.message.author == staff
    assert unread_for_customer(user=customer) == 1
    # ... and in the order's history, by whom and from which ticket
    note = OrderEvent.objects.filter(order=order, actor=staff).get()
    assert note.from_state == note.to_state == OrderState.COMPLETED
    assert f"ticket #{ticket.pk}" in note.reason and "refill" in note.reason
    # a second click is refused by the orders rules (one open refill), and records nothing
    with pytest.raises(SupportError):
        ticket_order_action(ticket_id=ticket.pk, actor=staff)
    assert RefillRequest.objects.filter(order=order).count() == 1
    assert OrderEvent.objects.filter(order=order, actor=staff).count() == 1


def test_staff_cancel_from_a_ticket_asks_the_cancel(customer: Any, staff: Any, place: Any) -> None:
    order = place(104)  # a slow service that can be cancelled while it runs
    ticket = _open(customer, kind=TicketKind.CANCEL, order_id=order.pk)
    ticket_order_action(ticket_id=ticket.pk, actor=staff)
    assert CancelRequest.objects.get(order=order).state == CancelRequest.State.REQUESTED
    assert ticket.messages.filter(event=MessageEvent.CANCEL).count() == 1
    assert OrderEvent.objects.filter(order=order, actor=staff, reason__contains="cancel").exists()


def test_an_order_action_is_offered_only_by_refill_and_cancel_tickets(
    customer: Any, staff: Any, place: Any
) -> None:
    order = place()
    ticket = _open(customer, kind=TicketKind.SPEED_UP, order_id=order.pk)
    assert not ticket.offers_order_action
    with pytest.raises(SupportError):
        ticket_order_action(ticket_id=ticket.pk, actor=staff)
    assert not RefillRequest.objects.exists() and not CancelRequest.objects.exists()


def test_a_refill_the_order_cannot_have_yet_is_refused_and_nothing_is_recorded(
    customer: Any, staff: Any, place: Any
) -> None:
    order = place()  # still running upstream: not refillable
    ticket = _open(customer, kind=TicketKind.REFILL, order_id=order.pk)
    with pytest.raises(SupportError):
        ticket_order_action(ticket_id=ticket.pk, actor=staff)
    assert not RefillRequest.objects.exists()
    assert ticket.messages.count() == 1
    assert not OrderEvent.objects.filter(order=order, actor=staff).exists()


# --- notices ---


def test_a_staff_reply_is_emailed_in_the_customers_language(
    customer: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Profile.objects.filter(user=customer).update(language="en")
    ticket = _open(customer, subject="Where are my likes")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket_id=ticket.pk, author=staff, body="Sent again <today>", by_staff=True)
    assert len(mail.outbox) == 1
    notice = mail.outbox[0]
    assert notice.to == [customer.email]
    assert f"#{ticket.pk}" in notice.subject and "Where are my likes" in notice.subject
    assert "Sent again <today>" in notice.body  # plain text, not HTML-escaped


def test_no_email_when_the_customer_turned_reply_notices_off(
    customer: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Profile.objects.filter(user=customer).update(notify_ticket_reply=False)
    ticket = _open(customer)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket_id=ticket.pk, author=staff, body="Done", by_staff=True)
    assert mail.outbox == []


def test_the_customers_own_messages_send_no_email(
    customer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = _open(customer)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket_id=ticket.pk, author=customer, body="More info", by_staff=False)
    assert mail.outbox == []
