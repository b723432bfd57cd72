"""The shop's pages in both languages, the terms at sign-up, and announcements on the dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Profile
from content.models import Announcement, AnnouncementDismissal, ContactDetails, FaqEntry, Page
from content.selectors import announcements_for_user
from content.services import AnnouncementNotFound, announcement_dismiss
from tests.factories import PASSWORD, make_customer

pytestmark = pytest.mark.django_db


# --- pages ---


@pytest.mark.parametrize(
    ("kind", "name"),
    [("terms", "content:terms"), ("refund", "content:refund"), ("faq", "content:faq")],
)
def test_a_page_is_shown_in_the_active_language_and_falls_back_to_the_other(
    client: Client, kind: str, name: str
) -> None:
    Page.objects.create(
        kind=kind, title_vi="Tiêu đề", title_en="Title", body_vi="Nội dung", body_en=""
    )
    with translation.override("vi"):
        html = client.get(reverse(name), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Tiêu đề" in html and "Nội dung" in html
    client.cookies["django_language"] = "en"
    html = client.get(reverse(name)).content.decode()
    assert "Title" in html and "Tiêu đề" not in html
    assert "Nội dung" in html  # no English text yet: the Vietnamese one, not an empty page


def test_a_page_not_written_yet_says_so(client: Client) -> None:
    response = client.get(reverse("content:terms"))
    assert response.status_code == 200
    assert "This page has not been written yet." in response.content.decode()


def test_page_text_is_plain_text_escaped(client: Client) -> None:
    Page.objects.create(kind="refund", body_en="<script>alert(1)</script>\n\nSecond")
    html = client.get(reverse("content:refund")).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "<p>Second</p>" in html


def test_the_faq_lists_published_questions_in_order(client: Client) -> None:
    FaqEntry.objects.create(question_en="Second?", answer_en="B", position=2)
    FaqEntry.objects.create(question_en="First?", answer_en="A", position=1)
    FaqEntry.objects.create(question_en="Hidden?", answer_en="C", published=False)
    html = client.get(reverse("content:faq")).content.decode()
    assert html.index("First?") < html.index("Second?") and "Hidden?" not in html


def test_the_contact_page_shows_phone_zalo_and_telegram(client: Client) -> None:
    ContactDetails.objects.create(
        pk=1,
        phone="0901 234 567",
        zalo_url="https://zalo.me/0901234567",
        telegram_url="https://t.me/shop",
        hours_vi="8h–22h",
        hours_en="8am–10pm",
    )
    html = client.get(reverse("content:contact")).content.decode()
    assert 'href="tel:0901234567"' in html
    assert 'href="https://zalo.me/0901234567"' in html and 'href="https://t.me/shop"' in html
    assert "8am–10pm" in html


def test_every_page_links_to_the_shops_pages_in_its_footer(client: Client) -> None:
    html = client.get(reverse("login")).content.decode()
    for name in ("content:faq", "content:terms", "content:refund", "content:contact"):
        assert f'href="{reverse(name)}"' in html


# --- the terms at sign-up ------------------------------------------------------------------------


def _signup(client: Client, **extra: str) -> Any:
    return client.post(
        reverse("accounts:signup"),
        {
            "username": "thu",
            "email": "thu@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            **extra,
        },
    )


def test_signing_up_without_accepting_the_terms_is_refused(client: Client) -> None:
    response = _signup(client)
    assert response.status_code == 200
    assert "accept_terms" in response.context["form"].errors
    assert not get_user_model().objects.filter(username="thu").exists()


def test_the_time_the_terms_were_accepted_is_recorded(client: Client) -> None:
    before = timezone.now()
    response = _signup(client, accept_terms="on")
    assert response.status_code == 302
    accepted = Profile.objects.get(user__username="thu").terms_accepted_at
    assert accepted is not None and before <= accepted <= timezone.now()
    assert (
        "You accepted the terms of service"
        in client.get(reverse("accounts:account")).content.decode()
    )


def test_the_signup_page_links_to_the_terms_and_the_refund_policy(client: Client) -> None:
    html = client.get(reverse("accounts:signup")).content.decode()
    assert f'href="{reverse("content:terms")}"' in html
    assert f'href="{reverse("content:refund")}"' in html
    assert 'name="accept_terms"' in html and "required" in html


# --- announcements ---


def _announce(**fields: Any) -> Announcement:
    fields.setdefault("title_en", "New TikTok services")
    fields.setdefault("starts_at", timezone.now() - timedelta(minutes=1))
    return Announcement.objects.create(**fields)


def test_an_announcement_shows_on_the_dashboard_until_the_customer_dismisses_it() -> None:
    alice, bob = make_customer(username="alice"), make_customer(username="bob")
    item = _announce(body_en="Cheaper likes from today")
    client = Client()
    client.force_login(alice)
    html = client.get(reverse("dashboard")).content.decode()
    assert "New TikTok services" in html and "Cheaper likes from today" in html
    response = client.post(reverse("content:announcement_dismiss", args=[item.pk]), {"next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "New TikTok services" not in client.get(reverse("dashboard")).content.decode()
    assert AnnouncementDismissal.objects.filter(user=alice, announcement=item).count() == 1
    # stored per customer: bob still sees it
    assert announcements_for_user(user=bob) == [item]


def test_only_current_published_announcements_are_shown() -> None:
    alice = make_customer(username="alice")
    now = timezone.now()
    current = _announce(title_en="now")
    _announce(title_en="later", starts_at=now + timedelta(hours=1))
    _announce(title_en="over", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    _announce(title_en="draft", published=False)
    assert announcements_for_user(user=alice) == [current]


def test_dismissing_twice_is_harmless_and_a_missing_one_is_refused() -> None:
    alice = make_customer(username="alice")
    item = _announce()
    assert announcement_dismiss(user=alice, announcement_id=item.pk) is True
    assert announcement_dismiss(user=alice, announcement_id=item.pk) is False
    with pytest.raises(AnnouncementNotFound):
        announcement_dismiss(user=alice, announcement_id=item.pk + 1000)
    assert AnnouncementDismissal.objects.count() == 1


def test_an_announcement_falls_back_to_the_other_language() -> None:
    item = _announce(title_vi="Dịch vụ mới", title_en="")
    with translation.override("en"):
        assert item.title == "Dịch vụ mới"
    with translation.override("vi"):
        assert item.title == "Dịch vụ mới"
