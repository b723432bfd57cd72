"""Reads of the catalog for views, the admin, the API and other apps (orders, dashboards).

Other apps use these, never `Service.objects` with their own idea of "for sale".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from panel.money import format_vnd

from .models import (
    PauseReason,
    PriceChange,
    PricingSettings,
    Service,
    ServiceType,
    SyncRun,
    UpstreamStatus,
)
from .services import CATALOG_VERSION_KEY

CATALOG_PAGE_SIZE = 100
UPDATES_PAGE_SIZE = 50
SEARCH_MAX = 100
VERSION_MAX_AGE = 300  # seconds; see catalog_version

# What customers may see of the history: never the cost, the margin flag or the type.
PUBLIC_FIELDS = (
    PriceChange.Field.SELL_RATE,
    PriceChange.Field.MIN_QUANTITY,
    PriceChange.Field.MAX_QUANTITY,
    PriceChange.Field.DRIPFEED,
    PriceChange.Field.REFILL,
    PriceChange.Field.DAYS_REFILL,
    PriceChange.Field.CANCEL,
    PriceChange.Field.UPSTREAM_STATUS,
    PriceChange.Field.VANISHED,
    PriceChange.Field.LISTED,
)
AVAILABILITY_FIELDS = (PriceChange.Field.VANISHED, PriceChange.Field.LISTED)


# --------------------------------------------------------------------------- for other apps


def catalog_version() -> int:
    """An opaque number that changes whenever the catalog's prices or availability change (see
    `services.catalog_version_bump`); the API keys its cached `services` answer on it.

    With a per-process cache (the default, locmem) a bump made by the worker never reaches the web
    processes, so the version also moves every VERSION_MAX_AGE seconds: that bounds how stale a
    cached answer can be anywhere. With a shared cache (CACHE_URL=redis://...) bumps count at once.
    """
    counter = cache.get(CATALOG_VERSION_KEY)
    if counter is None:
        cache.add(CATALOG_VERSION_KEY, time.time_ns() // 1000, timeout=None)
        counter = cache.get(CATALOG_VERSION_KEY, 0)
    period = int(time.time() // VERSION_MAX_AGE) % 100_000
    return int(counter) * 100_000 + period


def services_for_sale() -> QuerySet[Service]:
    """Services a customer can order now, priority first (the upstream recommends it)."""
    return Service.objects.filter(listed=True, vanished=False).order_by(
        "-priority", "category", "sell_rate", "id"
    )


def service_for_sale(*, service_id: int) -> Service | None:
    """The service by the panel's id if it can be ordered now, else None."""
    return services_for_sale().filter(pk=service_id).first()


def services_slow_now() -> QuerySet[Service]:
    """Services for sale that the upstream reports as slow or overloaded right now."""
    return services_for_sale().filter(
        upstream_status__in=[UpstreamStatus.SLOW, UpstreamStatus.OVERLOAD]
    )


def services_flagged() -> QuerySet[Service]:
    """Services whose fixed price fell below cost plus the minimum margin: an admin decides."""
    return Service.objects.filter(flagged=True).order_by("category", "id")


class BalanceStatus(NamedTuple):
    balance: Decimal | None  # None: never read
    threshold: Decimal
    is_low: bool
    last_sync: SyncRun | None


def upstream_balance_status() -> BalanceStatus:
    """The upstream balance last read by a sync, against the warning threshold; the admin and the
    staff dashboard show it (below the threshold, orders start failing upstream)."""
    threshold = PricingSettings.load().upstream_balance_warning
    # The SIEULIKE_* provider's; every provider's own is on the dashboard's providers table.
    runs = SyncRun.objects.filter(provider__from_env=True)
    last_sync = runs.order_by("-started_at", "-id").first()
    balance = (
        runs.filter(upstream_balance__isnull=False)
        .order_by("-started_at", "-id")
        .values_list("upstream_balance", flat=True)
        .first()
    )
    return BalanceStatus(
        balance=balance,
        threshold=threshold,
        is_low=balance is not None and balance < threshold,
        last_sync=last_sync,
    )


# --------------------------------------------------------------------------- customer pages


@dataclass(frozen=True)
class CatalogFilters:
    query: str = ""
    platform: str = ""
    type: str = ""
    refill: bool = False
    cancel: bool = False
    dripfeed: bool = False

    @property
    def active(self) -> bool:
        return any((self.query, self.platform, self.type, self.refill, self.cancel, self.dripfeed))


@dataclass(frozen=True)
class CatalogPage:
    page: Page
    platforms: list[str]
    types: list[tuple[str, str]]
    filters: CatalogFilters
    total: int


def _filtered(filters: CatalogFilters) -> QuerySet[Service]:
    services = services_for_sale()
    query = filters.query.strip()[:SEARCH_MAX]
    if query:
        match = Q(name__icontains=query) | Q(category__icontains=query)
        number = query.lstrip("#")
        if number.isdigit():
            match |= Q(pk=int(number))
        services = services.filter(match)
    if filters.platform:
        services = services.filter(platform=filters.platform)
    if filters.type:
        services = services.filter(type=filters.type)
    if filters.refill:
        services = services.filter(refill=True)
    if filters.cancel:
        services = services.filter(cancel=True)
    if filters.dripfeed:
        services = services.filter(dripfeed=True)
    return services


def catalog_page(*, filters: CatalogFilters, page: int | str = 1) -> CatalogPage:
    """One page of the customer catalog, grouped by category (callers regroup on `category`).

    Categories that hold a priority service come first, and priority services first within
    their category, as the upstream recommends, while each category stays in one block.
    Three queries whatever the catalog's size: the count, the page, the platform list.
    """
    services = _filtered(filters).only(
        "id",
        "name",
        "type",
        "category",
        "platform",
        "description",
        "sell_rate",
        "min_quantity",
        "max_quantity",
        "dripfeed",
        "refill",
        "days_refill",
        "cancel",
        "avg_time_min",
        "upstream_status",
        "priority",
        "created_at",
    )
    category_has_priority = Exists(
        services_for_sale().filter(category=OuterRef("category"), priority=True)
    )
    ordered = services.annotate(category_priority=category_has_priority).order_by(
        "-category_priority", "category", "-priority", "sell_rate", "id"
    )
    paginator = Paginator(ordered, CATALOG_PAGE_SIZE)
    page_obj = paginator.get_page(page)
    platforms = list(
        services_for_sale()
        .exclude(platform="")
        .order_by("platform")
        .values_list("platform", flat=True)
        .distinct()
    )
    return CatalogPage(
        page=page_obj,
        platforms=platforms,
        types=[(value, str(label)) for value, label in ServiceType.choices],
        filters=filters,
        total=paginator.count,
    )


@dataclass(frozen=True)
class UpdateRow:
    at: datetime
    service_id: int
    service_name: str
    category: str
    what: str
    old: str
    new: str
    direction: str  # "up", "down" or "" (for prices), to colour the row


def _word(field: str, value: str) -> str:
    """A stored value in words for customers."""
    if value == "":
        return "–"
    if field == PriceChange.Field.SELL_RATE:
        try:
            return format_vnd(Decimal(value))
        except ArithmeticError:
            return value
    if field in (PriceChange.Field.DRIPFEED, PriceChange.Field.REFILL, PriceChange.Field.CANCEL):
        return _("yes") if value == "true" else _("no")
    if field == PriceChange.Field.UPSTREAM_STATUS:
        try:
            return str(UpstreamStatus(value).label)
        except ValueError:
            return value
    if field == PriceChange.Field.DAYS_REFILL:
        if value == "0":
            return _("lifetime")
        # The plural form needs a number; a value that is not one keeps the plural wording.
        count = int(value) if value.lstrip("-").isdigit() else 2
        return ngettext("%(days)s day", "%(days)s days", count) % {"days": value}
    return value


def describe_change(change: PriceChange) -> UpdateRow:
    """One history row as customers read it: availability in words, prices in đồng."""
    field, old, new = change.field, change.old_value, change.new_value
    direction = ""
    if field == PriceChange.Field.VANISHED:
        what = _("availability")
        old, new = (
            (_("unavailable"), _("available"))
            if old == "true"
            else (_("available"), _("unavailable"))
        )
    elif field == PriceChange.Field.LISTED:
        what = _("availability")
        old, new = (_("available"), _("paused")) if old == "true" else (_("paused"), _("available"))
    else:
        what = str(PriceChange.Field(field).label)
        if field == PriceChange.Field.SELL_RATE:
            try:
                direction = "up" if Decimal(new) > Decimal(old) else "down"
            except ArithmeticError:
                direction = ""
        old, new = _word(field, old), _word(field, new)
    return UpdateRow(
        at=change.at,
        service_id=change.service_id,
        service_name=change.service.name,
        category=change.service.category,
        what=what,
        old=old,
        new=new,
        direction=direction,
    )


def public_changes() -> QuerySet[PriceChange]:
    """History customers may see: price, limits, flags and status of services for sale, and
    availability changes of any service a customer could ever have bought (never one that was
    only ever held for review)."""
    for_sale = Q(service__listed=True, service__vanished=False)
    availability = Q(field__in=AVAILABILITY_FIELDS) & ~Q(service__pause_reason=PauseReason.REVIEW)
    return (
        PriceChange.objects.filter(field__in=PUBLIC_FIELDS)
        .filter(for_sale | availability)
        .select_related("service")
        .only(
            "id",
            "at",
            "field",
            "old_value",
            "new_value",
            "service__id",
            "service__name",
            "service__category",
        )
        .order_by("-at", "-id")
    )


def updates_page(*, page: int | str = 1, days: int = 30) -> tuple[Page, list[UpdateRow]]:
    """Recent public changes (the last `days` days), newest first: two queries."""
    since = timezone.now() - timedelta(days=days)
    paginator = Paginator(public_changes().filter(at__gte=since), UPDATES_PAGE_SIZE)
    page_obj = paginator.get_page(page)
    return page_obj, [describe_change(change) for change in page_obj.object_list]
