"""The customer catalog and updates pages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import PauseReason, PriceChange, Service
from catalog.services import service_pause
from catalog.sync import catalog_sync
from tests.factories import make_service

pytestmark = pytest.mark.django_db


def make_catalog(size: int) -> None:
    categories = ["TikTok - Tim", "Facebook - Like", "YouTube - View"]
    Service.objects.bulk_create(
        Service(
            upstream_id=50_000 + n,
            name=f"Service {n}",
            category=categories[n % 3],
            platform=categories[n % 3].split(" - ")[0],
            cost_rate=Decimal("10"),
            sell_rate=Decimal("13") + n,
            min_quantity=10,
            max_quantity=1000,
            priority=n % 7 == 0,
            description=f"line one\nline {n}",
            refill=n % 2 == 0,
            days_refill=30,
        )
        for n in range(size)
    )


def page_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "customer"])
def test_the_catalog_page_makes_as_many_queries_for_1000_services_as_for_10(client, signed_in):
    if signed_in:
        client.force_login(get_user_model().objects.create_user("buyer", password="x"))
    url = reverse("catalog:list") + "?refill=on&q=Service"

    make_catalog(10)
    small = page_queries(client, url)
    Service.objects.all().delete()
    make_catalog(1000)
    large = page_queries(client, url)

    assert small == large
    # count, page, platforms (+ session, user, wallet, the price rule, unread support tickets)
    assert small <= 3 + (5 if signed_in else 0)


def test_the_catalog_page_shows_services_for_sale_grouped_by_category_priority_first(client):
    # given
    plain = make_service(name="Plain view", category="A - View", sell_rate=Decimal("1234567.5"))
    top = make_service(name="Top like", category="B - Like", priority=True)
    make_service(name="Cheap like", category="B - Like", sell_rate=Decimal("1"))
    make_service(name="Held one", listed=False, pause_reason=PauseReason.REVIEW)
    make_service(name="Gone one", vanished=True)

    # when
    html = client.get(reverse("catalog:list")).content.decode()

    # then only services for sale, the category with a priority service first, priority on top
    assert "Held one" not in html and "Gone one" not in html
    assert html.index("B - Like") < html.index("Top like") < html.index("Cheap like")
    assert html.index("Cheap like") < html.index("A - View")
    assert "1.234.567,50 ₫" in html  # the Vietnamese way
    assert f'id="service-{plain.pk}"' in html and f'id="service-{top.pk}"' in html


def test_the_catalog_page_never_shows_the_cost(client):
    make_service(name="Secret cost", cost_rate=Decimal("777.1234"), sell_rate=Decimal("1000"))

    html = client.get(reverse("catalog:list")).content.decode()

    assert "777" not in html


def test_search_and_filters_narrow_the_list(client):
    tiktok = make_service(name="Tim nhanh", category="TikTok - Tim", platform="TikTok", refill=True)
    make_service(name="Like chậm", category="Facebook - Like", platform="Facebook", cancel=True)
    url = reverse("catalog:list")

    def names(query: str) -> set[str]:
        response = client.get(url + query)
        return {s.name for s in response.context["page_obj"].object_list}

    assert names("") == {"Tim nhanh", "Like chậm"}
    assert names("?q=nhanh") == {"Tim nhanh"}
    assert names("?q=facebook") == {"Like chậm"}
    assert names(f"?q={tiktok.pk}") == {"Tim nhanh"}
    assert names("?platform=Facebook") == {"Like chậm"}
    assert names("?refill=on") == {"Tim nhanh"}
    assert names("?cancel=on") == {"Like chậm"}
    assert names("?dripfeed=on") == set()
    assert names("?type=Package") == set()
    assert names("?type=Default&platform=TikTok") == {"Tim nhanh"}


def test_upstream_names_and_descriptions_are_shown_inert(client):
    make_service(
        name='<script>alert("name")</script>',
        description='<b>Bảo hành</b><script>alert("desc")</script><img src=x onerror="alert(1)">'
        '<a href="javascript:alert(2)">click</a>\nline two',
    )

    html = client.get(reverse("catalog:list")).content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;" in html
    assert "onerror" not in html and "javascript:" not in html
    assert "<b>Bảo hành</b>" in html  # harmless markup kept
    assert "click<br>line two" in html


def test_the_sandbox_description_with_html_is_sanitised_on_the_page(client, sandbox):
    catalog_sync()

    html = client.get(reverse("catalog:list") + "?q=BH 30 ngày").content.decode()

    assert "<b>Bảo hành</b> 30 ngày kể từ khi hoàn thành.<br>Link video" in html


def test_slow_and_overloaded_services_say_how_much_longer_they_take(client):
    make_service(name="Slow one", upstream_status="slow", avg_time_min=150)
    make_service(name="Busy one", upstream_status="overload", avg_time_min=2 * 1440 + 60)

    html = client.get(reverse("catalog:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Slow: about +1 day" in html and "Overloaded: about +2 days" in html
    assert "2 h 30 min" in html and "2 d 1 h" in html


def test_the_catalog_is_paginated(client):
    make_catalog(250)

    first = client.get(reverse("catalog:list"))
    third = client.get(reverse("catalog:list") + "?page=3")

    assert len(first.context["page_obj"].object_list) == 100
    assert len(third.context["page_obj"].object_list) == 50
    assert "page=2" in first.content.decode()


def test_the_order_link_appears_only_when_the_orders_page_exists(client, settings):
    service = make_service()
    from django.urls import NoReverseMatch

    try:
        order_url = reverse("orders:new")
    except NoReverseMatch:
        order_url = None

    html = client.get(reverse("catalog:list")).content.decode()

    if order_url:
        assert f"{order_url}?service={service.pk}" in html
    else:
        assert "?service=" not in html


def test_the_updates_page_lists_public_changes_newest_first_without_the_cost(client):
    # given a price change recorded by a sync, and a service paused by an admin
    service = make_service(name="Moving price")
    PriceChange.objects.create(
        service=service, field="cost_rate", old_value="10.0000", new_value="20.0000"
    )
    PriceChange.objects.create(
        service=service, field="sell_rate", old_value="13.0000", new_value="26.0000"
    )
    paused = make_service(name="Paused one")
    service_pause(service_ids=[paused.pk])

    # when
    response = client.get(reverse("catalog:updates"), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()

    # then
    rows = response.context["rows"]
    assert [(row.service_name, row.old, row.new) for row in rows] == [
        ("Paused one", "available", "paused"),
        ("Moving price", "13 ₫", "26 ₫"),
    ]
    assert rows[1].direction == "up"
    assert "20.0000" not in html and "20 ₫" not in html


def test_the_updates_page_hides_services_held_for_review(client):
    held = make_service(name="Secret new one", listed=False, pause_reason=PauseReason.REVIEW)
    PriceChange.objects.create(service=held, field="sell_rate", old_value="1", new_value="2")
    PriceChange.objects.create(service=held, field="vanished", old_value="false", new_value="true")

    response = client.get(reverse("catalog:updates"))

    assert response.context["rows"] == []
    assert "Secret new one" not in response.content.decode()


def test_the_updates_page_makes_as_many_queries_for_many_changes_as_for_few(client):
    service = make_service()
    PriceChange.objects.create(service=service, field="sell_rate", old_value="1", new_value="2")
    small = page_queries(client, reverse("catalog:updates"))
    PriceChange.objects.bulk_create(
        PriceChange(service=make_service(), field="sell_rate", old_value="1", new_value=str(n))
        for n in range(120)
    )
    large = page_queries(client, reverse("catalog:updates"))

    assert small == large <= 2
