"""Who a customer is, apart from their money: the API key and the profile (language, notices)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiKey(models.Model):
    """The customer's key for the panel's API v2, stored only as a SHA-256 hash.

    Keys are 32 random bytes, so a fast hash is enough: there is nothing to brute-force.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_key"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("starts with"), max_length=8)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Profile(models.Model):
    """A customer's preferences (language and e-mail notices) and when they accepted the terms."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="vi"
    )
    notify_completed = models.BooleanField(_("e-mail when an order completes"), default=False)
    notify_partial = models.BooleanField(_("e-mail when an order is partial"), default=True)
    notify_canceled = models.BooleanField(_("e-mail when an order is canceled"), default=True)
    notify_refill = models.BooleanField(_("e-mail when a refill finishes"), default=False)
    notify_ticket_reply = models.BooleanField(
        _("e-mail when support replies to a ticket"), default=True
    )
    # When the customer ticked "I accept the terms of service" at sign-up (None: an account made
    # by staff or before the shop had terms).
    terms_accepted_at = models.DateTimeField(_("terms of service accepted"), null=True, blank=True)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return str(self.user)
