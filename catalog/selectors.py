"""Reads of the catalog for views, the admin, the API and other apps (orders, dashboards).

Other apps use these, never `Service.objects` with their own idea of "for sale".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, NamedTuple

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from panel.money import format_vnd
from panel.numbers import parse_id, parse_int

from .models import (
    CatalogVersion,
    CategoryMarkup,
    CustomerPricing,
    CustomerRate,
    PauseReason,
    PriceChange,
    PricingSettings,
    Service,
    ServiceType,
    SyncRun,
    UpstreamBalance,
    UpstreamStatus,
)
from .pricing import CustomerPrice, CustomerRule, Price, customer_price

CATALOG_PAGE_SIZE = 100
UPDATES_PAGE_SIZE = 50
SEARCH_MAX = 100

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
    """A number that changes whenever the catalog's prices or availability change; the API keys
    its cached `services` answer on it.

    Read from the database (`CatalogVersion`, bumped in the transaction of every catalog write),
    never from the cache: a change committed by any process, on any machine, is seen by the very
    next request, whatever cache is configured. Read it BEFORE the data it keys, so that the data
    is never older than the version it is filed under.
    """
    number = CatalogVersion.objects.filter(pk=1).values_list("number", flat=True).first()
    return number or 0


def services_for_sale() -> QuerySet[Service]:
    """Services a customer can order now, priority first (the upstream recommends it)."""
    return Service.objects.filter(listed=True, vanished=False).order_by(
        "-priority", "category", "sell_rate", "id"
    )


_LOAD = object()  # with_customer_prices: "load the rule" (None means "there is none")


def customer_rate(*, service: Service, user: Customer = None, rule: object = _LOAD) -> Decimal:
    """The price per 1000 this customer pays for `service`, as `order_place` charges it. Pass
    `rule` (from `customer_price_rule`) when pricing many services, to load it once."""
    if rule is _LOAD:
        rule = customer_price_rule(user=user)
    assert rule is None or isinstance(rule, PriceRule)
    return price_of(service=service, rule=rule).rate


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
    as_of: datetime | None = None  # when the balance shown was read
    error: str = ""  # the last check's failure, when it failed after the balance shown


def upstream_balance_status() -> BalanceStatus:
    """The upstream balance last read (by its own schedule, after an "Insufficient balance", or
    by a sync), with the time it was read, against the warning threshold; the admin and the
    staff dashboard show it (below the threshold, orders start failing upstream)."""
    threshold = PricingSettings.load().upstream_balance_warning
    # The SIEULIKE_* provider's; every provider's own is on the dashboard's providers table.
    runs = SyncRun.objects.filter(provider__from_env=True)
    last_sync = runs.order_by("-started_at", "-id").first()
    read = UpstreamBalance.objects.filter(balance__isnull=False).order_by("-checked_at", "-id")
    latest = read.first()
    balance, as_of = (latest.balance, latest.checked_at) if latest else (None, None)
    if latest is None:
        # Before the first check of its own: what the last sync read.
        synced = (
            runs.filter(upstream_balance__isnull=False)
            .order_by("-started_at", "-id")
            .values_list("upstream_balance", "started_at")
            .first()
        )
        if synced is not None:
            balance, as_of = synced
    failed = (
        (
            UpstreamBalance.objects.filter(balance__isnull=True, checked_at__gt=as_of)
            if as_of is not None
            else UpstreamBalance.objects.filter(balance__isnull=True)
        )
        .order_by("-checked_at", "-id")
        .values_list("error", flat=True)
        .first()
    )
    return BalanceStatus(
        balance=balance,
        threshold=threshold,
        is_low=balance is not None and balance < threshold,
        last_sync=last_sync,
        as_of=as_of,
        error=failed or "",
    )


# --------------------------------------------------------------------------- customer prices


class PriceRule:
    """One customer's price rule, loaded once per request (see `customer_price_rule`). Its fixed
    rates are read on first use: the API's cached `services` answer needs only the version."""

    def __init__(
        self,
        *,
        pk: int,
        discount_percent: Decimal,
        allow_below_floor: bool,
        min_margin: Decimal,
        version: str,
        rate_count: int,
    ) -> None:
        self.pk = pk
        self.discount_percent = discount_percent
        self.allow_below_floor = allow_below_floor
        self.min_margin = min_margin
        self.version = version  # changes whenever the rule, a rate or the minimum margin does
        self.rate_count = rate_count

    @cached_property
    def fixed(self) -> dict[int, Decimal]:
        """Service id -> this customer's fixed rate per 1000."""
        if not self.rate_count:
            return {}
        rates = CustomerRate.objects.filter(pricing_id=self.pk).values_list("service_id", "rate")
        return dict(rates)

    @property
    def cache_key(self) -> str:
        return f"rule{self.pk}-{self.version}"


