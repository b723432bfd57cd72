"""Staff view of orders: filters, money per order, and the decisions only a person may take.

Nothing here writes a state or a balance directly: every action calls `orders.staff_actions`,
which goes through `order_transition` and `billing.services`. Fields are read-only for that reason.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import DecimalField, ExpressionWrapper, F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy

from billing.selectors import order_refunded_expression
from panel.admin_mixins import NoAddNoDeleteMixin, ReadOnlyMixin
from panel.http import AuthedRequest
from panel.money import format_rate, format_vnd
from panel.templatetags.panel_tags import when

from .admin_attempts import ForwardAttemptInline
from .models import CancelRequest, Order, OrderEvent, OrderState, RefillRequest
from .staff_actions import (
    OrderActionError,
    order_attach_upstream_id,
    order_attention_end,
    order_attention_repoll,
    order_fail_and_refund,
    order_send_again,
)

MONEY = DecimalField(max_digits=16, decimal_places=2)


class OrderEventInline(ReadOnlyMixin, admin.TabularInline[OrderEvent, Order]):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_state", "to_state", "actor", "reason")
    readonly_fields = fields
    ordering = ("at", "id")


class AttachUpstreamIdForm(forms.Form):
    upstream_id = forms.IntegerField(
        label=_("Upstream order id"),
        min_value=1,
        help_text=_("The id the upstream shows for this order in its own order list."),
    )


class AttentionForm(forms.Form):
    """How staff end an order that needs attention, or send it back to polling."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("completed", _("Completed: everything was delivered (no refund)")),
            ("partial", _("Partial: refund the remains entered below")),
            ("canceled", _("Canceled: nothing was delivered (full refund)")),
            ("repoll", _("Send back to polling")),
        ],
        widget=forms.RadioSelect,
    )
    remains = forms.IntegerField(
        label=_("Remains"),
        min_value=1,
        required=False,
        help_text=_("For a partial order: how many were not delivered, as the upstream shows."),
    )
    reason = forms.CharField(
        label=_("Why"),
        max_length=400,
        help_text=_("What you checked at the upstream; it goes into the order's history."),
    )


