"""Template helpers of the catalog: untrusted upstream text, durations, quantities."""

from __future__ import annotations

from typing import Final

import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from catalog.models import ServiceType

register = template.Library()

# Upstream descriptions are written by the upstream's staff and sometimes carry simple markup
# ("<b>Bảo hành</b> 30 ngày<br>..."). Keep that much, drop everything else: no links (phishing),
# no attributes (no style, no on*), no images (tracking).
DESCRIPTION_TAGS: Final = {"b", "strong", "i", "em", "u", "br", "p", "ul", "ol", "li"}


@register.filter
def upstream_text(value: str | None) -> SafeString:
    """An upstream description as safe HTML: sanitised by nh3, line breaks kept."""
    if not value:
        return mark_safe("")  # noqa: S308 - empty
    cleaned = nh3.clean(value, tags=DESCRIPTION_TAGS, attributes={}, link_rel=None)
    # nh3's output is escaped text and allowed tags only, so adding <br> keeps it safe.
    return mark_safe(cleaned.replace("\r\n", "\n").replace("\n", "<br>"))  # noqa: S308


@register.filter
def minutes(value: int | None) -> str:
    """A duration in minutes, as people say it: 45 min, 2 h 30 min, 3 d 4 h."""
    if not value:
        return "–"
    days, rest = divmod(int(value), 1440)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(_("%(n)d d") % {"n": days})
    if hours:
        parts.append(_("%(n)d h") % {"n": hours})
    if mins and not days:
        parts.append(_("%(n)d min") % {"n": mins})
    return " ".join(parts)


@register.filter
def quantity(value: int | str | None) -> str:
    """1000000 -> 1.000.000 (Vietnamese grouping, like the prices); empty for a missing value
    (a template variable that does not resolve arrives as "")."""
    try:
        # int(None) is the TypeError caught below: the filter takes whatever a template has.
        return f"{int(value):,}".replace(",", ".")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


@register.filter
def service_type(value: str) -> str:
    """The type's label; an unknown upstream type as sent (escaped by the template)."""
    try:
        return str(ServiceType(value).label)
    except ValueError:
        return value
