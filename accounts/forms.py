"""Sign-up and account forms: they parse and validate; accounts.services does the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _


def _email_taken(email: str, *, exclude_pk: int | None = None) -> bool:
    # One account per address: a password reset mails every account with the address, and a
    # customer with two would not know which one a reset link opens.
    users = get_user_model().objects.filter(email__iexact=email)
    if exclude_pk is not None:
        users = users.exclude(pk=exclude_pk)
    return users.exists()


class SignupForm(UserCreationForm[User]):
    """Username, e-mail (needed to reset the password) and the password twice, validated by
    Django's password validators. The view creates the account through `customer_create`."""

    email = forms.EmailField(label=_("E-mail"), max_length=254)
    # Required: the view records when it was ticked (Profile.terms_accepted_at).
    accept_terms = forms.BooleanField(
        label=_("I have read and accept the terms of service and the refund policy"),
        required=True,
        label_suffix="",
        error_messages={"required": _("Please accept the terms of service to sign up.")},
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = get_user_model().objects.normalize_email(self.cleaned_data["email"])
        if _email_taken(email):
            raise forms.ValidationError(_("An account with this e-mail address already exists."))
        return email


class AccountForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    # A checkbox's label is a sentence after the box: no ":" at its end.
    notify_completed = forms.BooleanField(
        label=_("E-mail me when an order completes"), required=False, label_suffix=""
    )
    notify_partial = forms.BooleanField(
        label=_("E-mail me when an order is partial"), required=False, label_suffix=""
    )
    notify_canceled = forms.BooleanField(
        label=_("E-mail me when an order is canceled"), required=False, label_suffix=""
    )
    notify_refill = forms.BooleanField(
        label=_("E-mail me when a refill finishes"), required=False, label_suffix=""
    )
    notify_ticket_reply = forms.BooleanField(
        label=_("E-mail me when support replies to my ticket"), required=False, label_suffix=""
    )

    def __init__(self, *args: Any, user_pk: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._user_pk = user_pk

    def clean_email(self) -> str:
        email = get_user_model().objects.normalize_email(self.cleaned_data["email"])
        if _email_taken(email, exclude_pk=self._user_pk):
            raise forms.ValidationError(_("Another account uses this e-mail address."))
        return email
