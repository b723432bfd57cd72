"""Reads behind the new-order page's category -> service picker and its service card.

The page never ships the whole catalog: it lists the categories (one cached aggregate), and the
services of one category, one search or the customer's favourites, at most `PICKER_MAX` of them;
the browser asks `orders:picker_services` for another list and `orders:service_card` for a card.
So the page weighs the same with 500 services or 5,000 (see tests/bench/test_order_page.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet

from catalog.models import FavouriteService, Service
from catalog.selectors import (
    SEARCH_MAX,
    catalog_version,
    customer_price_rule,
    customer_rate,
    services_for_sale,
)
from panel.money import format_vnd
from panel.numbers import parse_id

from .stats import CompletionTime, completion_times

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PICKER_MAX = 100
FAVOURITES = "*"  # the picker's pseudo-category of starred services
_CATEGORIES_TTL = 300

_LIST_FIELDS = (
    "id",
    "name",
    "type",
    "category",
    "platform",
    "sell_rate",
    "min_quantity",
    "max_quantity",
    "priority",
)


@dataclass(frozen=True)
class Category:
    name: str
    count: int


@dataclass(frozen=True)
class Platform:
    name: str
    categories: list[Category]


def picker_categories() -> list[Platform]:
    """Categories for sale grouped by platform, with their sizes; cached per catalog version
    (one GROUP BY over the catalog otherwise, on every page view)."""
    key = f"picker-categories:{catalog_version()}"
    cached: list[Platform] | None = cache.get(key)
    if cached is not None:
        return cached
    rows = (
        services_for_sale()
        .order_by()
        .values("platform", "category")
        .annotate(count=Count("id"))
        .order_by("platform", "category")
    )
    platforms: dict[str, list[Category]] = {}
    for row in rows:
        platforms.setdefault(row["platform"], []).append(Category(row["category"], row["count"]))
    result = [Platform(name, categories) for name, categories in platforms.items()]
    cache.set(key, result, _CATEGORIES_TTL)
    return result


def favourite_ids(*, user: User) -> set[int]:
    return set(FavouriteService.objects.filter(user=user).values_list("service_id", flat=True))


@dataclass
class ServiceList:
    services: list[Service]
    total: int
    favourites: set[int] = field(default_factory=set)
    user: Any = None

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.services))

    @cached_property
    def price_rule(self) -> Any:
        """The customer's price rule, loaded once for every row (one query, not one a row)."""
        return customer_price_rule(user=self.user)

    def rate(self, service: Service) -> Decimal:
        return customer_rate(service=service, user=self.user, rule=self.price_rule)

    @property
    def rows(self) -> list[tuple[Service, Decimal, bool]]:
        """(service, the customer's rate, starred) for the page's <option>s."""
        return [(s, self.rate(s), s.pk in self.favourites) for s in self.services]

    @property
    def rates_text(self) -> str:
        """`id:rate,...` of every listed service: what the form says it showed (the price guard)."""
        return ",".join(f"{s.pk}:{self.rate(s):.4f}" for s in self.services)

    def as_json(self) -> dict[str, Any]:
        return {
            "services": [
                {
                    "id": s.pk,
                    "name": s.name,
                    "category": s.category,
                    "type": s.type,
                    "rate": f"{self.rate(s):.4f}",
                    "price": format_vnd(self.rate(s)),
                    "favourite": s.pk in self.favourites,
                }
                for s in self.services
            ],
            "total": self.total,
            "more": self.more,
            "rates": self.rates_text,
        }


def _ordered(services: QuerySet[Service]) -> QuerySet[Service]:
    return services.only(*_LIST_FIELDS).order_by("category", "-priority", "sell_rate", "id")


def picker_services(
    *, user: User, category: str = "", query: str = "", include: Service | None = None
) -> ServiceList:
    """The services one picker list shows: a search over names and categories (and #id), one
    category, or the customer's favourites (FAVOURITES); at most PICKER_MAX, favourites first."""
    favourites = favourite_ids(user=user)
    services = services_for_sale()
    query = query.strip()[:SEARCH_MAX]
    if query:
        match = Q(name__icontains=query) | Q(category__icontains=query)
        if (pk := parse_id(query.lstrip("#"))) is not None:
            match |= Q(pk=pk)
        services = services.filter(match)
    elif category == FAVOURITES:
        services = services.filter(pk__in=favourites)
    elif category:
        services = services.filter(category=category)
    else:
        services = services.none()
    total = services.count()
    listed = list(_ordered(services)[:PICKER_MAX])
    if include is not None and all(s.pk != include.pk for s in listed):
        listed.insert(0, include)
    listed.sort(key=lambda s: s.pk not in favourites)  # stable: starred first, order kept
    return ServiceList(services=listed, total=total, favourites=favourites, user=user)


@dataclass(frozen=True)
class ServiceCard:
    service: Service
    rate: Decimal
    time: CompletionTime
    favourite: bool


def service_card(*, user: User, service: Service) -> ServiceCard:
    return ServiceCard(
        service=service,
        rate=customer_rate(service=service, user=user),
        time=completion_times([service])[service.pk],
        favourite=FavouriteService.objects.filter(user=user, service=service).exists(),
    )
