"""Money: one precision, one rounding rule, for the whole project.

Balances, charges and refunds are VND with two decimals (the upstream reports "100000.00");
rates are VND per 1000 units with four decimals (the upstream reports "3.7000").
Every amount passes through `quantize_money`, every rate through `quantize_rate`:
ROUND_HALF_UP, the rule a Vietnamese customer expects from a cashier.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MONEY_PLACES = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")
MONEY_MAX_DIGITS = 16
RATE_MAX_DIGITS = 14
ZERO = Decimal("0.00")


def quantize_money(value: Decimal | int | str) -> Decimal:
    """Round an amount of money to the project's precision (2 decimals, half up)."""
    return Decimal(value).quantize(MONEY_PLACES, rounding=ROUND_HALF_UP)


def quantize_rate(value: Decimal | int | str) -> Decimal:
    """Round a rate per 1000 units to the project's precision (4 decimals, half up)."""
    return Decimal(value).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def charge_for(rate_per_1000: Decimal, units: int) -> Decimal:
    """What `units` cost at `rate_per_1000`, never zero for a positive quantity at a positive rate.

    Rounding half up could turn a tiny order into a free one; the smallest unit of money is
    charged instead, so that every order the upstream is paid for is paid for by someone.
    """
    amount = quantize_money(Decimal(rate_per_1000) * units / 1000)
    if amount <= 0 and units > 0 and rate_per_1000 > 0:
        return MONEY_PLACES
    return amount


def format_vnd(value: Decimal | int | None) -> str:
    """1234567 -> '1.234.567 ₫', 1234.5 -> '1.234,50 ₫' (Vietnamese grouping and decimal comma;
    decimals are shown only when there are some)."""
    if value is None:
        return ""
    amount = quantize_money(value)
    whole = amount.to_integral_value(rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    if amount == whole:
        text = f"{abs(int(whole)):,}".replace(",", ".")
    else:
        integer, _, fraction = f"{abs(amount):,.2f}".partition(".")
        text = f"{integer.replace(',', '.')},{fraction}"
    return f"{sign}{text} ₫"


def format_amount(value: Decimal | int | None, currency: str = "VND") -> str:
    """An amount in any currency, in format_vnd's number style: VND as format_vnd writes it,
    another currency with its code, 500000 USD -> '500.000 USD', 12.5 USD -> '12,50 USD' (a
    provider's balance is in its own currency, but written the way every other amount is)."""
    if value is None:
        return ""
    code = (currency or "VND").strip().upper()
    text = format_vnd(value)
    return text if code == "VND" else text.removesuffix(" ₫") + f" {code}"


def format_number(value: Decimal | int | None, places: int = 6) -> str:
    """A plain number in the same style (grouping dots, decimal comma), up to `places` decimals,
    trailing zeros dropped: an exchange rate 25000.5 -> '25.000,5'."""
    if value is None:
        return ""
    number = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    integer, _, fraction = f"{abs(number):,.{places}f}".partition(".")
    fraction = fraction.rstrip("0")
    return sign + integer.replace(",", ".") + (f",{fraction}" if fraction else "")


def format_rate(value: Decimal | int | None) -> str:
    """A rate per 1000 the way format_vnd writes money: 3700 -> '3.700 ₫', 18.75 -> '18,75 ₫',
    0.1234 -> '0,1234 ₫' (up to the four decimals a rate has, trailing zeros dropped). The admin
    shows every rate this way, next to amounts from format_vnd."""
    if value is None:
        return ""
    rate = quantize_rate(value)
    sign = "-" if rate < 0 else ""
    integer, _, fraction = f"{abs(rate):,.4f}".partition(".")
    fraction = fraction.rstrip("0")
    text = integer.replace(",", ".") + (f",{fraction}" if fraction else "")
    return f"{sign}{text} ₫"
