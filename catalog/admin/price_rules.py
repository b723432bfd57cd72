"""Admin of the pricing rules: the shop's policy, category markups and customers' own prices.
Saving a rule reprices the services it touches, through `catalog.services.catalog_reprice`."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from panel.admin_mixins import NoAddNoDeleteMixin
from panel.http import AuthedRequest
from panel.money import format_rate

from ..models import CategoryMarkup, CustomerPricing, CustomerRate, PricingSettings, Service
from ..selectors import customer_price_rule, price_of
from ..services import catalog_reprice


@admin.register(PricingSettings)
class PricingSettingsAdmin(NoAddNoDeleteMixin, admin.ModelAdmin[PricingSettings]):
    """One row; the list page goes straight to it."""

    fieldsets = (
        (
            _("Markup"),
            {"fields": ("default_markup_percent", "min_margin_percent", "rounding_step")},
        ),
        (_("Policies"), {"fields": ("new_service_policy", "below_cost_policy")}),
        (_("Upstream"), {"fields": ("upstream_balance_warning",)}),
    )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        settings_row = PricingSettings.load()
        return HttpResponseRedirect(
            reverse("admin:catalog_pricingsettings_change", args=[settings_row.pk])
        )

    def save_model(
        self,
        request: HttpRequest,
        obj: PricingSettings,
        form: forms.ModelForm[PricingSettings],
        change: bool,
    ) -> None:
        super().save_model(request, obj, form, change)
        _reprice_and_report(request, service_ids=None)


class CategoryMarkupForm(forms.ModelForm[CategoryMarkup]):
    class Meta:
        model = CategoryMarkup
        fields = ("category", "markup_percent")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Offer the categories the catalog has (a typo would silently match nothing).
        categories = (
            Service.objects.order_by("category").values_list("category", flat=True).distinct()
        )
        choices = [(name, name) for name in categories]
        current = self.instance.category if self.instance.pk else None
        if current and current not in categories:
            choices.insert(0, (current, current))
        self.fields["category"].widget = forms.Select(choices=[("", "---------"), *choices])


@admin.register(CategoryMarkup)
class CategoryMarkupAdmin(admin.ModelAdmin[CategoryMarkup]):
    form = CategoryMarkupForm
    list_display = ("category", "markup_percent", "services")
    search_fields = ("category",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CategoryMarkup]:
        count = (
            Service.objects.filter(category=OuterRef("category"))
            .order_by()
            .values("category")
            .annotate(n=Count("id"))
            .values("n")
        )
        return super().get_queryset(request).annotate(service_count=Subquery(count))

    @admin.display(description=_("services"), ordering="service_count")
    def services(self, obj: CategoryMarkup) -> int:
        return getattr(obj, "service_count", None) or 0

    def save_model(
        self,
        request: HttpRequest,
        obj: CategoryMarkup,
        form: forms.ModelForm[CategoryMarkup],
        change: bool,
    ) -> None:
        categories = {obj.category}
        if change and form.initial.get("category"):
            categories.add(form.initial["category"])  # renamed: the old category loses its markup
        super().save_model(request, obj, form, change)
        _reprice_and_report(request, categories=categories)

    def delete_model(self, request: HttpRequest, obj: CategoryMarkup) -> None:
        category = obj.category
        super().delete_model(request, obj)
        _reprice_and_report(request, categories={category})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CategoryMarkup]) -> None:
        categories = set(queryset.values_list("category", flat=True))
        super().delete_queryset(request, queryset)
        _reprice_and_report(request, categories=categories)


def _reprice_and_report(
    request: HttpRequest,
    *,
    service_ids: list[int] | None = None,
    categories: set[str] | None = None,
) -> None:
    if categories is not None:
        service_ids = list(
            Service.objects.filter(category__in=categories).values_list("pk", flat=True)
        )
    # The admin site lets in staff only.
    count = catalog_reprice(service_ids=service_ids, changed_by=cast(AuthedRequest, request).user)
    messages.info(request, ngettext("%d service repriced.", "%d services repriced.", count) % count)


class CustomerRateInline(admin.TabularInline[CustomerRate, CustomerPricing]):
    model = CustomerRate
    fields = ("service", "rate", "list_rate", "charged", "updated_at")
    readonly_fields = ("list_rate", "charged", "updated_at")
    raw_id_fields = ("service",)
    extra = 1

    @admin.display(description=_("shop price per 1000"))
    def list_rate(self, obj: CustomerRate) -> str:
        return format_rate(obj.service.sell_rate) if obj.pk else "–"

    @admin.display(description=_("the customer pays per 1000"))
    def charged(self, obj: CustomerRate) -> str:
        """What the selector makes of the rate: lifted to cost + the minimum margin unless the
        customer may be sold below it, never above the shop's price."""
        if not obj.pk:
            return "–"
        price = price_of(service=obj.service, rule=customer_price_rule(user=obj.pricing.user))
        return format_rate(price.rate) + (" ⚠" if price.floored else "")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerRate]:
        return super().get_queryset(request).select_related("service", "pricing__user")


@admin.register(CustomerPricing)
class CustomerPricingAdmin(admin.ModelAdmin[CustomerPricing]):
    """A customer's own prices. What they pay is computed by `catalog.pricing.customer_price`
    (never below cost + the minimum margin unless `allow_below_floor`); saving the rule touches
    `updated_at`, which gives the API's cached services answer of this customer a new key."""

    list_display = ("user", "discount_percent", "fixed_rates", "allow_below_floor", "updated_at")
    list_select_related = ("user",)
    list_filter = ("allow_below_floor",)
    search_fields = ("user__username", "user__email", "note")
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [CustomerRateInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerPricing]:
        return super().get_queryset(request).annotate(rate_count=Count("rates"))

    @admin.display(description=_("fixed rates"), ordering="rate_count")
    def fixed_rates(self, obj: CustomerPricing) -> int:
        return cast(int, getattr(obj, "rate_count", 0))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # A rate changed alone still moves the rule's version (the API keys its cache on it).
        form.instance.save(update_fields=["updated_at"])
