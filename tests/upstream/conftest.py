"""Fixtures for the upstream client and sandbox tests. Neither Django nor Celery is needed:
these tests run with or without pytest-django (`-p no:django`)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # plain `pytest` (not `python -m pytest`) from elsewhere
    sys.path.insert(0, str(ROOT))

from panel.sandbox import Sandbox, SandboxServer  # noqa: E402
from panel.upstream.client import UpstreamClient  # noqa: E402

KEY = "sandbox-key"


@pytest.fixture(autouse=True)
def _celery_in_tests() -> None:
    """Overrides tests/conftest.py's fixture of the same name, which needs pytest-django's
    `settings`: nothing here touches Celery."""


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    server = SandboxServer().start(host="127.0.0.1", port=0)
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Sandbox:
    """The session's sandbox, reset: default catalog and balance, no orders, clock at 0."""
    sandbox_server.sandbox.reset()
    return sandbox_server.sandbox


@pytest.fixture
def make_client(
    sandbox_server: SandboxServer, sandbox: Sandbox
) -> Iterator[Callable[..., UpstreamClient]]:
    """Build clients pointed at the sandbox; short deadlines keep fault tests fast."""
    made: list[UpstreamClient] = []

    def make(**overrides: Any) -> UpstreamClient:
        session = requests.Session()
        session.trust_env = False  # an HTTP(S)_PROXY in the environment must not catch loopback
        options: dict[str, Any] = {
            "url": sandbox_server.url,
            "key": KEY,
            "timeout": 2.0,
            "connect_timeout": 0.5,
            "session": session,
        }
        options.update(overrides)
        client = UpstreamClient(**options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., UpstreamClient]) -> UpstreamClient:
    return make_client()
