"""The pure rules of automatic top-ups, without a database: Casso's signature (its own published
test vector), finding codes in messy bank text, bonus tiers, deposit codes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from billing.deposits import (
    CODE_ALPHABET,
    bonus_for,
    casso_signature,
    find_codes,
    new_deposit_code,
    normalize_content,
    parse_bonus_tiers,
    parse_casso_header,
    validate_prefix,
)

# From Casso's own sample (../shared/bank-webhooks.md).
CASSO_KEY = "mgExMrjj4i7a1p8Cs6LmFbpCd8lbw4sSX4LZXPag7TKazeIogtR90tvWYTkwQbvs"
CASSO_BODY = (
    '{"error":0,"data":{"id":0,"reference":"MA_GIAO_DICH_THU_NGHIEM",'
    '"description":"giao dich thu nghiem","amount":599000,"runningBalance":25000000,'
    '"transactionDateTime":"2024-10-03 15:06:37","accountNumber":"88888888",'
    '"bankName":"VPBank","bankAbbreviation":"VPB","virtualAccountNumber":"",'
    '"virtualAccountName":"","counterAccountName":"NGUYEN VAN A",'
    '"counterAccountNumber":"8888888888","counterAccountBankId":"970415",'
    '"counterAccountBankName":"VietinBank"}}'
)
CASSO_HEADER = (
    "t=1727948258788,v1=ed0a4bd2e826d5cb69988cdb141e6c1a080e21f3b57eb72cd78192220042b9e7dde0868fc6"
    "67faea8e224900fa7904e7c88dfa098032fb2d6b6996856e8b7ff3"
)


def test_cassos_published_test_vector_verifies() -> None:
    parsed = parse_casso_header(CASSO_HEADER)
    assert parsed is not None
    timestamp, signature = parsed

    assert casso_signature(key=CASSO_KEY, timestamp=timestamp, payload=json.loads(CASSO_BODY)) == (
        signature
    )


def test_cassos_vector_fails_with_one_changed_digit_or_another_key() -> None:
    timestamp, signature = parse_casso_header(CASSO_HEADER)  # type: ignore[misc]
    body = json.loads(CASSO_BODY)
    body["data"]["amount"] = 599001
    assert casso_signature(key=CASSO_KEY, timestamp=timestamp, payload=body) != signature
    original = json.loads(CASSO_BODY)
    assert casso_signature(key="x" + CASSO_KEY[1:], timestamp=timestamp, payload=original) != (
        signature
    )
    later = str(int(timestamp) + 1)
    assert casso_signature(key=CASSO_KEY, timestamp=later, payload=original) != signature


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=" + "a" * 128, "t=1,v1=xyz"])
def test_a_malformed_casso_header_is_not_a_signature(header: str) -> None:
    assert parse_casso_header(header) is None


@pytest.mark.parametrize(
    "content",
    [
        "NT7QX4MP",
        "nt7qx4mp",  # the bank lower-cased it
        "NT-7QX4-MP",  # the customer typed dashes
        "MBVCB.3381.nt7qx4mp.CT tu 0123456789 NGUYEN VAN A toi 0987",
        "MBVCB3381NT7QX4MPCT TU 0123456789",  # punctuation stripped, words glued on both sides
        "Nạp tiền NT 7QX4MP cảm ơn",
    ],
)
def test_a_deposit_code_is_found_however_the_bank_mangled_the_text(content: str) -> None:
    assert "NT7QX4MP" in find_codes(content, prefix="NT").deposits


def test_a_request_code_is_found_in_lower_case_with_extra_words() -> None:
    found = find_codes("ck nap-abcd2345 tu vcb", prefix="NT")
    assert found.requests == ["NAPABCD2345"]


def test_codes_are_not_glued_across_separate_fields() -> None:
    assert find_codes("xx NT7QX\n4MP yy", prefix="NT").deposits == []


def test_normalizing_removes_diacritics_case_and_punctuation() -> None:
    assert normalize_content("Đặng Văn-Ân, nạp 100.000đ") == "DANGVANANNAP100000D"


def test_deposit_codes_use_the_prefix_and_only_unambiguous_characters() -> None:
    codes = {new_deposit_code("NT") for _ in range(200)}
    assert len(codes) > 190
    for code in codes:
        assert code.startswith("NT") and len(code) == 8
        assert set(code[2:]) <= set(CODE_ALPHABET)
        assert not set(code[2:]) & set("01OIL")


@pytest.mark.parametrize("prefix", ["", "nt", "NAP", "NA", "N", "NAPX", "TOOLONG", "N1"])
def test_a_prefix_that_could_be_mistaken_or_is_not_letters_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError):
        validate_prefix(prefix)


def test_bonus_tiers_pick_the_highest_tier_reached() -> None:
    tiers = parse_bonus_tiers("5000000:5, 1000000:3%")
    assert bonus_for(Decimal("999999"), tiers) == Decimal("0.00")
    assert bonus_for(Decimal("1000000"), tiers) == Decimal("30000.00")
    assert bonus_for(Decimal("4999999"), tiers) == Decimal("149999.97")
    assert bonus_for(Decimal("5000000"), tiers) == Decimal("250000.00")
    assert bonus_for(Decimal("5000000"), []) == Decimal("0.00")


@pytest.mark.parametrize("raw", ["1000000", "x:3", "1000000:0", "1000000:101", "1:3,1:4"])
def test_malformed_bonus_tiers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_bonus_tiers(raw)
