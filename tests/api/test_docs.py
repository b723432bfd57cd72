"""The API documentation page of the customer site."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from .conftest import Customer

DOCS_URL = "/api/"


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_docs_render_for_a_signed_in_customer_in_both_languages(
    client: Client, customer: Customer, language: str
) -> None:
    # given a signed-in customer who chose a language
    client.force_login(customer.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    # when the docs are opened
    response = client.get(DOCS_URL)
    # then they render in that language, with the customer's own endpoint in the examples
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert "http://testserver/api/v2" in html
    assert html.count("curl ") >= 12  # an example for every action and variant
    for action in ("balance", "services", "add", "status", "refill", "refill_status", "cancel"):
        assert f"action={action}" in html
    for field in (
        "runs",
        "interval",
        "comments",
        "username",
        "orders",
        "refills",
        "idempotency_key",
    ):
        assert f"<code>{field}</code>" in html
    # and the secret itself is never printed on the page
    assert customer.key not in html


def test_the_docs_show_an_https_endpoint_when_served_over_https(
    client: Client, customer: Customer, settings
) -> None:
    settings.ALLOWED_HOSTS = ["panel.example.com"]
    client.force_login(customer.user)
    response = client.get(DOCS_URL, secure=True, headers={"host": "panel.example.com"})
    assert "https://panel.example.com/api/v2" in response.content.decode()


def test_the_docs_need_a_signed_in_customer(client: Client, db: None) -> None:
    response = client.get(DOCS_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_navigation_links_to_the_docs(client: Client, customer: Customer) -> None:
    client.force_login(customer.user)
    assert f'href="{DOCS_URL}"' in client.get(reverse("dashboard")).content.decode()


@pytest.mark.parametrize(
    ("language", "interval", "runs", "key"),
    [
        ("en", "at most 600)", "(at least 3)", "(at most 64 characters)"),
        ("vi", "tối đa 600)", "(ít nhất 3)", "(tối đa 64 ký tự)"),
    ],
)
def test_the_docs_state_the_limits_the_checks_use(
    client: Client,
    customer: Customer,
    monkeypatch: pytest.MonkeyPatch,
    language: str,
    interval: str,
    runs: str,
    key: str,
) -> None:
    from orders import rules

    # given the shop's drip-feed limit, least runs and key length (orders.rules)
    monkeypatch.setattr(rules, "DRIPFEED_MAX_MINUTES", 600)
    monkeypatch.setattr(rules, "RUNS_MIN", 3)
    monkeypatch.setattr(rules, "IDEMPOTENCY_KEY_MAX_LENGTH", 64)
    client.force_login(customer.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = client.get(DOCS_URL).content.decode()
    # then the page states those, in the reader's language, and the API's error with them
    assert interval in html and runs in html and key in html
    assert "<code>Total time cannot exceed 600 minutes</code>" in html
    assert "1440" not in html
