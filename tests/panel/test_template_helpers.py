"""The site-wide template helpers: one way to write a moment, one pagination."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from panel.templatetags.panel_tags import day, when, without_page


def test_a_moment_is_written_day_first_in_the_shops_time_zone_whatever_zone_is_active() -> None:
    # given 17:30 UTC, which is 00:30 the next day in Hồ Chí Minh City
    moment = datetime(2026, 3, 1, 17, 30, 5, tzinfo=UTC)

    # when it is written while another time zone is active
    with timezone.override("America/New_York"):
        written, precise = when(moment), when(moment, "seconds")

    # then it reads in the shop's zone, the same in every language
    assert (written, precise) == ("02/03/2026 00:30", "02/03/2026 00:30:05")
    assert when(None) == "" and when("") == ""  # type: ignore[arg-type]


def test_a_day_is_written_like_the_date_part_of_a_moment() -> None:
    assert day(date(2026, 3, 2)) == "02/03/2026"
    assert day(date(2026, 3, 2), "short") == "02/03"
    assert day(datetime(2026, 3, 1, 17, 30, tzinfo=UTC)) == "02/03/2026"


@pytest.mark.parametrize(
    ("query", "expected"),
    [("", ""), ("page=3", ""), ("status=Partial&page=2&q=a+b", "status=Partial&q=a+b&")],
)
def test_pagination_links_keep_the_filters_and_drop_the_page(query: str, expected: str) -> None:
    assert without_page(RequestFactory().get(f"/x/?{query}").GET) == expected


def test_the_shared_pagination_words_time_ordered_lists_newer_and_older() -> None:
    # given page 2 of 3 of a filtered list
    request = RequestFactory().get("/orders/?status=Partial&page=2")
    page = Paginator(range(30), 10).get_page(2)

    # when the shared template renders it, for a list newest first and for any other list
    dated = render_to_string(
        "_pagination.html", {"page": page, "newest_first": True, "request": request}
    )
    plain = render_to_string("_pagination.html", {"page": page, "request": request})

    # then both link to pages 1 and 3 of the same filter
    for html in (dated, plain):
        assert 'href="?status=Partial&amp;page=1"' in html
        assert 'href="?status=Partial&amp;page=3"' in html
    assert "Newer" in dated and "Older" in dated and "Previous" in plain and "Next" in plain
