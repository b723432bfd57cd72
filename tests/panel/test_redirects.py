"""One rule for a form's "next": followed on this site, never to another (panel.redirects)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from panel.redirects import redirect_to_next


@pytest.mark.parametrize(
    ("posted", "fallback", "expected"),
    [
        ({"next": "/orders/?page=2"}, "/services/", "/orders/?page=2"),
        ({"next": "https://evil.example/"}, "/services/", "/services/"),
        ({"next": "//evil.example/x"}, "/services/", "/services/"),
        ({}, "/orders/new/?service=7", "/orders/new/?service=7"),
    ],
)
def test_next_is_followed_only_within_the_site(posted, fallback, expected):
    request = RequestFactory().post("/anything/", posted)
    response = redirect_to_next(request, fallback=fallback)
    assert response.status_code == 302
    assert response["Location"] == expected


def test_the_fallback_may_be_a_url_name():
    request = RequestFactory().post("/anything/", {"next": "https://evil.example/"})
    assert redirect_to_next(request, fallback="dashboard")["Location"] == "/"
