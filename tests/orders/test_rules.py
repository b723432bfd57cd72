"""The pure rules: status words, refund arithmetic, input checks. No database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders import rules
from panel.numbers import parse_id, parse_int


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Pending", "Pending"),
        ("pending ", "Pending"),
        ("In progress", "In progress"),
        ("In Progress", "In progress"),
        ("inprogress", "In progress"),
        ("IN_PROGRESS", "In progress"),
        ("in-progress", "In progress"),
        ("Processing", "Processing"),
        ("Completed", "Completed"),
        ("complete", "Completed"),
        ("Partial", "Partial"),
        ("Canceled", "Canceled"),
        ("Cancelled", "Canceled"),
        ("CANCELED", "Canceled"),
        ("Active", "In progress"),
        ("Stuck in queue", None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_upstream_status_words_are_normalised_defensively(
    word: object, expected: str | None
) -> None:
    assert rules.normalize_status(word) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Pending", "Pending"),
        ("In Progress", "In progress"),
        ("completed", "Completed"),
        ("Rejected", "Rejected"),
        ("Whatever", None),
    ],
)
def test_refill_status_words_are_normalised(word: str, expected: str | None) -> None:
    assert rules.normalize_refill_status(word) == expected


@pytest.mark.parametrize(
    ("message", "refill_taken", "cancel_taken"),
    [
        ("Refill request already submitted", True, False),
        ("refill request already submitted.", True, False),
        ("Refill_is-currently running", True, False),
        ("The cancellation request was submitted earlier", False, True),
        ("THE CANCELLATION REQUEST WAS SUBMITTED EARLIER!", False, True),
        ("Error: Refill request already submitted", False, False),
        ("Refill request rejected", False, False),
        ("", False, False),
        (None, False, False),
    ],
)
def test_an_upstream_that_already_has_a_request_is_recognised_by_its_words(
    message: str | None, refill_taken: bool, cancel_taken: bool
) -> None:
    assert rules.is_refill_already_taken(message) is refill_taken
    assert rules.is_cancel_already_taken(message) is cancel_taken


@pytest.mark.parametrize(
    "message",
    [
        "Insufficient balance",
        "insufficient  funds",
        "INSUFFICIENT BALANCE.",
        "Not enough funds on balance",
        "Số dư không đủ",
    ],
)
def test_out_of_funds_refusals_are_recognised_in_any_case(message: str) -> None:
    assert rules.is_upstream_out_of_funds(message)


@pytest.mark.parametrize("message", ["Incorrect link", "Quantity less than minimal 20", ""])
def test_other_refusals_are_not_taken_for_out_of_funds(message: str) -> None:
    assert not rules.is_upstream_out_of_funds(message)


def test_partial_refund_is_remains_times_the_unit_price_the_customer_paid() -> None:
    # given 1000 units charged 5550.00, 400 not delivered
    refund = rules.refund_for_remains(charge=Decimal("5550.00"), remains=400, total_quantity=1000)
    # then 40% of the charge comes back
    assert refund == Decimal("2220.00")


def test_partial_refund_clamps_remains_to_the_quantity() -> None:
    assert rules.refund_for_remains(
        charge=Decimal("100.00"), remains=5000, total_quantity=1000
    ) == Decimal("100.00")
    assert rules.refund_for_remains(
        charge=Decimal("100.00"), remains=-5, total_quantity=1000
    ) == Decimal("0.00")


def test_partial_refund_rounds_half_up_once() -> None:
    # 10.00 x 1 / 3 = 3.333.. -> 3.33; 0.05 x 1/2 = 0.025 -> 0.03
    assert rules.refund_for_remains(
        charge=Decimal("10.00"), remains=1, total_quantity=3
    ) == Decimal("3.33")
    assert rules.refund_for_remains(charge=Decimal("0.05"), remains=1, total_quantity=2) == Decimal(
        "0.03"
    )


@given(
    charge=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000000"), places=2),
    total=st.integers(min_value=1, max_value=10_000_000),
    remains=st.integers(min_value=-100, max_value=20_000_000),
)
def test_a_partial_refund_is_never_negative_nor_more_than_the_charge(
    charge: Decimal, total: int, remains: int
) -> None:
    refund = rules.refund_for_remains(charge=charge, remains=remains, total_quantity=total)
    assert Decimal("0") <= refund <= charge
    assert refund == refund.quantize(Decimal("0.01"))


@given(
    charge=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2),
    total=st.integers(min_value=1, max_value=100_000),
    a=st.integers(min_value=0, max_value=100_000),
    b=st.integers(min_value=0, max_value=100_000),
)
def test_more_remains_never_refund_less(charge: Decimal, total: int, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert rules.refund_for_remains(
        charge=charge, remains=low, total_quantity=total
    ) <= rules.refund_for_remains(charge=charge, remains=high, total_quantity=total)


def test_dripfeed_remains_follow_what_the_runs_delivered() -> None:
    # given 4 runs of 100: one Completed, one Partial with 30 left, one Canceled, one never started
    children = [(0, "Completed"), (30, "Partial"), (100, "Canceled")]
    # then 100 + 70 were delivered out of 400
    assert rules.dripfeed_remains(runs=4, quantity=100, children=children) == 230


def test_dripfeed_remains_count_an_open_run_by_its_remains_and_unknown_as_undelivered() -> None:
    assert (
        rules.dripfeed_remains(runs=2, quantity=100, children=[(40, "In progress"), (None, None)])
        == 140
    )


def test_forward_backoff_grows_exponentially_and_is_capped() -> None:
    waits = [rules.forward_backoff(n) for n in range(1, 10)]
    assert waits[:4] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=8),
    ]
    assert max(waits) == rules.BACKOFF_CAP
    assert waits == sorted(waits)


@pytest.mark.parametrize(
    ("link", "ok"),
    [
        ("https://tiktok.com/@user/video/123", True),
        ("http://example.com", True),
        ("HTTPS://Example.com/x?y=1", True),
        ("ftp://example.com/file", False),
        ("javascript:alert(1)", False),
        ("https://", False),
        ("example.com/no-scheme", False),
        ("https://exa mple.com", False),
        ("https://example.com/\n", False),
        ("https://example.com/" + "a" * 481, False),
        ("", False),
    ],
)
def test_only_sane_http_links_are_accepted(link: str, ok: bool) -> None:
    assert rules.is_valid_link(link) is ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (20, 20),
        ("20", 20),
        (" 1000 ", 1000),
        ("12.5", None),
        (12.0, None),
        ("1e3", None),
        (True, None),
        (None, None),
        ("", None),
        ("abc", None),
    ],
)
def test_integers_must_be_integers(value: object, expected: int | None) -> None:
    assert parse_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        ("12", 12),
        ("+12", 12),
        (" 12\t", 12),
        ("\u00a012\u3000", 12),  # any whitespace around, as str.strip() sees it
        ("9" * 18, int("9" * 18)),  # every 18-digit id fits a 64-bit column
        ("1" + "0" * 18, None),
        ("0", None),
        ("-3", None),
        (0, None),
        ("1.5", None),
        ("１２", None),
        ("١٢", None),
        ("1 2", None),
        (False, None),
    ],
)
def test_ids_follow_the_integer_rule_and_are_positive(value: object, expected: int | None) -> None:
    assert parse_id(value) == expected
    if expected is not None:
        assert parse_int(value) == expected


def test_comment_lines_drop_empty_lines_and_trim() -> None:
    assert rules.comment_lines("  hay quá \r\n\n\nCảm ơn 👍\r  ") == ["hay quá", "Cảm ơn 👍"]


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("commenter_name", True),
        ("nguyễn.văn-a", True),
        ("a b", True),
        ("", False),
        ("a  b", False),
        ("<script>", False),
        ("x" * 101, False),
    ],
)
def test_usernames_are_bounded_with_a_sane_charset(name: str, ok: bool) -> None:
    assert rules.is_valid_username(name) is ok


def test_the_fingerprint_depends_on_every_parameter() -> None:
    base = rules.request_fingerprint(service="1", link="https://a.b", quantity="100")
    assert base == rules.request_fingerprint(quantity="100", link="https://a.b", service="1")
    assert base != rules.request_fingerprint(service="1", link="https://a.b", quantity="101")
