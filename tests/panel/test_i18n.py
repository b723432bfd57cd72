"""Vietnamese first, English too."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation


@pytest.mark.vietnamese
@pytest.mark.django_db
def test_pages_speak_vietnamese_by_default(client: Client) -> None:
    html = client.get(reverse("login")).content.decode()
    with translation.override("vi"):
        assert translation.gettext("Log in") != "Log in", "the Vietnamese catalog is compiled"
        assert translation.gettext("Log in") in html


@pytest.mark.vietnamese
@pytest.mark.django_db
def test_a_visitor_can_switch_to_english_and_back(client: Client) -> None:
    response = client.post(reverse("set_language"), {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert "Log in" in client.get(reverse("login")).content.decode()
    client.post(reverse("set_language"), {"language": "vi", "next": "/"})
    with translation.override("vi"):
        assert translation.gettext("Log in") in client.get(reverse("login")).content.decode()
