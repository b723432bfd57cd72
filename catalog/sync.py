"""The catalog sync: each provider's `services` mirrored into `Service` rows, in three steps, so
that no transaction is ever open while the upstream is talking:

1. claim: insert a running `SyncRun` (the lock, see below) in its own short transaction;
2. fetch: `services` and `balance` from the upstream, outside any transaction;
3. apply: one durable transaction that re-reads the catalog and the pricing rules, computes every
   change in Python and writes them with one bulk_create / bulk_update per table, so the number
   of queries does not grow with the catalog; the run row is marked finished in the same commit.

A failed sync (any upstream error, or a suspicious answer) changes nothing in the catalog and is
recorded as a failed `SyncRun` with its reason.

The lock is the running `SyncRun` row itself: a partial unique index admits one unfinished run
per provider, so a second claim, from any process, fails on INSERT, without a row lock or a
transaction held across the upstream call. A claim first closes runs older than
`STALE_SYNC_AFTER` (their worker died) as abandoned; a sync closed that way under its feet
notices at apply, where it updates its own run "where still unfinished", and gives up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.utils import timezone

from panel.upstream import (
    UpstreamClient,
    UpstreamError,
    UpstreamService,
    UpstreamUnreachable,
)

from .balance import balance_ask, currency_mismatch, expected_currency
from .changes import (
    ChangeWriter,
    PricingRules,
    catalog_version_bump,
    price_apply,
    pricing_rules_locked,
)
from .mapping import mirror_values, unusable_reason
from .models import PauseReason, PricingSettings, Provider, Service, SyncRun
from .providers import provider_record_balance
from .upstreams import client_for

logger = logging.getLogger(__name__)

# SIEULIKE_TIMEOUT is capped at 300 s by the settings, and a sync makes two upstream calls, so a
# live sync is done with the network within 10 minutes; applying takes seconds. A run still
# unfinished after 15 minutes belongs to a worker that died.
STALE_SYNC_AFTER: Final = timedelta(minutes=15)

# An answer that keeps fewer than half of the services we sell is far more likely a broken
# upstream (a partial list, a wrong account, an outage page in JSON) than a real change; applying
# it would pause half the shop. It is refused; an operator who knows better runs
# `sync_catalog --allow-shrink`. An empty answer is refused even then.
MIN_KEPT_RATIO: Final = Decimal("0.5")

# `last_seen_at` is refreshed at most once a day per service, so a sync that finds nothing new
# writes nothing, yet a service's "last seen upstream" stays within a day of the truth.
LAST_SEEN_RESOLUTION: Final = timedelta(days=1)


class SyncAlreadyRunning(Exception):
    """Another sync holds the lock; nothing was done."""

    def __init__(self, running: SyncRun | None) -> None:
        since = f" since {running.started_at:%Y-%m-%d %H:%M:%S}" if running else ""
        super().__init__(f"another catalog sync is running{since}")
        self.running = running


class _AnswerRefused(Exception):
    """The upstream's answer is not believable enough to apply."""


class _Superseded(Exception):
    """Our run was closed as abandoned while we were fetching: another sync may be applying."""


@dataclass
class _Fetched:
    services: list[UpstreamService]
    balance: Decimal | None
    notes: list[str]


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    paused: int = 0
    restored: int = 0
    notes: list[str] = field(default_factory=list)


def _usable_by_id(
    services: Sequence[UpstreamService], counts: _Counts, rate: Decimal = Decimal(1)
) -> dict[int, UpstreamService]:
    by_id: dict[int, UpstreamService] = {}
    skipped: list[str] = []
    for entry in services:
        reason = unusable_reason(entry, rate)
        if reason is not None:
            skipped.append(f"{entry.service} ({reason})")
            continue
        previous = by_id.get(entry.service)
        # Listed twice: we cannot tell which is true, so we keep the dearer one and never
        # sell below either cost.
        if previous is None or entry.rate > previous.rate:
            by_id[entry.service] = entry
        if previous is not None:
            counts.notes.append(f"service {entry.service} listed twice upstream")
    if skipped:
        counts.notes.append(f"{len(skipped)} unusable entries skipped: {', '.join(skipped[:20])}")
    return by_id


def _check_answer(
    *, by_id: dict[int, UpstreamService], existing: dict[int, Service], allow_shrink: bool
) -> None:
    if not by_id:
        raise _AnswerRefused("the upstream answered an empty catalog")
    known = [upstream_id for upstream_id, service in existing.items() if not service.vanished]
    kept = sum(1 for upstream_id in known if upstream_id in by_id)
    if known and not allow_shrink and kept < len(known) * MIN_KEPT_RATIO:
        raise _AnswerRefused(
            f"the upstream answered {len(by_id)} services and kept only {kept} of the {len(known)} "
            f"we sell (below {MIN_KEPT_RATIO:.0%}); refused as suspicious "
            f"(run `sync_catalog --allow-shrink` if the upstream really dropped them)"
        )


