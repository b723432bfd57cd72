"""Odd and hostile input at the API's edge, over real HTTP against a running panel: every case
gets the protocol's plain `{"error": ...}`, charges nothing and logs no ERROR traceback."""

from __future__ import annotations

import http.client
import json
import logging
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from billing.services import wallet_balance
from orders.models import Order

from .conftest import make_service, new_customer

pytestmark = pytest.mark.django_db(transaction=True)

LINK = "https://tiktok.com/@user/video/123"
FORM = "application/x-www-form-urlencoded"


def _request(
    live_server: Any, method: str, *, query: str = "", body: bytes = b"", content_type: str = ""
) -> tuple[int, dict[str, str], bytes]:
    url = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Content-Type": content_type} if content_type else {}
    path = "/api/v2" + (f"?{query}" if query else "")
    connection.request(method, path, body=body or None, headers=headers)
    response = connection.getresponse()
    answer = (response.status, dict(response.getheaders()), response.read())
    connection.close()
    return answer


def _json(live_server: Any, payload: dict[str, Any]) -> Any:
    status, _headers, body = _request(
        live_server, "POST", body=json.dumps(payload).encode(), content_type="application/json"
    )
    assert status == 200
    return json.loads(body)


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def test_json_true_is_not_service_one_nor_a_quantity_of_one(live_server, caplog) -> None:
    # given a service for sale (`true` was read as 1: whatever its id, it must name none), and a
    # customer with money
    customer = new_customer(balance=1_000_000)
    service = make_service(min_quantity=1, max_quantity=1000)
    # when booleans are sent where numbers belong
    as_service = _json(
        live_server,
        {"key": customer.key, "action": "add", "service": True, "link": LINK, "quantity": 10},
    )
    as_quantity = _json(
        live_server,
        {
            "key": customer.key,
            "action": "add",
            "service": service.pk,
            "link": LINK,
            "quantity": True,
        },
    )
    # then both are refused, nothing is ordered or charged
    assert as_service == {"error": "Incorrect service ID"}
    assert "error" in as_quantity
    assert not Order.objects.exists()
    assert wallet_balance(user=customer.user) == Decimal("1000000")
    assert _errors(caplog) == []


@pytest.mark.parametrize("digits", ["١٠٠", "１００", "१००", "100\u0660"])
def test_quantities_in_other_scripts_digits_are_refused_like_service_ids(
    live_server, digits: str
) -> None:
    customer = new_customer(balance=1_000_000)
    service = make_service(min_quantity=10, max_quantity=1000)
    form = {"key": customer.key, "action": "add", "service": service.pk, "link": LINK}
    for style in ("form", "json"):
        fields = {**form, "quantity": digits}
        if style == "form":
            status, _headers, body = _request(
                live_server,
                "POST",
                body=urlencode(fields).encode(),
                content_type="application/x-www-form-urlencoded",
            )
            answer = json.loads(body)
        else:
            answer = _json(live_server, fields)
        assert "error" in answer, (style, answer)
    # the same rule for a service id written so
    assert _json(live_server, {**form, "service": "１", "quantity": 100}) == {
        "error": "Incorrect service ID"
    }
    assert not Order.objects.exists()
    assert wallet_balance(user=customer.user) == Decimal("1000000")


@pytest.mark.parametrize("method", ["HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_post_act_other_methods_get_405_and_change_nothing(
    live_server, method: str
) -> None:
    customer = new_customer(balance=1_000_000)
    service = make_service(min_quantity=10, max_quantity=1000)
    query = urlencode(
        {"key": customer.key, "action": "add", "service": service.pk, "link": LINK, "quantity": 100}
    )
    status, headers, body = _request(
        live_server,
        method,
        query=query,
        body=query.encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert status == 405
    assert set(headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    if method != "HEAD":
        assert "error" in json.loads(body)
    assert not Order.objects.exists()
    assert wallet_balance(user=customer.user) == Decimal("1000000")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "application/json"),
        ("key=k&action=balance".encode("utf-16"), f"{FORM}; charset=utf-16"),
        ("key=k&action=bàlance".encode("latin-1"), f"{FORM}; charset=latin-1"),
        (
            b'--x\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--x--\r\n',
            "multipart/form-data",
        ),
    ],
    ids=["deep-array", "deep-object", "utf-16-form", "latin-1-form", "multipart-no-boundary"],
)
def test_bodies_django_cannot_read_are_bad_requests_not_internal_errors(
    live_server, caplog, body: bytes, content_type: str
) -> None:
    status, headers, answer = _request(live_server, "POST", body=body, content_type=content_type)
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(answer) == {"error": "Incorrect request"}
    assert _errors(caplog) == []
