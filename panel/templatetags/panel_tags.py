"""Template helpers shared by every app: money the Vietnamese way."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from panel.money import format_vnd

register = template.Library()


@register.filter
def vnd(value: Decimal | int | str | None) -> str:
    """{{ amount|vnd }} -> 1.234.567 ₫; empty for a missing or non-numeric value (a template
    variable that does not resolve arrives as ""), never an error page."""
    if value is None or value == "":
        return ""
    try:
        return format_vnd(Decimal(value))
    except (InvalidOperation, TypeError, ValueError):
        return ""
