"""Several processes, one truth: gunicorn with 3 workers on the embedded default cache (no
CACHE_URL: files under var/cache/, panel/cache.py), against this test's PostgreSQL database.

- a rate limit counts across workers: a guesser gets exactly the limit of answers, whichever
  worker each of its connections lands on;
- a price change committed by another process (this one) shows on the very next `services`
  request, and is what `add` charges.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.db import connection

from catalog.services import service_set_markup
from orders.models import Order
from panel.money import charge_for
from tests.api.conftest import make_service, new_customer
from tests.faults.world import closed_port

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
LINK = "https://tiktok.com/@user/video/123"
FAILED_AUTH_LIMIT = 5


def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    def post(self, fields: dict[str, Any]) -> Any:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"http://127.0.0.1:{self.port}/api/v2",
            data=urlencode(fields).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Connection": "close"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())

    def pids_that_answered(self) -> set[str]:
        return set(re.findall(r"^pid=<?(\d+)>? ", self.log.read_text(), flags=re.MULTILINE))


@pytest.fixture
def gunicorn(transactional_db: None, tmp_path: Path) -> Iterator[Callable[[], Server]]:
    started: list[Server] = []

    def start() -> Server:
        port = closed_port()
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("CACHE_URL", "DJANGO_SETTINGS_MODULE")
        }
        env.update(
            {
                "DATABASE_URL": _database_url(),
                "DEBUG": "1",  # the embedded default cache; DEBUG=0 refuses it
                "ALLOWED_HOSTS": "127.0.0.1",
                "API_FAILED_AUTH_PER_MINUTE": str(FAILED_AUTH_LIMIT),
                "API_RATE_LIMIT_PER_MINUTE": "0",
                "CELERY_BROKER_URL": "memory://",
                "LOG_LEVEL": "WARNING",
            }
        )
        log = tmp_path / "access.log"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "panel.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
            "--log-level",
            "warning",
            "--access-logfile",
            str(log),
            "--access-logformat",
            "pid=%(p)s %(s)s",
        ]
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        server = Server(process, port, log)
        started.append(server)
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"gunicorn exited with {process.returncode}:\n{output[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        return server
            except (OSError, urllib.error.URLError):
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer /healthz within 30 s"
            time.sleep(0.1)

    yield start
    for server in started:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def test_a_rate_limit_counts_across_the_workers(gunicorn: Callable[[], Server]) -> None:
    server = gunicorn()
    # when one address sends 40 wrong keys, each on a new connection (any worker may take it)
    answers = [server.post({"key": f"guess-{n}", "action": "balance"}) for n in range(40)]
    # then exactly the limit is answered "Invalid API key", and every later one is refused
    assert answers[:FAILED_AUTH_LIMIT] == [{"error": "Invalid API key"}] * FAILED_AUTH_LIMIT
    assert answers[FAILED_AUTH_LIMIT:] == [{"error": "Too many requests"}] * (
        40 - FAILED_AUTH_LIMIT
    )
    # and more than one worker answered them (a limit counted per worker would let 3x through)
    assert len(server.pids_that_answered()) > 1


def test_a_price_committed_by_another_process_shows_on_the_next_request_and_is_charged(
    gunicorn: Callable[[], Server],
) -> None:
    customer = new_customer(balance=1_000_000)
    service = make_service(
        cost_rate=Decimal("100"), sell_rate=Decimal("150"), min_quantity=10, max_quantity=10_000
    )
    server = gunicorn()
    fields = {"key": customer.key}
    # given the services answer cached in every worker's shared cache
    for _ in range(6):
        assert server.post({**fields, "action": "services"})[0]["rate"] == "150.0000"

    # when this process (not gunicorn) commits a new price, as a sync or the admin would
    assert (
        service_set_markup(service_ids=[service.pk], markup_percent=None, fixed_rate=Decimal("200"))
        == 1
    )

    # then the very next services request, on whichever worker, shows it
    rates = {server.post({**fields, "action": "services"})[0]["rate"] for _ in range(6)}
    assert rates == {"200.0000"}
    # and `add` charges exactly that
    order_id = server.post(
        {**fields, "action": "add", "service": service.pk, "link": LINK, "quantity": 1000}
    )["order"]
    assert Order.objects.get(pk=order_id).charge == charge_for(Decimal("200"), 1000)
