"""Admin of providers and backups (issue 17); a service's backups are also inline on its page.

The API key is write-only here: the form never renders it back (a password input that starts
empty, "leave empty to keep"), and lists show its last four characters only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from panel.money import format_amount, format_number

from ..models import Provider, Service, ServiceBackup
from ..providers import ProviderError, provider_pause, provider_set_rate


class ProviderForm(forms.ModelForm[Provider]):
    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Never shown again. Leave empty to keep the current key."),
    )

    class Meta:
        model = Provider
        fields = (
            "name",
            "api_url",
            "api_key",
            "currency",
            "rate",
            "timeout",
            "enabled",
            "paused",
            "when_paused",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored_key = self.instance.api_key if self.instance.pk else ""
        self._stored_rate = self.instance.rate if self.instance.pk else None

    def clean_api_key(self) -> str:
        key = self.cleaned_data.get("api_key") or self._stored_key
        if not key and not self.instance.from_env:
            raise forms.ValidationError(_("A provider needs its API key."))
        return key

    def clean_currency(self) -> str:
        value = (self.cleaned_data.get("currency") or "").strip().upper()
        if len(value) != 3 or not value.isalpha():
            raise forms.ValidationError(_("A three-letter code such as VND or USD."))
        return value


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin[Provider]):
    form = ProviderForm
    list_display = (
        "name",
        "api_url",
        "key_display",
        "currency",
        "rate_display",
        "rate_as_of",
        "enabled",
        "paused",
        "when_paused",
        "balance_display",
        "balance_at",
        "last_out_of_funds_at",
        "service_count",
    )
    list_filter = ("enabled", "paused", "currency")
    readonly_fields = (
        "key_display",
        "rate_as_of",
        "from_env",
        "balance_display",
        "balance_at",
        "last_out_of_funds_at",
        "created_at",
    )
    actions = ("pause_selected", "resume_selected")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Provider]:
        return super().get_queryset(request).annotate(n_services=Count("services"))

    @admin.display(description=_("API key"))
    def key_display(self, obj: Provider) -> str:
        return obj.masked_key

    @admin.display(description=_("exchange rate"), ordering="rate")
    def rate_display(self, obj: Provider) -> str:
        return f"1 {obj.currency} = {format_number(obj.rate)} ₫"

    @admin.display(description=_("balance"), ordering="balance")
    def balance_display(self, obj: Provider) -> str:
        """In the provider's own currency (its code kept), the shop's number style."""
        return format_amount(obj.balance, obj.currency) if obj.balance is not None else "–"

    @admin.display(description=_("services"), ordering="n_services")
    def service_count(self, obj: Provider) -> int:
        return getattr(obj, "n_services", 0)

    def get_readonly_fields(self, request: HttpRequest, obj: Provider | None = None) -> Any:
        fields = tuple(self.readonly_fields)
        if obj is not None and obj.from_env:
            # Set by SIEULIKE_* in the environment; changing them here would be undone.
            fields += ("name", "api_url", "api_key", "timeout")
        return fields

    def save_model(self, request: HttpRequest, obj: Provider, form: Any, change: bool) -> None:
        new_rate = obj.rate
        old_rate = form._stored_rate
        if change and old_rate is not None and new_rate != old_rate:
            obj.rate = old_rate  # the rate goes through the service that reprices
            super().save_model(request, obj, form, change)
            try:
                changed = provider_set_rate(
                    provider_id=obj.pk,
                    rate=new_rate,
                    # The admin is behind staff login: the user is never anonymous here.
                    changed_by=request.user,  # type: ignore[arg-type]
                )
            except ProviderError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return
            obj.refresh_from_db()
            self.message_user(
                request,
                _("New rate %(rate)s: %(n)s services repriced.")
                % {"rate": format_number(new_rate), "n": changed},
            )
            return
        if not change:
            obj.rate_as_of = timezone.now()
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Pause the selected providers"))
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        n = sum(provider_pause(provider_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, _("%(n)s providers paused.") % {"n": n})

    @admin.action(description=_("Resume the selected providers"))
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        n = sum(
            provider_pause(provider_id=pk, paused=False)
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, _("%(n)s providers resumed.") % {"n": n})


class ServiceBackupInline(admin.TabularInline[ServiceBackup, Service]):
    """A service's ordered backups; each is checked for compatibility when saved
    (ServiceBackup.clean: kind, min/max covering, drip-feed and refill support)."""

    model = ServiceBackup
    fk_name = "service"
    extra = 0
    fields = ("position", "backup")
    raw_id_fields = ("backup",)
    ordering = ("position", "id")


@admin.register(ServiceBackup)
class ServiceBackupAdmin(admin.ModelAdmin[ServiceBackup]):
    list_display = ("service", "position", "backup", "backup_provider")
    list_select_related = ("service", "backup", "backup__provider")
    raw_id_fields = ("service", "backup")

    @admin.display(description=_("backup's provider"))
    def backup_provider(self, obj: ServiceBackup) -> str:
        return obj.backup.provider.name
