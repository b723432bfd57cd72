"""The staff page that sets up two-factor authentication: scan a QR code, type the code.

Reached with the password alone (a staff member needs it before the admin lets them in), which is
safe only while the account has no second factor yet: replacing an existing one needs a session
already verified by it, or a stolen password would be enough to enrol the thief's phone.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device

from panel.http import AuthedRequest

from . import two_factor


class ConfirmDeviceForm(forms.Form):
    token = forms.CharField(
        label=_("Code from the app"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


@login_required
@never_cache  # the page carries a secret (the QR code), and then the backup codes
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: AuthedRequest) -> HttpResponse:
    user = request.user
    if not user.is_staff:
        raise Http404  # customers have no admin to protect; the page does not exist for them
    if user_has_device(user) and not user.is_verified():  # type: ignore[attr-defined]  # set by OTPMiddleware
        return render(
            request,
            "security/two_factor_setup.html",
            {"needs_verification": True, "admin_login": reverse("admin:login")},
            status=403,
        )
    device = two_factor.totp_device_pending(user=user)
    form = ConfirmDeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.totp_device_confirm(
            user=user, device=device, token=form.cleaned_data["token"]
        )
        if codes is not None:
            otp_login(request, device)  # this session is now verified by the new device
            return render(
                request,
                "security/two_factor_done.html",
                {"codes": codes, "admin_index": reverse("admin:index")},
            )
        form.add_error(
            "token", _("That code is not right. Check the phone's clock and try the next one.")
        )
    return render(
        request,
        "security/two_factor_setup.html",
        {
            "form": form,
            "replacing": user_has_device(user),
            # segno's output: path data only, nothing user-supplied in it as markup.
            "qr_svg": mark_safe(two_factor.totp_qr_svg(device)),  # noqa: S308
            "secret": two_factor.totp_secret_text(device),
        },
    )
