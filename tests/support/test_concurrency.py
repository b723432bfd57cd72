"""Real concurrency on PostgreSQL: a customer's tabs racing to open tickets, a reply racing a
close. SQLite serialises every writer, so these run on PostgreSQL only."""

from __future__ import annotations

from typing import Any

import pytest

from support.models import Ticket, TicketState
from support.services import TooManyTickets, ticket_close, ticket_open, ticket_reply
from tests.billing.test_concurrency import _race
from tests.factories import make_customer, make_staff

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_tabs_opening_tickets_at_once_never_pass_the_open_limit(settings: Any) -> None:
    settings.SUPPORT_TICKET_RATE_LIMIT_PER_MINUTE = 0
    settings.SUPPORT_MAX_OPEN_TICKETS = 3
    user = make_customer()

    def open_one() -> int:
        return ticket_open(user=user, subject="Help", body="Please").pk

    results = _race([open_one] * 8)
    opened = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, TooManyTickets)]
    assert (len(opened), len(refused)) == (3, 5), results
    assert Ticket.objects.filter(user=user).count() == 3


def test_a_reply_racing_a_close_ends_in_one_consistent_state() -> None:
    user, staff = make_customer(), make_staff(superuser=True)
    ticket = ticket_open(user=user, subject="Help", body="Please")

    results = _race(
        [
            lambda: ticket_close(ticket_id=ticket.pk, actor=staff, by_staff=True),
            lambda: ticket_reply(ticket_id=ticket.pk, author=user, body="More", by_staff=False),
        ]
    )
    assert not any(isinstance(r, Exception) for r in results), results
    ticket.refresh_from_db()
    events = [m.event for m in ticket.messages.all()]
    # whichever came second decides: closed after the message, or reopened by it
    if ticket.state == TicketState.CLOSED:
        assert events == ["", "", "closed"] and ticket.closed_at is not None
    else:
        assert ticket.state == TicketState.OPEN and ticket.closed_at is None
        assert events == ["", "closed", "reopened", ""]
