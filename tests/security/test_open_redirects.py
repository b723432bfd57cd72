"""Open redirects: a `next` pointing away from the site is ignored on login, logout, the admin
login, the language switch and the order actions; one pointing inside the site is followed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.http import HttpResponseRedirect
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

from .conftest import World, logged_in, new_customer, new_staff

pytestmark = pytest.mark.django_db

EVIL = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "https:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "http://testserver@evil.example/",
    "https://evil.example\\@testserver/",
    "javascript:alert(1)",
    " https://evil.example/",
    "https%3A%2F%2Fevil.example%2F",
]


def assert_stays_on_site(response: Any) -> None:
    """Where a browser would go: the Location resolved against the page, backslashes read as
    slashes and surrounding blanks dropped, as browsers do."""
    assert response.status_code == 302
    location = response["Location"].strip().replace("\\", "/")
    target = urlsplit(urljoin("http://testserver/accounts/login/", location))
    assert target.scheme == "http" and target.netloc == "testserver", response["Location"]


@pytest.mark.parametrize("target", EVIL)
def test_login_ignores_a_next_that_leaves_the_site(target: str) -> None:
    new_customer("an")
    response = Client().post(
        reverse("login"), {"username": "an", "password": PASSWORD, "next": target}
    )
    assert_stays_on_site(response)


def test_login_follows_a_next_inside_the_site() -> None:
    new_customer("an")
    response = Client().post(
        reverse("login"), {"username": "an", "password": PASSWORD, "next": "/orders/"}
    )
    assert response["Location"] == "/orders/"


@pytest.mark.parametrize("target", EVIL)
def test_logout_ignores_a_next_that_leaves_the_site(target: str) -> None:
    client = logged_in(new_customer().user)
    for response in (
        client.post(reverse("logout"), {"next": target}),
        logged_in(new_customer().user).post(f"{reverse('logout')}?next={target}"),
    ):
        if response.status_code == 200:  # the "you are logged out" page: no redirect at all
            continue
        assert_stays_on_site(response)


@pytest.mark.parametrize("target", EVIL[:4])
def test_the_admin_login_ignores_a_next_that_leaves_the_site(target: str, settings: Any) -> None:
    settings.ADMIN_REQUIRE_2FA = False  # the redirect is the subject, not the second factor
    new_staff("boss", is_superuser=True)
    response = Client().post(
        reverse("admin:login"), {"username": "boss", "password": PASSWORD, "next": target}
    )
    assert_stays_on_site(response)


@pytest.mark.parametrize("target", EVIL[:4])
def test_the_language_switch_ignores_a_next_that_leaves_the_site(target: str) -> None:
    response = Client().post(reverse("set_language"), {"language": "en", "next": target})
    assert_stays_on_site(response)


@pytest.mark.parametrize("action", ["orders:refill", "orders:cancel"])
@pytest.mark.parametrize("target", EVIL[:4])
def test_the_order_actions_ignore_a_next_that_leaves_the_site(
    world: World, action: str, target: str
) -> None:
    response = logged_in(world.a.user).post(
        reverse(action, args=[world.order.pk]), {"next": target}
    )
    assert_stays_on_site(response)
    assert response["Location"] == reverse("orders:detail", args=[world.order.pk])


@pytest.mark.parametrize(
    "location", ["https://evil.example/", "//evil.example/x", "/\\evil.example/"]
)
def test_the_check_catches_a_redirect_off_the_site(location: str) -> None:
    response = HttpResponseRedirect("/")
    response["Location"] = location
    with pytest.raises(AssertionError):
        assert_stays_on_site(response)
