"""Reads of support tickets. A customer's reads always filter by the customer: another
customer's ticket is indistinguishable from one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet

from panel.numbers import parse_id, parse_int

from .models import Ticket, TicketMessage, TicketState

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def tickets_for_user(*, user: User) -> QuerySet[Ticket]:
    return Ticket.objects.filter(user=user).select_related("order")


def ticket_for_user(*, user: User, ticket_id: object) -> Ticket | None:
    pk = parse_id(ticket_id)
    if pk is None:
        return None
    return tickets_for_user(user=user).filter(pk=pk).first()


def ticket_thread(*, ticket: Ticket) -> list[TicketMessage]:
    return list(ticket.messages.select_related("author"))


def unread_for_customer(*, user: User) -> int:
    """Tickets with something from the shop the customer has not read (the header's count)."""
    return Ticket.objects.filter(user=user, unread_by_customer=True).count()


def unread_for_staff() -> int:
    """Tickets with a customer's message no staff member has read (the staff header's count)."""
    return Ticket.objects.filter(unread_by_staff=True).exclude(state=TicketState.CLOSED).count()


@dataclass(frozen=True)
class UnreadCounts:
    customer: int
    staff: int


def unread_counts(*, user: User) -> UnreadCounts:
    """Both header counts in one query (for staff; a customer's is one narrow COUNT)."""
    if not user.is_staff:
        return UnreadCounts(customer=unread_for_customer(user=user), staff=0)
    mine = Q(user=user, unread_by_customer=True)
    theirs = Q(unread_by_staff=True) & ~Q(state=TicketState.CLOSED)
    row = Ticket.objects.filter(mine | theirs).aggregate(
        customer=Count("id", filter=mine), staff=Count("id", filter=theirs)
    )
    return UnreadCounts(customer=row["customer"] or 0, staff=row["staff"] or 0)


# Staff filter by assignee with these words besides a staff member's id.
ASSIGNEE_ME, ASSIGNEE_NOBODY = "me", "none"


def tickets_for_staff(
    *, viewer: User, state: str = "", kind: str = "", assignee: str = ""
) -> QuerySet[Ticket]:
    """The staff queue. `state` "" means every ticket not closed; "all" means every ticket."""
    tickets = Ticket.objects.select_related("user", "order", "assignee")
    if state == "all":
        pass
    elif state in TicketState.values:
        tickets = tickets.filter(state=state)
    else:
        tickets = tickets.exclude(state=TicketState.CLOSED)
    if kind:
        tickets = tickets.filter(kind=kind)
    if assignee == ASSIGNEE_ME:
        tickets = tickets.filter(assignee=viewer)
    elif assignee == ASSIGNEE_NOBODY:
        tickets = tickets.filter(assignee__isnull=True)
    elif (assignee_id := parse_int(assignee)) is not None:
        tickets = tickets.filter(assignee_id=assignee_id)
    return tickets


def ticket_for_staff(*, ticket_id: int) -> Ticket | None:
    return Ticket.objects.select_related("user", "order", "assignee").filter(pk=ticket_id).first()


@dataclass(frozen=True)
class StaffTicketCounts:
    waiting: int  # open: a customer waits for the shop
    unassigned: int  # not closed, nobody's
    unread: int

    @property
    def total(self) -> int:
        return self.waiting


def staff_ticket_counts() -> StaffTicketCounts:
    """The staff dashboard's tile: one aggregate query."""
    row = Ticket.objects.exclude(state=TicketState.CLOSED).aggregate(
        waiting=Count("id", filter=Q(state=TicketState.OPEN)),
        unassigned=Count("id", filter=Q(assignee__isnull=True)),
        unread=Count("id", filter=Q(unread_by_staff=True)),
    )
    return StaffTicketCounts(
        waiting=row["waiting"] or 0, unassigned=row["unassigned"] or 0, unread=row["unread"] or 0
    )
