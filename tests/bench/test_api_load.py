"""Benchmark: the reseller API v2 under concurrent load on gunicorn, against PostgreSQL.

gunicorn runs as production runs it (`panel.wsgi`, 3 sync workers, DEBUG off, the same
middleware), on a free loopback port, on this test's own database (committed: a transactional
test), with the API's rate limits switched off. Measured: requests per second and latency
percentiles for `status` with 100 ids, `services` and `add`, beside /healthz (no work at all: the
ceiling this server and this client reach together). Then 100 `add` at the same moment on one
wallet that can pay for 70: every request answered, 70 orders, 30 refusals, the balance exact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.db import connection

from billing.services import wallet_balance
from catalog.models import Service
from orders.models import Order
from orders.placing import order_place
from orders.polling import orders_poll
from tests.factories import generated_catalog, install_catalog
from tests.faults.world import closed_port, new_customer_with_key
from tests.invariants import assert_money_invariants, expected_refund

from .loadgen import LoadResult, fire_at_once, form, run_load
from .results import FULL, REPORT, ROOT

pytestmark = [pytest.mark.bench, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SECONDS = 10.0 if FULL else 1.5
WARMUP = 1.0 if FULL else 0.3
CONCURRENCY = 8
SERVICES = 500  # the sandbox's 40 and 460 more: a shop's catalog of a realistic size
STATUS_IDS = 100


class Gunicorn:
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process, self.host, self.port = process, "127.0.0.1", port


def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _cache_url() -> str:
    redis = os.environ.get("REDIS_URL")
    if not redis:
        return "dbcache://panel_cache"
    return urlunsplit(urlsplit(redis)._replace(path="/14"))  # its own database, flushed after


def _create_cache_table() -> None:
    from django.core.management import call_command
    from django.test import override_settings

    location = {"BACKEND": "panel.cache.DatabaseCache", "LOCATION": "panel_cache"}
    with override_settings(CACHES={"default": location}):
        call_command("createcachetable", verbosity=0)


def _broker_url() -> str:
    """Redis when the run has one (as production), kombu's in-memory transport otherwise."""
    redis = os.environ.get("REDIS_URL")
    if not redis:
        return "memory://"
    parts = urlsplit(redis)
    return urlunsplit(parts._replace(path="/15"))  # a database of its own, flushed afterwards


@pytest.fixture
def gunicorn(transactional_db: None, sandbox: Any) -> Iterator[Callable[..., Gunicorn]]:
    """Start gunicorn on this test's database; stopped before the database is flushed."""
    started: list[Gunicorn] = []

    def start(*, workers: int = 3, threads: int = 1) -> Gunicorn:
        if _cache_url().startswith("dbcache://"):
            _create_cache_table()
        port = closed_port()
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DEBUG": "0",
            "SECRET_KEY": "benchmark-only-not-a-secret",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "BEHIND_PROXY": "0",
            "API_RATE_LIMIT_PER_MINUTE": "0",
            "API_FAILED_AUTH_PER_MINUTE": "0",
            "CELERY_BROKER_URL": _broker_url(),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            # DEBUG=0 needs a cache every worker shares: Redis when the run has one, else the
            # database cache (the test database gets its table from Django's test runner).
            "CACHE_URL": _cache_url(),
            "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
            "SIEULIKE_API_URL": sandbox_url(),
            "SIEULIKE_API_KEY": "sandbox-key",
            "LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "gunicorn", "panel.wsgi", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", str(workers), "--log-level", "warning"]
        if threads > 1:
            command += ["--worker-class", "gthread", "--threads", str(threads)]
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        server = Gunicorn(process, port)
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

    def sandbox_url() -> str:
        from django.conf import settings

        return str(settings.SIEULIKE_API_URL)

    yield start
    for server in started:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    if _broker_url().startswith("redis://"):
        import redis

        redis.Redis.from_url(_broker_url()).flushdb()
        redis.Redis.from_url(_cache_url()).flushdb()


