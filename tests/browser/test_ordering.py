"""Issue 15 in a real browser: a new customer goes from the dashboard to each kind of order
through the category -> service picker; the card's figures are the catalog's; the same-link
warning, the missing amount with its top-up link, phone width, and a language that sticks."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Profile
from billing.services import TOPUP_MIN_AMOUNT, wallet_balance
from catalog.models import Service
from orders.models import Order, OrderKind
from panel.money import charge_for, format_vnd
from tests.factories import make_customer, synced_catalog

from .conftest import PASSWORD, PHONE, Browse

pytestmark = [
    pytest.mark.browser,
    pytest.mark.axes,
    pytest.mark.vietnamese,  # the shop's real default language, as its customers see it
    pytest.mark.django_db(transaction=True),
]

LINK = "https://www.tiktok.com/@hoa_mai/video/7312345678901234999"


def _group(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def _pick(tab: Browse, service: Service, *, search: str | None = None) -> None:
    """Choose `service` with the picker: its category (or a search), then the service."""
    page = tab.page
    if search is None:
        page.select_option("#picker-category", service.category)
    else:
        page.fill("#picker-q", search)
        page.clock.run_for(400)  # the search waits for the customer to stop typing
    page.wait_for_selector(f'#id_service option[value="{service.pk}"]', state="attached")
    page.select_option("#id_service", str(service.pk))
    page.wait_for_selector(f'[data-service-card][data-id="{service.pk}"]')
    assert f"service={service.pk}" in page.url, "the choice is kept in the URL"


def _check_card(tab: Browse, service: Service) -> None:
    """The card's figures are the catalog's."""
    assert tab.text('[data-card="rate"]') == format_vnd(service.sell_rate)
    assert tab.text('[data-card="min"]') == _group(service.min_quantity)
    assert tab.text('[data-card="max"]') == _group(service.max_quantity)
    refill = tab.text('[data-card="refill"]')
    if service.refill and service.days_refill:
        assert str(service.days_refill) in refill
    # Too few orders here yet: the provider's figure, said to be the provider's.
    assert tab.text('[data-card="time"]') != ""


def _submit(tab: Browse) -> Order | None:
    before = set(Order.objects.values_list("pk", flat=True))
    with tab.page.expect_navigation():
        tab.page.click("form[data-order-form] button[type=submit]:not([data-favourite])")
    new = list(Order.objects.exclude(pk__in=before))
    return new[0] if new else None


def test_a_new_customer_orders_every_kind_through_the_picker(open_tab: Any, sandbox: Any) -> None:
    services = synced_catalog()
    make_customer(username="hoa_mai", email="hm@example.com", password=PASSWORD, balance="400000")
    tab = open_tab("customer", paused_clock=True)
    page = tab.page
    tab.login("hoa_mai")
    tab.goto("/", "dashboard")
    with page.expect_navigation():
        page.click("main a.btn[href='/orders/new/']")
    tab.snap("new-order-empty")
    assert page.locator("#id_service option[value]:not([value=''])").count() == 0

    # Default, found with the search box (names and categories, or #id).
    default = services[101]
    _pick(tab, default, search=f"#{default.pk}")
    _check_card(tab, default)
    assert "<b>" in page.inner_html('[data-card="description"]')  # sanitised, markup kept
    page.fill("#id_link", LINK)
    page.fill("#id_quantity", "1000")
    assert tab.text("[data-price]") == format_vnd(charge_for(default.sell_rate, 1000))
    tab.snap("new-default")
    order = _submit(tab)
    assert order is not None and order.kind == OrderKind.DEFAULT

    # Same link, same service: the form warns, refuses without the tick, places with it.
    tab.goto(f"/orders/new/?service={default.pk}", "same-link")
    page.fill("#id_link", LINK)
    page.fill("#id_quantity", "500")
    page.clock.run_for(400)
    page.wait_for_selector("[data-same-link]:not([hidden])")
    assert f"#{order.pk}" in tab.text("[data-same-link-text]")
    tab.snap("same-link-warning")
    assert _submit(tab) is None
    assert page.is_visible("[data-same-link]")
    page.check("#id_confirm_same_link")
    assert _submit(tab) is not None

    # Custom comments: the quantity is the number of lines, counted live.
    comments = services[109]
    tab.goto("/orders/new/", "new-comments")
    _pick(tab, comments)
    _check_card(tab, comments)
    page.fill("#id_link", LINK)
    page.fill("#id_comments", "Hay quá\nỦng hộ\n\nĐẹp\nTuyệt\nSẽ mua")
    assert "5" in tab.text("[data-comment-count]")
    assert tab.text("[data-price]") == format_vnd(charge_for(comments.sell_rate, 5))
    assert _submit(tab) is not None

    # Drip-feed: runs x quantity = total, the interval, when the last run starts.
    drip = services[102]
    tab.goto("/orders/new/", "new-dripfeed")
    _pick(tab, drip)
    page.fill("#id_link", LINK)
    page.fill("#id_quantity", "50")
    page.check("#id_dripfeed")
    page.fill("#id_runs", "3")
    page.fill("#id_interval", "20")
    summary = tab.text("[data-dripfeed-summary]")
    assert "3" in summary and "50" in summary and "150" in summary and "20" in summary
    assert ":" in summary  # the clock time of the last run
    assert tab.text("[data-price]") == format_vnd(charge_for(drip.sell_rate, 150))
    tab.snap("new-dripfeed-filled")
    placed = _submit(tab)
    assert placed is not None and placed.runs == 3

    # Comment likes ask for the commenter's username.
    likes = services[110]
    tab.goto("/orders/new/", "new-comment-likes")
    _pick(tab, likes)
    assert page.is_visible("#id_username")
    page.fill("#id_link", LINK)
    page.fill("#id_username", "nguoi_binh_luan")
    page.fill("#id_quantity", "100")
    assert _submit(tab) is not None

    # A VIP package says what is bought and what it costs, in words.
    vip = services[212]
    tab.goto("/orders/new/", "new-vip")
    _pick(tab, vip)
    _check_card(tab, vip)
    page.fill("#id_link", LINK)
    page.fill("#id_quantity", "50")
    words = tab.text('[data-card="package"]')
    assert "50" in words and format_vnd(charge_for(vip.sell_rate, 50)) in words
    assert "5 bài/ngày" in tab.text('[data-card="name"]')  # the upstream's description of it
    tab.snap("new-vip-filled")
    assert _submit(tab) is not None

    # Not enough balance: the missing amount, and a link that tops up exactly that.
    tab.goto(f"/orders/new/?service={vip.pk}", "vip-again")
    page.fill("#id_link", "https://www.facebook.com/hoa.mai/posts/2")
    page.fill("#id_quantity", "2000")
    charge = charge_for(vip.sell_rate, 2000)
    user = Profile.objects.get(user__username="hoa_mai").user
    missing = charge - wallet_balance(user=user)
    assert _submit(tab) is None
    tab.snap("not-enough-balance")
    assert format_vnd(missing) in tab.text("[data-testid=order-error]")
    link = page.locator("[data-testid=topup-missing]")
    assert link.get_attribute("href") == f"/topup/?amount={missing:.2f}"
    with page.expect_navigation():
        link.click()
    tab.snap("topup-prefilled")
    whole = missing.to_integral_value(rounding="ROUND_CEILING")
    assert page.input_value("#id_amount") == f"{max(whole, TOPUP_MIN_AMOUNT):.0f}"

    # A star puts the service first, in the favourites.
    tab.goto(f"/orders/new/?service={likes.pk}", "star")
    page.click("[data-favourite]")
    page.wait_for_selector("[data-favourite].on")
    tab.goto("/orders/new/", "favourites-first")
    assert page.input_value("#picker-category") == "*"
    assert page.locator("#id_service option").nth(1).get_attribute("value") == str(likes.pk)


def test_every_customer_page_fits_a_phone_and_the_language_sticks(
    open_tab: Any, sandbox: Any
) -> None:
    from orders.placing import order_place

    services = synced_catalog()
    customer = make_customer(
        username="lan_anh", email="la@example.com", password=PASSWORD, balance="500000"
    )
    order = order_place(user=customer, service_id=services[212].pk, link=LINK, quantity=50)
    visitor = open_tab("visitor", phone=True, paused_clock=True)
    for path in ("/accounts/login/", "/accounts/signup/", "/services/"):
        visitor.goto(path, f"visitor-{path}")
        assert visitor.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tab = open_tab("phone", phone=True, paused_clock=True)
    page = tab.page
    tab.login("lan_anh")
    pages = [
        "/",
        "/services/",
        "/services/updates/",
        f"/orders/new/?service={services[212].pk}",
        "/orders/new/",
        "/orders/mass/",
        "/orders/",
        f"/orders/{order.pk}/",
        "/orders/refills/",
        "/topup/",
        "/transactions/",
        "/account/",
        "/api/",
    ]
    for path in pages:
        tab.goto(path, f"phone-{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide on a {PHONE['width']} px phone"

    # The header's switch saves the profile: after logging out and in, still English.
    desktop = open_tab("desktop", paused_clock=True)
    desktop.login("lan_anh")
    with desktop.page.expect_navigation():
        desktop.page.select_option("#language-select", "en")
    assert desktop.page.get_attribute("html", "lang") == "en"
    assert Profile.objects.get(user__username="lan_anh").language == "en"
    with desktop.page.expect_navigation():  # the menu's "Log out" (its form, whatever folds it)
        desktop.page.evaluate("document.querySelector('[data-testid=logout]').form.submit()")
    assert Profile.objects.get(user__username="lan_anh").language == "en"
    # Another browser (no language cookie): the saved profile brings English back at login.
    desktop.page.context.clear_cookies()
    desktop.login("lan_anh")
    assert desktop.page.get_attribute("html", "lang") == "en"


def test_the_admin_lists_fit_1280_px_with_money_written_one_way(
    open_tab: Any, sandbox: Any
) -> None:
    from django.conf import settings

    from orders.placing import order_place
    from tests.factories import make_staff

    services = synced_catalog()
    customer = make_customer(username="thu_ha", email="th@example.com", balance="900000")
    for upstream_id in (101, 212, 104):
        order_place(
            user=customer,
            service_id=services[upstream_id].pk,
            link=LINK,
            quantity=100,
            confirm_same_link=True,
        )
    make_staff(username="quanly", email="ql@example.com", password=PASSWORD, superuser=True)
    staff = open_tab("staff")  # 1280 px wide
    staff.admin_login("quanly")
    # The two-factor sections have names, not OTP_STATIC / OTP_TOTP.
    index = staff.page.inner_text("#content-main").lower()  # captions are upper-cased by CSS
    assert "otp_static" not in index and "otp_totp" not in index
    assert "mã dự phòng xác thực hai lớp" in index and "ứng dụng xác thực hai lớp" in index
    for model in (
        "catalog/service",
        "orders/order",
        "catalog/syncrun",
        "billing/wallet",
        "billing/ledgerentry",
        "auth/user",
    ):
        staff.goto(f"/{settings.ADMIN_URL}{model}/", f"admin-{model}")
        width, visible = staff.page.evaluate(
            "() => { const r = document.querySelector('#changelist .results');"
            " return [r.scrollWidth, r.clientWidth]; }"
        )
        assert width <= visible, f"{model}: the list is {width} px in a {visible} px frame"
        assert staff.page.evaluate("document.documentElement.scrollWidth") <= 1280
    # Rates as money: "3.700 ₫", never "3700.0000".
    staff.goto(f"/{settings.ADMIN_URL}catalog/service/?q=%23{services[101].pk}", "admin-rate")
    row = staff.page.inner_text("#result_list tbody tr")
    assert "3.700 ₫" in row and "3700.0000" not in row
