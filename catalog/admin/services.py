"""Admin of the services: the list (with the upstream balance and the sync button), each
service's own rules with the price they give, and its history and backups inline.

Nothing here writes a price or an availability flag itself: every change goes through
`catalog.services` (reprice, pause, resume, set markup), which records the history and keeps the
rules' precedence in one place. Upstream fields are read-only: the next sync would overwrite them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import DecimalField, ExpressionWrapper, F, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from panel.admin_mixins import NoAddNoDeleteMixin
from panel.enqueue import enqueue
from panel.http import AuthedRequest
from panel.money import format_number, format_rate, format_vnd
from panel.numbers import parse_id

from ..mapping import MIRRORED
from ..models import Service, UpstreamStatus
from ..selectors import BalanceStatus, price_preview, upstream_balance_status
from ..services import service_set_markup
from .actions import ServiceActions
from .history import PriceChangeInline
from .providers import ServiceBackupInline

# What the upstream owns (the sync copies it): shown, never edited, in the admin; its rates
# through the one formatter (panel.money), as every amount in the admin.
_SHOWN_AS = {"cost_rate": "cost_display", "upstream_rate": "upstream_rate_display"}
UPSTREAM_FIELDS = tuple(
    _SHOWN_AS.get(name, name) for name in ("upstream_id", *MIRRORED, "last_seen_at")
)


class ServiceForm(forms.ModelForm[Service]):
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
# Services come from the upstream, and are never deleted (orders point to them): pause instead.
class ServiceAdmin(NoAddNoDeleteMixin, ServiceActions):
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
        "provider",
    )
    list_display_links = ("id", "short_name")
    list_select_related = ("provider",)
    list_filter = (
        "provider",
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
    inlines = (PriceChangeInline, ServiceBackupInline)
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
        number = parse_id(search_term.strip().lstrip("#"))
        if number is not None:  # the panel's id or the upstream's
            results |= queryset.filter(pk=number) | queryset.filter(upstream_id=number)
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

    def save_model(
        self, request: HttpRequest, obj: Service, form: forms.ModelForm[Service], change: bool
    ) -> None:
        # The form only edits the rules; the service function stores them and reprices.
        service_set_markup(
            service_ids=[obj.pk],
            markup_percent=form.cleaned_data.get("markup_percent"),
            fixed_rate=form.cleaned_data.get("fixed_rate"),
            changed_by=cast(AuthedRequest, request).user,  # the admin site lets in staff only
        )

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

    def _warn(self, request: HttpRequest, status: BalanceStatus) -> None:
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
