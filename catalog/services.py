"""Every write to the catalog: the upstream sync, repricing, pausing, resuming, markups.

The sync, in three steps, so that no transaction is ever open while the upstream is talking:

1. claim: insert a running `SyncRun` (the lock, see below) in its own short transaction;
2. fetch: `services` and `balance` from the upstream, outside any transaction;
3. apply: one durable transaction that re-reads the catalog and the pricing rules, computes every
   change in Python and writes them with one bulk_create / bulk_update per table, so the number
   of queries does not grow with the catalog; the run row is marked finished in the same commit.

A failed sync (any upstream error, or a suspicious answer) changes nothing in the catalog and is
recorded as a failed `SyncRun` with its reason.

The lock. The running `SyncRun` row itself: a partial unique index (`syncrun_one_running`)
admits one unfinished run, so a second claim, from any process, fails on INSERT with an
IntegrityError, on SQLite and PostgreSQL alike, and without holding a row lock or a transaction
across the upstream call (which `select_for_update` would need). A worker that died mid-sync
leaves its run unfinished: a claim first closes runs older than `STALE_SYNC_AFTER` as
abandoned. Should a sync ever outlive that and be closed under its feet, its apply step notices:
it starts by updating its own run "where still unfinished", and gives up when no row matches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from panel.db import bulk_write
from panel.money import quantize_money, quantize_rate
from panel.upstream import UpstreamError, UpstreamService, UpstreamUnreachable

from . import pricing
from .mapping import platform_for, service_type_for, upstream_status_for
from .models import (
    CatalogVersion,
    CategoryMarkup,
    PauseReason,
    PriceChange,
    PricingSettings,
    Provider,
    Service,
    SyncRun,
)
from .upstreams import client_for

if TYPE_CHECKING:
    from django.contrib.auth.models import User

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

# Upper bound of a believable cost per 1000 units (the VIP packages cost 10^5). Beyond it a markup
# could overflow the rate column (10 integer digits), so such an entry is treated as unusable.
MAX_COST_RATE: Final = Decimal("100000000")

# `last_seen_at` is refreshed at most once a day per service, so a sync that finds nothing new
# writes nothing, yet a service's "last seen upstream" stays within a day of the truth.
LAST_SEEN_RESOLUTION: Final = timedelta(days=1)

# Fields the upstream owns, copied on every sync.
MIRRORED: Final = (
    "name",
    "type",
    "category",
    "platform",
    "description",
    "cost_rate",
    "upstream_rate",
    "min_quantity",
    "max_quantity",
    "dripfeed",
    "refill",
    "days_refill",
    "cancel",
    "avg_time_min",
    "upstream_status",
    "priority",
)
# Fields the shop derives (pricing, availability).
DERIVED: Final = ("sell_rate", "flagged", "listed", "pause_reason", "vanished")
WRITABLE: Final = MIRRORED + DERIVED
# Of those, the ones whose every change is kept in the price history.
HISTORY: Final = frozenset(PriceChange.Field.values)


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


# --------------------------------------------------------------------------- cache version


def catalog_version_bump() -> None:
    """Tell readers of cached catalog data (the API's `services`) to rebuild it.

    Called inside the transaction that changes the catalog: the new number commits with the new
    prices, atomically, so no process can see one without the other (see `CatalogVersion`).
    The row lock it takes also orders concurrent catalog writers, which is harmless: each holds
    it for the rest of a short transaction.
    """
    # One statement, whether or not the row exists yet (the migration makes it; a flushed test
    # database has none): an upsert, on PostgreSQL and SQLite alike.
    table = connection.ops.quote_name(CatalogVersion._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, number) VALUES (1, 1) "  # noqa: S608 - a quoted model table
            f"ON CONFLICT (id) DO UPDATE SET number = {table}.number + 1"
        )


# --------------------------------------------------------------------------- change tracking


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(quantize_rate(value))
    return str(value)[:500]


@dataclass
class _Writer:
    """Collects changed services and their history, then writes them in constant queries."""

    now: datetime
    sync: SyncRun | None = None
    changed_by: User | None = None
    changed: dict[int, Service] = field(default_factory=dict)
    fields: set[str] = field(default_factory=set)
    history: list[PriceChange] = field(default_factory=list)

    @staticmethod
    def snapshot(service: Service) -> dict[str, Any]:
        return {name: getattr(service, name) for name in WRITABLE}

    def collect(self, service: Service, before: dict[str, Any]) -> set[str]:
        """Compare `service` with its snapshot; queue it for writing when it differs."""
        diff = {name for name in WRITABLE if getattr(service, name) != before[name]}
        if not diff:
            return diff
        service.updated_at = self.now
        self.changed[service.pk] = service
        self.fields |= diff
        self.history.extend(
            PriceChange(
                service=service,
                field=name,
                old_value=_as_text(before[name]),
                new_value=_as_text(getattr(service, name)),
                sync=self.sync,
                changed_by=self.changed_by,
            )
            for name in sorted(diff & HISTORY)
        )
        return diff

    def save(self) -> None:
        if self.changed:
            bulk_write(
                Service.objects.all(),
                list(self.changed.values()),
                sorted(self.fields | {"updated_at"}),
            )
        if self.history:
            PriceChange.objects.bulk_create(self.history)


# --------------------------------------------------------------------------- pricing


@dataclass(frozen=True)
class _Rules:
    settings: PricingSettings
    category_markups: dict[str, Decimal]


def _rules_locked() -> _Rules:
    """The pricing rules, with the settings row locked until the caller's transaction ends.

    Every writer of prices (sync, reprice) takes this lock first, so an admin's new markup is
    never overwritten by a sync that read the old one (on PostgreSQL; SQLite serialises writers
    anyway). One lock, always taken first: no lock-order deadlock is possible.
    """
    settings_row, _created = PricingSettings.objects.select_for_update().get_or_create(pk=1)
    markups = dict(CategoryMarkup.objects.values_list("category", "markup_percent"))
    return _Rules(settings=settings_row, category_markups=markups)


def _apply_price(service: Service, rules: _Rules) -> None:
    """Set the sell rate, the flag and the below-cost pause of `service` from the rules."""
    policy = rules.settings
    price = pricing.price_for(
        cost_rate=service.cost_rate,
        default_markup=policy.default_markup_percent,
        min_margin=policy.min_margin_percent,
        rounding_step=policy.rounding_step,
        below_cost_policy=policy.below_cost_policy,
        category_markup=rules.category_markups.get(service.category),
        service_markup=service.markup_percent,
        fixed_rate=service.fixed_rate,
    )
    service.sell_rate = price.sell_rate
    service.flagged = price.flagged
    if price.pause:
        if service.listed:
            service.listed = False
            service.pause_reason = PauseReason.BELOW_COST
    elif service.pause_reason == PauseReason.BELOW_COST:
        # Paused by the policy, not by a person: safe again, so back on sale.
        service.listed = True
        service.pause_reason = PauseReason.NONE


# --------------------------------------------------------------------------- the sync


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


def _clean(text: str, limit: int | None = None) -> str:
    # PostgreSQL refuses NUL in text; the upstream is a PHP panel and could send one.
    text = text.replace("\x00", "")
    return text[:limit] if limit else text


# Upstream ids, minimums and maximums beyond 32 bits are real (issue 11): they live in 64-bit
# columns; these bound what a column can hold on PostgreSQL.
BIG_MAX = 2**63 - 1
SMALL_MAX = 2**31 - 1


def _mirror_values(entry: UpstreamService, rate: Decimal = Decimal(1)) -> dict[str, Any]:
    """The upstream's entry as Service fields; its price converted to the shop's currency at the
    provider's `rate` (exactly, in Decimal, then rounded once) before any markup rule sees it."""
    category = _clean(entry.category, 255).strip()
    return {
        "name": _clean(entry.name, 500).strip(),
        "type": service_type_for(_clean(entry.type)),
        "category": category,
        "platform": platform_for(category),
        "description": _clean(entry.description),
        "cost_rate": quantize_rate(entry.rate * rate),
        "upstream_rate": quantize_rate(entry.rate),
        "min_quantity": entry.min,
        # Beyond 64 bits means "no limit" in practice; the column holds up to BIG_MAX.
        "max_quantity": min(entry.max, BIG_MAX),
        "dripfeed": entry.dripfeed,
        "refill": entry.refill,
        "days_refill": min(entry.days_refill, SMALL_MAX),
        "cancel": entry.cancel,
        "avg_time_min": min(entry.avg_time_min, SMALL_MAX),
        "upstream_status": upstream_status_for(_clean(entry.status)),
        "priority": entry.priority,
    }


def _unusable(entry: UpstreamService, rate: Decimal = Decimal(1)) -> str | None:
    """Why an entry cannot be mirrored as it is, or None. Such an entry counts as absent (an
    existing service is paused until the upstream fixes it): selling it could only go wrong."""
    if entry.service <= 0 or entry.service > BIG_MAX:
        return "a non-positive id" if entry.service <= 0 else "an id beyond 64 bits"
    if entry.min > BIG_MAX:
        return f"a minimum beyond 64 bits ({entry.min})"
    if not entry.name.strip():
        return "no name"
    if entry.min < 0 or entry.max < entry.min:
        return f"min {entry.min} / max {entry.max}"
    if entry.days_refill < 0 or entry.avg_time_min < 0:
        return "a negative number of days or minutes"
    if entry.rate * rate > MAX_COST_RATE:
        return f"an unbelievable rate {entry.rate}"
    return None


def _usable_by_id(
    services: Sequence[UpstreamService], counts: _Counts, rate: Decimal = Decimal(1)
) -> dict[int, UpstreamService]:
    by_id: dict[int, UpstreamService] = {}
    skipped: list[str] = []
    for entry in services:
        reason = _unusable(entry, rate)
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
    entry: UpstreamService, rules: _Rules, now: datetime, provider: Provider
) -> Service:
    service = Service(
        provider=provider,
        upstream_id=entry.service,
        last_seen_at=now,
        **_mirror_values(entry, provider.rate),
    )
    if rules.settings.new_service_policy == PricingSettings.NewServicePolicy.HOLD:
        service.listed = False
        service.pause_reason = PauseReason.REVIEW
    _apply_price(service, rules)
    return service


