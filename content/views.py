"""The shop's public pages (FAQ, terms, refund policy, contact) and dismissing an announcement."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from panel.http import AuthedRequest
from panel.redirects import redirect_to_next

from .models import Page
from .selectors import contact_details, faq_entries, page_for
from .services import AnnouncementNotFound, announcement_dismiss


def _page(request: HttpRequest, kind: str, template: str, **extra: object) -> HttpResponse:
    page = page_for(kind=kind)
    return render(
        request,
        template,
        {
            "page": page,
            "kind": kind,
            "title": page.title if page else Page.Kind(kind).label,
            **extra,
        },
    )


@require_GET
def faq(request: HttpRequest) -> HttpResponse:
    return _page(request, Page.Kind.FAQ, "content/faq.html", entries=list(faq_entries()))


@require_GET
def terms(request: HttpRequest) -> HttpResponse:
    return _page(request, Page.Kind.TERMS, "content/page.html")


@require_GET
def refund_policy(request: HttpRequest) -> HttpResponse:
    return _page(request, Page.Kind.REFUND, "content/page.html")


@require_GET
def contact(request: HttpRequest) -> HttpResponse:
    return _page(request, Page.Kind.CONTACT, "content/contact.html", contact=contact_details())


@login_required
@require_POST
def announcement_dismiss_view(request: AuthedRequest, announcement_id: int) -> HttpResponse:
    try:
        announcement_dismiss(user=request.user, announcement_id=announcement_id)
    except AnnouncementNotFound:
        raise Http404 from None
    return redirect_to_next(request, fallback="dashboard")
