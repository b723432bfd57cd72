"""Template helpers shared by every app: money the Vietnamese way, moments one way everywhere."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import get_language

from panel.money import format_amount, format_number, format_rate, format_vnd

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


@register.filter
def money_in(value: Decimal | int | str | None, currency: str = "VND") -> str:
    """{{ amount|money_in:provider.currency }} -> '500.000 ₫' for VND, '12,50 USD' otherwise: the
    number style of |vnd for an amount in a provider's own currency."""
    if value is None or value == "":
        return ""
    try:
        return format_amount(Decimal(value), str(currency or "VND"))
    except (InvalidOperation, TypeError, ValueError):
        return ""


@register.filter
def rate(value: Decimal | int | str | None) -> str:
    """{{ service.cost_rate|rate }} -> '18,75 ₫' (a price per 1000, up to four decimals)."""
    if value is None or value == "":
        return ""
    try:
        return format_rate(Decimal(value))
    except (InvalidOperation, TypeError, ValueError):
        return ""


@register.filter
def number(value: Decimal | int | str | None) -> str:
    """{{ provider.rate|number }} -> '25.000,5' (an exchange rate, the money's number style)."""
    if value is None or value == "":
        return ""
    try:
        return format_number(Decimal(value))
    except (InvalidOperation, TypeError, ValueError):
        return ""


# The one way the site writes a moment, in every language: day first, 24-hour clock.
WHEN_FORMAT = "d/m/Y H:i"
WHEN_FORMAT_SECONDS = "d/m/Y H:i:s"


@register.filter
def when(value: datetime | None, precision: str = "") -> str:
    """{{ moment|when }} -> 28/11/2026 19:05 in the shop's time zone (settings.TIME_ZONE),
    whatever time zone is active; {{ moment|when:"seconds" }} adds the seconds. Empty for None."""
    if not isinstance(value, datetime):
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value, zoneinfo.ZoneInfo(settings.TIME_ZONE))
    return date_format(value, WHEN_FORMAT_SECONDS if precision == "seconds" else WHEN_FORMAT)


@register.filter
def day(value: date | None, precision: str = "") -> str:
    """{{ a_date|day }} -> 28/11/2026, the date part of `when`; {{ a_date|day:"short" }} -> 28/11
    for chart labels."""
    if not isinstance(value, date):
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value, zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()
    return date_format(value, "d/m" if precision == "short" else "d/m/Y")


@register.filter
def without_page(query: QueryDict) -> str:
    """{{ request.GET|without_page }} -> "status=x&q=y&" : the page's filters, for a pagination
    link to append page=N to (so page 2 is page 2 of the same filters); "" without filters."""
    kept = query.copy()
    kept.pop("page", None)
    encoded = kept.urlencode()
    return f"{encoded}&" if encoded else ""


@register.filter
def percent(value: Decimal | int | str | None) -> str:
    """{{ 12.50|percent }} -> "12.5", {{ 10.00|percent }} -> "10" (the number only, without
    trailing zeros, in the active language's decimal separator); empty for a non-number."""
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return ""
    if not number.is_finite():
        return ""
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if get_language() == "vi" else text
