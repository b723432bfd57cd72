"""The order page shows where an order was sent and every `add` (issue 17); imported by
orders/admin.py."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .admin import OrderAdmin
from .models import ForwardAttempt


class ForwardAttemptInline(admin.TabularInline):
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


OrderAdmin.inlines = [*OrderAdmin.inlines, ForwardAttemptInline]
OrderAdmin.list_display = (*OrderAdmin.list_display, "provider")  # type: ignore[assignment]
OrderAdmin.list_filter = ("provider", *OrderAdmin.list_filter)  # type: ignore[assignment]
OrderAdmin.list_select_related = (*OrderAdmin.list_select_related, "provider")  # type: ignore[assignment]
OrderAdmin.readonly_fields = (*OrderAdmin.readonly_fields, "provider", "placed_service")  # type: ignore[assignment]
