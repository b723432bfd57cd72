"""One set of limits: the check, its refusal (API English and the page's words) and the form's
help text all read the same constant of `orders.rules`, so changing it changes all of them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from orders import rules
from orders.errors import _REJECTIONS, OrderRejected
from orders.forms import MassOrderForm, OrderForm
from orders.mass import orders_preview_mass
from orders.validation import check_idempotency_key, check_order

LINK = "https://tiktok.com/@user/video/123"


def _check(catalog: Any, upstream_service: int, **params: Any) -> OrderRejected:
    fields = {"link": LINK, "quantity": 100, "comments": None, "username": None}
    fields.update({"runs": None, "interval": None, **params})
    with pytest.raises(OrderRejected) as refused:
        check_order(service_id=catalog[upstream_service].pk, **fields)
    return refused.value


def test_the_dripfeed_time_limit_is_one_constant_for_check_refusal_and_help_text(
    catalog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the shop allows drip-feeds of at most 600 minutes
    monkeypatch.setattr(rules, "DRIPFEED_MAX_MINUTES", 600)
    # then 10 runs every 61 minutes are refused, in both voices, with the new limit
    refused = _check(catalog, 102, runs=10, interval=61)
    assert refused.code == "total_time"
    assert refused.message == "Total time cannot exceed 600 minutes"
    assert refused.display == "Runs x interval must not exceed 600 minutes (10 hours)."
    # and the form says the same limit
    assert str(OrderForm().fields["interval"].help_text) == (
        "Minutes between runs; runs x interval at most 600."
    )
    # while 10 runs every 60 minutes pass
    assert (
        check_order(
            service_id=catalog[102].pk,
            link=LINK,
            quantity=100,
            comments=None,
            username=None,
            runs=10,
            interval=60,
        ).runs
        == 10
    )


def test_the_least_number_of_runs_is_one_constant_for_check_refusal_and_help_text(
    catalog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "RUNS_MIN", 3)
    refused = _check(catalog, 102, runs=2, interval=10)
    assert refused.code == "runs"
    assert refused.display == "Drip-feed needs at least 3 runs."
    assert str(OrderForm().fields["runs"].help_text) == (
        "How many times the quantity is delivered (at least 3)."
    )


def test_the_link_and_username_lengths_are_stated_from_the_rules(
    catalog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "LINK_MAX_LENGTH", len(LINK) - 1)
    refused = _check(catalog, 101)
    assert refused.code == "link"
    assert f"at most {len(LINK) - 1} characters" in refused.display


def test_the_mass_order_line_limit_is_one_constant_for_check_refusal_and_help_text(
    customer: Any, catalog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "MASS_MAX_LINES", 2)
    line = f"{catalog[101].pk}|{LINK}|100"
    assert orders_preview_mass(user=customer, text=f"{line}\n{line}").valid == 2
    (refused,) = orders_preview_mass(user=customer, text=f"{line}\n{line}\n{line}").lines
    assert refused.display == "At most 2 orders at a time."
    assert "(at most 2 lines)" in str(MassOrderForm().fields["orders"].help_text)


def test_help_texts_follow_the_active_language() -> None:
    from django.utils import translation

    with translation.override("vi"):
        text = str(OrderForm().fields["interval"].help_text)
    assert (
        text == f"Số phút giữa các lượt; số lượt x khoảng cách tối đa {rules.DRIPFEED_MAX_MINUTES}."
    )


@pytest.mark.parametrize(
    "limit",
    [
        rules.LINK_MAX_LENGTH,
        rules.COMMENT_MAX_LENGTH,
        rules.COMMENTS_MAX_LINES,
        rules.USERNAME_MAX_LENGTH,
        rules.DRIPFEED_MAX_MINUTES,
        rules.MASS_MAX_LINES,
    ],
)
def test_no_refusal_types_a_limit_of_the_rules_as_a_number(limit: int) -> None:
    typed = re.compile(rf"(?<![\d.]){limit}(?![\d.])")
    for code, (api, display, _field) in _REJECTIONS.items():
        assert not typed.search(api), code
        assert not typed.search(str(display)), code


def test_an_idempotency_key_is_trimmed_and_bounded_by_the_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert check_idempotency_key(None) is None
    assert check_idempotency_key("   ") is None
    assert check_idempotency_key(" k-1 ") == "k-1"
    assert check_idempotency_key("k" * rules.IDEMPOTENCY_KEY_MAX_LENGTH) is not None
    monkeypatch.setattr(rules, "IDEMPOTENCY_KEY_MAX_LENGTH", 4)
    assert check_idempotency_key("abcd") == "abcd"
    with pytest.raises(OrderRejected) as refused:
        check_idempotency_key("abcde")
    assert refused.value.message == "Incorrect idempotency key"
