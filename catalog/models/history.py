"""What happened to the catalog: each change of a service, each sync, and the catalog's version."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from panel.money import format_rate

from ..fields import ProviderForeignKey
from .provider import Provider
from .service import Service


class PriceChange(models.Model):
    """One recorded change of a service's cost, price, limits, flags or availability.

    Values are stored as text (a rate as "12.5000", a flag as "true"/"false") so one table holds
    every kind of change; `catalog.selectors` turns them back into words for people.
    """

    class Field(models.TextChoices):
        COST_RATE = "cost_rate", _("cost per 1000")
        SELL_RATE = "sell_rate", _("price per 1000")
        MIN_QUANTITY = "min_quantity", _("min")
        MAX_QUANTITY = "max_quantity", _("max")
        DRIPFEED = "dripfeed", _("drip-feed")
        REFILL = "refill", _("refill")
        DAYS_REFILL = "days_refill", _("refill days")
        CANCEL = "cancel", _("cancel")
        UPSTREAM_STATUS = "upstream_status", _("upstream status")
        TYPE = "type", _("type")
        PRIORITY = "priority", _("priority")
        VANISHED = "vanished", _("missing upstream")
        LISTED = "listed", _("listed for sale")
        FLAGGED = "flagged", _("flagged by pricing")

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    field = models.CharField(_("field"), max_length=50, choices=Field)
    old_value = models.CharField(_("old value"), max_length=500, blank=True)
    new_value = models.CharField(_("new value"), max_length=500, blank=True)
    sync = models.ForeignKey(
        "SyncRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="changes"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )

    class Meta:
        verbose_name = _("price change")
        verbose_name_plural = _("price history")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.service_id} {self.field}: {self.shown(self.old_value)} -> " + self.shown(
            self.new_value
        )

    def shown(self, value: str) -> str:
        """A stored value as the admin shows it: a rate ("18.7500") the way panel.money writes
        every rate ("18,75 ₫"), anything else as stored."""
        if self.field in (self.Field.COST_RATE, self.Field.SELL_RATE) and value:
            try:
                return format_rate(Decimal(value))
            except ArithmeticError:
                return value
        return value


class SyncRun(models.Model):
    """One catalog sync, its result and the upstream balance it read."""

    class Kind(models.TextChoices):
        FULL = "full", _("Full catalog")
        PRIORITY = "priority", _("Priority prices")

    provider = ProviderForeignKey(
        Provider,
        on_delete=models.PROTECT,
        related_name="syncs",
        verbose_name=_("provider"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    ok = models.BooleanField(_("succeeded"), default=False)
    message = models.TextField(_("message"), blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    paused = models.PositiveIntegerField(default=0)
    restored = models.PositiveIntegerField(default=0)
    upstream_balance = models.DecimalField(
        _("upstream balance"), max_digits=16, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("catalog sync")
        verbose_name_plural = _("catalog syncs")
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"
        constraints = [
            # The running sync IS the lock: at most one unfinished run (finished_at NULL) can
            # exist per provider, whatever its kind, across every process, so one provider
            # being slow or down never blocks another's sync. Partial unique indexes work on
            # SQLite and PostgreSQL alike.
            models.UniqueConstraint(
                fields=["provider"],
                condition=Q(finished_at__isnull=True),
                name="syncrun_one_running_per_provider",
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=False) | Q(ok=False),
                name="syncrun_ok_only_when_finished",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} sync {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def running(self) -> bool:
        return self.finished_at is None


class CatalogVersion(models.Model):
    """One row (pk=1) whose number moves, in the same transaction, with every committed change to
    what the catalog sells or charges (a sync, a reprice, a pause, a markup).

    The API caches its encoded `services` answer under this number. It lives in the database, not
    in the cache, so that every process (web workers, Celery workers, other machines) sees a
    change the moment it commits, whatever cache is configured: the cache can only ever hold an
    answer keyed by a version the database vouches for."""

    number = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("catalog version")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="catalogversion_one_row")]

    def __str__(self) -> str:
        return f"catalog version {self.number}"
