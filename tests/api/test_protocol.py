"""The envelope every client relies on: request styles, authentication, errors, limits, logs."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest
from django.test import Client, RequestFactory

from accounts.models import ApiKey
from panel import ratelimit

from .conftest import API_URL, Customer, new_customer, send


def test_every_request_style_reaches_the_action(api, customer: Customer) -> None:
    # given a customer with 1,000,000 VND, asking in form POST, GET and JSON (parametrized)
    # when the balance is asked for
    answer = api("balance")
    # then the document's shape comes back
    assert answer == {"balance": "1000000.00", "currency": "VND"}


def test_a_wrong_key_is_an_error_in_json_with_http_200_in_every_style(api) -> None:
    assert api("balance", key="not-a-key") == {"error": "Invalid API key"}


def test_a_missing_key_is_an_invalid_key(client: Client, db: None, style: str) -> None:
    assert send(client, style, {"action": "balance"}) == {"error": "Invalid API key"}


def test_a_logged_in_browser_session_without_a_key_is_refused(
    client: Client, customer: Customer
) -> None:
    # given the customer signed in to the site in this browser
    client.force_login(customer.user)
    # when a request without a key is sent from it
    answer = send(client, "form", {"action": "balance"})
    # then the session counts for nothing: only the key authenticates
    assert answer == {"error": "Invalid API key"}


def test_the_key_of_a_deactivated_customer_is_refused(api, customer: Customer) -> None:
    customer.user.is_active = False
    customer.user.save(update_fields=["is_active"])
    assert api("balance") == {"error": "Invalid API key"}


def test_a_regenerated_key_replaces_the_old_one(api, customer: Customer) -> None:
    from accounts.services import api_key_regenerate

    new_key = api_key_regenerate(user=customer.user)
    assert api("balance") == {"error": "Invalid API key"}
    assert api("balance", key=new_key)["currency"] == "VND"


@pytest.mark.parametrize("action", ["", "nonsense", "balance2"])
def test_an_unknown_or_missing_action_is_an_incorrect_action(api, action: str) -> None:
    assert api(action) == {"error": "Incorrect action"}


def test_the_action_name_is_read_without_case_or_spaces(api) -> None:
    assert api(" Balance ")["balance"] == "1000000.00"


def test_unknown_extra_fields_are_ignored(api) -> None:
    assert api("balance", format="json", lang="vi", foo="bar")["balance"] == "1000000.00"


def test_a_post_needs_no_csrf_token(customer: Customer) -> None:
    client = Client(enforce_csrf_checks=True)
    assert send(client, "form", {"key": customer.key, "action": "balance"})["currency"] == "VND"


def test_the_endpoint_answers_with_and_without_a_trailing_slash(
    client: Client, customer: Customer
) -> None:
    for url in (API_URL, API_URL + "/"):
        response = client.post(url, {"key": customer.key, "action": "balance"})
        assert response.status_code == 200
        assert response.json()["balance"] == "1000000.00"


def test_a_multipart_form_is_read(client: Client, customer: Customer) -> None:
    # Django's test client (like PHP's curl with an array) posts multipart/form-data by default.
    response = client.post(API_URL, {"key": customer.key, "action": "balance"})
    assert response.json()["balance"] == "1000000.00"


def test_a_form_body_posted_without_a_content_type_is_read(
    client: Client, customer: Customer
) -> None:
    body = urlencode({"key": customer.key, "action": "balance"})
    response = client.generic("POST", API_URL, body, content_type="")
    assert response.json()["balance"] == "1000000.00"


def test_the_key_in_the_query_string_and_the_action_in_the_body_are_combined(
    client: Client, customer: Customer
) -> None:
    response = client.post(
        f"{API_URL}?{urlencode({'key': customer.key})}",
        urlencode({"action": "balance"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.json()["balance"] == "1000000.00"


def test_a_json_body_posted_as_text_is_read(client: Client, customer: Customer) -> None:
    body = json.dumps({"key": customer.key, "action": "balance"})
    response = client.post(API_URL, body, content_type="text/plain")
    assert response.json()["balance"] == "1000000.00"


@pytest.mark.parametrize("body", ["[1, 2]", "not json", '"balance"', "{"])
def test_a_json_body_that_is_not_an_object_is_an_incorrect_request(
    client: Client, db: None, body: str
) -> None:
    response = client.post(API_URL, body, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"error": "Incorrect request"}


def test_json_numbers_and_lists_are_read_as_their_text(client: Client, customer: Customer) -> None:
    # given JSON with an integer order list, as a script in another language would send it
    body = {"key": customer.key, "action": "status", "orders": [1, 2]}
    # when sent
    answer = send(client, "json", body)
    # then it means orders=1,2 (neither exists: one error each, keyed by id)
    assert answer == {"1": {"error": "Incorrect order ID"}, "2": {"error": "Incorrect order ID"}}


def test_answers_are_never_cached_by_clients_or_proxies(client: Client, customer: Customer) -> None:
    response = client.get(API_URL, {"key": customer.key, "action": "balance"})
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_unicode_is_sent_ascii_escaped_json(client: Client, customer: Customer) -> None:
    from .conftest import make_service

    make_service(name="TikTok - Tăng tim 🌎")
    response = client.get(API_URL, {"key": customer.key, "action": "services"})
    assert response.content.isascii()
    assert response.json()[0]["name"] == "TikTok - Tăng tim 🌎"


def test_using_the_key_records_when_it_was_last_used(api, customer: Customer) -> None:
    api("balance")
    assert ApiKey.objects.get(user=customer.user).last_used_at is not None


# --- rate limits ---------------------------------------------------------------------------------


def test_a_key_over_its_limit_is_answered_too_many_requests_in_json(
    client: Client, customer: Customer, settings
) -> None:
    # given a limit of 3 requests a minute per key
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    other = new_customer()
    fields = {"key": customer.key, "action": "balance"}
    # when the customer sends 4
    answers = [send(client, "form", fields) for _ in range(4)]
    # then the first 3 are answered, the 4th refused in the usual shape (HTTP 200)
    assert [a.get("error") for a in answers] == [None, None, None, "Too many requests"]
    # and another customer is not affected
    assert send(client, "form", {"key": other.key, "action": "balance"})["currency"] == "VND"


def test_an_address_guessing_keys_is_blocked_even_for_a_right_key(
    client: Client, customer: Customer, settings
) -> None:
    # given at most 2 failed keys a minute per address
    settings.API_FAILED_AUTH_PER_MINUTE = 2
    wrong = {"key": "guess", "action": "balance"}
    # when an address fails twice
    assert send(client, "form", wrong) == {"error": "Invalid API key"}
    assert send(client, "form", wrong) == {"error": "Invalid API key"}
    # then it is refused whatever it sends next, a valid key included
    assert send(client, "form", wrong) == {"error": "Too many requests"}
    assert send(client, "form", {"key": customer.key, "action": "balance"}) == {
        "error": "Too many requests"
    }
    # while another address is not affected
    other_address = Client(REMOTE_ADDR="198.51.100.7")
    assert (
        send(other_address, "form", {"key": customer.key, "action": "balance"})["currency"] == "VND"
    )


def test_a_blocked_address_costs_no_sql_query(
    client: Client, db: None, settings, django_assert_num_queries
) -> None:
    settings.API_FAILED_AUTH_PER_MINUTE = 1
    send(client, "form", {"key": "guess", "action": "balance"})
    with django_assert_num_queries(0):
        assert send(client, "form", {"key": "guess", "action": "balance"}) == {
            "error": "Too many requests"
        }


def test_x_forwarded_for_is_ignored_unless_a_proxy_is_trusted(settings) -> None:
    factory = RequestFactory()
    request = factory.get(API_URL, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    settings.TRUSTED_PROXIES = []
    assert ratelimit.client_address(request) == "10.0.0.1"
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    assert ratelimit.client_address(request) == "203.0.113.9"


def test_behind_a_proxy_the_address_the_proxy_saw_counts_not_what_the_client_claims(
    settings,
) -> None:
    # given one trusted proxy that appends the address it saw
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = RequestFactory().get(
        API_URL, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 5.6.7.8, 203.0.113.9"
    )
    # then the client's invented entries on the left are not believed
    assert ratelimit.client_address(request) == "203.0.113.9"


def test_a_forwarded_for_that_is_not_an_address_falls_back_to_the_peer(settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    request = RequestFactory().get(API_URL, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="x" * 500)
    assert ratelimit.client_address(request) == "10.0.0.1"


def test_rotating_a_spoofed_forwarded_for_does_not_escape_the_failed_key_limit(
    client: Client, db: None, settings
) -> None:
    settings.API_FAILED_AUTH_PER_MINUTE = 2
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # the test client's address: the proxy
    answers = [
        send(
            client,
            "form",
            {"key": "guess", "action": "balance"},
            **{"X-Forwarded-For": f"10.9.9.{n}, 203.0.113.9"},
        )
        for n in range(3)
    ]
    assert answers[-1] == {"error": "Too many requests"}


def test_a_limit_of_zero_switches_it_off(client: Client, customer: Customer, settings) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    for _ in range(5):
        assert send(client, "form", {"key": customer.key, "action": "balance"})["currency"] == "VND"


def test_the_fixed_window_counter_counts_and_refuses_over_the_limit(db: None) -> None:
    assert [ratelimit.hit("unit-test", limit=2) for _ in range(3)] == [True, True, False]
    assert ratelimit.count("unit-test") == 3
    assert ratelimit.exceeded("unit-test", limit=3)


# --- keys never logged ---------------------------------------------------------------------------


def test_the_key_never_reaches_a_log_line_of_a_failing_request(
    client: Client,
    customer: Customer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an action that fails inside (a bug, a database outage)
    from panel import api_v2

    def explode(**kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(api_v2.billing, "wallet_balance", explode)
    caplog.set_level(logging.DEBUG)
    # when requests carrying the key in the query string fail in every way we know
    query = urlencode({"key": customer.key, "action": "balance"})
    failing = client.get(f"{API_URL}?{query}")
    wrong = client.get(f"{API_URL}?{urlencode({'key': customer.key + 'x', 'action': 'balance'})}")
    missing = client.get(f"/api/v2/nowhere?{query}")  # a 404, logged by django.request
    # then the clients got JSON errors (the 404 is not ours)
    assert failing.status_code == 200
    assert failing.json() == {"error": "Internal error, try again later"}
    assert wrong.json() == {"error": "Invalid API key"}
    assert missing.status_code == 404
    # and the failures were logged, without the key anywhere in any record
    assert any(r.levelno >= logging.ERROR and r.exc_info for r in caplog.records)
    assert any("invalid key" in r.getMessage() for r in caplog.records)
    assert any("Not Found" in r.getMessage() for r in caplog.records)
    # (the project's handlers render the message and the traceback, nothing else)
    text = caplog.text + "".join(
        r.getMessage() + logging.Formatter().format(r) for r in caplog.records
    )
    assert customer.key not in text
    assert customer.key[:16] not in text


def test_an_internal_error_is_answered_in_json_with_http_200(
    client: Client, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from panel import api_v2

    monkeypatch.setattr(api_v2.billing, "wallet_balance", lambda **kw: 1 / 0)
    response = client.post(API_URL, {"key": customer.key, "action": "balance"})
    assert response.status_code == 200
    assert json.loads(response.content) == {"error": "Internal error, try again later"}


@pytest.mark.redis
def test_the_counters_work_on_the_shared_redis_cache_of_production(
    settings, redis_url: str
) -> None:
    # given the cache production uses (shared by every web worker)
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }
    from django.core.cache import cache

    cache.delete_many([ratelimit._window_key("redis-test")])
    # then the window counts atomically and refuses over the limit
    assert [ratelimit.hit("redis-test", limit=2) for _ in range(3)] == [True, True, False]
    assert ratelimit.exceeded("redis-test", limit=2)
    cache.delete_many([ratelimit._window_key("redis-test")])


def test_a_new_minute_starts_a_new_window(
    client: Client, customer: Customer, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    fields = {"key": customer.key, "action": "balance"}
    assert "balance" in send(client, "form", fields)
    assert send(client, "form", fields) == {"error": "Too many requests"}
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_800_000_030.0 + 60)
    assert "balance" in send(client, "form", fields)
