"""VietQR (NAPAS 247) payloads for bank transfers: EMVCo merchant-presented mode, built by hand.

Pure functions, no Django: the payload is a string of TLV fields (two-digit id, two-digit
length, value) closed by a CRC16-CCITT over everything before it, "6304" included. Banking
apps in Vietnam read the account, the amount and the purpose (our transfer reference) from it,
so the customer only has to confirm.
"""

from __future__ import annotations

import re
from decimal import Decimal

VIETQR_GUID = "A000000727"  # NAPAS's application identifier
SERVICE_TO_ACCOUNT = "QRIBFTTA"  # inter-bank fund transfer 24/7 to an account
CURRENCY_VND = "704"  # ISO 4217
COUNTRY_VN = "VN"

_BIN = re.compile(r"\d{6}")
_ACCOUNT = re.compile(r"[0-9A-Za-z]{1,19}")
# The purpose travels through every bank's memo field: plain ASCII letters, digits and spaces
# are the only characters all of them keep intact.
_PURPOSE = re.compile(r"[0-9A-Za-z ]{0,25}")


def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF, no reflection), as EMVCo requires."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def tlv(tag: str, value: str) -> str:
    """One EMVCo field: the tag, the value's length in two digits, the value."""
    if len(value) > 99:
        raise ValueError(f"EMVCo field {tag} is longer than 99 characters.")
    return f"{tag}{len(value):02d}{value}"


def vietqr_payload(
    *, bank_bin: str, account: str, amount: Decimal | int | None = None, purpose: str = ""
) -> str:
    """The payload of a dynamic VietQR asking for `amount` đồng to `account` at the bank `bank_bin`.

    The amount is whole đồng (VND has no minor unit in VietQR); `purpose` is the transfer
    reference the shop matches the payment by. Raises ValueError on anything a bank would refuse.
    """
    if not _BIN.fullmatch(bank_bin):
        raise ValueError("The bank BIN must be six digits.")
    if not _ACCOUNT.fullmatch(account):
        raise ValueError("The account number must be 1 to 19 letters or digits.")
    if not _PURPOSE.fullmatch(purpose):
        raise ValueError("The purpose must be at most 25 ASCII letters, digits or spaces.")

    beneficiary = tlv("00", bank_bin) + tlv("01", account)
    merchant = tlv("00", VIETQR_GUID) + tlv("01", beneficiary) + tlv("02", SERVICE_TO_ACCOUNT)
    fields = [
        tlv("00", "01"),  # payload format indicator
        tlv("01", "12" if amount is not None else "11"),  # 12: dynamic (one payment), 11: static
        tlv("38", merchant),
        tlv("53", CURRENCY_VND),
    ]
    if amount is not None:
        value = Decimal(amount)
        if not value.is_finite() or value <= 0 or value != value.to_integral_value():
            raise ValueError("The amount must be a positive whole number of đồng.")
        fields.append(tlv("54", str(int(value))))
    fields.append(tlv("58", COUNTRY_VN))
    if purpose:
        fields.append(tlv("62", tlv("08", purpose)))
    body = "".join(fields) + "6304"
    return body + f"{crc16_ccitt(body.encode('ascii')):04X}"
