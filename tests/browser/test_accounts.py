"""A visitor becomes a customer: sign up, log out, log in, and find their way in either language."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from accounts.models import ApiKey, Profile
from billing.models import Wallet

from .conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.axes,  # the real login lockout stays on: logins go through the real forms
    pytest.mark.vietnamese,  # the shop's real default language, as its customers see it
    pytest.mark.django_db(transaction=True),
]


def test_a_visitor_signs_up_logs_out_and_logs_in_again(open_tab: Any, sandbox: Any) -> None:
    tab = open_tab("visitor")
    page = tab.page

    # The home page asks a visitor to log in; the catalog is public.
    tab.goto("/", "home")
    assert "/accounts/login/" in page.url
    tab.goto("/services/", "catalog-empty")
    assert page.is_visible("[data-testid=catalog-count]")

    # Sign up: a mistake is shown next to its field, and nothing is created.
    tab.goto("/accounts/signup/", "signup")
    page.fill("#id_username", "lan_anh")
    page.fill("#id_email", "lan.anh@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD + "x")
    # The terms are linked from the sign-up page and must be accepted.
    assert page.locator("[data-testid=signup-terms-links] a[href='/terms/']").count() == 1
    page.check("#id_accept_terms")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#id_password2[aria-invalid=true]")
    error = page.locator("#id_password2_error, #id_password2 ~ .errorlist, .errorlist").first
    assert error.is_visible()
    tab.snap("signup-error")
    assert not get_user_model().objects.filter(username="lan_anh").exists()

    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    tab.snap("welcome-dashboard")
    assert page.is_visible(".msg.success")
    assert tab.text("[data-testid=balance]").endswith("0 ₫")
    user = get_user_model().objects.get(username="lan_anh")
    assert Wallet.objects.filter(user=user, balance=0).exists()
    assert Profile.objects.get(user=user).terms_accepted_at is not None

    # The API key is shown once, on the account page.
    tab.goto("/account/", "account-with-new-key")
    key = tab.text("[data-testid=new-api-key]")
    assert key.startswith(ApiKey.objects.get(user=user).prefix)
    tab.goto("/account/", "account")
    assert page.locator("[data-testid=new-api-key]").count() == 0
    tab.goto("/api/", "api-docs")  # for customers who script their orders
    assert "/api/" in page.url

    # Log out through the user menu, then log in again through the form.
    page.click("[data-testid=user-menu]")
    with page.expect_navigation():
        page.click("[data-testid=logout]")
    tab.snap("logged-out")
    tab.login("lan_anh")
    assert page.url.rstrip("/") == tab.base_url
    assert tab.text("[data-testid=user-menu]").endswith("lan_anh")


def test_a_wrong_password_is_refused_with_a_message(open_tab: Any, sandbox: Any) -> None:
    get_user_model().objects.create_user("minh", password=PASSWORD)
    tab = open_tab("visitor")
    tab.goto("/accounts/login/", "login")
    tab.page.fill("#id_username", "minh")
    tab.page.fill("#id_password", "not-the-password")
    tab.page.click("main form button[type=submit]")
    tab.page.wait_for_selector(".errorlist")
    tab.snap("login-refused")
    assert "/accounts/login/" in tab.page.url


def test_the_language_switches_to_english_and_back(open_tab: Any, sandbox: Any) -> None:
    tab = open_tab("visitor")
    page = tab.page
    tab.goto("/services/", "services-vi")
    assert page.get_attribute("html", "lang") == "vi"

    # The topbar's select submits itself (panel.js) and comes back to the same page.
    with page.expect_navigation():
        page.select_option("#language-select", "en")
    tab.snap("services-en")
    assert page.get_attribute("html", "lang") == "en"
    assert page.url.endswith("/services/")
    assert page.is_visible("text=Log in")

    with page.expect_navigation():
        page.select_option("#language-select", "vi")
    tab.snap("services-vi-again")
    assert page.get_attribute("html", "lang") == "vi"
