"""Unread support tickets in the header: one COUNT query per page, for customers and staff."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def unread(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .selectors import unread_counts

    # Lazy: a page that never renders the header (a JSON fragment, a QR image) costs no query.
    counts = SimpleLazyObject(lambda: unread_counts(user=user))
    context: dict[str, Any] = {"support_unread": lambda: counts.customer}
    if user.is_staff:
        context["support_staff_unread"] = lambda: counts.staff
    return context
