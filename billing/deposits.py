"""Pure rules of bank-transfer top-ups: deposit codes, finding codes in bank text, bonus tiers,
Casso's signature. No models, no database: tested without one (tests/billing/test_deposits.py).

Why codes are searched for, not parsed: the transfer content reaches us after the customer's
bank and ours have had their way with it. They upper- or lower-case it, drop punctuation and
diacritics, glue words together ("MBVCB.3381.NT7QX4MP.CT tu..." arrives as "MBVCB3381NT7QX4MPCT
TU...") and add their own words. So the text is reduced to A-Z and 0-9 and every place a code
could start is tried; a candidate only counts if the database knows it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from panel.money import ZERO, quantize_money

# The same alphabet as the per-request references ("NAP" + 8): no 0/O, 1/I/L, which people mix
# up reading a code aloud or off a phone screen. 31^6 ≈ 8.9e8 deposit codes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
DEPOSIT_CODE_LENGTH = 6
REQUEST_PREFIX = "NAP"
REQUEST_CODE_LENGTH = 8
_PREFIX = re.compile(r"[A-Z]{1,5}")
_REQUEST_CODE = re.compile(rf"(?=({REQUEST_PREFIX}[{CODE_ALPHABET}]{{{REQUEST_CODE_LENGTH}}}))")


def validate_prefix(prefix: str) -> str:
    """The deposit-code prefix, or ValueError: 1 to 5 capital letters that cannot be mistaken
    for the start of a request code (NAP...) or the other way round."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError("DEPOSIT_CODE_PREFIX must be 1 to 5 capital letters A-Z.")
    if prefix.startswith(REQUEST_PREFIX) or REQUEST_PREFIX.startswith(prefix):
        raise ValueError(f"DEPOSIT_CODE_PREFIX must not overlap {REQUEST_PREFIX}.")
    return prefix


def new_deposit_code(prefix: str) -> str:
    return prefix + "".join(secrets.choice(CODE_ALPHABET) for _ in range(DEPOSIT_CODE_LENGTH))


def normalize_content(text: str) -> str:
    """Bank text reduced to what survives every bank: capital A-Z and digits, nothing else.

    Diacritics are removed first (Đ/đ by hand: Unicode does not decompose it), so "nạp" and
    "NAP" read the same.
    """
    text = text.replace("Đ", "D").replace("đ", "d")
    stripped = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Z0-9]", "", stripped.upper())


@dataclass(frozen=True)
class Candidates:
    """Codes that could be in a transfer's content, in the order they appear."""

    requests: list[str]
    deposits: list[str]


def find_codes(content: str, *, prefix: str) -> Candidates:
    """Every request code and deposit code that appears anywhere in `content` (overlaps too).

    Each line is searched on its own: a provider's separate fields (content, description) are
    stored one per line, and gluing them together could forge a code across the seam.
    """
    deposit = re.compile(rf"(?=({re.escape(prefix)}[{CODE_ALPHABET}]{{{DEPOSIT_CODE_LENGTH}}}))")
    requests: list[str] = []
    deposits: list[str] = []
    for line in content.splitlines():
        text = normalize_content(line)
        requests += [m.group(1) for m in _REQUEST_CODE.finditer(text)]
        deposits += [m.group(1) for m in deposit.finditer(text)]
    return Candidates(
        requests=list(dict.fromkeys(requests)), deposits=list(dict.fromkeys(deposits))
    )


# --- bonus tiers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BonusTier:
    threshold: Decimal  # from this amount received (inclusive)
    percent: Decimal


def parse_bonus_tiers(raw: str) -> list[BonusTier]:
    """ "1000000:3,5000000:5" -> tiers ascending; ValueError on anything else. Empty: no bonus."""
    tiers = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        threshold, sep, percent = part.partition(":")
        try:
            tier = BonusTier(Decimal(threshold.strip()), Decimal(percent.strip().rstrip("%")))
        except InvalidOperation as exc:
            raise ValueError(f"Bonus tier {part!r} is not AMOUNT:PERCENT.") from exc
        if not sep or tier.threshold <= 0 or not 0 < tier.percent <= 100:
            raise ValueError(f"Bonus tier {part!r} is not AMOUNT:PERCENT (0 < PERCENT <= 100).")
        tiers.append(tier)
    tiers.sort(key=lambda t: t.threshold)
    if len({t.threshold for t in tiers}) != len(tiers):
        raise ValueError("Two bonus tiers start at the same amount.")
    return tiers


def bonus_for(amount: Decimal, tiers: Sequence[BonusTier]) -> Decimal:
    """The bonus on `amount` received: the highest tier it reaches, rounded the one way."""
    reached = [tier for tier in tiers if amount >= tier.threshold]
    if amount <= 0 or not reached:
        return ZERO
    return quantize_money(amount * reached[-1].percent / 100)


# --- Casso webhook v2 signature -----------------------------------------------------------------


def casso_signature(*, key: str, timestamp: str, payload: Any) -> str:
    """HMAC-SHA512 over "<t>.<the body as JSON, keys sorted at every depth, no spaces>".

    Casso signs with JavaScript's JSON.stringify, which writes non-ASCII characters as they
    are: hence ensure_ascii=False.
    """
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    message = f"{timestamp}.{body}".encode()
    return hmac.new(key.encode(), message, hashlib.sha512).hexdigest()


def parse_casso_header(header: str) -> tuple[str, str] | None:
    """`t=<unix ms>,v1=<hex>` -> (t, v1), or None when it is not that shape."""
    parts = dict(p.strip().partition("=")[::2] for p in header.split(",") if "=" in p)
    timestamp, signature = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or not re.fullmatch(r"[0-9a-fA-F]{128}", signature):
        return None
    return timestamp, signature.lower()