def _apply(*, run: SyncRun, fetched: _Fetched, allow_shrink: bool) -> _Counts:
    """Inside the sync's transaction: compute and write every change, then finish the run."""
    now = timezone.now()
    rules = _rules_locked()
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

    writer = _Writer(now=now, sync=run)
    new: list[Service] = []
    for upstream_id, entry in by_id.items():
        service = existing.get(upstream_id)
        if service is None:
            # New services wait for a full sync: the priority check only follows prices.
            if not priority_only:
                new.append(_new_service(entry, rules, now, provider))
            continue
        if priority_only and not (service.priority or entry.priority):
            continue
        before = writer.snapshot(service)
        for name, value in _mirror_values(entry, provider.rate).items():
            setattr(service, name, value)
        service.vanished = False
        _apply_price(service, rules)
        if service.last_seen_at is None or service.last_seen_at < now - LAST_SEEN_RESOLUTION:
            service.last_seen_at = now
            writer.changed[service.pk] = service
            writer.fields.add("last_seen_at")
        diff = writer.collect(service, before)
        _count(counts, service, before, diff)

    if not priority_only:
        # Vanished services are paused, never deleted: orders point to them.
        for upstream_id, service in existing.items():
            if upstream_id in by_id or service.vanished:
                continue
            before = writer.snapshot(service)
            service.vanished = True
            writer.collect(service, before)
            counts.paused += 1

    if new:
        Service.objects.bulk_create(new)
        counts.created = len(new)
    writer.save()
    SyncRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(),
        ok=True,
        upstream_balance=fetched.balance,
        created=counts.created,
        updated=counts.updated,
        paused=counts.paused,
        restored=counts.restored,
        message="; ".join(counts.notes)[:5000],
    )
    if fetched.balance is not None:
        Provider.objects.filter(pk=provider.pk).update(balance=fetched.balance, balance_at=now)
    return counts


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