Customer = AbstractBaseUser | AnonymousUser | None


def customer_price_rule(*, user: Customer) -> PriceRule | None:
    """The customer's own price rule, or None (visitors, and customers without one, pay the list
    price). One query: the rule, the latest change and number of its rates, the minimum margin."""
    if user is None or not user.is_authenticated:
        return None
    margin = PricingSettings.objects.filter(pk=1).values("min_margin_percent")[:1]
    pricing = (
        CustomerPricing.objects.filter(user_id=user.pk)
        .annotate(
            rates_changed=Max("rates__updated_at"),
            rate_count=Count("rates"),
            min_margin=Subquery(margin),
        )
        .first()
    )
    if pricing is None:
        return None
    min_margin = pricing.min_margin
    if min_margin is None:  # the settings row was never saved: its default applies
        min_margin = PricingSettings._meta.get_field("min_margin_percent").get_default()
    # The rule's own time, its rates' latest time and their count (a deleted rate changes the
    # count), and the margin: a change of anything the prices depend on is a new version.
    stamp = max(pricing.updated_at, pricing.rates_changed or pricing.updated_at)
    version = f"{int(stamp.timestamp() * 1_000_000)}-{pricing.rate_count}-{min_margin}"
    return PriceRule(
        pk=pricing.pk,
        discount_percent=pricing.discount_percent,
        allow_below_floor=pricing.allow_below_floor,
        min_margin=Decimal(min_margin),
        version=version,
        rate_count=pricing.rate_count,
    )


def price_of(*, service: Service, rule: PriceRule | None) -> CustomerPrice:
    """One service's price under a rule already loaded (no query)."""
    list_rate = Decimal(service.sell_rate)
    if rule is None:
        return CustomerPrice(rate=list_rate, list_rate=list_rate, rule=CustomerRule.LIST)
    return customer_price(
        list_rate=list_rate,
        cost_rate=Decimal(service.cost_rate),
        min_margin=rule.min_margin,
        discount_percent=rule.discount_percent,
        fixed_rate=rule.fixed.get(service.pk),
        allow_below_floor=rule.allow_below_floor,
    )


def with_customer_prices(
    *, user: Customer, services: Iterable[Service], rule: PriceRule | None | object = _LOAD
) -> list[Service]:
    """The services, each with this customer's own price: `customer_price` (a CustomerPrice)
    and `customer_rate` (its rate per 1000). Every page, the API and `order_place` read prices
    through here, so the price shown is the price charged. `rule`, when the caller already
    loaded it with `customer_price_rule` (None included), saves the queries."""
    if rule is _LOAD:
        rule = customer_price_rule(user=user)
    assert rule is None or isinstance(rule, PriceRule)
    priced = list(services)
    for service in priced:
        price = price_of(service=service, rule=rule)
        # Attributes the pages read, set on each instance (not model fields, unknown to stubs).
        service.customer_price = price  # type: ignore[attr-defined]
        service.customer_rate = price.rate  # type: ignore[attr-defined]
    return priced


