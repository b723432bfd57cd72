"""Back to where a form was posted from, safely: one rule for every "next" field."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def redirect_to_next(request: HttpRequest, *, fallback: str) -> HttpResponse:
    """To the form's `next` when it is a URL of this site (never an open redirect elsewhere),
    else to `fallback` (a URL or a URL name)."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = fallback
    return redirect(target)
