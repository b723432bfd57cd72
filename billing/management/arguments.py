"""Parsing of command-line arguments shared by the billing commands."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.management.base import CommandError

from panel.money import MONEY_PLACES


def parse_amount(text: str, *, allow_zero: bool = False) -> Decimal:
    """An amount typed by an operator: a plain number, at most two decimals, never rounded.

    Rounding would be a guess: "100000.005" is more likely a typo than a wish, so it is refused.
    """
    try:
        value = Decimal(text.strip())
        exact = value.is_finite() and value == value.quantize(MONEY_PLACES)
    except InvalidOperation:
        exact = False
    if not exact or value < 0 or (value == 0 and not allow_zero):
        raise CommandError(
            f"{text!r} is not a valid amount (a positive number of VND, at most two decimals)."
        )
    return value
