"""Unread support tickets in the header: one COUNT for a customer, one more for staff."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def unread(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .selectors import unread_for_customer, unread_for_staff

    # Lazy: a page that never renders the header (a JSON fragment, a QR image) costs no query.
    context: dict[str, Any] = {"support_unread": lambda: unread_for_customer(user=user)}
    if user.is_staff:
        context["support_staff_unread"] = unread_for_staff
    return context
