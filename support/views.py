"""Support pages: the customer's tickets (only their own: anything else is a 404) and the staff
queue (guarded like the admin: staff, verified by the second factor, with the permissions).

Thin: parse, load through the selectors, call one service, render or redirect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orders.selectors import order_for_user
from panel.http import AuthedRequest

from . import selectors, services
from .forms import AssignForm, ReplyForm, StaffFilterForm, TicketForm
from .models import TicketKind

PAGE_SIZE = 25


def _owned(request: AuthedRequest, ticket_id: int) -> Any:
    ticket = selectors.ticket_for_user(user=request.user, ticket_id=ticket_id)
    if ticket is None:
        raise Http404
    return ticket


def _form_error(form: Any, exc: services.SupportError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def _reply(request: AuthedRequest, ticket: Any, form: ReplyForm, *, by_staff: bool) -> bool:
    """Post a valid reply form to the ticket's thread; False (with the error on the form) when
    the form or the service refuses it. Shared by the customer's and the staff's reply."""
    if not form.is_valid():
        return False
    try:
        services.ticket_reply(
            ticket_id=ticket.pk,
            author=request.user,
            body=form.cleaned_data["body"],
            by_staff=by_staff,
        )
    except services.SupportError as exc:
        _form_error(form, exc)
        return False
    return True


# ============================================================================ customers


@login_required
def ticket_list(request: AuthedRequest) -> HttpResponse:
    page = Paginator(selectors.tickets_for_user(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "support/list.html", {"page": page})


@login_required
def ticket_new(request: AuthedRequest) -> HttpResponse:
    """A new ticket; from an order's page (?order=ID) it is about that order."""
    order = order_for_user(user=request.user, order_id=request.GET.get("order", ""))
    initial: dict[str, Any] = {}
    if order is not None:
        initial = {
            "order": order.pk,
            "kind": TicketKind.REFILL if order.state == "completed" else TicketKind.SPEED_UP,
            "subject": _("Order #%(id)s") % {"id": order.pk},
        }
    form = TicketForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_open(
                user=request.user,
                subject=data["subject"],
                body=data["body"],
                kind=data["kind"],
                order_id=data["order"],
            )
        except services.TooManyTickets as exc:
            _form_error(form, exc)
            status = 429
        except services.SupportError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request, _("Ticket #%(id)s is open. We will answer here.") % {"id": ticket.pk}
            )
            return redirect("support:detail", ticket_id=ticket.pk)
    if order is None and form.is_bound:
        order = order_for_user(user=request.user, order_id=form.data.get("order", ""))
    return render(request, "support/new.html", {"form": form, "order": order}, status=status)


@login_required
def ticket_detail(request: AuthedRequest, ticket_id: int) -> HttpResponse:
    ticket = _owned(request, ticket_id)
    services.ticket_mark_read(ticket=ticket, by_staff=False)
    return render(
        request,
        "support/detail.html",
        {
            "ticket": ticket,
            "thread": selectors.ticket_thread(ticket=ticket),
            "form": ReplyForm(),
        },
    )


@login_required
@require_POST
def ticket_reply_view(request: AuthedRequest, ticket_id: int) -> HttpResponse:
    ticket = _owned(request, ticket_id)
    form = ReplyForm(request.POST)
    if _reply(request, ticket, form, by_staff=False):
        messages.success(request, _("Your message is sent."))
        return redirect("support:detail", ticket_id=ticket.pk)
    return render(
        request,
        "support/detail.html",
        {"ticket": ticket, "thread": selectors.ticket_thread(ticket=ticket), "form": form},
        status=400,
    )


@login_required
@require_POST
def ticket_close_view(request: AuthedRequest, ticket_id: int) -> HttpResponse:
    ticket = _owned(request, ticket_id)
    if services.ticket_close(ticket_id=ticket.pk, actor=request.user, by_staff=False):
        messages.success(request, _("Ticket #%(id)s is closed.") % {"id": ticket.pk})
    return redirect("support:detail", ticket_id=ticket.pk)


# ============================================================================ staff


def _staff(permission: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Staff exactly as the admin admits them (active staff, second factor when required), and
    then only with `permission`."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        def guarded(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        guarded.__name__ = view.__name__
        guarded.__doc__ = view.__doc__
        return admin.site.admin_view(guarded)

    return decorate


def _staff_ticket(ticket_id: int) -> Any:
    ticket = selectors.ticket_for_staff(ticket_id=ticket_id)
    if ticket is None:
        raise Http404
    return ticket


def _staff_page(request: AuthedRequest, ticket: Any, **forms: Any) -> HttpResponse:
    context = {
        "ticket": ticket,
        "thread": selectors.ticket_thread(ticket=ticket),
        "form": forms.get("form") or ReplyForm(),
        "assign_form": forms.get("assign_form")
        or AssignForm(initial={"assignee": ticket.assignee_id}),
        "can_change": request.user.has_perm("support.change_ticket"),
    }
    return render(request, "support/staff_detail.html", context, status=400 if forms else 200)


@_staff("support.view_ticket")
def staff_ticket_list(request: AuthedRequest) -> HttpResponse:
    filters = StaffFilterForm(request.GET or None)
    values = filters.cleaned_data if filters.is_valid() else {}
    tickets = selectors.tickets_for_staff(
        viewer=request.user,
        state=values.get("state", ""),
        kind=values.get("kind", ""),
        assignee=values.get("assignee", ""),
    )
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "support/staff_list.html",
        {"filters": filters, "page": page, "query": query.urlencode()},
    )


@_staff("support.view_ticket")
def staff_ticket_detail(request: AuthedRequest, ticket_id: int) -> HttpResponse:
    ticket = _staff_ticket(ticket_id)
    services.ticket_mark_read(ticket=ticket, by_staff=True)
    return _staff_page(request, ticket)


@require_POST
@_staff("support.change_ticket")
def staff_ticket_reply(request: AuthedRequest, ticket_id: int) -> HttpResponse:
    ticket = _staff_ticket(ticket_id)
    form = ReplyForm(request.POST)
    if _reply(request, ticket, form, by_staff=True):
        messages.success(request, _("Your reply is sent."))
        return redirect("support:staff_detail", ticket_id=ticket.pk)
    return _staff_page(request, ticket, form=form)


@require_POST
@_staff("support.change_ticket")
def staff_ticket_assign(request: AuthedRequest, ticket_id: int) -> HttpResponse:
    ticket = _staff_ticket(ticket_id)
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_assign(
                ticket_id=ticket.pk, assignee=form.cleaned_data["assignee"], actor=request.user
            )
        except services.SupportError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("The ticket's assignee is saved."))
            return redirect("support:staff_detail", ticket_id=ticket.pk)
    return _staff_page(request, ticket, assign_form=form)


@require_POST
@_staff("support.change_ticket")
def staff_ticket_close(request: AuthedRequest, ticket_id: int) -> HttpResponse:
    ticket = _staff_ticket(ticket_id)
    if services.ticket_close(ticket_id=ticket.pk, actor=request.user, by_staff=True):
        messages.success(request, _("Ticket #%(id)s is closed.") % {"id": ticket.pk})
    return redirect("support:staff_detail", ticket_id=ticket.pk)


@require_POST
@_staff("support.change_ticket")
def staff_ticket_order_action(request: AuthedRequest, ticket_id: int) -> HttpResponse:
    ticket = _staff_ticket(ticket_id)
    try:
        result = services.ticket_order_action(ticket_id=ticket.pk, actor=request.user)
    except services.SupportError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, result.done)
    return redirect("support:staff_detail", ticket_id=ticket.pk)
