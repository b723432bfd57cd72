"""Reads of the orders app: what a customer may see, in a constant number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from billing.selectors import order_payment_entries
from panel.money import ZERO
from panel.numbers import parse_id, parse_int

from . import rules
from .models import OPEN_REFILL_STATES, CancelRequest, Order, OrderKind, OrderState, RefillRequest
from .policy import (
    REFILL_WORD_OF_STATE,
    cancel_refusal,
    public_status,
    public_status_filter,
    refill_refusal,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

__all__ = [
    "OrderRow",
    "PackageProgress",
    "package_progress",
    "order_counts_by_status",
    "order_detail",
    "order_row",
    "order_for_user",
    "order_statuses",
    "orders_for_user",
    "orders_list",
    "public_refill_status",
    "public_status",
    "refill_statuses",
    "refills_for_user",
    "spending_by_day",
]

S = OrderState
R = RefillRequest.State


def orders_for_user(*, user: User) -> QuerySet[Order]:
    """The user's orders, newest first, with their service (the only way pages reach orders)."""
    return Order.objects.filter(user=user).select_related("service")


def order_for_user(*, user: User, order_id: object) -> Order | None:
    """One of the user's orders, or None (another customer's order is indistinguishable from
    one that does not exist)."""
    pk = parse_id(order_id)
    if pk is None:
        return None
    return orders_for_user(user=user).filter(pk=pk).first()


def order_statuses(*, user: User, order_ids: Iterable[object]) -> dict[int, Order]:
    """The user's orders among `order_ids` (up to the API's 200), in one query; ids that are
    not the user's, or not integers, are absent."""
    ids = {pk for pk in map(parse_id, order_ids) if pk is not None}
    if not ids:
        return {}
    return {order.pk: order for order in orders_for_user(user=user).filter(pk__in=ids)}


def orders_list(*, user: User, status: str = "", search: str = "") -> QuerySet[Order]:
    """The orders page: filtered by public status, searched by link or id, annotated with what
    the refill and cancel buttons need (two EXISTS subqueries, not a query per row)."""
    queryset = orders_for_user(user=user).annotate(
        open_refill=Exists(
            RefillRequest.objects.filter(order=OuterRef("pk"), state__in=OPEN_REFILL_STATES)
        ),
        cancel_asked=Exists(CancelRequest.objects.filter(order=OuterRef("pk"))),
    )
    if (by_status := public_status_filter(status)) is not None:
        queryset = queryset.filter(by_status)
    search = search.strip()
    if search:
        match = Q(link__icontains=search)
        if (pk := parse_id(search.lstrip("#"))) is not None:
            match |= Q(pk=pk)
        queryset = queryset.filter(match)
    return queryset


def _count(value: object) -> int | None:
    """A non-negative counter from `order.extra` (the upstream's JSON), or None if absent/odd."""
    number = parse_int(value)
    return max(0, number) if number is not None else None


@dataclass(frozen=True)
class PackageProgress:
    """A VIP package's progress, from the counters the poll keeps in `order.extra`.

    A package's `remains` is always 0 upstream, so units say nothing: post-based packages count
    posts done of the package's posts; time-based ones count days. The upstream never tells a
    time-based package's length, so the bar (days gone of `package_days`) shows only when staff
    recorded that length in the order's details; otherwise days left and today's posts, no bar.
    """

    total_posts: int | None
    completed_posts: int | None
    days_left: int | None
    daily_post_limit: int | None
    daily_progress: int | None
    package_days: int | None

    @property
    def post_based(self) -> bool:
        return self.total_posts is not None

    @property
    def bar(self) -> tuple[int, int] | None:
        """(value, max) of the progress bar, or None when no honest bar can be drawn."""
        if self.total_posts:
            return min(self.completed_posts or 0, self.total_posts), self.total_posts
        if self.package_days and self.days_left is not None:
            days_left = min(self.days_left, self.package_days)
            return self.package_days - days_left, self.package_days
        return None

    @property
    def percent(self) -> int | None:
        bar = self.bar
        return round(100 * bar[0] / bar[1]) if bar else None

    @property
    def label(self) -> str:
        """One line for people, in the active language: "12 / 30 posts · 18 days left"."""
        parts = []
        if self.post_based:
            parts.append(
                gettext("%(done)s / %(total)s posts")
                % {"done": self.completed_posts or 0, "total": self.total_posts}
            )
        if self.days_left is not None:
            parts.append(
                ngettext("%(days)s day left", "%(days)s days left", self.days_left)
                % {"days": self.days_left}
            )
        if not self.post_based and self.daily_post_limit is not None:
            parts.append(
                gettext("%(done)s / %(limit)s posts today")
                % {"done": self.daily_progress or 0, "limit": self.daily_post_limit}
            )
        return " · ".join(parts) or gettext("Waiting for the first report")

    def as_json(self) -> dict[str, object]:
        bar = self.bar
        return {
            "label": self.label,
            "value": bar[0] if bar else None,
            "max": bar[1] if bar else None,
            "percent": self.percent,
        }


