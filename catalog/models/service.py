"""The services mirrored from each provider, their backups at other providers, and the
customers' favourites."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from panel.db import Digits

from ..fields import ProviderForeignKey
from .provider import Provider

RATE: Digits = {"max_digits": 14, "decimal_places": 4}


class ServiceType(models.TextChoices):
    """The upstream's `type` values that change how an order is placed."""

    DEFAULT = "Default", _("Default")
    CUSTOM_COMMENTS = "Custom Comments", _("Custom comments")
    COMMENT_LIKES = "Comment Likes", _("Comment likes")
    PACKAGE = "Package", _("VIP package")


class UpstreamStatus(models.TextChoices):
    NORMAL = "normal", _("Normal")
    SLOW = "slow", _("Slow (about +1 day)")
    OVERLOAD = "overload", _("Overloaded (about +2 days)")


class PauseReason(models.TextChoices):
    """Why a service is not listed: decides who may list it again, and whether a sync may."""

    NONE = "", _("Listed")
    ADMIN = "admin", _("Paused by an admin")
    REVIEW = "review", _("New: held for review")
    BELOW_COST = "below_cost", _("Paused: cost above the fixed price")


class Service(models.Model):
    """One upstream service, sold under the panel's own id at the panel's own price.

    Upstream fields are overwritten by every sync; `sell_rate` is derived from `cost_rate` and
    the markup rules by `catalog.pricing.price_for`, never typed in by hand (a fixed price is a
    rule: `fixed_rate`). A service is never deleted: orders point to it.
    """

    provider = ProviderForeignKey(
        Provider,
        on_delete=models.PROTECT,
        related_name="services",
        verbose_name=_("provider"),
    )
    upstream_id = models.PositiveBigIntegerField(_("upstream id"))
    # The provider's own price per 1000, in its currency; `cost_rate` is it converted to the
    # shop's currency at the provider's rate, which is what every pricing rule reads.
    upstream_rate = models.DecimalField(
        _("provider's price per 1000"), null=True, blank=True, **RATE
    )
    name = models.CharField(_("name"), max_length=500)
    type = models.CharField(_("type"), max_length=50, default=ServiceType.DEFAULT)
    category = models.CharField(_("category"), max_length=255, db_index=True)
    platform = models.CharField(_("platform"), max_length=50, db_index=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    cost_rate = models.DecimalField(_("cost per 1000"), **RATE)
    sell_rate = models.DecimalField(_("price per 1000"), **RATE)
    min_quantity = models.PositiveBigIntegerField(_("min"))
    max_quantity = models.PositiveBigIntegerField(_("max"))
    dripfeed = models.BooleanField(_("drip-feed"), default=False)
    refill = models.BooleanField(_("refill"), default=False)
    days_refill = models.PositiveIntegerField(_("refill days"), default=0)
    cancel = models.BooleanField(_("cancel"), default=False)
    avg_time_min = models.PositiveIntegerField(_("average minutes per 1000"), default=0)
    upstream_status = models.CharField(
        _("upstream status"), max_length=20, choices=UpstreamStatus, default=UpstreamStatus.NORMAL
    )
    priority = models.BooleanField(_("priority"), default=False)

    # The shop's decisions.
    listed = models.BooleanField(
        _("listed for sale"),
        default=True,
        help_text=_("Off: paused or held for review by an admin."),
    )
    pause_reason = models.CharField(
        _("why not listed"),
        max_length=20,
        choices=PauseReason,
        default=PauseReason.NONE,
        blank=True,
        help_text=_(
            "A pause for being below cost is lifted by the next sync once the price is safe again."
        ),
    )
    vanished = models.BooleanField(
        _("missing upstream"),
        default=False,
        help_text=_("Absent from the last sync; paused until it returns."),
    )
    flagged = models.BooleanField(
        _("flagged by pricing"),
        default=False,
        help_text=_("The cost rose above the fixed price; see the price history."),
    )
    markup_percent = models.DecimalField(
        _("markup % (this service)"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    fixed_rate = models.DecimalField(_("fixed price per 1000"), null=True, blank=True, **RATE)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_seen_at = models.DateTimeField(_("last seen upstream"), null=True, blank=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["-priority", "category", "sell_rate", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "upstream_id"], name="service_upstream_id_per_provider"
            ),
            models.CheckConstraint(condition=Q(cost_rate__gte=0), name="service_cost_rate_gte_0"),
            models.CheckConstraint(condition=Q(sell_rate__gte=0), name="service_sell_rate_gte_0"),
            models.CheckConstraint(
                condition=Q(max_quantity__gte=models.F("min_quantity")), name="service_max_gte_min"
            ),
        ]
        indexes = [
            models.Index(fields=["listed", "vanished", "priority"], name="service_sellable_idx")
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    @property
    def is_available(self) -> bool:
        """Can a customer order it now?"""
        return self.listed and not self.vanished


class FavouriteService(models.Model):
    """A service a customer starred: the new-order picker lists these first."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourite_services"
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("favourite service")
        verbose_name_plural = _("favourite services")
        constraints = [
            models.UniqueConstraint(fields=["user", "service"], name="favourite_once_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} * {self.service_id}"


class ServiceBackup(models.Model):
    """An equivalent service at another provider, tried in `position` order when the service's
    own provider refuses an order before accepting it (see orders/failover.py)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="backups")
    backup = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="backup_of", verbose_name=_("backup")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("backup service")
        verbose_name_plural = _("backup services")
        ordering = ["service", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["service", "backup"], name="backup_once_per_service"),
            models.CheckConstraint(
                condition=~Q(service=models.F("backup")), name="backup_not_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} -> {self.backup_id}"

    def clean(self) -> None:
        if self.service_id and self.backup_id:
            problems = backup_problems(service=self.service, backup=self.backup)
            if problems:
                raise ValidationError(problems)


def backup_problems(*, service: Service, backup: Service) -> list[str]:
    """Why `backup` cannot stand in for `service`; empty when it can. Pure, no query.

    A backup receives the very order the customer placed for the main service, unchanged (same
    kind, quantity, link, drip-feed runs), so it must accept every order the main service accepts
    and promise at least what the main service promised (a refill, when the main one has it).
    """
    problems: list[str] = []
    if backup.pk is not None and backup.pk == service.pk:
        problems.append("a service cannot be its own backup")
    if backup.provider_id == service.provider_id:
        problems.append("a backup must be at another provider")
    if backup.type != service.type:
        problems.append(f"kind differs: {backup.type} for {service.type}")
    if backup.min_quantity > service.min_quantity or backup.max_quantity < service.max_quantity:
        problems.append(
            f"limits {backup.min_quantity}-{backup.max_quantity} do not cover "
            f"{service.min_quantity}-{service.max_quantity}"
        )
    if service.dripfeed and not backup.dripfeed:
        problems.append("no drip-feed")
    if service.refill and not backup.refill:
        problems.append("no refill")
    return problems
