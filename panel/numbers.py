"""The one integer rule of every edge (the API, web forms, mass order, admin inputs, URLs).

An integer from outside is an optional sign and 1 to 18 ASCII digits (`0-9`), with surrounding
whitespace allowed; everything else is not an integer. ASCII only, because Python reads
`int("١٠٠")` and `int("１００")` as 100 and `re`'s `\\d` matches every script's digits: a quantity
written so was once accepted by the API and the order form while a service id in the same digits
was refused. 18 digits always fit the database's 64-bit ids and counters.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

_INTEGER = re.compile(r"[+-]?[0-9]{1,18}", re.ASCII)


def parse_int(value: object) -> int | None:
    """An int from an int or a text of ASCII digits; None for anything else (booleans, floats,
    "1e3", "12.5", other scripts' digits, too many digits)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            return int(text)
    return None


def parse_id(value: object) -> int | None:
    """A database id (a service, an order, a ticket): the integer rule, and positive."""
    number = parse_int(value)
    return number if number is not None and number > 0 else None


class IntegerField(forms.IntegerField):
    """Django's IntegerField with the one rule: "１００" or "١٠٠" is "Enter a whole number"."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        parsed = parse_int(value if isinstance(value, int) else str(value))
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed
