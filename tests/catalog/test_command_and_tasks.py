"""`manage.py sync_catalog` and the Celery tasks the beat schedule names."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from catalog import tasks  # noqa: F401 - registers the tasks, as the worker's autodiscovery does
from catalog.models import Provider, Service, SyncRun
from panel.celery import app

pytestmark = pytest.mark.django_db


def test_the_command_syncs_and_prints_a_summary(sandbox, capsys):
    call_command("sync_catalog")

    out = capsys.readouterr().out
    run = SyncRun.objects.get()
    assert run.ok and run.kind == "full"
    assert f"{run.created} created" in out and "upstream balance 100.000.000 ₫" in out
    assert Service.objects.count() == run.created


def test_the_command_with_priority_runs_a_priority_sync(sandbox, capsys):
    call_command("sync_catalog")
    sandbox.update_service(102, rate="14.0000")

    call_command("sync_catalog", "--priority")

    assert SyncRun.objects.order_by("-id").first().kind == "priority"
    assert "1 updated" in capsys.readouterr().out


def test_the_command_fails_loudly_when_the_sync_fails(sandbox):
    sandbox.inject_fault("services", "http_500_html")

    with pytest.raises(CommandError, match="failed, the catalog is unchanged: .*HTTP 500"):
        call_command("sync_catalog")
    assert not SyncRun.objects.get().ok


def test_the_command_fails_when_another_sync_is_running(sandbox):
    SyncRun.objects.create(kind=SyncRun.Kind.FULL)

    with pytest.raises(CommandError, match="another catalog sync is running"):
        call_command("sync_catalog")


def test_the_command_applies_a_large_shrink_only_when_allowed(sandbox):
    call_command("sync_catalog")
    sandbox.set_services(sandbox.services[:5])

    with pytest.raises(CommandError, match="refused as suspicious"):
        call_command("sync_catalog")
    call_command("sync_catalog", "--allow-shrink")

    assert Service.objects.filter(vanished=False).count() == 5


@pytest.mark.parametrize(
    ("task_name", "kind"),
    [
        ("catalog.tasks.catalog_sync_task", "full"),
        ("catalog.tasks.catalog_sync_priority_task", "priority"),
    ],
)
def test_the_tasks_named_by_the_beat_schedule_run_their_sync(sandbox, task_name, kind):
    assert task_name in {entry["task"] for entry in app.conf.beat_schedule.values()}

    # one task per enabled provider (here only the SIEULIKE_* one), each running its sync
    assert app.tasks[task_name].delay().get() == [Provider.default().pk]

    assert SyncRun.objects.get().kind == kind


def test_a_task_that_finds_a_sync_running_does_nothing(sandbox):
    running = SyncRun.objects.create(kind=SyncRun.Kind.FULL)
    sandbox.clear_calls()

    provider = running.provider_id
    one = app.tasks["catalog.tasks.catalog_sync_provider_task"]
    assert one.delay(provider, "full").get() is None
    app.tasks["catalog.tasks.catalog_sync_task"].delay().get()

    assert list(SyncRun.objects.all()) == [running] and sandbox.calls == []
