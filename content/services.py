"""Writes of the content app: a customer dismissing an announcement (pages are edited in admin)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from .models import AnnouncementDismissal
from .selectors import announcements_showing

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class AnnouncementNotFound(Exception):
    """No announcement with that id is showing now."""


def announcement_dismiss(*, user: User, announcement_id: int) -> bool:
    """Hide an announcement from `user` for good (stored, so every device agrees).

    True when this call dismissed it, False when it was already dismissed (twice is harmless:
    a double click, two tabs). Raises AnnouncementNotFound for one that is not showing.
    """
    if not announcements_showing().filter(pk=announcement_id).exists():
        raise AnnouncementNotFound(announcement_id)
    try:
        with transaction.atomic():
            _dismissal, created = AnnouncementDismissal.objects.get_or_create(
                announcement_id=announcement_id, user=user
            )
    except IntegrityError:  # the other tab's click won the unique constraint
        return False
    return created
