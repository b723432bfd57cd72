"""Benchmarks: small sizes in `make test` (a smoke test of the machinery and its limits), full
sizes with `make bench` (BENCH_FULL=1), measured on PostgreSQL. The results are written to
var/bench/results-<size>.json and printed as a table at the end of the run."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from .results import FULL, REPORT, ROOT, SIZE, machine, table, write


@pytest.fixture(autouse=True)
def _measured_on(request: pytest.FixtureRequest) -> None:
    """Full-size numbers only mean something on the production database."""
    if FULL and connection.vendor != "postgresql":
        pytest.skip("full-size benchmarks are measured on PostgreSQL: run `make bench`")


@pytest.fixture
def note_database(db: None) -> None:
    if "database" not in REPORT.details:
        version = connection.vendor
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                version = f"PostgreSQL {cursor.fetchone()[0]}"
        REPORT.details["database"] = version


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if REPORT.results:
        info = machine({"database": REPORT.details.get("database", "")})
        write(ROOT / "var" / "bench" / f"results-{SIZE}.json", info)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = table()
    if lines:
        terminalreporter.section(f"benchmarks ({SIZE} sizes; var/bench/results-{SIZE}.json)")
        for line in lines:
            terminalreporter.write_line(line)
