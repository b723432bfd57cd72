"""The customer's order pages. Thin: parse, load through the ownership selectors, call one service.

A customer only ever reaches their own orders: every lookup goes through `orders.selectors`
filtered by `request.user`, and anything else is a 404, indistinguishable from a missing order.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from billing.selectors import order_refunded_amount
from catalog.models import Service
from catalog.selectors import SEARCH_MAX, service_for_sale
from panel.http import AuthedRequest
from panel.numbers import parse_id, parse_int
from panel.redirects import redirect_to_next

from . import picker, rules, selectors
from .customer_requests import cancel_request, refill_request
from .errors import OrderRejected
from .forms import MassOrderForm, OrderForm
from .guards import open_order_on_link
from .mass import orders_preview_mass, parse_rates
from .models import CancelRequest, OrderKind
from .placing import order_place, orders_place_mass
from .templatetags.orders_tags import status_label

PAGE_SIZE = 25
FRAGMENT_MAX_IDS = 100


def _picked(request: AuthedRequest, form: OrderForm) -> tuple[Service | None, str, str]:
    """The picker's state from the URL (and the posted form): service, category, search."""
    service_id = parse_int(form["service"].value())
    selected = service_for_sale(service_id=service_id) if service_id else None
    query = request.GET.get("q", "")[:SEARCH_MAX]
    category = request.GET.get("category", "")[:255]
    if selected is not None and not query:
        category = category if category == picker.FAVOURITES else selected.category
    return selected, category, query


