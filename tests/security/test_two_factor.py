"""Two-factor authentication for staff (django-otp): the admin asks for a code from an
authenticator app when ADMIN_REQUIRE_2FA is on, and staff enrol their app on a page of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD

from .conftest import logged_in, new_customer, new_staff, verified_client

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _two_factor_on(settings: Any) -> None:
    settings.ADMIN_REQUIRE_2FA = True


def code_for(device: TOTPDevice) -> str:
    """What the staff member's phone shows right now."""
    value = totp(
        device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift
    )
    return f"{value:0{device.digits}d}"


def admin_login(client: Client, username: str, password: str, token: str = "") -> Any:
    return client.post(
        reverse("admin:login"),
        {
            "username": username,
            "password": password,
            "otp_token": token,
            "next": reverse("admin:index"),
        },
    )


def admin_index_status(client: Client) -> int:
    return client.get(reverse("admin:index")).status_code


def test_a_staff_member_logged_in_with_a_password_alone_cannot_reach_the_admin() -> None:
    # given a superuser logged in on the site with their password (no second factor)
    boss = new_staff("boss", is_superuser=True)
    client = logged_in(boss)
    # when they open the admin
    response = client.get(reverse("admin:index"))
    # then they are sent to the admin login, which asks for a code
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert client.get(reverse("admin:orders_order_changelist")).status_code == 302
    page = client.get(reverse("admin:login")).content.decode()
    assert 'name="otp_token"' in page


def test_the_admin_login_with_the_password_and_the_current_code_lets_staff_in() -> None:
    # given a superuser with a confirmed authenticator
    boss = new_staff("boss", is_superuser=True)
    device = TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    client = Client()
    # when they log in to the admin with the password and the code the phone shows
    response = admin_login(client, "boss", PASSWORD, code_for(device))
    # then they are in
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("admin:index")
    assert admin_index_status(client) == 200


@pytest.mark.parametrize("token", ["", "000000", "12345", "abcdefgh"])
def test_a_wrong_or_missing_code_is_refused_even_with_the_right_password(token: str) -> None:
    boss = new_staff("boss", is_superuser=True)
    device = TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    StaticToken.objects.create(
        device=StaticDevice.objects.create(user=boss, name="backup", confirmed=True),
        token="goodcode",
    )
    if token == "000000" and code_for(device) == "000000":  # one chance in a million
        token = "000001"
    client = Client()
    response = admin_login(client, "boss", PASSWORD, token)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert admin_index_status(client) == 302


def test_a_code_is_accepted_once_only() -> None:
    # a code seen over a shoulder (or replayed from a proxy log) is worthless once used
    boss = new_staff("boss", is_superuser=True)
    device = TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    token = code_for(device)
    assert admin_login(Client(), "boss", PASSWORD, token).status_code == 302
    second = Client()
    assert admin_login(second, "boss", PASSWORD, token).status_code == 200
    assert admin_index_status(second) == 302


def test_a_backup_code_works_in_place_of_the_app_once() -> None:
    boss = new_staff("boss", is_superuser=True)
    TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    backup = StaticDevice.objects.create(user=boss, name="backup", confirmed=True)
    StaticToken.objects.create(device=backup, token="k3y5t0ne")
    client = Client()
    assert admin_login(client, "boss", PASSWORD, "k3y5t0ne").status_code == 302
    assert admin_index_status(client) == 200
    again = Client()
    assert admin_login(again, "boss", PASSWORD, "k3y5t0ne").status_code == 200
    assert admin_index_status(again) == 302


def test_staff_without_a_device_are_told_to_set_one_up_and_stay_out() -> None:
    new_staff("newbie", is_superuser=True)
    client = Client()
    response = admin_login(client, "newbie", PASSWORD, "123456")
    assert response.status_code == 200
    assert [error.code for error in response.context["form"].errors.as_data()["__all__"]] == [
        "no_device"
    ]
    assert reverse("two_factor_setup") in response.content.decode()
    assert admin_index_status(client) == 302


def test_another_users_device_cannot_verify_a_login() -> None:
    # given two staff members; the attacker knows boss's password and has their own phone
    new_staff("boss", is_superuser=True)
    mallory = new_staff("mallory")
    theirs = TOTPDevice.objects.create(user=mallory, name="phone", confirmed=True)
    client = Client()
    response = client.post(
        reverse("admin:login"),
        {
            "username": "boss",
            "password": PASSWORD,
            "otp_token": code_for(theirs),
            "otp_device": theirs.persistent_id,
        },
    )
    assert response.status_code == 200
    assert admin_index_status(client) == 302


def test_with_two_factor_off_the_password_alone_opens_the_admin(settings: Any) -> None:
    # a developer's machine (DEBUG=1): make run's demo admin logs in with a password
    settings.ADMIN_REQUIRE_2FA = False
    new_staff("dev", is_superuser=True)
    client = Client()
    response = client.post(reverse("admin:login"), {"username": "dev", "password": PASSWORD})
    assert response.status_code == 302
    assert admin_index_status(client) == 200


