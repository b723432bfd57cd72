"""The cache backends of panel/cache.py count exactly when many processes increment at once
(Django's own file and database caches increment by get-then-set and lose increments)."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

from panel.cache import FileCache

WORKERS, EACH = 4, 50


def _hammer(directory: str) -> None:
    cache = FileCache(directory, {})
    for _ in range(EACH):
        cache.add("counter", 0, timeout=60)
        cache.incr("counter")


def test_the_file_cache_counts_every_increment_of_several_processes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as gunicorn workers
    processes = [context.Process(target=_hammer, args=(str(tmp_path),)) for _ in range(WORKERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    assert FileCache(str(tmp_path), {}).get("counter") == WORKERS * EACH


def test_the_file_cache_keeps_an_entrys_expiry_when_incremented(tmp_path: Path) -> None:
    cache = FileCache(str(tmp_path), {})
    cache.add("k", 1, timeout=-1)  # already expired
    with pytest.raises(ValueError):
        cache.incr("k")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_database_cache_counts_every_increment_of_concurrent_connections() -> None:
    location = {"BACKEND": "panel.cache.DatabaseCache", "LOCATION": "panel_cache_test"}
    with override_settings(CACHES={"default": location}):
        call_command("createcachetable", verbosity=0)
        caches["default"].add("counter", 0, timeout=60)

        def hammer() -> None:
            try:
                for _ in range(EACH):
                    caches["default"].incr("counter")
            finally:
                connections.close_all()

        threads = [threading.Thread(target=hammer) for _ in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert caches["default"].get("counter") == WORKERS * EACH
        with pytest.raises(ValueError):
            caches["default"].incr("missing")
        with connections["default"].cursor() as cursor:
            cursor.execute("DROP TABLE panel_cache_test")