def package_progress(order: Order) -> PackageProgress | None:
    """The package counters of a VIP package order (keys written by the poll, orders.polling),
    or None for any other kind of order."""
    if order.kind != OrderKind.PACKAGE:
        return None
    extra = order.extra if isinstance(order.extra, dict) else {}
    counts = {name: _count(extra.get(name)) for name in rules.VIP_FIELDS}
    counts["total_posts"] = counts["total_posts"] or None  # no posts: not a post-based package
    # `package_days` is no upstream counter: staff record it in the order's details.
    return PackageProgress(**counts, package_days=_count(extra.get("package_days")) or None)


@dataclass(frozen=True)
class OrderRow:
    """What the orders pages show of one order, computed once."""

    order: Order
    status: str  # the upstream's word (public_status)
    delivered: int
    can_refill: bool
    can_cancel: bool
    package: PackageProgress | None = None  # set for VIP package orders only

    @property
    def final(self) -> bool:
        return self.status in rules.FINAL_STATUSES

    @property
    def percent(self) -> int:
        if self.package is not None:
            return self.package.percent or 0
        total = self.order.total_quantity
        return min(100, round(100 * self.delivered / total)) if total else 0


def order_row(
    order: Order, *, open_refill: bool | None = None, cancel_asked: bool | None = None
) -> OrderRow:
    """One row; `open_refill`/`cancel_asked` default to the annotations of `orders_list`."""
    if open_refill is None:
        open_refill = bool(getattr(order, "open_refill", False))
    if cancel_asked is None:
        cancel_asked = bool(getattr(order, "cancel_asked", False))
    return OrderRow(
        order=order,
        status=public_status(order),
        delivered=delivered(order),
        can_refill=refill_refusal(
            order, open_refill_state=R.PENDING if open_refill else None, now=timezone.now()
        )
        is None,
        can_cancel=cancel_refusal(order, has_cancel_request=cancel_asked) is None,
        package=package_progress(order),
    )


def order_detail(*, user: User, order_id: object) -> OrderRow | None:
    """An order of the user's with everything its page needs, or None."""
    pk = parse_id(order_id)
    if pk is None:
        return None
    order = orders_list(user=user).filter(pk=pk).first()
    return order_row(order) if order is not None else None


def delivered(order: Order) -> int:
    """How many units the upstream has delivered, for the progress bar. Not for VIP packages,
    whose `remains` is always 0 (see `package_progress`): they count 0 until they complete."""
    if order.kind == OrderKind.PACKAGE and order.state != S.COMPLETED:
        return 0
    if order.state == S.COMPLETED:
        return order.total_quantity
    if order.state == S.FAILED or order.remains is None:
        return 0
    return max(0, order.total_quantity - order.remains)


def order_counts_by_status(*, user: User) -> dict[str, int]:
    """Orders per public status, in one grouped query."""
    counts = dict.fromkeys(rules.PUBLIC_STATUSES, 0)
    rows = (
        Order.objects.filter(user=user)
        .values("state", "upstream_status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        probe = Order(state=row["state"], upstream_status=row["upstream_status"])
        counts[public_status(probe)] += row["n"]
    return counts


def spending_by_day(*, user: User, days: int = 30) -> list[tuple[date, Decimal]]:
    """What the user spent per day over the last `days` days (charges less refunds, by the day of
    the ledger entry, in the shop's time zone), every day present, oldest first. One query."""
    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = (
        order_payment_entries()
        .filter(wallet__user=user, created_at__date__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    by_day = {row["day"]: -(row["total"] or ZERO) for row in rows}
    return [
        (day, max(ZERO, by_day.get(day, ZERO)))
        for day in (start + timedelta(n) for n in range(days))
    ]


def refills_for_user(*, user: User) -> QuerySet[RefillRequest]:
    return RefillRequest.objects.filter(order__user=user).select_related("order__service")


def public_refill_status(refill: RefillRequest) -> str:
    """Pending, In progress, Completed or Rejected: the upstream's words for a refill."""
    return REFILL_WORD_OF_STATE.get(refill.state, rules.REFILL_PENDING)


def refill_statuses(
    *, user: User, ids: Iterable[object], by_order: bool = False
) -> dict[int, RefillRequest]:
    """The user's refills in one query, keyed by the id asked.

    By default the ids are the panel's refill ids (RefillRequest pk). With `by_order`, they are
    order ids, as the upstream's protocol has it ("the refill id is the order id"), and each maps
    to that order's latest refill.
    """
    wanted = {pk for pk in map(parse_id, ids) if pk is not None}
    if not wanted:
        return {}
    queryset = refills_for_user(user=user)
    if not by_order:
        return {refill.pk: refill for refill in queryset.filter(pk__in=wanted)}
    latest: dict[int, RefillRequest] = {}
    for refill in queryset.filter(order_id__in=wanted).order_by("order_id", "-created_at", "-id"):
        latest.setdefault(refill.order_id, refill)
    return latest


def provider_ids_of(queryset: QuerySet[Any], field: str = "provider_id") -> list[int]:
    """The providers the rows of `queryset` belong to: every call after placing goes to the
    order's own provider, batched per provider (see orders.polling.orders_poll)."""
    return sorted(set(queryset.order_by().values_list(field, flat=True).distinct()))
