"""Admin of what happened: the price history (also inline on each service) and the syncs."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from panel.admin_mixins import NoDeleteMixin, ReadOnlyMixin
from panel.money import format_vnd
from panel.templatetags.panel_tags import when

from ..models import PriceChange, Service, SyncRun

HISTORY_INLINE_ROWS = 50


class HistoryValuesMixin:
    """The history's values are text ("18.7500"): a rate is shown as panel.money writes it."""

    @admin.display(description=_("old value"))
    def old_value_display(self, obj: PriceChange) -> str:
        return obj.shown(obj.old_value)

    @admin.display(description=_("new value"))
    def new_value_display(self, obj: PriceChange) -> str:
        return obj.shown(obj.new_value)


class RecentHistoryFormSet(BaseInlineFormSet[PriceChange, Service, Any]):
    """Only the most recent changes: a busy priority service gathers thousands of rows."""

    def get_queryset(self) -> QuerySet[PriceChange]:
        return super().get_queryset().select_related("sync", "changed_by")[:HISTORY_INLINE_ROWS]


class PriceChangeInline(
    ReadOnlyMixin, HistoryValuesMixin, admin.TabularInline[PriceChange, Service]
):
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


@admin.register(PriceChange)
class PriceChangeAdmin(NoDeleteMixin, HistoryValuesMixin, admin.ModelAdmin[PriceChange]):
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


@admin.register(SyncRun)
class SyncRunAdmin(NoDeleteMixin, admin.ModelAdmin[SyncRun]):
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
