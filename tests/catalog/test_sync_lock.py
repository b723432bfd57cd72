"""A sync never runs twice at once, across processes, and a dead sync's lock goes stale."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from catalog import sync as catalog_sync_module
from catalog.models import Provider, Service, SyncRun
from catalog.sync import STALE_SYNC_AFTER, SyncAlreadyRunning, catalog_sync


@pytest.mark.django_db
def test_a_sync_is_refused_without_calling_the_upstream_while_another_is_running(sandbox):
    # given a sync in progress (its run row is the lock)
    running = SyncRun.objects.create(kind=SyncRun.Kind.PRIORITY)
    sandbox.clear_calls()

    # when another sync of either kind starts
    for kind in SyncRun.Kind.values:
        with pytest.raises(SyncAlreadyRunning) as refused:
            catalog_sync(kind=kind)
        assert refused.value.running == running

    # then nothing was asked upstream and nothing recorded
    assert sandbox.calls == []
    assert list(SyncRun.objects.all()) == [running]


@pytest.mark.django_db
def test_a_stale_running_sync_is_closed_as_abandoned_and_the_next_sync_runs(sandbox):
    # given a run left unfinished by a worker that died long ago
    dead = SyncRun.objects.create(kind=SyncRun.Kind.FULL)
    SyncRun.objects.filter(pk=dead.pk).update(
        started_at=timezone.now() - STALE_SYNC_AFTER - timedelta(seconds=1)
    )

    # when
    run = catalog_sync()

    # then
    dead.refresh_from_db()
    assert run.ok and Service.objects.exists()
    assert not dead.ok and dead.finished_at is not None and "abandoned" in dead.message


@pytest.mark.django_db
def test_a_recent_running_sync_is_not_taken_over(sandbox):
    running = SyncRun.objects.create(kind=SyncRun.Kind.FULL)
    SyncRun.objects.filter(pk=running.pk).update(
        started_at=timezone.now() - STALE_SYNC_AFTER + timedelta(minutes=1)
    )

    with pytest.raises(SyncAlreadyRunning):
        catalog_sync()


@pytest.mark.django_db
def test_a_sync_closed_as_abandoned_while_it_fetched_does_not_apply(sandbox, monkeypatch):
    # given a sync whose run is closed (by a reaper) while it waits on the upstream
    real_fetch = catalog_sync_module._fetch

    def slow_fetch(provider):
        fetched = real_fetch(provider)
        SyncRun.objects.filter(finished_at__isnull=True).update(
            finished_at=timezone.now(), message="abandoned: test"
        )
        return fetched

    monkeypatch.setattr(catalog_sync_module, "_fetch", slow_fetch)

    # when
    run = catalog_sync()

    # then nothing was applied
    assert not run.ok and run.message == "abandoned: test"
    assert not Service.objects.exists()


@pytest.mark.django_db
def test_the_lock_is_released_after_an_internal_error(sandbox, monkeypatch):
    def broken_apply(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(catalog_sync_module, "_apply", broken_apply)
    with pytest.raises(RuntimeError):
        catalog_sync()
    failed = SyncRun.objects.get()
    assert not failed.ok and "internal error" in failed.message

    monkeypatch.undo()
    assert catalog_sync().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_syncs_at_once_in_two_connections_only_one_runs(sandbox, monkeypatch):
    # given a first sync, in its own thread and connection, held while it talks to the upstream
    fetching, release = threading.Event(), threading.Event()
    real_fetch = catalog_sync_module._fetch

    def held_fetch(provider):
        fetched = real_fetch(provider)
        fetching.set()
        assert release.wait(10)
        return fetched

    monkeypatch.setattr(catalog_sync_module, "_fetch", held_fetch)
    results: list[object] = []

    def first_sync() -> None:
        try:
            results.append(catalog_sync())
        finally:
            connection.close()

    first = threading.Thread(target=first_sync)
    first.start()
    assert fetching.wait(10)

    # when a second sync starts meanwhile (another connection: this test's own)
    with pytest.raises(SyncAlreadyRunning):
        catalog_sync(kind=SyncRun.Kind.PRIORITY)

    # then the first one finishes normally and is the only run
    release.set()
    first.join(10)
    assert len(results) == 1 and results[0].ok
    assert SyncRun.objects.count() == 1
    assert Service.objects.count() > 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_claims_let_exactly_one_through():
    # given eight workers claiming at the same instant
    barrier = threading.Barrier(8)
    provider = Provider.default()
    outcomes: list[str] = []
    lock = threading.Lock()

    def claim() -> None:
        try:
            barrier.wait(5)
            try:
                catalog_sync_module._sync_claim(kind=SyncRun.Kind.FULL, provider=provider)
                outcome = "claimed"
            except SyncAlreadyRunning:
                outcome = "refused"
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    # then
    assert sorted(outcomes) == ["claimed"] + ["refused"] * 7
    assert SyncRun.objects.filter(finished_at__isnull=True).count() == 1
