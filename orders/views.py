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
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from billing.services import order_refunded_amount
from catalog.selectors import services_for_sale, with_customer_prices
from panel.http import AuthedRequest

from . import rules, selectors
from .errors import OrderRejected
from .forms import MassOrderForm, OrderForm
from .models import CancelRequest, OrderKind
from .services import cancel_request, order_place, orders_place_mass, refill_request
from .templatetags.orders_tags import status_label

PAGE_SIZE = 25
FRAGMENT_MAX_IDS = 100


@login_required
def order_new(request: AuthedRequest) -> HttpResponse:
    # At the customer's own prices: the same selector order_place charges through.
    services = with_customer_prices(user=request.user, services=services_for_sale())
    form = OrderForm(
        request.POST or None, initial={"service": rules.as_int(request.GET.get("service", ""))}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        dripfeed = bool(data["dripfeed"])
        try:
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
            )
        except OrderRejected as exc:
            form.add_rejection(exc)
        else:
            messages.success(
                request,
                _("Order #%(id)s is placed. It is being sent to the provider.") % {"id": order.pk},
            )
            return redirect("orders:detail", order_id=order.pk)
    selected = rules.as_int(form["service"].value())
    return render(
        request,
        "orders/new.html",
        {
            "form": form,
            "services": services,
            "selected": next((s for s in services if s.pk == selected), None),
            "kinds": OrderKind,
        },
    )


@login_required
def order_mass(request: AuthedRequest) -> HttpResponse:
    form = MassOrderForm(request.POST or None)
    results = None
    if request.method == "POST" and form.is_valid():
        results = orders_place_mass(user=request.user, text=form.cleaned_data["orders"])
        placed = sum(1 for result in results if result.order)
        if placed:
            messages.success(
                request,
                ngettext("%(count)s order placed.", "%(count)s orders placed.", placed)
                % {"count": placed},
            )
    return render(request, "orders/mass.html", {"form": form, "results": results})


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
    ids = [rules.as_int(raw) for raw in request.GET.get("ids", "").split(",")[:FRAGMENT_MAX_IDS]]
    wanted = [pk for pk in ids if pk is not None and pk > 0]
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
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("orders:detail", kwargs={"order_id": order_id})
    return redirect(target)


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
