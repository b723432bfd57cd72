"""Staff view of API keys: seen by their first characters only; the hash is never shown."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    """Read-only; deleting a key revokes it (the customer makes a new one on the account page)."""

    list_display = ["prefix_shown", "user", "created_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "=prefix"]
    fields = readonly_fields = ("user", "prefix_shown", "created_at", "last_used_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("starts with"))
    def prefix_shown(self, key: ApiKey) -> str:
        return f"{key.prefix}…"