@admin.register(Order)
# Orders are born through order_place only, and never deleted: the ledger points at them.
class OrderAdmin(NoAddNoDeleteMixin, admin.ModelAdmin[Order]):
    list_display = (
        "id",
        "user",
        "service_link",  # with the order's kind under it
        "state_badge",  # with "waiting for upstream funds" under it: the list fits 1280 px
        "quantity",
        "charge_vnd",
        "refunded_vnd",
        "cost_vnd",
        "profit_vnd",
        "upstream_ref",
        "created_short",
        "provider",
    )
    list_filter = (
        "provider",
        "state",
        "waiting_for_funds",
        "kind",
        "service__category",
        ("user", admin.RelatedOnlyFieldListFilter),
        "created_at",
    )
    search_fields = ("=id", "=upstream_id", "link", "user__username", "user__email")
    list_select_related = ("user", "service", "provider")
    raw_id_fields = ("user", "service")
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False  # counting millions of rows on every page is not worth it
    # Where each order was sent, and every attempt (issue 17).
    inlines = [OrderEventInline, ForwardAttemptInline]
    actions = ["attach_upstream_id", "send_again", "fail_and_refund"]
    readonly_fields = (
        "user",
        "service",
        "kind",
        "link",
        "quantity",
        "comments",
        "username",
        "runs",
        "interval",
        "rate_display",
        "charge_vnd",
        "cost_vnd",
        "state",
        "upstream_id",
        "upstream_status",
        "start_count",
        "remains",
        "error",
        "attention_reason",
        "held_since",
        "extra",
        "send_attempts",
        "next_attempt_at",
        "waiting_for_funds",
        "idempotency_key",
        "request_fingerprint",
        "created_at",
        "updated_at",
        "finished_at",
        "provider",
        "placed_service",
    )

    # Shown through the formatters above instead (one number style everywhere); excluded so
    # that leaving them out of readonly_fields does not make them editable.
    exclude = ("rate", "charge", "cost")
    change_form_template = "orders/admin/order_change_form.html"

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:order_id>/attention/",
                self.admin_site.admin_view(self.attention_view),
                name="orders_order_attention",
            ),
            *super().get_urls(),
        ]

    def attention_view(self, request: AuthedRequest, order_id: int) -> HttpResponse:
        """End an order that needs attention, from its own admin page (issue 11)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        order = Order.objects.select_related("service", "user").filter(pk=order_id).first()
        if order is None:
            raise Http404
        form = AttentionForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            decision = form.cleaned_data["decision"]
            try:
                if decision == "repoll":
                    order_attention_repoll(
                        order_id=order.pk, actor=request.user, reason=form.cleaned_data["reason"]
                    )
                else:
                    order_attention_end(
                        order_id=order.pk,
                        outcome=decision,
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                        remains=form.cleaned_data["remains"],
                    )
            except OrderActionError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, _("Order #%(id)s: done.") % {"id": order.pk})
                return redirect(reverse("admin:orders_order_change", args=[order.pk]))
        return TemplateResponse(
            request,
            "orders/admin/attention.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Decide about an order that needs attention"),
                "order": order,
                "form": form,
                "opts": self.model._meta,
            },
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        refunded = order_refunded_expression()
        return (
            super()
            .get_queryset(request)
            .annotate(
                refunded=refunded,
                # What the customer paid in the end, less what the upstream charged the shop.
                profit=ExpressionWrapper(F("charge") - refunded - F("cost"), output_field=MONEY),
            )
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        waiting = Order.objects.filter(state=OrderState.QUEUED, waiting_for_funds=True).count()
        review = Order.objects.filter(state=OrderState.REVIEW).count()
        needing = Order.objects.filter(state=OrderState.ATTENTION).count()
        if needing:
            messages.warning(
                request,
                ngettext(
                    "%(n)s order needs attention: open it to end it or send it back to polling.",
                    "%(n)s orders need attention: open each to end it or send it back to polling.",
                    needing,
                )
                % {"n": needing},
            )
        if waiting:
            messages.error(
                request,
                ngettext(
                    "%(n)s order waits because the upstream account is out of funds: top it up.",
                    "%(n)s orders wait because the upstream account is out of funds: top it up.",
                    waiting,
                )
                % {"n": waiting},
            )
        if review:
            messages.warning(
                request,
                ngettext(
                    "%(n)s order is held for review: check the upstream, then attach its id, "
                    "send it again, "
                    "or fail and refund it.",
                    "%(n)s orders are held for review: check the upstream, then attach their ids, "
                    "send them "
                    "again, or fail and refund them.",
                    review,
                )
                % {"n": review},
            )
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("service"), ordering="service__name")
    def service_link(self, order: Order) -> str:
        return format_html(
            "#{} {}<br><small>{}</small>",
            order.service_id,
            order.service.name[:40],
            order.get_kind_display(),
        )

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, order: Order) -> str:
        if order.waiting_for_funds:
            return format_html(
                "{}<br><strong>⚠ {}</strong>",
                order.get_state_display(),
                Order._meta.get_field("waiting_for_funds").verbose_name,
            )
        if order.state in (OrderState.REVIEW, OrderState.ATTENTION):
            return format_html("<strong>⚠ {}</strong>", order.get_state_display())
        return order.get_state_display()

    @admin.display(description=_("upstream id"), ordering="upstream_id")
    def upstream_ref(self, order: Order) -> str:
        return str(order.upstream_id) if order.upstream_id else "–"

    @admin.display(description=_("created"), ordering="created_at")
    def created_short(self, order: Order) -> str:
        return when(order.created_at)

    @admin.display(description=_("price per 1000"), ordering="rate")
    def rate_display(self, order: Order) -> str:
        return format_rate(order.rate)

    @admin.display(description=_("price"), ordering="charge")
    def charge_vnd(self, order: Order) -> str:
        return format_vnd(order.charge)

    @admin.display(description=_("refunded"), ordering="refunded")
    def refunded_vnd(self, order: Order) -> str:
        # `refunded` and `profit` are annotations of get_queryset, unknown to the model's stubs.
        return format_vnd(order.refunded) if order.refunded else "–"  # type: ignore[attr-defined]

    @admin.display(description=_("upstream cost"), ordering="cost")
    def cost_vnd(self, order: Order) -> str:
        return format_vnd(order.cost) if order.cost is not None else "–"

    @admin.display(description=_("profit"), ordering="profit")
    def profit_vnd(self, order: Order) -> str:
        profit = order.profit  # type: ignore[attr-defined]  # annotated, as above
        return format_vnd(profit) if profit is not None else "–"

    # --- review decisions ----------------------------------------------------------------------

    @admin.action(description=_("Attach the upstream order id (review)"))
    def attach_upstream_id(
        self, request: AuthedRequest, queryset: QuerySet[Order]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(
                request, _("Select exactly one order to attach an upstream id to."), messages.ERROR
            )
            return None
        order = queryset.get()
        form = AttachUpstreamIdForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                order_attach_upstream_id(
                    order_id=order.pk,
                    upstream_id=form.cleaned_data["upstream_id"],
                    actor=request.user,
                )
            except OrderActionError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request, _("Order #%(id)s is placed; tracking resumes.") % {"id": order.pk}
                )
            return None
        return TemplateResponse(
            request,
            "orders/admin/attach_upstream_id.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Attach the upstream order id"),
                "order": order,
                "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description=_("Send again (checked: not placed upstream)"))
    def send_again(self, request: AuthedRequest, queryset: QuerySet[Order]) -> None:
        self._each(
            request,
            queryset,
            lambda order: order_send_again(order_id=order.pk, actor=request.user),
            # The count is picked from the "n" key when the message is interpolated in _each.
            ngettext_lazy(
                "%(n)s order queued to be sent again.", "%(n)s orders queued to be sent again.", "n"
            ),
        )

    @admin.action(description=_("Fail and refund in full"))
    def fail_and_refund(self, request: AuthedRequest, queryset: QuerySet[Order]) -> None:
        self._each(
            request,
            queryset,
            lambda order: order_fail_and_refund(order_id=order.pk, actor=request.user),
            ngettext_lazy(
                "%(n)s order failed and refunded.", "%(n)s orders failed and refunded.", "n"
            ),
        )

    def _each(
        self, request: HttpRequest, queryset: QuerySet[Order], action: Any, done: Any
    ) -> None:
        count = 0
        for order in queryset.order_by("pk"):
            try:
                action(order)
            except OrderActionError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, done % {"n": count})


class _RequestAdmin[M: (RefillRequest, CancelRequest)](NoAddNoDeleteMixin, admin.ModelAdmin[M]):
    list_select_related = ("order__user", "order__service")
    raw_id_fields = ("order",)
    search_fields = ("=order__id", "=order__upstream_id", "order__user__username")
    list_filter = ("state", "created_at")
    date_hierarchy = "created_at"
    list_per_page = 50

    @admin.display(description=_("customer"), ordering="order__user__username")
    def customer(self, row: Any) -> str:
        return str(row.order.user)


@admin.register(RefillRequest)
class RefillRequestAdmin(_RequestAdmin[RefillRequest]):
    list_display = (
        "id",
        "order",
        "customer",
        "state",
        "upstream_refill_id",
        "error",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("order", "state", "upstream_refill_id", "error", "created_at", "updated_at")


@admin.register(CancelRequest)
class CancelRequestAdmin(_RequestAdmin[CancelRequest]):
    list_display = ("id", "order", "customer", "state", "error", "created_at", "updated_at")
    readonly_fields = ("order", "state", "error", "created_at", "updated_at")
