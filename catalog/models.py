"""Services mirrored from the upstream, the markup rules that price them, and their history."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from panel.db import Digits
from panel.money import format_amount, format_rate

from .fields import ProviderForeignKey

RATE: Digits = {"max_digits": 14, "decimal_places": 4}
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


class PricingSettings(models.Model):
    """The shop-wide pricing policy: one row (pk=1), edited in Django admin."""

    class NewServicePolicy(models.TextChoices):
        LIST = "list", _("List new services for sale at the default markup")
        HOLD = "hold", _("Hold new services for review")

    class BelowCostPolicy(models.TextChoices):
        RAISE = "raise", _("Raise the price to cost plus the minimum margin")
        PAUSE = "pause", _("Pause the service")

    default_markup_percent = models.DecimalField(
        _("default markup %"),
        max_digits=7,
        decimal_places=2,
        default=Decimal("30"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    min_margin_percent = models.DecimalField(
        _("minimum margin %"),
        max_digits=7,
        decimal_places=2,
        default=Decimal("5"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    rounding_step = models.DecimalField(
        _("rounding step per 1000"),
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Round sell prices up to a multiple of this (0: no rounding)."),
        **RATE,
    )
    new_service_policy = models.CharField(
        _("new services"), max_length=10, choices=NewServicePolicy, default=NewServicePolicy.LIST
    )
    below_cost_policy = models.CharField(
        _("when cost exceeds a fixed price"),
        max_length=10,
        choices=BelowCostPolicy,
        default=BelowCostPolicy.RAISE,
    )
    upstream_balance_warning = models.DecimalField(
        _("warn when the upstream balance is below"),
        max_digits=16,
        decimal_places=2,
        default=Decimal("500000"),
    )

    class Meta:
        verbose_name = _("pricing settings")
        verbose_name_plural = _("pricing settings")

    def __str__(self) -> str:
        return str(_("Pricing settings"))

    @classmethod
    def load(cls) -> PricingSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class CategoryMarkup(models.Model):
    """A markup percentage for every service of one upstream category."""

    category = models.CharField(_("category"), max_length=255, unique=True)
    markup_percent = models.DecimalField(
        _("markup %"), max_digits=7, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        verbose_name = _("category markup")
        verbose_name_plural = _("category markups")
        ordering = ["category"]

    def __str__(self) -> str:
        return f"{self.category}: {self.markup_percent}%"


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


class CustomerPricing(models.Model):
    """One customer's own prices: a discount on every service, fixed rates on chosen ones.

    The price itself is computed by `catalog.pricing.customer_price` and read through
    `catalog.selectors.with_customer_prices`, by every page, the API and `order_place` alike:
    the price shown is the price charged. `updated_at` is part of the API's cache key for this
    customer's `services` answer, so any change of the rule (or of its rates, which touch it)
    makes a new answer.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="customer_pricing",
        verbose_name=_("customer"),
    )
    discount_percent = models.DecimalField(
        _("discount %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("99.99"))],
        help_text=_("Off the shop's price of every service (0: none)."),
    )
    allow_below_floor = models.BooleanField(
        _("may be sold below cost + minimum margin"),
        default=False,
        help_text=_(
            "Off (the default): a discount or fixed rate below cost plus the shop's minimum "
            "margin is lifted to it."
        ),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer price")
        verbose_name_plural = _("customer prices")
        ordering = ["user__username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lt=100),
                name="customerpricing_discount_0_to_100",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: -{self.discount_percent}%"


class CustomerRate(models.Model):
    """A fixed rate per 1000 for one customer on one service (wins over their discount)."""

    pricing = models.ForeignKey(CustomerPricing, on_delete=models.CASCADE, related_name="rates")
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="+", verbose_name=_("service")
    )
    rate = models.DecimalField(
        _("fixed price per 1000"), validators=[MinValueValidator(Decimal("0.0001"))], **RATE
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("fixed rate for the customer")
        verbose_name_plural = _("fixed rates for the customer")
        constraints = [
            models.UniqueConstraint(
                fields=["pricing", "service"], name="customerrate_one_per_service"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="customerrate_rate_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id}: {format_rate(self.rate)}"


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
        from django.core.exceptions import ValidationError

        from .backups import backup_problems

        if self.service_id and self.backup_id:
            problems = backup_problems(service=self.service, backup=self.backup)
            if problems:
                raise ValidationError(problems)
