"""django-otp's two device apps under names staff can read: the admin index shows an app's
verbose_name, and django-otp gives none, so the sections read "OTP_STATIC" and "OTP_TOTP"."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.apps import DefaultConfig as StaticDefault
from django_otp.plugins.otp_totp.apps import DefaultConfig as TOTPDefault


class StaticConfig(StaticDefault):
    verbose_name = _("Two-factor backup codes")


class TOTPConfig(TOTPDefault):
    verbose_name = _("Two-factor authenticator apps")
