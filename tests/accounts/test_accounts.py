"""Customer accounts in the browser: sign up, log in and out, reset and change the password, the
account page (e-mail, language, notices) and the API key shown once."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import ApiKey, Profile
from accounts.services import api_key_user
from billing.models import Wallet
from tests.factories import PASSWORD, make_customer, make_customer_with_key

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "another-fine-password-77"


def _signup(client: Client, **overrides: str):  # type: ignore[no-untyped-def]
    data = {
        "username": "ngoc",
        "email": "ngoc@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "accept_terms": "on",
    }
    return client.post(reverse("accounts:signup"), {**data, **overrides})


def test_signing_up_creates_a_customer_logs_in_and_lands_on_the_dashboard(client: Client) -> None:
    response = _signup(client)

    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    user = get_user_model().objects.get(username="ngoc")
    assert Wallet.objects.filter(user=user).exists() and Profile.objects.filter(user=user).exists()
    assert ApiKey.objects.filter(user=user).exists()
    assert client.get(reverse("dashboard")).context["user"] == user


def test_the_api_key_made_at_sign_up_is_shown_once_on_the_account_page(client: Client) -> None:
    _signup(client)

    first = client.get(reverse("accounts:account"))
    second = client.get(reverse("accounts:account"))

    key = first.context["new_api_key"]
    assert api_key_user(raw=key).username == "ngoc"
    assert key in first.content.decode()
    assert "no-store" in first["Cache-Control"]
    assert second.context["new_api_key"] is None and key not in second.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password1": "12345678", "password2": "12345678"}, "password2"),  # too common, numeric
        ({"password2": "not-the-same-password"}, "password2"),
        ({"email": "TAKEN@example.com"}, "email"),  # one account per address, whatever the case
        ({"username": "Taken"}, "username"),
        ({"email": ""}, "email"),  # needed to reset the password
    ],
)
def test_signing_up_with_bad_details_shows_the_error_and_creates_nothing(
    client: Client, overrides: dict[str, str], field: str
) -> None:
    make_customer(username="taken", email="taken@example.com")
    users = get_user_model().objects.count()

    response = _signup(client, **overrides)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert get_user_model().objects.count() == users


def test_logging_in_follows_a_next_on_this_site(client: Client) -> None:
    make_customer(username="an")

    response = client.post(
        reverse("login"),
        {"username": "an", "password": PASSWORD, "next": reverse("billing:transactions")},
    )

    assert response.status_code == 302 and response["Location"] == reverse("billing:transactions")


@pytest.mark.parametrize(
    "target", ["https://evil.example.com/", "//evil.example.com/x", "https:/evil.example.com"]
)
def test_logging_in_ignores_a_next_pointing_to_another_site(client: Client, target: str) -> None:
    make_customer(username="an")

    response = client.post(
        reverse("login"), {"username": "an", "password": PASSWORD, "next": target}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_the_login_page_renders_with_its_links(client: Client) -> None:
    page = client.get(reverse("login") + "?next=/transactions/").content.decode()

    assert 'name="next" value="/transactions/"' in page
    assert reverse("password_reset") in page and reverse("accounts:signup") in page


def test_logging_out_takes_a_post_and_ends_the_session(client: Client) -> None:
    client.force_login(make_customer())

    assert (
        client.get(reverse("logout")).status_code == 405
    )  # a link or an <img> cannot log anyone out
    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert client.get(reverse("accounts:account"))["Location"].startswith(reverse("login"))


def test_a_password_reset_mails_a_link_that_sets_a_new_password(client: Client) -> None:
    make_customer(username="binh", email="binh@example.com")

    response = client.post(reverse("password_reset"), {"email": "binh@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["binh@example.com"]
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)

    form_url = client.get(link)["Location"]  # Django swaps the token for a session marker
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert response["Location"] == reverse("password_reset_complete")
    assert client.login(username="binh", password=NEW_PASSWORD)
    assert client.get(link).context["validlink"] is False  # a used link never works again


def test_a_password_reset_for_an_unknown_address_reveals_nothing_and_sends_nothing(
    client: Client,
) -> None:
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_changing_the_password_needs_the_old_one(client: Client) -> None:
    user = make_customer(username="chi")
    client.force_login(user)

    wrong = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    right = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert "old_password" in wrong.context["form"].errors
    assert right["Location"] == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_the_account_page_saves_email_language_and_notices_and_sets_the_language_cookie(
    client: Client,
) -> None:
    user = make_customer(username="dung")
    client.force_login(user)

    response = client.post(
        reverse("accounts:account"),
        {
            "email": "dung.new@example.com",
            "language": "en",
            "notify_completed": "on",
            "notify_refill": "on",
        },
    )

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"
    user.refresh_from_db()
    profile = user.profile
    assert user.email == "dung.new@example.com" and profile.language == "en"
    assert (
        profile.notify_completed,
        profile.notify_partial,
        profile.notify_canceled,
        profile.notify_refill,
    ) == (
        True,
        False,
        False,
        True,
    )
    assert client.get(reverse("accounts:account")).context["form"].initial["language"] == "en"


def test_the_account_page_refuses_an_address_used_by_another_account(client: Client) -> None:
    make_customer(username="em", email="em@example.com")
    user = make_customer(username="gia")
    client.force_login(user)

    response = client.post(
        reverse("accounts:account"), {"email": "EM@example.com", "language": "vi"}
    )

    assert "email" in response.context["form"].errors
    user.refresh_from_db()
    assert user.email == "gia@example.com"


def test_regenerating_the_api_key_shows_the_new_key_once_and_retires_the_old_one(
    client: Client,
) -> None:
    user, old_key = make_customer_with_key(username="hai")
    client.force_login(user)

    assert client.get(reverse("accounts:api_key_regenerate")).status_code == 405
    response = client.post(reverse("accounts:api_key_regenerate"), follow=True)

    new_key = response.context["new_api_key"]
    assert api_key_user(raw=new_key) == user
    assert api_key_user(raw=old_key) is None
    assert ApiKey.objects.get(user=user).prefix == new_key[:8]
    assert new_key in response.content.decode()
    assert new_key not in client.get(reverse("accounts:account")).content.decode()


def test_the_account_page_shows_only_the_prefix_of_a_key(client: Client) -> None:
    user = make_customer()
    client.force_login(user)
    key = ApiKey.objects.get(user=user)

    page = client.get(reverse("accounts:account")).content.decode()

    assert f"{key.prefix}…" in page and key.key_hash not in page


def test_the_account_page_checkbox_labels_read_as_sentences_without_a_colon(
    client: Client,
) -> None:
    # given a customer on the account page
    client.force_login(make_customer())

    # when the page is shown
    page = client.get(reverse("accounts:account")).content.decode()

    # then the notice checkboxes end their sentence, while the text fields keep their colon
    labels = re.findall(r"<label[^>]*>([^<]*)</label>", page)
    assert "E-mail me when an order completes" in labels
    assert "E-mail me when a refill finishes" in labels
    assert not [label for label in labels if label.startswith("E-mail me") and label.endswith(":")]
    assert "Language:" in labels


@pytest.mark.parametrize("name", ["accounts:account", "billing:transactions", "billing:topup"])
def test_the_money_pages_need_a_login(client: Client, name: str) -> None:
    response = client.get(reverse(name))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_signed_in_customer_sees_the_balance_on_every_page(client: Client) -> None:
    client.force_login(make_customer(balance=Decimal("1234567")))

    assert 'data-testid="balance"' in (
        page := client.get(reverse("billing:transactions")).content.decode()
    )
    assert "1.234.567 ₫" in page


@pytest.mark.axes
@pytest.mark.vietnamese
def test_logging_in_brings_back_the_language_the_customer_saved(client: Client) -> None:
    """The language cookie is per browser; the saved preference follows the customer."""
    user = make_customer(username="hoa")
    Profile.objects.filter(user=user).update(language="en")

    response = client.post(reverse("login"), {"username": "hoa", "password": PASSWORD})

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"
    assert "Dashboard" in client.get(reverse("dashboard")).content.decode()


@pytest.mark.axes
def test_a_failed_login_sets_no_language(client: Client) -> None:
    make_customer(username="hoa")
    response = client.post(reverse("login"), {"username": "hoa", "password": "wrong-password"})
    assert response.status_code == 200
    assert "django_language" not in response.cookies


def test_sign_ups_from_one_address_are_limited_and_the_refused_one_creates_nothing(
    client: Client, settings: object
) -> None:
    settings.SIGNUP_RATE_LIMIT_PER_MINUTE = 2  # type: ignore[attr-defined]
    for name in ("mai", "minh"):
        assert _signup(Client(), username=name, email=f"{name}@example.com").status_code == 302

    response = _signup(client, username="my", email="my@example.com")

    assert response.status_code == 429
    assert "Too many sign-ups" in response.content.decode()
    assert not get_user_model().objects.filter(username="my").exists()


# --- issue 12: password resets limited, the language cookie like the others ---------------------


def test_password_resets_from_one_address_are_limited_and_the_refused_one_sends_nothing(
    client: Client, settings
) -> None:
    settings.PASSWORD_RESET_RATE_LIMIT_PER_MINUTE = 3
    settings.PASSWORD_RESET_PER_ACCOUNT_PER_HOUR = 100
    for n in range(3):
        make_customer(username=f"reset{n}", email=f"reset{n}@example.com")
        response = client.post(reverse("password_reset"), {"email": f"reset{n}@example.com"})
        assert response["Location"] == reverse("password_reset_done")
    make_customer(username="reset3", email="reset3@example.com")
    response = client.post(reverse("password_reset"), {"email": "reset3@example.com"})
    assert response.status_code == 429
    assert "Too many password reset requests" in response.content.decode()
    assert len(mail.outbox) == 3


@pytest.mark.parametrize(
    "spellings", [["an@example.com"] * 8, ["an@example.com", "AN@example.com"] * 4]
)
def test_password_resets_of_one_account_send_a_few_mails_not_one_per_request(
    client: Client, settings, spellings: list[str]
) -> None:
    settings.PASSWORD_RESET_RATE_LIMIT_PER_MINUTE = 100  # the per-address limit is another test
    make_customer(username="an", email="an@example.com")
    for email in spellings:
        response = client.post(reverse("password_reset"), {"email": email})
        # every answer is the same page, sent or not: it tells nobody whether the account exists
        assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == settings.PASSWORD_RESET_PER_ACCOUNT_PER_HOUR == 3


def test_the_language_cookie_is_secure_and_same_site_when_the_settings_say_so(
    client: Client, settings
) -> None:
    settings.LANGUAGE_COOKIE_SECURE = True
    settings.LANGUAGE_COOKIE_SAMESITE = "Lax"
    client.force_login(make_customer(username="giang"))
    response = client.post(
        reverse("accounts:account"), {"email": "g@example.com", "language": "en"}
    )
    cookie = response.cookies["django_language"]
    assert cookie["secure"] is True and cookie["samesite"] == "Lax"
    # and Django's own language switcher sets it the same way
    response = client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    cookie = response.cookies["django_language"]
    assert cookie["secure"] is True and cookie["samesite"] == "Lax"
