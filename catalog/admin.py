"""Django admin of the catalog: services, the markup rules, the price history, the syncs.

Nothing here writes a price or an availability flag itself: every change goes through
`catalog.services` (reprice, pause, resume, set markup), which records the history and keeps the
rules' precedence in one place. Upstream fields are read-only: the next sync would overwrite them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Count, DecimalField, ExpressionWrapper, F, OuterRef, QuerySet, Subquery
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from panel.enqueue import enqueue
from panel.http import AuthedRequest
from panel.money import format_number, format_rate, format_vnd
from panel.templatetags.panel_tags import when

from .forms import SetMarkupForm
from .models import (
    CategoryMarkup,
    CustomerPricing,
    CustomerRate,
    PriceChange,
    PricingSettings,
    Service,
    SyncRun,
    UpstreamStatus,
)
from .selectors import (
    PricePreviewRow,
    customer_price_rule,
    price_of,
    price_preview,
    price_previews,
    upstream_balance_status,
)
from .services import (
    MIRRORED,
    catalog_reprice,
    service_pause,
    service_resume,
    service_set_markup,
)

# What the upstream owns (the sync copies it): shown, never edited, in the admin; its rates
# through the one formatter (panel.money), as every amount in the admin.
_SHOWN_AS = {"cost_rate": "cost_display", "upstream_rate": "upstream_rate_display"}
UPSTREAM_FIELDS = tuple(
    _SHOWN_AS.get(name, name) for name in ("upstream_id", *MIRRORED, "last_seen_at")
)
HISTORY_INLINE_ROWS = 50


class HistoryValuesMixin:
    """The history's values are text ("18.7500"): a rate is shown as panel.money writes it."""

    @admin.display(description=_("old value"))
    def old_value_display(self, obj: PriceChange) -> str:
        return obj.shown(obj.old_value)

    @admin.display(description=_("new value"))
    def new_value_display(self, obj: PriceChange) -> str:
        return obj.shown(obj.new_value)


class RecentHistoryFormSet(BaseInlineFormSet):
    """Only the most recent changes: a busy priority service gathers thousands of rows."""

    def get_queryset(self) -> QuerySet[PriceChange]:
        return super().get_queryset().select_related("sync", "changed_by")[:HISTORY_INLINE_ROWS]