def _new_service(
    entry: UpstreamService, rules: PricingRules, now: datetime, provider: Provider
) -> Service:
    service = Service(
        provider=provider,
        upstream_id=entry.service,
        last_seen_at=now,
        **mirror_values(entry, provider.rate),
    )
    if rules.settings.new_service_policy == PricingSettings.NewServicePolicy.HOLD:
        service.listed = False
        service.pause_reason = PauseReason.REVIEW
    price_apply(service, rules)
    return service


def _apply(*, run: SyncRun, fetched: _Fetched, allow_shrink: bool) -> _Counts:
    """Inside the sync's transaction: compute and write every change, then finish the run."""
    now = timezone.now()
    rules = pricing_rules_locked()
    # The fence: our run must still be the running one (not closed as abandoned meanwhile).
    # On PostgreSQL this also row-locks it, so a late reaper waits for our commit.
    if not SyncRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(message="applying"):
        raise _Superseded(f"sync run {run.pk} was closed while it fetched; not applied")

    counts = _Counts(notes=list(fetched.notes))
    # Re-read under the lock: an exchange rate changed while we fetched is the one applied.
    provider = Provider.objects.get(pk=run.provider_id)
    existing = {
        service.upstream_id: service
        for service in Service.objects.filter(provider=provider).order_by()
    }
    by_id = _usable_by_id(fetched.services, counts, provider.rate)
    _check_answer(by_id=by_id, existing=existing, allow_shrink=allow_shrink)
    priority_only = run.kind == SyncRun.Kind.PRIORITY

    writer = ChangeWriter(now=now, sync=run)
    new: list[Service] = []
    for upstream_id, entry in by_id.items():
        service = existing.get(upstream_id)
        if service is None:
            # New services wait for a full sync: the priority check only follows prices.
            if not priority_only:
                new.append(_new_service(entry, rules, now, provider))
        elif not priority_only or service.priority or entry.priority:
            _mirror(service, entry, rules=rules, writer=writer, counts=counts, rate=provider.rate)
    if not priority_only:
        _pause_vanished(existing, by_id, writer=writer, counts=counts)

    if new:
        Service.objects.bulk_create(new)
        counts.created = len(new)
    writer.save()
    _finish(run, counts=counts, balance=fetched.balance)
    return counts


def _mirror(
    service: Service,
    entry: UpstreamService,
    *,
    rules: PricingRules,
    writer: ChangeWriter,
    counts: _Counts,
    rate: Decimal,
) -> None:
    """Copy an entry onto its existing service, reprice it and queue what changed."""
    before = writer.snapshot(service)
    for name, value in mirror_values(entry, rate).items():
        setattr(service, name, value)
    service.vanished = False
    price_apply(service, rules)
    now = writer.now
    if service.last_seen_at is None or service.last_seen_at < now - LAST_SEEN_RESOLUTION:
        service.last_seen_at = now
        writer.changed[service.pk] = service
        writer.fields.add("last_seen_at")
    diff = writer.collect(service, before)
    _count(counts, service, before, diff)


def _pause_vanished(
    existing: dict[int, Service],
    by_id: dict[int, UpstreamService],
    *,
    writer: ChangeWriter,
    counts: _Counts,
) -> None:
    # Vanished services are paused, never deleted: orders point to them.
    for upstream_id, service in existing.items():
        if upstream_id in by_id or service.vanished:
            continue
        before = writer.snapshot(service)
        service.vanished = True
        writer.collect(service, before)
        counts.paused += 1


def _finish(run: SyncRun, *, counts: _Counts, balance: Decimal | None) -> None:
    SyncRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(),
        ok=True,
        upstream_balance=balance,
        created=counts.created,
        updated=counts.updated,
        paused=counts.paused,
        restored=counts.restored,
        message="; ".join(counts.notes)[:5000],
    )
    if balance is not None:
        provider_record_balance(provider_id=run.provider_id, balance=balance)


def _count(counts: _Counts, service: Service, before: dict[str, Any], diff: set[str]) -> None:
    if before["vanished"] and not service.vanished:
        counts.restored += 1
    elif before["pause_reason"] == PauseReason.BELOW_COST and service.listed:
        counts.restored += 1
    if service.pause_reason == PauseReason.BELOW_COST and before["listed"] and not service.listed:
        counts.paused += 1
    if diff - {"vanished", "listed", "pause_reason"}:
        counts.updated += 1


class _FetchFailed(Exception):
    def __init__(self, reason: str, *, balance: Decimal | None) -> None:
        super().__init__(reason)
        self.balance = balance


def _read_balance(client: UpstreamClient, notes: list[str], provider: Provider) -> Decimal | None:
    """Read the provider's balance for the sync's record (and the provider's row). The staff
    dashboard's own reading (`UpstreamBalance`, with its time) is kept for the SIEULIKE_*
    provider only."""
    answer = balance_ask(client=client, provider=provider)
    if answer.unavailable:
        notes.append(f"balance unavailable: {answer.unavailable}")
    elif answer.refused:
        notes.append(f"balance refused: {answer.refused}")
    if provider.from_env:
        answer.keep()
    return answer.balance


