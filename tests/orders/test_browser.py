"""static/js/orders.js in a real browser: the form adapts to the service and prices as you type."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
from django.conf import settings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def page(live_server: Any, client: Any, customer: Any) -> Any:
    if CHROMIUM is None:
        pytest.skip("needs Debian's chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself
    # are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    client.force_login(customer)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(locale="en-US")
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        errors: list[str] = []
        # Script errors, and failed loads of anything but the favicon (not served yet).
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        page.errors = errors
        yield page
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _pick(page: Any, service: Any) -> None:
    """The picker: the service's category, then the service; its card arrives."""
    page.select_option("#picker-category", service.category)
    page.wait_for_selector(f'#id_service option[value="{service.pk}"]', state="attached")
    page.select_option("#id_service", str(service.pk))
    page.wait_for_selector(f'[data-service-card][data-id="{service.pk}"]')


def test_the_order_form_adapts_to_the_service_and_shows_the_price(
    page: Any, live_server: Any, catalog: Any
) -> None:
    page.goto(f"{live_server.url}/orders/new/?service={catalog[101].pk}")
    # a Default service: quantity shown, comments and username hidden, no drip-feed
    assert page.is_visible("#id_quantity") and not page.is_visible("#id_comments")
    assert not page.is_visible("#id_username") and not page.is_visible("#id_dripfeed")
    page.fill("#id_quantity", "1000")
    assert page.text_content("[data-price]") == "5.550 ₫"  # 5550 per 1000, the server's charge_for

    # Custom Comments: the quantity is the number of lines
    _pick(page, catalog[109])
    assert page.is_visible("#id_comments") and not page.is_visible("#id_quantity")
    page.fill("#id_comments", "a\nb\n\nc\nd\ne\n")
    assert page.text_content("[data-price]") == "2.625 ₫"  # 525000 x 5 / 1000
    assert "5" in page.text_content("[data-comment-count]")

    # Comment Likes: a username
    _pick(page, catalog[110])
    assert page.is_visible("#id_username")

    # a drip-feed service: runs and interval appear with the checkbox, the price counts every run
    _pick(page, catalog[102])
    page.fill("#id_quantity", "100")
    assert not page.is_visible("#id_runs")
    page.check("#id_dripfeed")
    page.fill("#id_runs", "5")
    page.fill("#id_interval", "30")
    assert page.is_visible("#id_runs")
    assert page.text_content("[data-price]") == "9.375 ₫"  # 18750 x 500 / 1000
    assert page.text_content('[data-service-card] [data-card="max"]') == "50.000"
    assert page.errors == []
