"""The broker wiring carries a task from a producer to a worker, for both brokers we ship:
Redis (production) and kombu's filesystem transport (the embedded default)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker


def _roundtrip(app: Celery) -> str:
    @app.task(name=f"tests.echo.{app.main}")
    def echo(value: str) -> str:
        return value

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        return echo.delay("delivered").get(timeout=20)


@pytest.fixture
def isolated_app(request: pytest.FixtureRequest) -> Iterator[Celery]:
    from panel.celery import app as project_app

    app = Celery(f"broker-test-{request.node.name}", set_as_current=False)
    yield app
    app.close()
    # start_worker makes its app the current one, and the project's @shared_task proxies
    # resolve through the current app: hand it back, or later tests enqueue into a closed app.
    project_app.set_current()
    project_app.set_default()


# The worker's Django fixup touches the database connection when it starts.
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_task_travels_through_redis_to_a_worker(isolated_app: Celery, redis_url: str) -> None:
    isolated_app.conf.update(broker_url=redis_url, result_backend=redis_url)
    assert _roundtrip(isolated_app) == "delivered"


@pytest.mark.django_db(transaction=True)
def test_a_task_travels_through_the_filesystem_broker_to_a_worker(
    isolated_app: Celery, tmp_path: Path
) -> None:
    queue = tmp_path / "queue"
    queue.mkdir()
    isolated_app.conf.update(
        broker_url="filesystem://",
        broker_transport_options={
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "control_folder": str(tmp_path / "control"),
        },
        result_backend=f"file://{tmp_path}",
    )
    assert _roundtrip(isolated_app) == "delivered"


def test_the_project_app_reads_its_broker_and_schedule_from_settings() -> None:
    from panel.celery import app

    assert app.conf.broker_url.startswith(("filesystem://", "redis://"))
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "orders.tasks.orders_poll_task" in tasks
    assert "catalog.tasks.catalog_sync_priority_task" in tasks
