"""Forms parse input; support.services validates the rest and does the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from .models import MESSAGE_MAX, SUBJECT_MAX, TicketKind, TicketState


class TicketForm(forms.Form):
    order = forms.IntegerField(
        label=_("Order ID"),
        required=False,
        min_value=1,
        help_text=_("Needed for a refill, a cancel or a speed-up."),
    )
    kind = forms.ChoiceField(label=_("Type"), choices=TicketKind.choices, initial=TicketKind.OTHER)
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX)
    body = forms.CharField(
        label=_("Message"),
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": MESSAGE_MAX}),
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MESSAGE_MAX}),
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assign to"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("Nobody"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        )


STATE_FILTERS = [("", _("Not closed")), *TicketState.choices, ("all", _("All"))]


class StaffFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), choices=STATE_FILTERS, required=False)
    kind = forms.ChoiceField(
        label=_("Type"), choices=[("", _("All")), *TicketKind.choices], required=False
    )
    assignee = forms.ChoiceField(label=_("Assigned to"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        staff = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ChoiceField)
        assignee.choices = [
            ("", _("Anyone")),
            ("me", _("Me")),
            ("none", _("Nobody")),
            *[(str(user.pk), user.get_username()) for user in staff],
        ]
