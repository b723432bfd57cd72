"""Template helpers shared by every app: money the Vietnamese way."""

from __future__ import annotations

from decimal import Decimal

from django import template

from panel.money import format_vnd

register = template.Library()


@register.filter
def vnd(value: Decimal | int | None) -> str:
    """{{ amount|vnd }} -> 1.234.567 ₫"""
    return format_vnd(value)
