"""Benchmark: a catalog sync of 5,000 services (500 in the smoke run), then a sync with nothing
changed and one with a tenth of the prices moved: time and SQL queries of each."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import PricingSettings, Provider, Service
from catalog.sync import catalog_sync
from panel.upstream.client import UpstreamClient
from tests.factories import generated_catalog

from .results import FULL, REPORT

pytestmark = pytest.mark.bench

SIZE = 5000 if FULL else 500
# The catalog's own test holds a sync to at most 20 queries whatever the size. The times are
# ceilings about 10x what a 2-core VM measured at full size (0.46 s, 0.15 s, 0.30 s): only a
# pathological change breaks them (a query per service, a quadratic loop).
MAX_QUERIES = 20
MAX_SECONDS = {"first": 5.0, "unchanged": 2.0, "repriced": 3.0}


@pytest.mark.django_db(transaction=True)  # each sync commits, as in production
def test_a_catalog_sync_takes_constant_queries_and_a_sync_with_nothing_changed_writes_nothing(
    sandbox: Any, note_database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = generated_catalog(SIZE, start=1_000_000)
    sandbox.set_services(catalog)
    PricingSettings.load()
    Provider.default()  # made once (from the settings), outside the measured syncs
    fetching = {"seconds": 0.0}
    services = UpstreamClient.services

    def timed(self: UpstreamClient) -> Any:
        started = time.perf_counter()
        try:
            return services(self)
        finally:
            fetching["seconds"] += time.perf_counter() - started

    monkeypatch.setattr(UpstreamClient, "services", timed)

    def sync(label: str) -> Any:
        fetching["seconds"] = 0.0
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            run = catalog_sync()
            elapsed = time.perf_counter() - started
        assert run.ok, run.message
        bench = f"catalog sync, {SIZE} services"
        REPORT.add(bench, f"{label}: time", elapsed, "s", f"< {MAX_SECONDS[label]:g} s")
        REPORT.add(bench, f"{label}: of which upstream `services`", fetching["seconds"], "s")
        REPORT.add(bench, f"{label}: SQL queries", len(queries), "", f"<= {MAX_QUERIES}, any size")
        assert len(queries) <= MAX_QUERIES
        assert elapsed < MAX_SECONDS[label]
        return run

    first = sync("first")
    assert first.created == SIZE and Service.objects.count() == SIZE
    unchanged = sync("unchanged")
    assert (unchanged.created, unchanged.updated, unchanged.paused) == (0, 0, 0)
    tenth = SIZE // 10
    sandbox.set_services(
        [dict(entry, rate="777.0000") for entry in catalog[:tenth]] + catalog[tenth:]
    )
    repriced = sync("repriced")
    assert repriced.updated == tenth