@login_required
def order_new(request: AuthedRequest) -> HttpResponse:
    """The new-order page: category -> service picker, the service card, the form.

    The picker's state (`category`, `q`, `service`) lives in the URL, so a link from the services
    page (`?service=ID`) opens the form with that service chosen, and a reload keeps the choice.
    """
    form = OrderForm(
        request.POST or None, initial={"service": parse_int(request.GET.get("service", ""))}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        dripfeed = bool(data["dripfeed"])
        shown = parse_rates(data["shown_rates"])
        try:
            if data["shown_rates"] and data["service"] not in shown:
                raise OrderRejected("price_unseen")
            order = order_place(
                user=request.user,
                service_id=data["service"],
                link=data["link"],
                quantity=data["quantity"],
                comments=data["comments"],
                username=data["username"],
                runs=data["runs"] if dripfeed else None,
                interval=data["interval"] if dripfeed else None,
                # Namespaced so a browser's key can never collide with a reseller's API key.
                idempotency_key=f"web:{data['request_key']}" if data["request_key"] else None,
                # The price guard: never above the price this page showed for the service.
                max_rate=shown.get(data["service"]),
                confirm_same_link=bool(data["confirm_same_link"]),
            )
        except OrderRejected as exc:
            form.add_rejection(exc)
        else:
            messages.success(
                request,
                _("Order #%(id)s is placed. It is being sent to the provider.") % {"id": order.pk},
            )
            return redirect("orders:detail", order_id=order.pk)
    selected, category, query = _picked(request, form)
    favourites = picker.favourite_ids(user=request.user)
    if not category and not query and favourites:
        category = picker.FAVOURITES
    listing = picker.picker_services(
        user=request.user, category=category, query=query, include=selected
    )
    # The page carries the rates of this rendering (listing.rates_text, a hidden input): a
    # refused order comes back with the new price on the card and in the guard, so placing it
    # again is a deliberate second step.
    rejection = getattr(form, "rejection", None)
    return render(
        request,
        "orders/new.html",
        {
            "form": form,
            "platforms": picker.picker_categories(),
            "has_favourites": bool(favourites),
            "category": category,
            "query": query,
            "listing": listing,
            "selected": selected,
            "card": picker.service_card(user=request.user, service=selected) if selected else None,
            "same_link": rejection.display
            if rejection is not None and rejection.code == "same_link"
            else "",
            "missing": rejection.params.get("missing_amount")
            if rejection is not None and rejection.code == "funds"
            else None,
            "kinds": OrderKind,
        },
    )


@login_required
@require_GET
def picker_services_json(request: AuthedRequest) -> JsonResponse:
    """One list of the picker, for static/js/orders.js: ?category=, ?q= or ?category=*."""
    listing = picker.picker_services(
        user=request.user,
        category=request.GET.get("category", "")[:255],
        query=request.GET.get("q", "")[:SEARCH_MAX],
    )
    return JsonResponse(listing.as_json())


@login_required
@require_GET
def service_card_fragment(request: AuthedRequest) -> HttpResponse:
    """The service card as HTML, for the page's script when the customer picks another service."""
    service_id = parse_int(request.GET.get("service", ""))
    service = service_for_sale(service_id=service_id) if service_id else None
    if service is None:
        raise Http404
    return render(
        request,
        "orders/_service_card.html",
        {"card": picker.service_card(user=request.user, service=service)},
    )


@login_required
@require_GET
def same_link_json(request: AuthedRequest) -> JsonResponse:
    """Is an order of the customer's for this service and link still open? For the live warning."""
    service_id = parse_int(request.GET.get("service", ""))
    link = request.GET.get("link", "")[: rules.LINK_MAX_LENGTH]
    existing = (
        open_order_on_link(user=request.user, service_id=service_id, link=link)
        if service_id and link.strip()
        else None
    )
    return JsonResponse({"order": existing.pk if existing else None})


@login_required
def order_mass(request: AuthedRequest) -> HttpResponse:
    form = MassOrderForm(request.POST or None)
    results = preview = None
    if request.method == "POST" and form.is_valid() and "confirm" not in request.POST:
        # First step: every line priced, nothing placed; the customer confirms what they buy.
        preview = orders_preview_mass(user=request.user, text=form.cleaned_data["orders"])
        form = MassOrderForm(
            initial={"orders": form.cleaned_data["orders"], "rates": preview.rates_text}
        )
    elif request.method == "POST" and form.is_valid():
        results = orders_place_mass(
            user=request.user,
            text=form.cleaned_data["orders"],
            max_rates=parse_rates(form.cleaned_data["rates"]),
        )
        placed = sum(1 for result in results if result.order)
        if placed:
            messages.success(
                request,
                ngettext("%(count)s order placed.", "%(count)s orders placed.", placed)
                % {"count": placed},
            )
    return render(
        request, "orders/mass.html", {"form": form, "results": results, "preview": preview}
    )


@login_required
def order_list(request: AuthedRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    search = request.GET.get("q", "")[:200]
    page = Paginator(
        selectors.orders_list(user=request.user, status=status, search=search), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/list.html",
        {
            "page": page,
            "rows": [selectors.order_row(order) for order in page.object_list],
            "status": status,
            "search": search,
            "statuses": rules.PUBLIC_STATUSES,
        },
    )


@login_required
@require_GET
def order_status_fragment(request: AuthedRequest) -> JsonResponse:
    """Progress of the orders on the page, polled by static/js/orders.js: ?ids=1,2,3."""
    ids = [parse_id(raw) for raw in request.GET.get("ids", "").split(",")[:FRAGMENT_MAX_IDS]]
    wanted = [pk for pk in ids if pk is not None]
    rows = [
        selectors.order_row(order)
        for order in selectors.orders_list(user=request.user).filter(pk__in=wanted)
    ]
    return JsonResponse(
        {
            "orders": {
                str(row.order.pk): {
                    "status": row.status,
                    "label": status_label(row.status),
                    "delivered": row.delivered,
                    "quantity": row.order.total_quantity,
                    "remains": row.order.remains,
                    "start_count": row.order.start_count,
                    # VIP packages: posts or days, not units (their "delivered" is meaningless).
                    "package": row.package.as_json() if row.package else None,
                    "final": row.final,
                    "can_refill": row.can_refill,
                    "can_cancel": row.can_cancel,
                }
                for row in rows
            }
        }
    )


@login_required
def order_detail(request: AuthedRequest, order_id: int) -> HttpResponse:
    row = selectors.order_detail(user=request.user, order_id=order_id)
    if row is None:
        raise Http404
    order = row.order
    return render(
        request,
        "orders/detail.html",
        {
            "row": row,
            "order": order,
            "events": list(order.events.all()),
            "refills": list(order.refills.all()),
            "cancel": CancelRequest.objects.filter(order=order).first(),
            "refunded": order_refunded_amount(order_id=order.pk),
        },
    )


@login_required
def refill_list(request: AuthedRequest) -> HttpResponse:
    page = Paginator(selectors.refills_for_user(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "orders/refills.html",
        {
            "page": page,
            "rows": [
                (refill, selectors.public_refill_status(refill)) for refill in page.object_list
            ],
        },
    )


def _back(request: HttpRequest, order_id: int) -> HttpResponse:
    return redirect_to_next(
        request, fallback=reverse("orders:detail", kwargs={"order_id": order_id})
    )


@login_required
@require_POST
def order_refill(request: AuthedRequest, order_id: int) -> HttpResponse:
    if selectors.order_for_user(user=request.user, order_id=order_id) is None:
        raise Http404
    try:
        refill_request(user=request.user, order_id=order_id)
    except OrderRejected as exc:
        messages.error(request, exc.display)
    else:
        messages.success(request, _("Refill asked for order #%(id)s.") % {"id": order_id})
    return _back(request, order_id)


@login_required
@require_POST
def order_cancel(request: AuthedRequest, order_id: int) -> HttpResponse:
    if selectors.order_for_user(user=request.user, order_id=order_id) is None:
        raise Http404
    try:
        request_row = cancel_request(user=request.user, order_id=order_id)
    except OrderRejected as exc:
        messages.error(request, exc.display)
    else:
        if request_row.state == CancelRequest.State.SUBMITTED:
            messages.success(
                request, _("Order #%(id)s was canceled and refunded.") % {"id": order_id}
            )
        else:
            messages.success(
                request,
                # Two whole sentences; the second is shared with the cancel button's question.
                " ".join(
                    (
                        _("Cancellation of order #%(id)s asked.") % {"id": order_id},
                        _("Any refund follows the provider's answer."),
                    )
                ),
            )
    return _back(request, order_id)
