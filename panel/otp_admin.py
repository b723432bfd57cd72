"""The admin site: Django's, plus a second factor for staff when settings.ADMIN_REQUIRE_2FA is on.

`django.contrib.admin.site` is an instance of `PanelAdminSite` (see `panel.security.AdminConfig`),
so every app's `admin.register` lands here and no page of the admin escapes the check.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp import user_has_device
from django_otp.admin import OTPAdminAuthenticationForm

from accounts.two_factor import otp_device_for_token
from panel.security import two_factor_required


class AdminLoginForm(OTPAdminAuthenticationForm):
    """Username, password and one code: from the authenticator app, or a backup code.

    django-otp's form wants the device picked from a list on a second round trip; the code's
    shape says which device it is for (`otp_device_for_token`), so one submission does."""

    otp_token = forms.CharField(
        label=_("Authentication code"),
        required=False,
        max_length=16,
        help_text=_("The 6 digits your authenticator app shows, or one of your backup codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "token_required": _("Enter the code from your authenticator app, or a backup code."),
        "invalid_token": _("That code is not right, or was already used. Try the next one."),
        "device_required": _("That code is not right, or was already used. Try the next one."),
    }

    def clean(self) -> dict[str, Any]:
        # The password first (and django-axes' lockout, through authenticate()); the second
        # factor is only looked at for a user who got the password right.
        self.cleaned_data = AdminAuthenticationForm.clean(self)
        user = self.get_user()
        if user is not None:
            if not user_has_device(user):
                raise forms.ValidationError(
                    _(
                        "This staff account has no second factor yet. Log in on the site and "
                        "set up two-factor authentication first (the link is below)."
                    ),
                    code="no_device",
                )
            if not self.cleaned_data.get("otp_device"):
                token = self.cleaned_data.get("otp_token") or ""
                device = otp_device_for_token(user=user, token=token)
                if device is not None:
                    self.cleaned_data["otp_device"] = device.persistent_id
        self.clean_otp(user)
        return self.cleaned_data


class PanelAdminSite(AdminSite):
    """Staff reach the admin only when verified by an OTP device in this session (2FA on), or
    with the password alone (2FA off, a developer's machine)."""

    # The app list beside every page took 300 px of a 1280 px screen and pushed the lists' last
    # columns (a service's state, an order's upstream id) out of sight; the index and the
    # breadcrumbs lead everywhere it did.
    enable_nav_sidebar = False

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        if not two_factor_required():
            return True
        # OTPMiddleware installs is_verified(); without it nobody is verified (fail closed).
        is_verified = getattr(request.user, "is_verified", None)
        return bool(is_verified and is_verified())

    # AdminSite.login() reads these two attributes: the OTP form and its template when 2FA is on.
    @property
    def login_form(self) -> type[forms.Form] | None:  # type: ignore[override]
        return AdminLoginForm if two_factor_required() else None

    @property
    def login_template(self) -> str | None:  # type: ignore[override]
        return "security/admin_login.html" if two_factor_required() else None