def _read_balance(client: Any, notes: list[str], provider: Provider) -> Decimal | None:
    """Read the provider's balance for the sync's record. The staff dashboard's own reading
    (`UpstreamBalance`, with its time) is kept for the SIEULIKE_* provider; every provider's
    latest balance is on its row (`Provider.balance`, `balance_at`)."""
    from .balance import currency_mismatch, expected_currency
    from .models import UpstreamBalance
    from .providers import provider_record_balance

    own_reading = provider.from_env

    try:
        answer = client.balance()
    except UpstreamError as exc:
        notes.append(f"balance unavailable: {exc}")
        if own_reading:
            UpstreamBalance.objects.create(error=f"balance unavailable: {exc}"[:500])
        return None
    problem = currency_mismatch(answer.currency, expected=expected_currency(provider))
    if problem is not None:
        notes.append(f"balance refused: {problem}")
        if own_reading:
            UpstreamBalance.objects.create(currency=answer.currency[:10], error=problem[:500])
        return None
    balance = quantize_money(answer.balance)
    if own_reading:
        UpstreamBalance.objects.create(balance=balance, currency=(answer.currency or "")[:10])
    provider_record_balance(provider_id=provider.pk, balance=balance)
    return balance


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
    from .balance import currency_mismatch, expected_currency

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


