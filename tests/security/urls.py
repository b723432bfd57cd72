"""A URLconf for a few security tests: the project's URLs plus a view that fails, and one more
URL taking an id (to prove the access matrix notices a URL it does not cover)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from panel.urls import urlpatterns as project_patterns


def boom(request: HttpRequest, thing_id: int | None = None) -> HttpResponse:
    raise RuntimeError("something broke while handling the request")


urlpatterns = [
    path("boom/", boom, name="boom"),
    path("things/<int:thing_id>/", boom, name="thing"),
    *project_patterns,
]
