"""Response headers every page of a signed-in customer or staff member needs."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control


class PrivatePagesMiddleware:
    """A page rendered for a signed-in user (balance, orders, transactions, top-up codes) is
    `Cache-Control: private, no-store`: no shared cache (a proxy, a CDN) may keep it and show it
    to the next visitor, and the browser does not keep it on disk after logout. A response that
    chose its own Cache-Control (the QR image, whitenoise's static files) keeps it.

    After AuthenticationMiddleware (it reads request.user)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response