def customer_price_for(*, user: Customer, service: Service) -> CustomerPrice:
    """What this customer pays per 1000 for this service (`order_place` charges this)."""
    return price_of(service=service, rule=customer_price_rule(user=user))


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
    page: Page[Any]  # its object_list: the services at the customer's prices
    platforms: list[str]
    types: list[tuple[str, str]]
    filters: CatalogFilters
    total: int


def _filtered(filters: CatalogFilters) -> QuerySet[Service]:
    services = services_for_sale()
    query = filters.query.strip()[:SEARCH_MAX]
    if query:
        match = Q(name__icontains=query) | Q(category__icontains=query)
        number = parse_id(query.lstrip("#"))
        if number is not None:
            match |= Q(pk=number)
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


def catalog_page(
    *, filters: CatalogFilters, page: int | str = 1, user: Customer = None
) -> CatalogPage:
    """One page of the customer catalog, grouped by category (callers regroup on `category`).

    Categories that hold a priority service come first, and priority services first within
    their category, as the upstream recommends, while each category stays in one block.
    Three queries whatever the catalog's size: the count, the page, the platform list (and the
    customer's own price rule: one more, three with a rule).
    """
    services = _filtered(filters).only(
        "id",
        "name",
        "type",
        "category",
        "platform",
        "description",
        "sell_rate",
        "cost_rate",  # for the customer's floor (see with_customer_prices); never shown
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
    # A list of the page's services at this customer's prices (the template regroups it).
    # Page.object_list is typed as the paginated queryset; a list of the same rows is what it holds.
    page_obj.object_list = with_customer_prices(  # type: ignore[assignment]
        user=user, services=page_obj.object_list
    )
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
        count = parse_int(value)
        count = 2 if count is None else count
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


def updates_page(
    *, page: int | str = 1, days: int = 30
) -> tuple[Page[PriceChange], list[UpdateRow]]:
    """Recent public changes (the last `days` days), newest first: two queries."""
    since = timezone.now() - timedelta(days=days)
    paginator = Paginator(public_changes().filter(at__gte=since), UPDATES_PAGE_SIZE)
    page_obj = paginator.get_page(page)
    return page_obj, [describe_change(change) for change in page_obj.object_list]


def price_preview(
    *, service: Service, markup_percent: Decimal | None, fixed_rate: Decimal | None
) -> Price:
    """What `service` would sell at under these service-level rules, with the shop's current
    policy and its category's markup: the admin shows it before saving a change."""
    rows = price_previews(services=[service], markup_percent=markup_percent, fixed_rate=fixed_rate)
    return rows[0].price


@dataclass(frozen=True, slots=True)
class PricePreviewRow:
    """One service of a bulk rule change: what it would sell at, and whether the minimum margin
    (not the rule the admin typed) decided that price."""

    service: Service
    price: Price
    floor_decides: bool  # a fixed price or a markup below cost + the minimum margin

    @property
    def paused(self) -> bool:
        return self.price.pause


def price_previews(
    *, services: Iterable[Service], markup_percent: Decimal | None, fixed_rate: Decimal | None
) -> list[PricePreviewRow]:
    """`price_preview` for many services at once (two queries, not two per service): the admin's
    bulk "set markup" shows it before applying a rule the minimum margin would override."""
    policy = PricingSettings.load()
    services = list(services)
    categories = dict(
        CategoryMarkup.objects.filter(category__in={s.category for s in services}).values_list(
            "category", "markup_percent"
        )
    )
    rows = []
    for service in services:
        category = categories.get(service.category)
        price = policy.price(
            cost_rate=service.cost_rate,
            category_markup=category,
            service_markup=markup_percent,
            fixed_rate=fixed_rate,
        )
        if fixed_rate is not None:
            floor_decides = price.flagged
        else:
            rules = (markup_percent, category, policy.default_markup_percent)
            percent = next(p for p in rules if p is not None)
            floor_decides = percent < policy.min_margin_percent and service.cost_rate > 0
        rows.append(PricePreviewRow(service=service, price=price, floor_decides=floor_decides))
    return rows
