"""Staff second factors (django-otp): one authenticator app (TOTP) and a sheet of backup codes.

A staff member enrols by scanning a QR code and typing the code it shows: the device is
confirmed only then, so a mistyped scan never locks anyone out. Enrolling again replaces the
authenticator and the backup codes (a lost phone is replaced, not added to).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import segno
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

if TYPE_CHECKING:
    from django.contrib.auth.models import User

BACKUP_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
BACKUP_NAME = "Backup codes"
_PENDING_NAME = "Authenticator app (not confirmed yet)"


def totp_device_pending(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator being enrolled: the same one on every visit until it is
    confirmed, so that reloading the page does not invalidate a QR code already scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_PENDING_NAME, confirmed=False)
    return device


def totp_device_confirm(*, user: User, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm `device` with a code from the app; None when the code is wrong.

    On success the user's other authenticators and backup codes are replaced, and the new
    backup codes are returned, to be shown once (only their owner ever sees them)."""
    if device.user_id != user.pk or device.confirmed or not device.verify_token(token.strip()):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.name, device.confirmed = AUTHENTICATOR_NAME, True
        device.save(update_fields=["name", "confirmed"])
        StaticDevice.objects.filter(user=user).delete()
        backup = StaticDevice.objects.create(user=user, name=BACKUP_NAME, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=backup, token=code) for code in codes)
    return codes


def otp_device_for_token(*, user: User, token: str) -> Device | None:
    """Which of the user's confirmed devices a typed code is meant for: six digits are an
    authenticator code, anything else a backup code.

    Chosen by the code's shape rather than by trying every device in turn: a wrong guess then
    counts against one device's throttle, not against all of them."""
    token = token.strip()
    model: type[Device] = TOTPDevice if token.isdigit() and len(token) == 6 else StaticDevice
    return model.objects.filter(user=user, confirmed=True).order_by("pk").first()


def totp_secret_text(device: TOTPDevice) -> str:
    """The secret in base32, grouped by four, for typing into an app that cannot scan."""
    text = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def totp_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG drawn here (no third-party QR service ever sees the
    secret). Only path data: nothing in it runs or loads anything."""
    return segno.make(device.config_url, error="m").svg_inline(
        scale=5, border=2, dark="#000", light="#fff"
    )
