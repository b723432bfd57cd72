"""End-to-end tests in a real browser: Debian's chromium driven by Playwright, against the panel
served by pytest-django's `live_server` and the sandbox upstream over real HTTP.

- One browser for the session, a fresh context (cookies, storage, clock) per test and per person.
- Any console error, uncaught exception or Content-Security-Policy violation fails the test.
- Every page visited is saved as a full-page screenshot under
  artifacts/screenshots/<test>/<nn>-<name>.png (artifacts/ is git-ignored; CI keeps it).
- Celery runs eagerly in tests (tests/conftest.py): an order placed in the browser is forwarded to
  the sandbox within the request. The beat schedule is stood in for by the test itself: it moves
  the sandbox's clock and calls the order cycle (`sync_orders`) where Celery beat would.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import pytest
from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000
PASSWORD = "Mat-khau-rat-kho-2024"

# Reported through console.error, so one listener catches it with every other error. Chromium
# also logs a violation itself; this line says which directive and what was blocked.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.href}:${event.lineNumber}`);
});
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the session's browser run last. Playwright's sync API keeps an asyncio loop
    registered as running in this thread for as long as that browser lives: run last, no other
    test sees it (a test that starts Playwright itself would be refused inside it)."""
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, once per session. Missing chromium skips (fails in CI)."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _missing(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("needs the playwright Python package (pip install '.[test]')")
    # The ORM refuses to run while an event loop is running in the thread (Playwright's is);
    # the test's own ORM calls are synchronous and safe, so the check is lifted for the session.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _missing(reason: str) -> NoReturn:
    from tests.conftest import REQUIRE_SERVICES

    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (CI_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


class Browse:
    """One person's browser tab: visits pages, screenshots each, and collects every error."""

    def __init__(
        self,
        page: Any,
        base_url: str,
        shots: Path,
        name: str,
        errors: list[str],
        numbers: Iterator[int],
    ):
        self.page = page
        self.numbers = numbers
        self.base_url = base_url
        self.shots = shots
        self.name = name
        self.errors = errors

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str, shot: str | None = None) -> Any:
        response = self.page.goto(self.url(path))
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        self.snap(shot or _slug(path))
        return response

    def snap(self, name: str) -> Path:
        """A full-page screenshot, numbered in the order taken across the test's tabs."""
        self.shots.mkdir(parents=True, exist_ok=True)
        number = next(self.numbers)
        path = self.shots / f"{number:02d}-{self.name}-{_slug(name)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.assert_clean()
        return path

    def assert_clean(self) -> None:
        assert not self.errors, "browser errors:\n" + "\n".join(self.errors)

    def login(self, username: str, password: str = PASSWORD) -> None:
        self.goto("/accounts/login/", "login")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        with self.page.expect_navigation():
            self.page.click("main form button[type=submit]")
        assert "/accounts/login/" not in self.page.url, "login failed"
        self.snap("after-login")

    def admin_login(self, username: str, password: str = PASSWORD) -> None:
        self.goto(f"/{settings.ADMIN_URL}login/", "admin-login")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        with self.page.expect_navigation():
            self.page.click("#login-form [type=submit]")
        assert "/login/" not in self.page.url, "admin login failed"
        self.snap("admin-index")

    def text(self, selector: str) -> str:
        return (self.page.text_content(selector) or "").strip()


def _slug(text: str, limit: int = 60) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()[:limit] or "home"


@pytest.fixture
def open_tab(
    browser: Any, live_server: Any, request: pytest.FixtureRequest, settings: Any
) -> Iterator[Callable[..., Browse]]:
    """open_tab(name, phone=False) -> Browse: a new browser context (a new person), closed at the
    end of the test, whose errors fail the test."""
    # Orders placed in the browser are forwarded by the project's Celery app, eagerly, in the
    # live server's thread, which finds it as Celery's *default* app. A test that starts a worker
    # for another app (celery.contrib.testing makes that app current and default) and forgets to
    # hand it back would make `delay()` go quietly to that app's broker: make sure, here.
    from panel.celery import app as celery_app

    celery_app.set_default()
    celery_app.set_current()
    # The live server is plain http: cookies must not require TLS, whatever DEBUG says.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    settings.SECURE_HSTS_SECONDS = 0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Staff log in to the admin with a password alone here (tests/security covers the second
    # factor); tests/conftest.py says so too, this keeps the browser tests honest if it changes.
    settings.ADMIN_REQUIRE_2FA = False
    shots = SCREENSHOTS / _slug(request.node.name, limit=150)
    shutil.rmtree(shots, ignore_errors=True)
    contexts: list[Any] = []
    tabs: list[Browse] = []
    numbers = itertools.count(1)  # screenshots numbered across all of the test's tabs

    def open_(
        name: str, *, phone: bool = False, locale: str = "vi-VN", paused_clock: bool = False
    ) -> Browse:
        context = browser.new_context(
            viewport=PHONE if phone else DESKTOP,
            device_scale_factor=2 if phone else 1,
            is_mobile=phone,
            has_touch=phone,
            locale=locale,
            timezone_id="Asia/Ho_Chi_Minh",
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(script=CSP_LISTENER)
        if paused_clock:
            # The page's timers (the orders pages poll every 10 s) run only when the test says
            # `tab.page.clock.run_for(ms)`: polls happen exactly when the test expects them, never
            # while the test itself is writing to the database.
            start = datetime.now(tz=UTC)
            context.clock.install(time=start)
            context.clock.pause_at(start + timedelta(seconds=1))
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "console",
            lambda message: (
                errors.append(
                    f"console.{message.type}: {message.text} ({message.location.get('url', '')})"
                )
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        # A confirm() left unanswered would silently cancel a form: tests accept them.
        page.on("dialog", lambda dialog: dialog.accept())
        tab = Browse(page, live_server.url, shots, name, errors, numbers)
        tabs.append(tab)
        return tab

    yield open_
    try:
        for tab in tabs:
            tab.assert_clean()
    finally:
        for context in contexts:
            context.close()


def money_text(amount: Decimal) -> str:
    from panel.money import format_vnd

    return format_vnd(amount)
