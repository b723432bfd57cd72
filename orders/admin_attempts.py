"""The order page shows where an order was sent and every `add` (issue 17)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ForwardAttempt, Order


class ForwardAttemptInline(admin.TabularInline[ForwardAttempt, Order]):
    model = ForwardAttempt
    extra = 0
    can_delete = False
    fields = ("at", "provider", "service", "outcome", "answer", "latency_ms")
    readonly_fields = fields
    ordering = ("at", "id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
