"""The services list's bulk actions: pause, resume, reprice, and "set markup or fixed price",
which shows the prices that will really be charged before applying a rule the minimum margin
overrides."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from panel.http import AuthedRequest
from panel.money import format_rate

from ..forms import SetMarkupForm
from ..models import PricingSettings, Service
from ..selectors import PricePreviewRow, price_previews
from ..services import catalog_reprice, service_pause, service_resume, service_set_markup


class ServiceActions(admin.ModelAdmin[Service]):
    """The actions of `ServiceAdmin`, which lists them in `actions`."""

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
        return self._set_markup_page(
            request,
            queryset,
            "catalog/admin/set_markup.html",
            title=_("Set markup or fixed price"),
            form=form,
            services=queryset[:50],
        )

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
        return self._set_markup_page(
            request,
            queryset,
            "catalog/admin/set_markup_confirm.html",
            title=_("Confirm the prices that will be charged"),
            form=form,
            rows=rows,
        )

    def _set_markup_page(
        self, request: AuthedRequest, queryset: QuerySet[Service], template: str, **extra: Any
    ) -> HttpResponse:
        """A page of the action that posts the selection back to itself."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            **extra,
            "count": queryset.count(),
            "selected": queryset.values_list("pk", flat=True),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, template, context)


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
