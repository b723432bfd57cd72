"""Shared test wiring: PostgreSQL/Redis availability, Celery in tests, the sandbox upstream."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.db import connection
from django.utils import translation

REQUIRE_SERVICES = os.environ.get("CI_REQUIRE_SERVICES") == "1"


def _missing(reason: str) -> None:
    # In CI the services are started by .ci/run: a skip there would hide a broken setup.
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (CI_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _service_markers(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("needs PostgreSQL: set DATABASE_URL (make test starts one if the binaries exist)")
    if request.node.get_closest_marker("redis") and not os.environ.get("REDIS_URL"):
        _missing("needs Redis: set REDIS_URL (make test starts one when redis-server exists)")


@pytest.fixture(autouse=True)
def _celery_in_tests(settings: object) -> None:
    """Tasks never reach a broker from a test unless the test asks for one.

    `delay()` after commit runs the task in-process (eager), so a test sees the whole flow;
    tests of the queueing itself use the Redis broker explicitly.
    """
    from panel.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _login_protection_in_tests(request: pytest.FixtureRequest, settings: object) -> None:
    """django-axes refuses `authenticate()` without a request, and `Client.login()` calls it
    without one: axes is off in tests unless a test is marked `@pytest.mark.axes` (the lockout
    tests in tests/security, which log in through real POSTs). The admin's second factor is off
    too, whatever DEBUG the environment has; tests/security turns it on where it is the subject.
    Production settings are untouched."""
    if not request.node.get_closest_marker("axes"):
        settings.AXES_ENABLED = False  # type: ignore[attr-defined]
    settings.ADMIN_REQUIRE_2FA = False  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _english_unless_asked(request: pytest.FixtureRequest, settings: object) -> Iterator[None]:
    """Assertions are written in English, the source language; the shop's default is
    Vietnamese. Tests marked `@pytest.mark.vietnamese` see the real default."""
    if request.node.get_closest_marker("vietnamese"):
        yield
        return
    settings.LANGUAGE_CODE = "en"  # type: ignore[attr-defined]
    with translation.override("en"):
        yield


@pytest.fixture
def redis_url() -> str:
    return os.environ["REDIS_URL"]


@pytest.fixture(scope="session")
def sandbox_server():  # type: ignore[no-untyped-def]
    """The project's sandbox upstream, over real HTTP on loopback, for the whole session."""
    from panel.upstream.sandbox import SandboxServer

    server = SandboxServer()
    server.start(host="127.0.0.1", port=0)
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server, settings):  # type: ignore[no-untyped-def]
    """A fresh sandbox state, with the panel's settings pointing at it."""
    sandbox_server.sandbox.reset()
    settings.SIEULIKE_API_URL = sandbox_server.url
    settings.SIEULIKE_API_KEY = "sandbox-key"
    settings.SIEULIKE_TIMEOUT = 2.0
    settings.SIEULIKE_CONNECT_TIMEOUT = 0.5
    return sandbox_server.sandbox
