"""Secrets (the upstream key, customers' API keys, passwords) never reach a log line or an
error page, whatever fails."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from orders.models import Order
from tests.factories import PASSWORD

from .conftest import World, new_customer

UPSTREAM_KEY = "upstream-secret-7f3c9a1e5b"


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    """Everything that was logged, as a handler would write it: messages and tracebacks."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


@pytest.fixture
def upstream_key(sandbox: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(sandbox, "key", UPSTREAM_KEY)
    settings.SIEULIKE_API_KEY = UPSTREAM_KEY
    return UPSTREAM_KEY


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "http_500_html"},
        {"kind": "html_200"},
        {"kind": "truncated_json", "mode": "incomplete"},
        {"kind": "raw_answer", "body": {"error": "Invalid API key"}},
        {"kind": "drop_after_accept"},
        "refused",
        "wrong key",
    ],
    ids=str,
)
def test_a_failing_upstream_call_never_logs_the_upstream_key(
    world: World,
    upstream_key: str,
    place: Callable[..., Order],
    sandbox: Any,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    fault: Any,
) -> None:
    caplog.set_level(logging.DEBUG)
    if fault == "refused":
        settings.SIEULIKE_API_URL = "http://127.0.0.1:9/api/v2"  # nothing listens there
    elif fault == "wrong key":
        sandbox.key = "the-upstream-changed-it"  # the upstream answers "Invalid API key"
    else:
        sandbox.inject_fault("add", fault.pop("kind"), **fault)
    place(world.a.user)
    assert caplog.records, "nothing was logged: the test proved nothing"
    assert upstream_key not in logged_text(caplog)


def test_api_calls_with_the_key_in_the_query_string_never_log_it(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    client = Client()
    key = world.a.key
    # a good call, a wrong key, an unknown action, a 404 beside the API, a call failing inside
    client.get(f"/api/v2?key={key}&action=balance")
    client.get(f"/api/v2?key={key}x&action=balance")
    client.get(f"/api/v2?key={key}&action=nope")
    client.get(f"/api/v3?key={key}&action=balance")

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr("billing.services.wallet_balance", broken)
    answer = client.get(f"/api/v2?key={key}&action=balance").json()
    assert answer == {"error": "Internal error, try again later"}
    text = logged_text(caplog)
    assert "the database went away" in text  # the failure was logged, with its traceback
    assert key not in text and key[:16] not in text


@pytest.mark.axes
@pytest.mark.django_db
def test_failed_logins_never_log_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    new_customer("lan")
    client = Client()
    for attempt in range(6):
        client.post(reverse("login"), {"username": "lan", "password": f"{PASSWORD}-{attempt}"})
    text = logged_text(caplog)
    assert "Locking out" in text or "login failure" in text  # axes did log the failures
    assert PASSWORD not in text


@pytest.mark.urls("tests.security.urls")
def test_a_server_error_shows_a_generic_page_without_secrets(
    db: None, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.DEBUG = False
    settings.SIEULIKE_API_KEY = UPSTREAM_KEY
    customer = new_customer()
    response = Client(raise_request_exception=False).get(f"/boom/?key={customer.key}")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Traceback" not in page and "RuntimeError" not in page and "boom" not in page
    assert UPSTREAM_KEY not in page and customer.key not in page
    # the failure is logged for the operators, by path only
    text = logged_text(caplog)
    assert "something broke" in text
    assert UPSTREAM_KEY not in text and customer.key not in text


@pytest.mark.urls("tests.security.urls")
def test_the_debug_error_page_hides_the_upstream_key(db: None, settings: Any) -> None:
    # a developer's machine (DEBUG=1) shows Django's technical page, settings included
    settings.DEBUG = True
    settings.SIEULIKE_API_KEY = UPSTREAM_KEY
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "SIEULIKE_API_KEY" in page and "RuntimeError" in page  # it is the technical page
    assert UPSTREAM_KEY not in page
    assert settings.SECRET_KEY not in page
