"""Forms of the catalog: the customer's filters, and the admin's "set markup" action."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import RATE
from .selectors import SEARCH_MAX, CatalogFilters


class CatalogFilterForm(forms.Form):
    """The catalog page's search and filters (GET). Anything odd is ignored, not an error:
    a bookmarked URL keeps working after a platform disappears."""

    q = forms.CharField(label=_("Search"), required=False, max_length=SEARCH_MAX)
    platform = forms.CharField(label=_("Platform"), required=False, max_length=50)
    type = forms.CharField(label=_("Type"), required=False, max_length=50)
    refill = forms.BooleanField(label=_("Refill"), required=False)
    cancel = forms.BooleanField(label=pgettext_lazy("service feature", "Cancel"), required=False)
    dripfeed = forms.BooleanField(label=_("Drip-feed"), required=False)

    def filters(self) -> CatalogFilters:
        data: dict[str, Any] = self.cleaned_data if self.is_valid() else {}
        return CatalogFilters(
            query=(data.get("q") or "").strip(),
            platform=data.get("platform") or "",
            type=data.get("type") or "",
            refill=bool(data.get("refill")),
            cancel=bool(data.get("cancel")),
            dripfeed=bool(data.get("dripfeed")),
        )


class SetMarkupForm(forms.Form):
    """The admin action's intermediate form: one rule for every selected service."""

    RULE_CHOICES = [
        ("percent", _("Markup percentage for these services")),
        ("fixed", _("Fixed price per 1000")),
        ("clear", _("Clear: use the category's or the default markup")),
    ]

    rule = forms.ChoiceField(label=_("Rule"), choices=RULE_CHOICES, widget=forms.RadioSelect)
    markup_percent = forms.DecimalField(
        label=_("Markup %"),
        required=False,
        max_digits=7,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    fixed_rate = forms.DecimalField(
        label=_("Fixed price per 1000"),
        required=False,
        validators=[MinValueValidator(Decimal("0"))],
        **RATE,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        rule = data.get("rule")
        if rule == "percent" and data.get("markup_percent") is None:
            self.add_error("markup_percent", _("Enter the markup percentage."))
        if rule == "fixed" and data.get("fixed_rate") is None:
            self.add_error("fixed_rate", _("Enter the fixed price."))
        return data

    def rules(self) -> tuple[Decimal | None, Decimal | None]:
        """(markup_percent, fixed_rate) to store on the services."""
        rule = self.cleaned_data["rule"]
        if rule == "percent":
            return self.cleaned_data["markup_percent"], None
        if rule == "fixed":
            return None, self.cleaned_data["fixed_rate"]
        return None, None
