"""Pure helpers: the upstream's words to the catalog's."""

from __future__ import annotations

import pytest

from catalog.mapping import platform_for, service_type_for, upstream_status_for


@pytest.mark.parametrize(
    ("category", "platform"),
    [
        ("TikTok - Tim", "TikTok"),
        ("tiktok - tim", "TikTok"),
        ("Facebook - VIP Like tháng", "Facebook"),
        ("Facebook Like Việt", "Facebook"),
        ("YouTube | View", "YouTube"),
        ("Kênh lạ - Follow", "Kênh lạ"),
        ("Threads", "Threads"),
        ("", ""),
        ("   ", ""),
        ("X" * 80 + " - tail", "X" * 50),
    ],
)
def test_the_platform_is_the_head_of_the_category(category, platform):
    assert platform_for(category) == platform


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Default", "Default"),
        ("default", "Default"),
        ("Custom Comments", "Custom Comments"),
        ("custom  comments", "Custom Comments"),
        ("Comment Likes", "Comment Likes"),
        ("Package", "Package"),
        ("Subscriptions", "Package"),
        ("Mentions", "Mentions"),  # unknown: kept as sent, so orders can refuse it explicitly
        ("", "Default"),
    ],
)
def test_upstream_types_map_to_service_types_and_unknown_ones_are_kept(raw, expected):
    assert service_type_for(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("normal", "normal"),
        ("Slow", "slow"),
        ("overloaded", "overload"),
        ("", "normal"),
        ("maintenance", "maintenance"),
    ],
)
def test_upstream_statuses_are_normalised(raw, expected):
    assert upstream_status_for(raw) == expected
