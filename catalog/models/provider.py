"""Providers (upstream accounts speaking API v2) and the readings of their balance."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from panel.db import Digits
from panel.money import format_amount

# Shop-currency units per one unit of a provider's currency (1 for VND, about 25,000 for USD).
EXCHANGE: Digits = {"max_digits": 18, "decimal_places": 6}
DEFAULT_PROVIDER_CACHE_KEY = "catalog:default-provider-pk"


class Provider(models.Model):
    """One upstream account speaking API v2: where the catalog comes from and orders go to.

    It lives in the catalog app, not an app of its own, because everything that changes a
    provider in a way that matters (a new exchange rate reprices its services, a sync mirrors
    its catalog, a backup links services of two providers) is a catalog write; a separate app
    would have to call back into the catalog, against the direction of the arrows.

    The provider with `from_env` is the one `SIEULIKE_*` names: created on first use, its URL,
    key and timeout always taken from the settings, so existing setups keep working unchanged.
    """

    class WhenPaused(models.TextChoices):
        FAILOVER = "failover", _("Send its orders to a backup")
        WAIT = "wait", _("Keep its orders waiting")

    name = models.SlugField(_("name"), max_length=50, unique=True)
    api_url = models.URLField(_("API v2 URL"), max_length=500)
    # Never shown in full (the admin shows the last four characters) and never logged.
    api_key = models.CharField(_("API key"), max_length=255)
    currency = models.CharField(_("currency"), max_length=3, default="VND")
    rate = models.DecimalField(
        _("exchange rate"),
        default=Decimal("1"),
        help_text=_("Shop currency per one unit of the provider's currency."),
        validators=[MinValueValidator(Decimal("0.000001"))],
        **EXCHANGE,
    )
    rate_as_of = models.DateTimeField(_("rate as of"), null=True, blank=True)
    timeout = models.DecimalField(
        _("timeout (seconds)"), max_digits=6, decimal_places=2, default=Decimal("30")
    )
    enabled = models.BooleanField(
        _("enabled"), default=True, help_text=_("Off: not synced and never sent orders.")
    )
    paused = models.BooleanField(
        _("paused"), default=False, help_text=_("Paused: no new order is sent to it.")
    )
    when_paused = models.CharField(
        _("while paused"), max_length=10, choices=WhenPaused, default=WhenPaused.FAILOVER
    )
    from_env = models.BooleanField(_("configured by SIEULIKE_*"), default=False, editable=False)
    balance = models.DecimalField(
        _("balance"), max_digits=18, decimal_places=2, null=True, blank=True, editable=False
    )
    balance_at = models.DateTimeField(_("balance read at"), null=True, blank=True, editable=False)
    last_out_of_funds_at = models.DateTimeField(
        _("last out of funds"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("provider")
        verbose_name_plural = _("providers")
        ordering = ["-from_env", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gt=0), name="provider_rate_gt_0"),
            models.UniqueConstraint(
                fields=["from_env"], condition=Q(from_env=True), name="provider_one_from_env"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never the key
        return f"<Provider {self.name}>"

    @property
    def masked_key(self) -> str:
        return f"…{self.api_key[-4:]}" if len(self.api_key) > 8 else "…"

    @property
    def usable(self) -> bool:
        """May orders be sent to it now?"""
        return self.enabled and not self.paused

    @classmethod
    def default(cls) -> Provider:
        """The provider `SIEULIKE_*` names, created (or brought up to date) from the settings."""
        values = {
            "api_url": settings.SIEULIKE_API_URL,
            "api_key": settings.SIEULIKE_API_KEY,
            "timeout": Decimal(str(settings.SIEULIKE_TIMEOUT)).quantize(Decimal("0.01")),
        }
        provider = cls.objects.filter(from_env=True).first()
        if provider is None:
            provider, _created = cls.objects.get_or_create(
                from_env=True, defaults={"name": settings.SIEULIKE_PROVIDER_NAME, **values}
            )
        elif any(getattr(provider, name) != value for name, value in values.items()):
            cls.objects.filter(pk=provider.pk).update(**values)
            for name, value in values.items():
                setattr(provider, name, value)
        return provider


def default_provider_pk() -> int:
    """The default of every provider foreign key: rows written without one (existing code,
    tests, data from before providers) belong to the `SIEULIKE_*` provider. The pk is kept in
    the cache: a Service or Order built without a provider must not cost a query each."""
    pk = cache.get(DEFAULT_PROVIDER_CACHE_KEY)
    if pk is None or not Provider.objects.filter(pk=pk).exists():
        # Only the pk is read (migrations call this too, when the model may have grown columns
        # the table does not have yet); the row itself is made by the data migration.
        pk = Provider.objects.filter(from_env=True).values_list("pk", flat=True).first()
        if pk is None:
            pk = Provider.default().pk
        cache.set(DEFAULT_PROVIDER_CACHE_KEY, pk, 3600)
    return int(pk)


class UpstreamBalance(models.Model):
    """One reading of the upstream account's balance (or the reason it could not be read).

    Read on its own beat schedule and after an "Insufficient balance", not only by the catalog
    sync, so that the staff dashboard shows a fresh number with the time it was read.
    """

    checked_at = models.DateTimeField(_("checked"), auto_now_add=True, db_index=True)
    balance = models.DecimalField(
        _("upstream balance"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=10, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("upstream balance")
        verbose_name_plural = _("upstream balances")
        ordering = ["-checked_at", "-id"]

    def __str__(self) -> str:
        shown = format_amount(self.balance, self.currency) if self.balance is not None else "–"
        return f"{shown} at {self.checked_at:%Y-%m-%d %H:%M}"