def test_a_staff_member_enrols_an_authenticator_and_is_verified_at_once() -> None:
    # given a staff member without a second factor, logged in on the site with a password
    boss = new_staff("boss", is_superuser=True)
    client = logged_in(boss)
    # when they open the set-up page
    page = client.get(reverse("two_factor_setup"))
    # then it shows a QR code drawn here as SVG (no image from elsewhere) and the key as text
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "<script" not in html.split("<main", 1)[1]
    assert "no-store" in page["Cache-Control"] or "no-cache" in page["Cache-Control"]
    pending = TOTPDevice.objects.get(user=boss, confirmed=False)
    assert page.context["secret"].replace(" ", "") in html.replace(" ", "")
    # and a wrong code is refused, nothing is confirmed
    wrong = "111111" if code_for(pending) != "111111" else "222222"
    refused = client.post(reverse("two_factor_setup"), {"token": wrong})
    assert refused.status_code == 200 and refused.context["form"].errors
    assert not TOTPDevice.objects.filter(user=boss, confirmed=True).exists()
    # (a wrong code slows the next try down by a second; the staff member takes longer to type)
    TOTPDevice.objects.filter(pk=pending.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=30)
    )
    # when they type the code the app shows
    done = client.post(reverse("two_factor_setup"), {"token": code_for(pending)})
    # then the device is confirmed, ten backup codes are shown once, and the session is verified
    assert done.status_code == 200
    assert TOTPDevice.objects.get(pk=pending.pk).confirmed
    codes = done.context["codes"]
    assert len(codes) == 10
    assert all(code in done.content.decode() for code in codes)
    assert sorted(
        StaticToken.objects.filter(device__user=boss).values_list("token", flat=True)
    ) == sorted(codes)
    assert admin_index_status(client) == 200


def test_reloading_the_set_up_page_keeps_the_same_secret() -> None:
    # a staff member who scanned the code and then reloaded the page must not be left with a
    # secret on the phone that the panel forgot
    client = logged_in(new_staff("boss"))
    first = client.get(reverse("two_factor_setup")).context["secret"]
    assert client.get(reverse("two_factor_setup")).context["secret"] == first


def test_a_stolen_password_alone_cannot_replace_an_existing_second_factor() -> None:
    # given a staff member with a confirmed authenticator, and someone with their password
    boss = new_staff("boss", is_superuser=True)
    TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    thief = logged_in(boss)
    # when that someone opens the set-up page
    response = thief.get(reverse("two_factor_setup"))
    # then it is refused, and no new device can be started, let alone confirmed
    assert response.status_code == 403
    assert thief.post(reverse("two_factor_setup"), {"token": "123456"}).status_code == 403
    assert TOTPDevice.objects.filter(user=boss).count() == 1


def test_a_verified_staff_member_can_replace_their_authenticator() -> None:
    boss = new_staff("boss", is_superuser=True)
    old = TOTPDevice.objects.create(user=boss, name="old phone", confirmed=True)
    client = verified_client(boss)
    client.get(reverse("two_factor_setup"))
    new = TOTPDevice.objects.get(user=boss, confirmed=False)
    assert client.post(reverse("two_factor_setup"), {"token": code_for(new)}).status_code == 200
    assert list(TOTPDevice.objects.filter(user=boss).values_list("pk", flat=True)) == [new.pk]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()


def test_customers_have_no_set_up_page() -> None:
    client = logged_in(new_customer("khach").user)
    assert client.get(reverse("two_factor_setup")).status_code == 404
    anonymous = Client().get(reverse("two_factor_setup"))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))


def test_the_admin_device_pages_never_show_a_secret() -> None:
    # another superuser can list and delete devices (to help someone who lost a phone) but
    # never read a secret or its QR code
    boss = new_staff("boss", is_superuser=True)
    victim = new_staff("victim")
    device = TOTPDevice.objects.create(user=victim, name="phone", confirmed=True)
    client = verified_client(boss)
    change = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert change.status_code == 200
    assert device.key not in change.content.decode()
    for name in ("admin:otp_totp_totpdevice_config", "admin:otp_totp_totpdevice_qrcode"):
        assert client.get(reverse(name, kwargs={"pk": device.pk})).status_code == 403


def _shell(code: str, env: dict[str, str]) -> str:
    """The last line `code` prints in a fresh process with these environment variables."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env = {"DATABASE_URL": "sqlite:////tmp/panel-2fa-setting.sqlite3", **env}
    result = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DEBUG": "0", "SECRET_KEY": "s" * 60, "CACHE_URL": "dbcache://panel_cache"}, "True"),
        ({"DEBUG": "1"}, "False"),
        ({"DEBUG": "1", "ADMIN_REQUIRE_2FA": "1"}, "True"),
        (
            {
                "DEBUG": "0",
                "SECRET_KEY": "s" * 60,
                "CACHE_URL": "dbcache://panel_cache",
                "ADMIN_REQUIRE_2FA": "0",
            },
            "False",
        ),
    ],
)
def test_two_factor_is_required_by_default_in_production_and_not_in_development(
    env: dict[str, str], expected: str
) -> None:
    code = "from django.conf import settings; print(settings.ADMIN_REQUIRE_2FA)"
    assert _shell(code, env) == expected


def test_the_admin_moves_to_the_configured_path_and_is_gone_from_the_default_one() -> None:
    code = (
        "from django.urls import reverse, resolve, Resolver404\n"
        "try:\n    resolve('/admin/'); gone = False\n"
        "except Resolver404:\n    gone = True\n"
        "print(reverse('admin:index'), reverse('admin:login'), gone)"
    )
    assert _shell(code, {"DEBUG": "1", "ADMIN_URL": "staff-9f3k/"}) == (
        "/staff-9f3k/ /staff-9f3k/login/ True"
    )
