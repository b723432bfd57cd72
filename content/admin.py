"""Staff edit the shop's pages, FAQ, contact details and announcements here, in both languages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Announcement, ContactDetails, FaqEntry, Page


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    list_display = ["kind", "title_vi", "title_en", "updated_at"]
    fieldsets = [
        (None, {"fields": ["kind"]}),
        (_("Vietnamese"), {"fields": ["title_vi", "body_vi"]}),
        (_("English"), {"fields": ["title_en", "body_en"]}),
    ]


@admin.register(FaqEntry)
class FaqEntryAdmin(admin.ModelAdmin):
    list_display = ["question_vi", "question_en", "position", "published"]
    list_editable = ["position", "published"]
    fieldsets = [
        (None, {"fields": ["position", "published"]}),
        (_("Vietnamese"), {"fields": ["question_vi", "answer_vi"]}),
        (_("English"), {"fields": ["question_en", "answer_en"]}),
    ]


@admin.register(ContactDetails)
class ContactDetailsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "phone", "zalo_url", "telegram_url", "email"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One row (pk=1): once it exists, it is edited, never added to.
        return super().has_add_permission(request) and not ContactDetails.objects.exists()

    def save_model(
        self, request: HttpRequest, obj: ContactDetails, form: Any, change: bool
    ) -> None:
        obj.pk = 1
        super().save_model(request, obj, form, change)


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "level",
        "published",
        "starts_at",
        "ends_at",
        "dismissed_by",
        "created_by",
    ]
    list_filter = ["published", "level"]
    list_select_related = ["created_by"]
    readonly_fields = ["created_by", "created_at"]
    fieldsets = [
        (None, {"fields": ["level", "published", "starts_at", "ends_at"]}),
        (_("Vietnamese"), {"fields": ["title_vi", "body_vi"]}),
        (_("English"), {"fields": ["title_en", "body_en"]}),
        (None, {"fields": ["created_by", "created_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Announcement]:
        return super().get_queryset(request).annotate(dismissal_count=Count("dismissals"))

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        from django.utils import timezone

        return {"starts_at": timezone.now()}

    def save_model(self, request: HttpRequest, obj: Announcement, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    @admin.display(description=_("dismissed by"), ordering="dismissal_count")
    def dismissed_by(self, obj: Any) -> int:
        return int(getattr(obj, "dismissal_count", 0))
