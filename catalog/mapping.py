"""Pure helpers that turn the upstream's words into the catalog's: platform, type, status.

No database here: the sync calls them per service, the tests call them directly.
"""

from __future__ import annotations

import re
from typing import Final

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
