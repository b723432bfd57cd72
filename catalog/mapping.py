"""Pure helpers that turn the upstream's words into the catalog's: platform, type, status, and a
whole `services` entry into Service fields (or the reason it cannot be one).

No database here: the sync calls them per service, the tests call them directly.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Final

from panel.money import quantize_rate
from panel.upstream import UpstreamService

from .models import ServiceType, UpstreamStatus

# Platforms the shop knows by name, so "tiktok - tim" and "TikTok - Tim" land in one filter
# value, and "Facebook Like" (no separator) is still Facebook. Anything else keeps the
# upstream's own spelling.
KNOWN_PLATFORMS: Final = (
    "TikTok",
    "Facebook",
    "Instagram",
    "YouTube",
    "Shopee",
    "Telegram",
    "Twitter",
    "Threads",
    "Zalo",
    "Lazada",
    "Spotify",
    "Google",
    "Twitch",
    "Discord",
    "LinkedIn",
    "Pinterest",
    "SoundCloud",
    "Website",
)
_KNOWN_BY_LOWER: Final = {name.lower(): name for name in KNOWN_PLATFORMS}
_SEPARATOR: Final = re.compile(r"\s+[-|–—:]\s+|\s*[|–—]\s*")
PLATFORM_MAX: Final = 50

# The upstream's type names, compared case-insensitively. The sandbox (and sieulike) call VIP
# packages "Package"; other panels of the same family say "Subscriptions" or "VIP".
_TYPES: Final = {
    "default": ServiceType.DEFAULT,
    "custom comments": ServiceType.CUSTOM_COMMENTS,
    "comment likes": ServiceType.COMMENT_LIKES,
    "package": ServiceType.PACKAGE,
    "packages": ServiceType.PACKAGE,
    "vip": ServiceType.PACKAGE,
    "vip package": ServiceType.PACKAGE,
    "subscriptions": ServiceType.PACKAGE,
}
TYPE_MAX: Final = 50

_STATUSES: Final = {
    "normal": UpstreamStatus.NORMAL,
    "slow": UpstreamStatus.SLOW,
    "overload": UpstreamStatus.OVERLOAD,
    "overloaded": UpstreamStatus.OVERLOAD,
}
STATUS_MAX: Final = 20


def platform_for(category: str) -> str:
    """ "TikTok - Tim" -> "TikTok"; "facebook like" -> "Facebook"; "" -> ""."""
    head = _SEPARATOR.split(category.strip(), maxsplit=1)[0].strip()
    if not head:
        return ""
    first_word = head.split()[0].lower()
    if first_word in _KNOWN_BY_LOWER:
        return _KNOWN_BY_LOWER[first_word]
    if head.lower() in _KNOWN_BY_LOWER:
        return _KNOWN_BY_LOWER[head.lower()]
    return head[:PLATFORM_MAX]


def service_type_for(raw: str) -> str:
    """A known type as its ServiceType value; an unknown one kept as sent (trimmed to fit), so
    the orders app can refuse it explicitly instead of placing it as the wrong kind."""
    known = _TYPES.get(" ".join(raw.split()).lower())
    if known is not None:
        return known.value
    return raw.strip()[:TYPE_MAX] or ServiceType.DEFAULT.value


def upstream_status_for(raw: str) -> str:
    """normal / slow / overload; an unknown word kept as sent (lower case, trimmed to fit)."""
    word = raw.strip().lower()
    known = _STATUSES.get(word)
    if known is not None:
        return known.value
    return word[:STATUS_MAX] or UpstreamStatus.NORMAL.value


def is_known_type(value: str) -> bool:
    return value in ServiceType.values


# Upper bound of a believable cost per 1000 units (the VIP packages cost 10^5). Beyond it a markup
# could overflow the rate column (10 integer digits), so such an entry is treated as unusable.
MAX_COST_RATE: Final = Decimal("100000000")

# Fields the upstream owns, copied on every sync.
MIRRORED: Final = (
    "name",
    "type",
    "category",
    "platform",
    "description",
    "cost_rate",
    "upstream_rate",
    "min_quantity",
    "max_quantity",
    "dripfeed",
    "refill",
    "days_refill",
    "cancel",
    "avg_time_min",
    "upstream_status",
    "priority",
)


def _clean(text: str, limit: int | None = None) -> str:
    # PostgreSQL refuses NUL in text; the upstream is a PHP panel and could send one.
    text = text.replace("\x00", "")
    return text[:limit] if limit else text


# Upstream ids, minimums and maximums beyond 32 bits are real (issue 11): they live in 64-bit
# columns; these bound what a column can hold on PostgreSQL.
BIG_MAX = 2**63 - 1
SMALL_MAX = 2**31 - 1


def mirror_values(entry: UpstreamService, rate: Decimal = Decimal(1)) -> dict[str, Any]:
    """The upstream's entry as Service fields; its price converted to the shop's currency at the
    provider's `rate` (exactly, in Decimal, then rounded once) before any markup rule sees it."""
    category = _clean(entry.category, 255).strip()
    return {
        "name": _clean(entry.name, 500).strip(),
        "type": service_type_for(_clean(entry.type)),
        "category": category,
        "platform": platform_for(category),
        "description": _clean(entry.description),
        "cost_rate": quantize_rate(entry.rate * rate),
        "upstream_rate": quantize_rate(entry.rate),
        "min_quantity": entry.min,
        # Beyond 64 bits means "no limit" in practice; the column holds up to BIG_MAX.
        "max_quantity": min(entry.max, BIG_MAX),
        "dripfeed": entry.dripfeed,
        "refill": entry.refill,
        "days_refill": min(entry.days_refill, SMALL_MAX),
        "cancel": entry.cancel,
        "avg_time_min": min(entry.avg_time_min, SMALL_MAX),
        "upstream_status": upstream_status_for(_clean(entry.status)),
        "priority": entry.priority,
    }


def unusable_reason(entry: UpstreamService, rate: Decimal = Decimal(1)) -> str | None:
    """Why an entry cannot be mirrored as it is, or None. Such an entry counts as absent (an
    existing service is paused until the upstream fixes it): selling it could only go wrong."""
    if entry.service <= 0 or entry.service > BIG_MAX:
        return "a non-positive id" if entry.service <= 0 else "an id beyond 64 bits"
    if entry.min > BIG_MAX:
        return f"a minimum beyond 64 bits ({entry.min})"
    if not entry.name.strip():
        return "no name"
    if entry.min < 0 or entry.max < entry.min:
        return f"min {entry.min} / max {entry.max}"
    if entry.days_refill < 0 or entry.avg_time_min < 0:
        return "a negative number of days or minutes"
    if entry.rate * rate > MAX_COST_RATE:
        return f"an unbelievable rate {entry.rate}"
    return None