# --------------------------------------------------------------------------- admin operations


def _write_services(
    *,
    service_ids: Iterable[int] | None,
    change: Callable[[Service], Sequence[str] | None],
    changed_by: User | None,
) -> int:
    """Load services (all when `service_ids` is None), let `change` edit each in memory, reprice
    them, and write what differs in constant queries. Returns how many services changed."""
    with transaction.atomic():
        rules = _rules_locked()
        services = Service.objects.all()
        if service_ids is not None:
            services = services.filter(pk__in=list(service_ids))
        writer = _Writer(now=timezone.now(), changed_by=changed_by)
        for service in services:
            before = writer.snapshot(service)
            extra = change(service)
            _apply_price(service, rules)
            if extra:
                # Markup edits are rules, not history, but the row still has to be written.
                writer.changed[service.pk] = service
                writer.fields |= set(extra)
            writer.collect(service, before)
        writer.save()
        if writer.changed:
            catalog_version_bump()  # in the same transaction as the new prices
    return len(writer.changed)


def catalog_reprice(
    *, service_ids: Iterable[int] | None = None, changed_by: User | None = None
) -> int:
    """Recompute sell rates (all services, or these) from the current rules; called whenever a
    rule changes in the admin. Returns how many services changed."""
    return _write_services(
        service_ids=service_ids, change=lambda service: None, changed_by=changed_by
    )


def service_pause(*, service_ids: Iterable[int], changed_by: User | None = None) -> int:
    """Stop selling these services until an admin resumes them (no sync lists them again)."""

    def pause(service: Service) -> None:
        service.listed = False
        service.pause_reason = PauseReason.ADMIN

    return _write_services(service_ids=service_ids, change=pause, changed_by=changed_by)


def service_resume(*, service_ids: Iterable[int], changed_by: User | None = None) -> int:
    """List these services again (held for review or paused). The pricing policy still applies:
    a fixed price below cost with the "pause" policy stays paused; a vanished service stays
    unavailable until the upstream lists it again."""

    def resume(service: Service) -> None:
        service.listed = True
        service.pause_reason = PauseReason.NONE

    return _write_services(service_ids=service_ids, change=resume, changed_by=changed_by)


def service_set_markup(
    *,
    service_ids: Iterable[int],
    markup_percent: Decimal | None,
    fixed_rate: Decimal | None,
    changed_by: User | None = None,
) -> int:
    """Set (or clear, with None) the service-level rules, and reprice. A fixed rate wins over a
    percentage, so setting one keeps the other as it was only if given."""
    if markup_percent is not None and markup_percent < 0:
        raise ValueError("a markup cannot be negative")
    if fixed_rate is not None and fixed_rate < 0:
        raise ValueError("a price cannot be negative")
    fixed = quantize_rate(fixed_rate) if fixed_rate is not None else None

    def set_markup(service: Service) -> list[str]:
        service.markup_percent = markup_percent
        service.fixed_rate = fixed
        return ["markup_percent", "fixed_rate"]

    return _write_services(service_ids=service_ids, change=set_markup, changed_by=changed_by)
