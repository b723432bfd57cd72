"""The browser harness itself: it notices what it promises to fail on."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_inline_script_is_blocked_by_the_csp_and_reported(open_tab: Any) -> None:
    tab = open_tab("visitor")
    tab.goto("/accounts/login/", "login")

    # given a script injected inline, as an XSS would
    tab.page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__injected = true";
          document.body.appendChild(script);
        }"""
    )
    tab.page.wait_for_timeout(200)  # the violation event is dispatched asynchronously

    # then it never ran, and the harness saw the violation
    assert tab.page.evaluate("window.__injected") is None
    assert any("CSP violation: script-src" in error for error in tab.errors), tab.errors
    tab.errors.clear()  # seen; the test passes


def test_a_script_error_on_a_page_is_collected(open_tab: Any) -> None:
    tab = open_tab("visitor")
    tab.goto("/accounts/login/", "login")
    tab.page.evaluate("() => { setTimeout(() => { throw new Error('boom'); }, 0); }")
    tab.page.evaluate("() => console.error('something failed')")
    tab.page.wait_for_timeout(100)
    assert any("boom" in error for error in tab.errors), tab.errors
    assert any("something failed" in error for error in tab.errors), tab.errors
    tab.errors.clear()
