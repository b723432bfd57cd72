"""Request types for the type checker: no behaviour of their own."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthedRequest(HttpRequest):
    """A request that `login_required` (or the admin site) let through: its user is a `User`.

    Only an annotation: Django still passes its own `HttpRequest` (django-stubs' recipe).
    """

    user: User
