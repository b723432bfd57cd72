"""Shared test wiring: PostgreSQL/Redis availability, Celery in tests, fast password hashing, a
fresh cache, the sandbox upstream and its catalog. Test data is made by tests/factories.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import translation

if TYPE_CHECKING:
    from catalog.models import Service

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


@pytest.fixture(autouse=True)
def _fast_passwords(settings: object) -> None:
    """Customers, staff and logins hash passwords; the default hasher is slow on purpose (~0.2 s a
    password), and what tests check is who may log in, not key stretching."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters, the API's services answer and the catalog version live in the
    process-local cache: tests must not see each other's."""
    cache.clear()


@pytest.fixture
def catalog(db: None) -> dict[int, Service]:
    """The sandbox's services as the panel's catalog (sold at cost x 1.5), keyed by upstream id;
    the panel's own ids differ, as they would after a sync."""
    from tests.factories import install_catalog

    return install_catalog()


@pytest.fixture
def redis_url() -> str:
    return os.environ["REDIS_URL"]


@pytest.fixture(scope="session")
def sandbox_server():  # type: ignore[no-untyped-def]
    """The project's sandbox upstream, over real HTTP on loopback, for the whole session."""
    from panel.sandbox import SandboxServer

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