class PriceChangeInline(HistoryValuesMixin, admin.TabularInline):
    model = PriceChange
    formset = RecentHistoryFormSet
    fields = ("at", "field", "old_value_display", "new_value_display", "sync", "changed_by")
    readonly_fields = fields
    ordering = ("-at", "-id")
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = _("price history (latest 50)")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ServiceForm(forms.ModelForm):
    """The service-level rules. A fixed price below cost plus the minimum margin is never sold
    as typed (the policy raises it, or pauses the service): the form says so plainly, with the
    price that will be charged, and saves only once the admin confirms it."""

    confirm_price = forms.BooleanField(
        label=_("I understand: save with the price shown above"), required=False
    )

    class Meta:
        model = Service
        fields = ("markup_percent", "fixed_rate")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        fixed = data.get("fixed_rate")
        if self.errors or fixed is None or self.instance.pk is None:
            return data
        price = price_preview(
            service=self.instance, markup_percent=data.get("markup_percent"), fixed_rate=fixed
        )
        if not price.flagged or data.get("confirm_price"):
            return data
        values = {
            "fixed": format_vnd(fixed),
            "cost": format_vnd(self.instance.cost_rate),
            "price": format_vnd(price.sell_rate),
        }
        if price.pause:
            message = gettext(
                "The fixed price %(fixed)s is below the cost %(cost)s plus the minimum margin. "
                "The pricing settings say to pause such a service: if you save, it is taken off "
                "sale (its price would be %(price)s per 1000)."
            )
        else:
            message = gettext(
                "The fixed price %(fixed)s is below the cost %(cost)s plus the minimum margin. "
                "The pricing settings say to raise such a price: if you save, customers are "
                "charged %(price)s per 1000, not %(fixed)s."
            )
        self.add_error("fixed_rate", message % values)
        self.add_error(
            "confirm_price", gettext("Tick this box to save with that price, or change it.")
        )
        return data


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    form = ServiceForm
    change_list_template = "catalog/admin/service_change_list.html"
    list_display = (
        "id",
        "short_name",
        "category",
        "cost_display",
        "sell_display",
        "margin_display",
        # One column of small badges instead of five of icons: the list fits 1280 px.
        "state_badges",
    )
    list_display_links = ("id", "short_name")
    list_filter = (
        "flagged",
        "listed",
        "pause_reason",
        "vanished",
        "priority",
        "upstream_status",
        "platform",
        "type",
        "category",
    )
    search_fields = ("name", "category")
    list_per_page = 100
    ordering = ("-priority", "category", "id")
    inlines = (PriceChangeInline,)
    actions = ("pause_selected", "resume_selected", "set_markup", "reprice_selected")
    readonly_fields = (
        *UPSTREAM_FIELDS,
        "sell_display",
        "margin_display",
        "flagged",
        "listed",
        "pause_reason",
        "vanished",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (
            _("Pricing (the rules; the price follows)"),
            {
                "fields": (
                    "sell_display",
                    "margin_display",
                    "flagged",
                    "markup_percent",
                    "fixed_rate",
                    "confirm_price",
                ),
                "description": _(
                    "A fixed price wins over this service's markup, which wins over the "
                    "category's, which wins over the default. The sell price is recomputed when "
                    "you save."
                ),
            },
        ),
        (_("Availability"), {"fields": ("listed", "pause_reason", "vanished")}),
        (
            _("From the upstream (read-only, overwritten by every sync)"),
            {"fields": UPSTREAM_FIELDS},
        ),
        (pgettext_lazy("admin fieldset", "Record"), {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                margin=ExpressionWrapper(
                    F("sell_rate") - F("cost_rate"),
                    output_field=DecimalField(max_digits=14, decimal_places=4),
                )
            )
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Service], search_term: str
    ) -> tuple[QuerySet[Service], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lstrip("#")
        if term.isdigit():  # the panel's id or the upstream's
            results |= queryset.filter(pk=int(term)) | queryset.filter(upstream_id=int(term))
        return results, may_have_duplicates

    @admin.display(description=_("name"), ordering="name")
    def short_name(self, obj: Service) -> str:
        return obj.name if len(obj.name) <= 50 else obj.name[:49] + "…"

    @admin.display(description=_("cost per 1000"), ordering="cost_rate")
    def cost_display(self, obj: Service) -> str:
        return format_rate(obj.cost_rate)

    @admin.display(description=_("price per 1000"), ordering="sell_rate")
    def sell_display(self, obj: Service) -> str:
        return format_rate(obj.sell_rate)

    @admin.display(description=_("provider's price per 1000"))
    def upstream_rate_display(self, obj: Service) -> str:
        """In the provider's own currency: its code, the shop's number style."""
        if obj.upstream_rate is None:
            return "–"
        currency = obj.provider.currency if obj.provider_id else "VND"
        if currency == "VND":
            return format_rate(obj.upstream_rate)
        return f"{format_number(obj.upstream_rate, 4)} {currency}"

    @admin.display(description=_("state"))
    def state_badges(self, obj: Service) -> str:
        badges: list[tuple[str, str]] = []
        if obj.priority:
            badges.append(("info", str(_("priority"))))
        if obj.upstream_status != UpstreamStatus.NORMAL:
            badges.append(("warn", obj.get_upstream_status_display()))
        if obj.vanished:
            badges.append(("bad", str(_("missing upstream"))))
        elif not obj.listed:
            badges.append(("warn", str(obj.get_pause_reason_display() or _("paused"))))
        if obj.flagged:
            badges.append(("bad", str(_("flagged by pricing"))))
        if not badges:
            badges.append(("ok", str(_("Listed"))))
        # The admin has no badge styles: a problem is bold, one state a line.
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308 - a constant
            "{}",
            (
                (format_html("<strong>{}</strong>", text) if css == "bad" else text,)
                for css, text in badges
            ),
        )

    @admin.display(description=_("margin"), ordering="margin")
    def margin_display(self, obj: Service) -> str:
        margin = obj.sell_rate - obj.cost_rate
        if not obj.cost_rate:
            return format_vnd(margin)
        percent = (margin / obj.cost_rate * 100).quantize(Decimal("0.1"))
        return f"{format_vnd(margin)} ({percent}%)"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # services come from the upstream

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # never deleted: orders point to them; pause instead

    def save_model(
        self, request: HttpRequest, obj: Service, form: forms.ModelForm, change: bool
    ) -> None:
        # The form only edits the rules; the service function stores them and reprices.
        service_set_markup(
            service_ids=[obj.pk],
            markup_percent=form.cleaned_data.get("markup_percent"),
            fixed_rate=form.cleaned_data.get("fixed_rate"),
            changed_by=cast(AuthedRequest, request).user,  # the admin site lets in staff only
        )

    # ------------------------------------------------------------------ actions

    @admin.action(description=_("Pause selected services"), permissions=["change"])
    def pause_selected(self, request: AuthedRequest, queryset: QuerySet[Service]) -> None:
        count = service_pause(
            service_ids=queryset.values_list("pk", flat=True), changed_by=request.user
        )
        self.message_user(
            request, ngettext("%d service paused.", "%d services paused.", count) % count
        )

    @admin.action(description=_("Resume selected services"), permissions=["change"])
    def resume_selected(self, request: AuthedRequest, queryset: QuerySet[Service]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = service_resume(service_ids=ids, changed_by=request.user)
        self.message_user(
            request, ngettext("%d service resumed.", "%d services resumed.", count) % count
        )
        still = Service.objects.filter(pk__in=ids).exclude(listed=True, vanished=False).count()
        if still:
            self.message_user(
                request,
                ngettext(
                    "%d service is still unavailable: missing upstream, or below cost under the "
                    "pause policy.",
                    "%d services are still unavailable: missing upstream, or below cost under the "
                    "pause policy.",
                    still,
                )
                % still,
                messages.WARNING,
            )

    @admin.action(description=_("Reprice selected services from the rules"), permissions=["change"])
    def reprice_selected(self, request: AuthedRequest, queryset: QuerySet[Service]) -> None:
        count = catalog_reprice(
            service_ids=queryset.values_list("pk", flat=True), changed_by=request.user
        )
        self.message_user(
            request, ngettext("%d price changed.", "%d prices changed.", count) % count
        )

    @admin.action(description=_("Set markup or fixed price…"), permissions=["change"])
    def set_markup(
        self, request: AuthedRequest, queryset: QuerySet[Service]
    ) -> HttpResponse | None:
        form = SetMarkupForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            markup_percent, fixed_rate = form.rules()
            # Where the minimum margin, not the typed rule, decides the price, the admin is
            # shown the price that will be charged, and why, and applies only once confirmed.
            overridden = [
                row
                for row in price_previews(
                    services=queryset, markup_percent=markup_percent, fixed_rate=fixed_rate
                )
                if row.floor_decides
            ]
            if overridden and "confirm" not in request.POST:
                return self._confirm_set_markup(request, queryset, form, overridden)
            count = service_set_markup(
                service_ids=queryset.values_list("pk", flat=True),
                markup_percent=markup_percent,
                fixed_rate=fixed_rate,
                changed_by=request.user,
            )
            self.message_user(
                request,
                ngettext("Rule set on %d service.", "Rule set on %d services.", count) % count,
            )
            if overridden:
                self.message_user(
                    request,
                    ngettext(
                        "%d of them is priced at cost plus the minimum margin (or paused), "
                        "not by the rule you set (filter: flagged).",
                        "%d of them are priced at cost plus the minimum margin (or paused), "
                        "not by the rule you set (filter: flagged).",
                        len(overridden),
                    )
                    % len(overridden),
                    messages.WARNING,
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Set markup or fixed price"),
            "opts": self.model._meta,
            "form": form,
            "services": queryset[:50],
            "count": queryset.count(),
            "selected": queryset.values_list("pk", flat=True),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "catalog/admin/set_markup.html", context)

    def _confirm_set_markup(
        self,
        request: AuthedRequest,
        queryset: QuerySet[Service],
        form: SetMarkupForm,
        overridden: list[PricePreviewRow],
    ) -> HttpResponse:
        """The intermediate page: per service, the price that will actually be charged, why."""
        margin = PricingSettings.load().min_margin_percent
        rows = [(row, _why_not_as_typed(row, margin)) for row in overridden]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Confirm the prices that will be charged"),
            "opts": self.model._meta,
            "form": form,
            "rows": rows,
            "count": queryset.count(),
            "selected": queryset.values_list("pk", flat=True),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "catalog/admin/set_markup_confirm.html", context)

    # ------------------------------------------------------------------ sync button, balance

    def get_urls(self) -> list[Any]:
        sync = self.admin_site.admin_view(require_POST(self.sync_view))
        return [path("sync/", sync, name="catalog_service_sync"), *super().get_urls()]

    def sync_view(self, request: HttpRequest) -> HttpResponse:
        """Enqueue a full sync: the upstream may take up to two timeouts to answer, longer than a
        web request should wait, and the worker runs it under the same lock as the schedule."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        if not enqueue("catalog.tasks.catalog_sync_task"):
            self.message_user(
                request,
                _("Could not queue the sync: the task queue did not answer."),
                messages.ERROR,
            )
        else:
            self.message_user(
                request,
                format_html(
                    gettext(
                        'Catalog sync queued. Its result appears in <a href="{}">catalog syncs</a>.'
                    ),
                    reverse("admin:catalog_syncrun_changelist"),
                ),
            )
        return HttpResponseRedirect(reverse("admin:catalog_service_changelist"))

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        status = upstream_balance_status()
        if request.method == "GET":
            self._warn(request, status)
        extra = {
            "balance_status": status,
            "can_sync": self.has_change_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=extra)

    def _warn(self, request: HttpRequest, status: Any) -> None:
        if status.is_low:
            self.message_user(
                request,
                _(
                    "The upstream balance is low: %(balance)s (warning below %(threshold)s). "
                    "Orders will start failing upstream: top the upstream account up."
                )
                % {
                    "balance": format_vnd(status.balance),
                    "threshold": format_vnd(status.threshold),
                },
                messages.WARNING,
            )
        flagged = Service.objects.filter(flagged=True).count()
        if flagged:
            self.message_user(
                request,
                ngettext(
                    "%d service has a fixed price below cost plus the minimum margin "
                    "(filter: flagged).",
                    "%d services have a fixed price below cost plus the minimum margin "
                    "(filter: flagged).",
                    flagged,
                )
                % flagged,
                messages.WARNING,
            )


@admin.register(PriceChange)
class PriceChangeAdmin(HistoryValuesMixin, admin.ModelAdmin):
    list_display = (
        "at",
        "service",
        "field",
        "old_value_display",
        "new_value_display",
        "sync",
        "changed_by",
    )
    list_filter = ("field", "at")
    list_select_related = ("service", "sync", "changed_by")
    search_fields = ("service__name", "=service__id")
    raw_id_fields = ("service", "sync", "changed_by")
    date_hierarchy = "at"
    show_full_result_count = False
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PricingSettings)
class PricingSettingsAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: PricingSettings, form: forms.ModelForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        _reprice_and_report(request, service_ids=None)


class CategoryMarkupForm(forms.ModelForm):
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
class CategoryMarkupAdmin(admin.ModelAdmin):
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
        self, request: HttpRequest, obj: CategoryMarkup, form: forms.ModelForm, change: bool
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


def _why_not_as_typed(row: PricePreviewRow, min_margin: Decimal) -> str:
    values = {
        "cost": format_rate(row.service.cost_rate),
        "margin": f"{min_margin.normalize():f}",
        "price": format_rate(row.price.sell_rate),
    }
    if row.paused:
        message = gettext(
            "The fixed price is below the cost %(cost)s plus the minimum margin of %(margin)s%%. "
            "The pricing settings say to pause such a service: it is taken off sale (its price "
            "would be %(price)s)."
        )
    elif row.price.flagged:
        message = gettext(
            "The fixed price is below the cost %(cost)s plus the minimum margin of %(margin)s%%: "
            "it is raised, and customers are charged %(price)s."
        )
    else:
        message = gettext(
            "The markup is below the minimum margin of %(margin)s%%: the price is raised to the "
            "cost %(cost)s plus that margin, and customers are charged %(price)s."
        )
    return message % values


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


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = (
        "started_short",
        "kind",
        "ok",
        "duration",
        "created",
        "updated",
        "paused",
        "restored",
        "balance",
        "short_message",
    )
    list_filter = ("kind", "ok")
    readonly_fields = (
        "kind",
        "started_at",
        "finished_at",
        "ok",
        "created",
        "updated",
        "paused",
        "restored",
        "balance",
        "message",
    )
    exclude = ("upstream_balance",)  # shown formatted, as "balance"
    date_hierarchy = "started_at"
    list_per_page = 100

    @admin.display(description=_("took"))
    def duration(self, obj: SyncRun) -> str:
        if obj.finished_at is None:
            return str(_("running"))
        return f"{(obj.finished_at - obj.started_at).total_seconds():.1f} s"

    @admin.display(description=_("started"), ordering="started_at")
    def started_short(self, obj: SyncRun) -> str:
        return when(obj.started_at)

    @admin.display(description=_("upstream balance"), ordering="upstream_balance")
    def balance(self, obj: SyncRun) -> str:
        return format_vnd(obj.upstream_balance) if obj.upstream_balance is not None else "–"

    @admin.display(description=_("message"))
    def short_message(self, obj: SyncRun) -> str:
        return obj.message if len(obj.message) <= 120 else obj.message[:119] + "…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --------------------------------------------------------------------------- customer prices


class CustomerRateInline(admin.TabularInline):
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
class CustomerPricingAdmin(admin.ModelAdmin):
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


# Providers and backups (issue 17) register themselves beside the services.
from . import admin_providers  # noqa: E402, F401
