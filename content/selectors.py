"""Reads of the shop's pages and announcements."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Announcement, ContactDetails, FaqEntry, Page

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def page_for(*, kind: str) -> Page | None:
    return Page.objects.filter(kind=kind).first()


def faq_entries() -> QuerySet[FaqEntry]:
    return FaqEntry.objects.filter(published=True)


def contact_details() -> ContactDetails | None:
    return ContactDetails.objects.filter(pk=1).first()


def announcements_showing(*, now: datetime | None = None) -> QuerySet[Announcement]:
    now = now or timezone.now()
    return Announcement.objects.filter(published=True, starts_at__lte=now).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    )


def announcements_for_user(
    *, user: User, now: datetime | None = None, limit: int = 5
) -> list[Announcement]:
    """What the customer's dashboard shows: current announcements they have not dismissed,
    newest first. One query."""
    return list(announcements_showing(now=now).exclude(dismissals__user=user)[:limit])