def _report(name: str, result: LoadResult, ceiling: float | None, limit: str = "") -> None:
    bench = f"API v2 on gunicorn (3 sync workers, {CONCURRENCY} clients)"
    share = f"; {result.rps / ceiling:.0%} of /healthz" if ceiling else ""
    REPORT.add(
        bench, f"{name}: throughput", round(result.rps), "req/s", (limit + share).strip("; ")
    )
    REPORT.add(bench, f"{name}: p50 latency", result.percentile(50), "ms")
    REPORT.add(bench, f"{name}: p95 latency", result.percentile(95), "ms")
    REPORT.add(bench, f"{name}: errors", result.errors, "", "0")
    REPORT.details.setdefault("load", {})[name] = {
        "requests": result.requests,
        "seconds": result.seconds,
        "rps": result.rps,
        "p50_ms": result.percentile(50),
        "p95_ms": result.percentile(95),
        "p99_ms": result.percentile(99),
        "errors": result.errors,
        "error_samples": result.samples,
    }


def test_api_v2_throughput_and_latency_beside_a_trivial_view(
    gunicorn: Callable[..., Gunicorn], sandbox: Any, note_database: None
) -> None:
    # given a catalog of 500 services, and a reseller with 120 orders, some of them finished
    catalog = install_catalog()
    Service.objects.bulk_create(
        [
            Service(
                upstream_id=entry["service"],
                name=entry["name"],
                type="Default",
                category=entry["category"],
                cost_rate=Decimal(entry["rate"]),
                sell_rate=Decimal(entry["rate"]) * 2,
                min_quantity=entry["min"],
                max_quantity=entry["max"],
            )
            for entry in generated_catalog(SERVICES - len(catalog), start=900_000)
        ]
    )
    user, key = new_customer_with_key("1000000000")
    ids = []
    for n in range(120):
        order = order_place(
            user=user,
            service_id=catalog[101].pk,
            link=f"https://example.com/seed/{n}",
            quantity=1000,
        )
        ids.append(order.pk)
    for n, order in enumerate(Order.objects.order_by("pk")):
        if n % 3 == 1:
            sandbox.set_fate(order.upstream_id, status="Partial", remains=250)
        elif n % 3 == 2:
            sandbox.set_fate(order.upstream_id, status="Canceled")
    sandbox.advance(6 * 3600)
    orders_poll()
    server = gunicorn()

    def api(**fields: object) -> Callable[[int], tuple[str, str, bytes, dict[str, str]]]:
        body, headers = form(key=key, **fields)
        return lambda n: ("POST", "/api/v2", body, headers)

    def load(make: Any, ok: Any) -> LoadResult:
        return run_load(
            host=server.host,
            port=server.port,
            make=make,
            ok=ok,
            concurrency=CONCURRENCY,
            seconds=SECONDS,
            warmup=WARMUP,
        )

    # the ceiling: a view that does nothing but one SELECT 1
    healthz = load(lambda n: ("GET", "/healthz", None, {}), lambda s, b: s == 200 and b == b"ok")
    _report("GET /healthz (ceiling)", healthz, None)

    def services_ok(status: int, body: bytes) -> bool:
        return status == 200 and body.startswith(b'[{"service"')

    services = load(api(action="services"), services_ok)
    _report(f"services ({SERVICES} services)", services, healthz.rps)

    wanted = ",".join(map(str, ids[:STATUS_IDS]))

    def status_ok(status: int, body: bytes) -> bool:
        answer = json.loads(body) if status == 200 else {}
        return len(answer) == STATUS_IDS and all("error" not in row for row in answer.values())

    status = load(api(action="status", orders=wanted), status_ok)
    _report(f"status with {STATUS_IDS} ids", status, healthz.rps)

    placed: list[int] = []
    placed_lock = threading.Lock()
    add_body = {"key": key, "action": "add", "service": catalog[101].pk, "quantity": 1000}

    def add(n: int) -> tuple[str, str, bytes, dict[str, str]]:
        body, headers = form(**add_body, link=f"https://example.com/load/{n}")
        return "POST", "/api/v2", body, headers

    def add_ok(status: int, body: bytes) -> bool:
        answer = json.loads(body) if status == 200 else {}
        if "order" not in answer:
            return False
        with placed_lock:
            placed.append(int(answer["order"]))
        return True

    adds = load(add, add_ok)
    _report("add", adds, healthz.rps)

    for result in (healthz, services, status, adds):
        assert result.requests > 0 and result.errors == 0, result.samples
    # every order the load was told about exists, once, charged; none is missing
    made = set(
        Order.objects.filter(user=user, link__startswith="https://example.com/load/").values_list(
            "pk", flat=True
        )
    )
    assert len(placed) == len(set(placed))
    assert set(placed) <= made
    # (answers sent during the warm-up or cut off at the end exist too; never the other way round)
    REPORT.add(
        f"API v2 on gunicorn (3 sync workers, {CONCURRENCY} clients)",
        "add: orders answered / made",
        f"{len(placed)} / {len(made)}",
        "",
        "every answered order exists",
    )
    expected = Decimal("1000000000")
    for order in Order.objects.filter(user=user):
        expected -= order.charge - expected_refund(
            state=order.state, charge=order.charge, remains=order.remains, total=order.quantity
        )
    assert wallet_balance(user=user) == expected
    assert_money_invariants(sandbox=sandbox)


