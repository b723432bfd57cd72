"""The VietQR payload: EMVCo TLV fields in NAPAS's layout, closed by a CRC16-CCITT."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.vietqr import crc16_ccitt, vietqr_payload


def _fields(payload: str) -> dict[str, str]:
    """Parse one level of EMVCo TLV (id, two-digit length, value)."""
    fields, i = {}, 0
    while i < len(payload):
        tag, length = payload[i : i + 2], int(payload[i + 2 : i + 4])
        fields[tag] = payload[i + 4 : i + 4 + length]
        i += 4 + length
    assert i == len(payload), "the lengths must account for every character"
    return fields


def test_crc16_ccitt_gives_the_standard_check_value() -> None:
    # CRC-16/CCITT-FALSE's catalogued check value for the ASCII digits 1 to 9.
    assert crc16_ccitt(b"123456789") == 0x29B1


def test_payload_matches_a_published_vietqr_byte_for_byte() -> None:
    # Given the example of the subiz/vietqr library (VietinBank, 120.000 ₫, "ung ho lu lut"),
    # when the same transfer is encoded here, then the payload, CRC included, is identical.
    payload = vietqr_payload(
        bank_bin="970415", account="0011001932418", amount=120000, purpose="ung ho lu lut"
    )
    assert payload == (
        "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
        "530370454061200005802VN62170813ung ho lu lut6304C15C"
    )


def test_payload_carries_the_bank_account_amount_and_reference_in_napas_layout() -> None:
    payload = vietqr_payload(
        bank_bin="970436", account="0123456789", amount=Decimal("250000.00"), purpose="NAPABC23XYZ"
    )

    top = _fields(payload)
    assert list(top) == ["00", "01", "38", "53", "54", "58", "62", "63"]
    assert top["00"] == "01" and top["01"] == "12"  # dynamic: for this one payment
    assert top["53"] == "704" and top["58"] == "VN" and top["54"] == "250000"
    merchant = _fields(top["38"])
    assert merchant == {"00": "A000000727", "01": "0006970436" + "01100123456789", "02": "QRIBFTTA"}
    assert _fields(merchant["01"]) == {"00": "970436", "01": "0123456789"}
    assert _fields(top["62"]) == {"08": "NAPABC23XYZ"}
    assert top["63"] == f"{crc16_ccitt(payload[:-4].encode()):04X}"


def test_payload_without_an_amount_is_static_and_has_no_amount_field() -> None:
    top = _fields(vietqr_payload(bank_bin="970436", account="0123456789"))
    assert top["01"] == "11"
    assert "54" not in top and "62" not in top


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bank_bin": "97043"},  # five digits
        {"account": "0123-456"},
        {"account": "1" * 20},
        {"purpose": "nạp tiền"},  # diacritics are mangled by some banks
        {"purpose": "X" * 26},
        {"amount": Decimal("1000.50")},  # VND in VietQR has no decimals
        {"amount": 0},
        {"amount": Decimal("NaN")},
    ],
)
def test_payload_refuses_what_a_bank_app_would_refuse(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "bank_bin": "970436",
        "account": "0123456789",
        "amount": 10000,
        "purpose": "NAP",
    }
    with pytest.raises(ValueError):
        vietqr_payload(**{**base, **kwargs})  # type: ignore[arg-type]
