"""Login lockout (django-axes): failed logins are counted per username and client address, on
the customer login and the admin login, through real POSTs to the real views."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from panel.security import client_ip
from tests.factories import PASSWORD

from .conftest import new_customer, new_staff

pytestmark = [pytest.mark.axes, pytest.mark.django_db]

LIMIT = 3


@pytest.fixture(autouse=True)
def _small_limit(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = LIMIT


def login(client: Client, username: str, password: str, *, url: str | None = None, **meta: str):  # type: ignore[no-untyped-def]
    return client.post(
        url or reverse("login"), {"username": username, "password": password}, **meta
    )


def test_the_customer_login_locks_a_username_from_one_address_after_the_failure_limit() -> None:
    # given a customer
    new_customer("lan")
    client = Client()
    # when a guesser fails LIMIT times from one address
    for _ in range(LIMIT - 1):
        response = login(client, "lan", "wrong-password")
        assert response.status_code == 200  # the form again, with its error
    assert login(client, "lan", "wrong-password").status_code == 429  # the last straw
    # then even the right password is refused from that address, with the lockout page
    response = login(client, "lan", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert 'data-testid="lockout"' in page
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f'data-cooloff-minutes="{minutes}"' in page


def test_the_real_customer_from_another_address_can_still_log_in_during_a_lockout() -> None:
    # given a username locked out from one address
    new_customer("minh")
    guesser = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(LIMIT):
        login(guesser, "minh", "wrong-password")
    assert login(guesser, "minh", PASSWORD).status_code == 429
    # when the customer logs in from their own address
    customer = Client(REMOTE_ADDR="203.0.113.50")
    response = login(customer, "minh", PASSWORD)
    # then they are in: locking by username alone would let anyone lock anyone out
    assert response.status_code == 302
    assert customer.session["_auth_user_id"]


def test_a_success_before_the_limit_starts_the_count_again() -> None:
    new_customer("hoa")
    client = Client()
    for _ in range(LIMIT - 1):
        login(client, "hoa", "wrong-password")
    assert login(client, "hoa", PASSWORD).status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):
        assert login(client, "hoa", "wrong-password").status_code == 200
    assert login(client, "hoa", PASSWORD).status_code == 302


def test_the_admin_login_is_locked_out_the_same_way() -> None:
    # given a staff member and the admin login
    new_staff("boss", is_superuser=True)
    url = reverse("admin:login")
    client = Client()
    for _ in range(LIMIT - 1):
        assert login(client, "boss", "wrong-password", url=url).status_code == 200
    assert login(client, "boss", "wrong-password", url=url).status_code == 429
    # then the right password is refused too
    response = login(client, "boss", PASSWORD, url=url)
    assert response.status_code == 429
    assert 'data-testid="lockout"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failures_on_the_admin_login_and_the_customer_login_add_up() -> None:
    new_staff("chief")
    client = Client()
    login(client, "chief", "wrong", url=reverse("admin:login"))
    for _ in range(LIMIT - 1):
        login(client, "chief", "wrong")
    assert login(client, "chief", PASSWORD).status_code == 429


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw_not_one_the_client_invents(
    settings: Any,
) -> None:
    # given one proxy in front of the app, which appends the address it saw
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    new_customer("tuan")
    client = Client(REMOTE_ADDR="10.0.0.2")  # the proxy
    # when a guesser sends a new made-up X-Forwarded-For entry with every guess
    for n in range(LIMIT):
        login(client, "tuan", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.99")
    # then they are still locked out: the proxy's entry (right-most) is what counts
    response = login(client, "tuan", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200, 198.51.100.99")
    assert response.status_code == 429
    # and a customer behind the same proxy, from another address, is not
    response = login(client, "tuan", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("trusted", "meta", "expected"),
    [
        ([], {"REMOTE_ADDR": "203.0.113.1", "HTTP_X_FORWARDED_FOR": "192.0.2.1"}, "203.0.113.1"),
        (
            ["10.0.0.2"],
            {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "192.0.2.1, 203.0.113.9"},
            "203.0.113.9",
        ),
        (
            ["10.0.0.0/24"],
            {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "192.0.2.1, 203.0.113.9, 10.0.0.3"},
            "203.0.113.9",
        ),
        (
            ["10.0.0.2"],
            {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "not-an-address"},
            "10.0.0.2",
        ),
        # a peer that is not a trusted proxy chooses nothing, however it dresses the request
        (
            ["10.0.0.2"],
            {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "192.0.2.1"},
            "198.51.100.7",
        ),
        ([], {"REMOTE_ADDR": ""}, None),
    ],
)
def test_the_login_lockout_and_the_api_limits_agree_on_the_client_address(
    rf: Any, settings: Any, trusted: list[str], meta: dict[str, str], expected: str | None
) -> None:
    from panel import ratelimit

    settings.TRUSTED_PROXIES = trusted
    request = rf.get("/", **meta)
    assert client_ip(request) == expected
    if expected is not None:
        assert ratelimit.client_address(request) == expected
