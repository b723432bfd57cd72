"""What the apps' admin pages share: which rows a person may add, change or delete there.

Rows that change only through services (the ledger, order history, price history) are shown,
never edited by a form; rows that other rows point to are never deleted.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ReadOnlyMixin:
    """Shown, never added or changed through a form."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoDeleteMixin(ReadOnlyMixin):
    """...nor deleted: history, and what explains it."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoAddNoDeleteMixin:
    """Edited here, but born elsewhere (a sync, order_place) and never deleted: other rows point
    to it."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