def test_a_hundred_simultaneous_adds_on_one_wallet_are_all_answered_and_the_balance_is_exact(
    gunicorn: Callable[..., Gunicorn], sandbox: Any, note_database: None
) -> None:
    # given a wallet that can pay for exactly 70 orders of 5.55, and half an order more
    catalog = install_catalog()
    price = Decimal("5550")
    assert catalog[101].sell_rate == price  # per 1000, and each order is of 1000
    opening = 70 * price + Decimal("2.77")
    user, key = new_customer_with_key(opening)
    # a server that takes many requests at once (3 workers x 16 threads), to race for the wallet
    server = gunicorn(workers=3, threads=16)
    requests = []
    for n in range(100):
        body, headers = form(
            key=key,
            action="add",
            service=catalog[101].pk,
            quantity=1000,
            link=f"https://example.com/race/{n}",
        )
        requests.append(("POST", "/api/v2", body, headers))
    # when 100 adds arrive at the same moment
    started = time.monotonic()
    answers = fire_at_once(host=server.host, port=server.port, requests=requests)
    elapsed = time.monotonic() - started
    # then every one was answered: 70 orders and 30 refusals for want of funds
    decoded = [
        json.loads(body) if status == 200 else {"status": status} for status, body in answers
    ]
    orders = [answer["order"] for answer in decoded if "order" in answer]
    refused = [answer for answer in decoded if answer.get("error") == "Not enough funds on balance"]
    assert (len(orders), len(refused)) == (70, 30), decoded
    # none lost, none doubled, and the balance is exact to the cent
    assert set(Order.objects.filter(user=user).values_list("pk", flat=True)) == set(orders)
    assert wallet_balance(user=user) == opening - 70 * price == Decimal("2.77")
    assert_money_invariants()
    bench = "100 simultaneous add on one wallet (3 workers x 16 threads)"
    REPORT.add(
        bench, "answered", f"{sum(1 for s, _ in answers if s == 200)} / 100", "", "100 / 100"
    )
    REPORT.add(bench, "orders / refused", f"{len(orders)} / {len(refused)}", "", "70 / 30")
    REPORT.add(bench, "final balance", str(wallet_balance(user=user)), "VND", "2.77 exactly")
    REPORT.add(bench, "all answered within", elapsed, "s")
