"""Customer pages of the catalog. Public: the shop window is open to visitors (prices per 1000
are public on every panel of this kind, and a visitor who likes them signs up); ordering is
what needs an account. The cost rate never reaches a template."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from panel.http import AuthedRequest
from panel.redirects import redirect_to_next

from .favourites import favourite_toggle
from .forms import CatalogFilterForm
from .models import UpstreamStatus
from .selectors import catalog_page, updates_page


@require_GET
def catalog_list(request: HttpRequest) -> HttpResponse:
    form = CatalogFilterForm(request.GET)
    catalog = catalog_page(
        filters=form.filters(), page=request.GET.get("page", 1), user=request.user
    )
    return render(
        request,
        "catalog/list.html",
        {
            "catalog": catalog,
            "filters": catalog.filters,
            "page_obj": catalog.page,
            "status": UpstreamStatus,
        },
    )


@require_GET
def catalog_updates(request: HttpRequest) -> HttpResponse:
    page_obj, rows = updates_page(page=request.GET.get("page", 1))
    return render(request, "catalog/updates.html", {"page_obj": page_obj, "rows": rows})


@login_required
@require_POST
def favourite_toggle_view(request: AuthedRequest, service_id: int) -> HttpResponse:
    """Star or unstar a service: JSON for the page's script, a redirect back without it."""
    starred = favourite_toggle(user=request.user, service_id=service_id)
    if starred is None:
        raise Http404
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"favourite": starred})
    return redirect_to_next(request, fallback=f"/orders/new/?service={service_id}")
