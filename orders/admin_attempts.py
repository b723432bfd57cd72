"""The order page shows where an order was sent and every `add` (issue 17)."""

from __future__ import annotations

from django.contrib import admin

from panel.admin_mixins import ReadOnlyMixin

from .models import ForwardAttempt, Order


class ForwardAttemptInline(ReadOnlyMixin, admin.TabularInline[ForwardAttempt, Order]):
    model = ForwardAttempt
    extra = 0
    can_delete = False
    fields = ("at", "provider", "service", "outcome", "answer", "latency_ms")
    readonly_fields = fields
    ordering = ("at", "id")