def _fetch(provider: Provider) -> _Fetched:
    """The provider's catalog and balance. Raises _FetchFailed when the catalog is unavailable
    (with the balance when it could still be read); a missing balance only leaves a note."""
    client = client_for(provider)
    notes: list[str] = []
    try:
        services = client.services()
    except UpstreamError as exc:
        # Unreachable: a second call would only wait for the same timeout.
        balance = (
            None if isinstance(exc, UpstreamUnreachable) else _read_balance(client, notes, provider)
        )
        raise _FetchFailed(str(exc), balance=balance) from exc
    want = expected_currency(provider)
    for entry in services:
        # A price in another currency would be converted at the wrong rate: refuse the answer.
        if (problem := currency_mismatch(entry.currency, expected=want)) is not None:
            raise _FetchFailed(
                f"UPSTREAM CURRENCY: services refused, nothing synced: service {entry.service}: "
                f"{problem}",
                balance=_read_balance(client, notes, provider),
            )
    return _Fetched(services=services, balance=_read_balance(client, notes, provider), notes=notes)


def _sync_claim(*, kind: str, provider: Provider) -> SyncRun:
    now = timezone.now()
    running = SyncRun.objects.filter(provider=provider, finished_at__isnull=True)
    running.filter(started_at__lt=now - STALE_SYNC_AFTER).update(
        finished_at=now, ok=False, message="abandoned: its worker stopped before finishing"
    )
    try:
        with transaction.atomic():
            return SyncRun.objects.create(kind=kind, provider=provider)
    except IntegrityError:
        raise SyncAlreadyRunning(running.first()) from None


def _sync_fail(run: SyncRun, *, reason: str, balance: Decimal | None = None) -> SyncRun:
    logger.warning("catalog %s sync %s failed: %s", run.kind, run.pk, reason)
    SyncRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(
        finished_at=timezone.now(), ok=False, message=reason[:5000], upstream_balance=balance
    )
    run.refresh_from_db()
    return run


def catalog_sync(
    *,
    kind: str = SyncRun.Kind.FULL,
    allow_shrink: bool = False,
    provider: Provider | None = None,
) -> SyncRun:
    """Mirror one provider's catalog (kind "full") or follow the prices of its priority services
    (kind "priority"); return the finished run, successful or not. Without `provider`, the
    SIEULIKE_* provider (`catalog_sync_all` syncs every enabled one).

    The upstream has no per-service price endpoint, so the priority check also fetches the whole
    `services` list, and then writes only services that are priority (here or upstream): it
    creates nothing and pauses nothing, which stays the full sync's job.

    Raises SyncAlreadyRunning, changing nothing, when another sync of the same provider holds
    its lock (each provider has its own: one being down never blocks another's sync).
    """
    if kind not in SyncRun.Kind.values:
        raise ValueError(f"unknown sync kind {kind!r}")
    provider = provider or Provider.default()
    run = _sync_claim(kind=kind, provider=provider)
    started = time.monotonic()
    try:
        fetched = _fetch(provider)
    except _FetchFailed as exc:
        return _sync_fail(run, reason=str(exc), balance=exc.balance)
    except BaseException as exc:
        _sync_fail(run, reason=f"internal error while fetching: {exc!r}")
        raise

    try:
        # durable: the upstream was called just above, outside any transaction, and must stay so.
        with transaction.atomic(durable=True):
            counts = _apply(run=run, fetched=fetched, allow_shrink=allow_shrink)
            if counts.created or counts.updated or counts.paused or counts.restored:
                catalog_version_bump()  # commits with the new prices, never before or after
    except (_AnswerRefused, _Superseded) as exc:
        return _sync_fail(run, reason=str(exc), balance=fetched.balance)
    except BaseException as exc:
        _sync_fail(run, reason=f"internal error while applying: {exc!r}", balance=fetched.balance)
        raise

    logger.info(
        "catalog %s sync %s of %s: %s created, %s updated, %s paused, %s restored in %.2fs",
        kind,
        run.pk,
        provider.name,
        counts.created,
        counts.updated,
        counts.paused,
        counts.restored,
        time.monotonic() - started,
    )
    run.refresh_from_db()
    return run


@dataclass
class SyncAllResult:
    runs: list[SyncRun]
    skipped: list[str]  # providers whose sync was already running


def catalog_sync_all(*, kind: str = SyncRun.Kind.FULL, allow_shrink: bool = False) -> SyncAllResult:
    """Sync every enabled provider, one after another, each under its own lock: a provider that
    is down fails its own run and the next one syncs all the same. (The beat sends one task per
    provider instead, see catalog.tasks, so a slow provider never delays the others.)"""
    Provider.default()  # the SIEULIKE_* provider exists before anything is synced
    result = SyncAllResult(runs=[], skipped=[])
    for provider in Provider.objects.filter(enabled=True).order_by("pk"):
        try:
            result.runs.append(
                catalog_sync(kind=kind, allow_shrink=allow_shrink, provider=provider)
            )
        except SyncAlreadyRunning:
            result.skipped.append(provider.name)
    return result
