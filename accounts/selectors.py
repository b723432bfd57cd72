"""Reads of a customer's profile for other apps: which e-mails they want, in which language."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .models import Profile


def notice_wanted(*, user_id: int, flag: str) -> bool:
    """Whether the customer wants the e-mail `flag` names (a `Profile.notify_*` field); the
    field's default for a customer without a profile (accounts made before profiles)."""
    profile = Profile.objects.filter(user_id=user_id).first()
    if profile is None:
        field = Profile._meta.get_field(flag)
        assert isinstance(field, models.Field)  # one of Profile's notify_* booleans
        return bool(field.default)
    return bool(getattr(profile, flag))


def customer_language(*, user_id: int) -> str:
    """The language the customer chose for the site and their e-mails (the shop's default)."""
    language = Profile.objects.filter(user_id=user_id).values_list("language", flat=True).first()
    return language or settings.LANGUAGE_CODE
