"""The pricing rules: the shop-wide policy, category markups and customers' own prices."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from panel.money import format_rate

from ..pricing import Price, price_for
from .service import RATE, Service


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

    def price(
        self,
        *,
        cost_rate: Decimal,
        category_markup: Decimal | None,
        service_markup: Decimal | None,
        fixed_rate: Decimal | None,
    ) -> Price:
        """The price this policy gives a cost under a service's and its category's rules."""
        return price_for(
            cost_rate=cost_rate,
            default_markup=self.default_markup_percent,
            min_margin=self.min_margin_percent,
            rounding_step=self.rounding_step,
            below_cost_policy=self.below_cost_policy,
            category_markup=category_markup,
            service_markup=service_markup,
            fixed_rate=fixed_rate,
        )


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
