"""Forms parse what the browser sent; every rule lives in `orders.validation`.

A refusal (`OrderRejected`) names the field it belongs to and carries a translated message, which
the view puts next to that field. Help texts that state a limit read it from `orders.rules`, as
the checks and their refusals do, when the page is rendered.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django import forms
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

from panel.numbers import IntegerField

from . import rules
from .errors import OrderRejected


def _stating(text: Promise, limits: Callable[[], dict[str, object]]) -> str:
    """`text` with the limits it states filled in each time it is shown (in the active
    language, with the value the checks use at that moment)."""
    return lazy(lambda: str(text) % limits(), str)()


class OrderForm(forms.Form):
    service = IntegerField(label=_("Service"), min_value=1)
    link = forms.CharField(
        label=_("Link"),
        max_length=rules.LINK_MAX_LENGTH,
        strip=True,
        widget=forms.URLInput(attrs={"placeholder": "https://", "inputmode": "url"}),
    )
    quantity = IntegerField(label=_("Quantity"), required=False, min_value=1)
    comments = forms.CharField(
        label=_("Comments"),
        required=False,
        strip=False,
        help_text=_("One comment per line; the quantity is the number of lines."),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    username = forms.CharField(
        label=_("Commenter's username"), required=False, max_length=rules.USERNAME_MAX_LENGTH
    )
    dripfeed = forms.BooleanField(label=_("Drip-feed: deliver in several runs"), required=False)
    runs = IntegerField(
        label=_("Runs"),
        required=False,
        min_value=rules.RUNS_MIN,
        help_text=_stating(
            _("How many times the quantity is delivered (at least %(min)s)."),
            lambda: {"min": rules.RUNS_MIN},
        ),
    )
    interval = IntegerField(
        label=_("Interval (minutes)"),
        required=False,
        min_value=1,
        help_text=_stating(
            _("Minutes between runs; runs x interval at most %(max)s."),
            lambda: {"max": rules.DRIPFEED_MAX_MINUTES},
        ),
    )
    confirm_same_link = forms.BooleanField(
        label=_("Place it anyway: I know another order on this link is still running"),
        required=False,
    )
    # The prices this page showed (service:rate,...): the order is never charged above them.
    shown_rates = forms.CharField(widget=forms.HiddenInput, required=False, max_length=10_000)
    # One key per rendered form: a double click or a resubmitted page places one order.
    request_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args: object, **kwargs: object) -> None:
        # Form.__init__'s parameters are typed one by one in the stubs; these are passed through.
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if not self.is_bound:
            self.initial.setdefault("request_key", uuid.uuid4().hex)

    def add_rejection(self, exc: OrderRejected) -> None:
        self.rejection = exc
        if exc.code == "same_link":
            return  # shown in the form's own warning box, with the box to tick
        field = exc.field if exc.field in self.fields else None
        if field == "runs" and not self.cleaned_data.get("dripfeed"):
            field = "dripfeed"
        self.add_error(field, exc.display)


class MassOrderForm(forms.Form):
    orders = forms.CharField(
        label=_("Orders"),
        max_length=100_000,
        help_text=_stating(
            _("One order per line: service_id|link|quantity (at most %(max)s lines)."),
            lambda: {"max": rules.MASS_MAX_LINES},
        ),
        widget=forms.Textarea(
            attrs={"rows": 12, "placeholder": "101|https://tiktok.com/@user/video/123|1000"}
        ),
    )
    # The prices the confirmation step showed (service:rate,...): never charged above them.
    rates = forms.CharField(widget=forms.HiddenInput, required=False, max_length=10_000)
