"""Stored XSS: markup in whatever customers and the upstream can write (links, comments,
usernames, service names and descriptions, upstream error strings, memos) is shown inert on the
customer site and in the admin."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from billing.services import wallet_adjust
from catalog.models import Service
from orders.errors import OrderRejected
from orders.models import Order, OrderState
from orders.placing import order_place

from .conftest import World, logged_in, new_staff, verified_client

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


class _LiveMarkup(HTMLParser):
    """What a browser would make of the page: any element with an on* handler, any <img> the
    payload made, any script whose text is the payload's."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        handlers = [name for name, _value in attrs if name.startswith("on")]
        if handlers:
            self.live.append(f"<{tag} {handlers}>")
        if tag == "img" and dict(attrs).get("src") == "x":
            self.live.append("<img src=x>")
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and "alert(1)" in data:
            self.live.append(f"<script>{data}</script>")


def assert_inert(html: str, url: str = "") -> None:
    parser = _LiveMarkup()
    parser.feed(html)
    parser.close()
    assert not parser.live, f"live payload on {url}: {parser.live}"


def escaped(text: str) -> str:
    from django.utils.html import escape

    return str(escape(text))


@pytest.fixture
def poisoned(world: World, place: Callable[..., Order], sandbox: Any) -> World:
    """Customer A's world with a payload everywhere a customer or the upstream can put text."""
    # links: a URL may carry markup characters in its path; it is a valid URL, stored as sent
    place(world.a.user, link=f"https://www.tiktok.com/@shop/{SCRIPT}")
    place(world.a.user, link="https://www.tiktok.com/@shop/%22%3E" + IMG.replace(" ", "/"))
    # comments: one per line, for a custom-comments service (the sandbox's 109)
    place(world.a.user, 109, comments="\n".join([SCRIPT, IMG, "nice", "great", "wow"]))
    # an upstream error string (the upstream refuses the order with markup in its message)
    sandbox.inject_fault("add", "raw_answer", body={"error": f"Bad link {SCRIPT} {IMG}"})
    failed = place(world.a.user)
    assert failed.state == OrderState.FAILED and SCRIPT in failed.error
    # service names, categories and descriptions come from the upstream's catalog
    Service.objects.filter(pk=world.order.service_id).update(
        name=f"Likes {SCRIPT}", category=f"TikTok {IMG}", description=f"<b>Fast</b> {SCRIPT} {IMG}"
    )
    # a memo written by staff is shown to the customer in the transactions
    wallet_adjust(
        user=world.a.user, amount=Decimal("1000"), memo=f"Bonus {SCRIPT} {IMG}", created_by=None
    )
    # a username that got in around the validators (an import, the shell)
    get_user_model().objects.filter(pk=world.b.user.pk).update(username=f"b{IMG}"[:150])
    return world


@pytest.mark.parametrize(
    "html",
    [f"<p>{SCRIPT}</p>", f'<a title="{IMG}">x</a>', '<div onclick="alert(1)">x</div>'],
)
def test_the_check_catches_a_live_payload(html: str) -> None:
    with pytest.raises(AssertionError):
        assert_inert(html)


CUSTOMER_URLS: list[Callable[[World], str]] = [
    lambda w: reverse("dashboard"),
    lambda w: reverse("catalog:list"),
    lambda w: reverse("orders:list"),
    lambda w: reverse("orders:list") + "?q=" + SCRIPT,
    lambda w: reverse("orders:refills"),
    lambda w: f"{reverse('orders:new')}?service={w.order.service_id}",
    lambda w: reverse("billing:transactions"),
    lambda w: reverse("api_docs"),
]


def test_payloads_render_inert_on_every_customer_page(poisoned: World) -> None:
    client = logged_in(poisoned.a.user)
    orders = Order.objects.filter(user=poisoned.a.user)
    urls = [build(poisoned) for build in CUSTOMER_URLS]
    urls += [reverse("orders:detail", args=[order.pk]) for order in orders]
    seen = ""
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert_inert(html, url)
        seen += html
    # and the payloads did reach the pages (escaped), so the check above was not vacuous
    assert escaped(SCRIPT) in seen
    assert escaped(IMG) in seen or escaped(IMG.replace(" ", "/")) in seen


def test_a_link_is_shown_escaped_inside_its_href(poisoned: World) -> None:
    order = Order.objects.filter(user=poisoned.a.user, link__contains="script").get()
    html = (
        logged_in(poisoned.a.user).get(reverse("orders:detail", args=[order.pk])).content.decode()
    )
    assert f'href="https://www.tiktok.com/@shop/{escaped(SCRIPT)}"' in html


def test_the_api_returns_upstream_text_as_json_data_not_markup(poisoned: World) -> None:
    response = Client().post("/api/v2", {"key": poisoned.a.key, "action": "services"})
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"  # never sniffed into HTML


def test_payloads_render_inert_in_the_admin(poisoned: World, settings: Any) -> None:
    settings.ADMIN_REQUIRE_2FA = True
    boss = verified_client(new_staff("boss", is_superuser=True))
    orders = Order.objects.all()
    urls = [
        reverse("admin:index"),
        reverse("admin:orders_order_changelist"),
        reverse("admin:orders_order_changelist") + "?q=" + SCRIPT,
        reverse("admin:catalog_service_changelist"),
        reverse("admin:catalog_service_change", args=[poisoned.order.service_id]),
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_change", args=[poisoned.b.user.pk]),
        reverse("admin:billing_wallet_changelist"),
        reverse("admin:billing_ledgerentry_changelist"),
        reverse("admin:billing_topuprequest_changelist"),
    ] + [reverse("admin:orders_order_change", args=[order.pk]) for order in orders]
    seen = ""
    for url in urls:
        response = boss.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert_inert(html, url)
        seen += html
    assert escaped(SCRIPT) in seen


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        IMG,
        "//evil.example/x",
        "https://exa mple.com/",
        "https://example.com/\u0000",
    ],
)
def test_a_link_that_is_not_a_web_address_is_refused(world: World, link: str) -> None:
    with pytest.raises(OrderRejected) as refused:
        order_place(user=world.a.user, service_id=world.order.service_id, link=link, quantity=1000)
    assert refused.value.field == "link"


def test_markup_is_refused_as_a_username_everywhere_one_is_typed(world: World) -> None:
    # the sign-up form
    response = Client().post(
        reverse("accounts:signup"),
        {
            "username": SCRIPT,
            "email": "x@example.com",
            "password1": "a-Long-unusual-passphrase-93",
            "password2": "a-Long-unusual-passphrase-93",
        },
    )
    assert response.status_code == 200 and "username" in response.context["form"].errors
    # the commenter's username of a comment-likes order (the sandbox's 110)
    service = Service.objects.get(upstream_id=110)
    with pytest.raises(OrderRejected) as refused:
        order_place(
            user=world.a.user,
            service_id=service.pk,
            quantity=100,
            link="https://www.tiktok.com/@shop/video/1",
            username=IMG,
        )
    assert refused.value.field == "username"
