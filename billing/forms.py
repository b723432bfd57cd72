"""Forms parse and validate input; the services in billing.services do the work."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from panel.money import format_vnd

from .models import EntryKind
from .services import TOPUP_MAX_AMOUNT, TOPUP_MIN_AMOUNT

# Whole đồng, optionally grouped the Vietnamese way ("1.000.000") or the English way ("1,000,000").
# ASCII digits only (re.ASCII), the one integer rule of every edge (panel/numbers.py).
_GROUPED = re.compile(r"\d{1,3}(?:([.,\s])\d{3})?(?:\1\d{3})*|\d+", re.ASCII)


class AmountField(forms.CharField):
    """Whole đồng as people type them: 100000, 100.000, 100,000 or 100 000 (₫ optional)."""

    # A CharField's to_python is typed to return str; this field cleans text into an amount.
    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = str(super().to_python(value) or "").replace("₫", "").replace("đ", "").strip()
        if not text:
            return None
        if not _GROUPED.fullmatch(text):
            raise forms.ValidationError(_("Enter a whole number of đồng, e.g. 100000 or 100.000."))
        return Decimal(re.sub(r"\D", "", text, flags=re.ASCII))


class TopUpForm(forms.Form):
    amount = AmountField(
        label=_("Amount (VND)"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        # Lazy: interpolating now would translate once, at import, into the default language.
        help_text=lazy(
            lambda: (
                _("Between %(min)s and %(max)s.")
                % {"min": format_vnd(TOPUP_MIN_AMOUNT), "max": format_vnd(TOPUP_MAX_AMOUNT)}
            ),
            str,
        )(),
    )

    def clean_amount(self) -> Decimal:
        amount: Decimal = self.cleaned_data["amount"]
        if amount < TOPUP_MIN_AMOUNT:
            raise forms.ValidationError(
                _("The minimum is %(min)s.") % {"min": format_vnd(TOPUP_MIN_AMOUNT)}
            )
        if amount > TOPUP_MAX_AMOUNT:
            raise forms.ValidationError(
                _("The maximum is %(max)s.") % {"max": format_vnd(TOPUP_MAX_AMOUNT)}
            )
        return amount


# The transactions page lists the main wallet: commission and its moves out of the commission
# wallet are on the referral page.
_MAIN_WALLET_KINDS = [
    (value, label)
    for value, label in EntryKind.choices
    if value not in (EntryKind.COMMISSION, EntryKind.COMMISSION_OUT)
]


class EntryFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All")), *_MAIN_WALLET_KINDS]
    )


class CommissionMoveForm(forms.Form):
    """How much referral commission to move to the balance (billing.referrals.commission_move
    checks the minimum and what is available)."""

    amount = forms.DecimalField(
        label=_("Amount (VND)"),
        max_digits=16,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


class _ReasonForm(forms.Form):
    """A staff action on money, with the reason the ledger or the transfer records."""

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"]).strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason


class WalletAdjustForm(_ReasonForm):
    """The admin's credit (positive) or debit (negative) of one wallet."""

    amount = forms.DecimalField(
        label=_("Amount (VND)"),
        max_digits=16,
        decimal_places=2,
        help_text=_("Positive to credit the customer, negative to debit."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required. Recorded in the ledger and shown to the customer."),
    )

    def clean_amount(self) -> Decimal:
        amount: Decimal = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("The amount must not be zero."))
        return amount


class TopUpApproveForm(forms.Form):
    """Staff approval of a top-up by hand, for banks without notifications."""

    received = AmountField(
        label=_("Amount received (VND)"),
        help_text=_("As the bank statement shows it; what the customer asked for is prefilled."),
    )
    confirm = forms.BooleanField(
        label=_("I checked the shop's bank account: this money arrived, with this reference."),
        required=True,
        label_suffix="",
    )

    def clean_received(self) -> Decimal:
        received: Decimal = self.cleaned_data["received"]
        if received <= 0:
            raise forms.ValidationError(_("The amount must be positive."))
        return received


class TransferAssignForm(_ReasonForm):
    """Staff give an unmatched bank transfer to a customer."""

    username = forms.CharField(label=_("Customer (username)"), max_length=150)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required, e.g. how you know whose money it is."),
    )

    def clean_username(self) -> Any:
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(_("No active customer has this username."))
        return user
