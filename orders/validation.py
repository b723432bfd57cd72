"""Checking an order against the catalog, before any money moves.

One module for the web form, mass order and the API v2, so the three refuse the same input with
the same words (`OrderRejected` codes, worded in `orders.errors`).
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import Service, ServiceType

from . import rules
from .errors import OrderRejected
from .models import OrderKind


@dataclass(frozen=True)
class CheckedOrder:
    service: Service
    kind: str
    link: str
    quantity: int
    comments: str = ""
    username: str = ""
    runs: int | None = None
    interval: int | None = None

    @property
    def total_quantity(self) -> int:
        return self.quantity * (self.runs or 1)


KIND_BY_TYPE = {
    ServiceType.DEFAULT: OrderKind.DEFAULT,
    ServiceType.CUSTOM_COMMENTS: OrderKind.CUSTOM_COMMENTS,
    ServiceType.COMMENT_LIKES: OrderKind.COMMENT_LIKES,
    ServiceType.PACKAGE: OrderKind.PACKAGE,
}


def is_given(value: object) -> bool:
    # Reseller scripts send "runs=0&interval=0" or empty strings for an ordinary order.
    return value is not None and str(value).strip() not in ("", "0")


def check_quantity(service: Service, value: object) -> int:
    quantity = rules.as_int(value)
    if quantity is None or quantity <= 0:
        raise OrderRejected("quantity")
    if quantity < service.min_quantity:
        raise OrderRejected("quantity_min", min=service.min_quantity)
    if quantity > service.max_quantity:
        raise OrderRejected("quantity_max", max=service.max_quantity)
    return quantity


def check_order(
    *,
    service_id: object,
    link: object,
    quantity: object,
    comments: object,
    username: object,
    runs: object,
    interval: object,
) -> CheckedOrder:
    """Validate everything against the catalog, in the upstream's order of checks."""
    # The upstream's rule: runs >= 2 activates drip feed; runs=1 is an ordinary order (reseller
    # scripts that always send `runs` rely on it). Fewer than 1 is refused, as upstream.
    if is_given(runs) and rules.as_int(runs) == 1:
        runs = interval = None
    sid = rules.as_int(service_id)
    service = Service.objects.filter(pk=sid).first() if sid is not None and sid > 0 else None
    if service is None or not service.is_available or service.type not in KIND_BY_TYPE:
        raise OrderRejected("service")
    kind = KIND_BY_TYPE[ServiceType(service.type)]

    clean_link = link.strip() if isinstance(link, str) else ""
    if not rules.is_valid_link(clean_link):
        raise OrderRejected("link")

    if kind == OrderKind.CUSTOM_COMMENTS:
        lines = rules.comment_lines(comments if isinstance(comments, str) else "")
        if not lines:
            raise OrderRejected("comments_missing")
        for number, line in enumerate(lines, start=1):
            if not rules.is_valid_comment(line):
                raise OrderRejected("comment_line", line=number, limit=rules.COMMENT_MAX_LENGTH)
        if len(lines) < service.min_quantity:
            raise OrderRejected("comments_min", min=service.min_quantity)
        if len(lines) > min(service.max_quantity, rules.COMMENTS_MAX_LINES):
            raise OrderRejected(
                "comments_max", max=min(service.max_quantity, rules.COMMENTS_MAX_LINES)
            )
        if is_given(runs):
            raise OrderRejected("no_dripfeed")
        return CheckedOrder(service, kind, clean_link, len(lines), comments="\n".join(lines))

    if is_given(runs):
        if kind != OrderKind.DEFAULT or not service.dripfeed:
            raise OrderRejected("no_dripfeed")
        per_run = check_quantity(service, quantity)
        runs_n = rules.as_int(runs)
        if runs_n is None or runs_n < 2:
            raise OrderRejected("runs")
        interval_n = rules.as_int(interval)
        if interval_n is None or interval_n < 1:
            raise OrderRejected("interval")
        if runs_n * interval_n > rules.DRIPFEED_MAX_MINUTES:
            raise OrderRejected("total_time")
        # The upstream checks only the per-run quantity; the total is capped too so that a
        # drip-feed cannot buy more than the service's maximum by splitting it into runs.
        if per_run * runs_n > service.max_quantity:
            raise OrderRejected("total_max", max=service.max_quantity)
        return CheckedOrder(
            service, OrderKind.DRIPFEED, clean_link, per_run, runs=runs_n, interval=interval_n
        )

    count = check_quantity(service, quantity)
    if kind == OrderKind.COMMENT_LIKES:
        name = username.strip() if isinstance(username, str) else ""
        if not name:
            raise OrderRejected("username_missing")
        if not rules.is_valid_username(name):
            raise OrderRejected("username")
        return CheckedOrder(service, kind, clean_link, count, username=name)
    return CheckedOrder(service, kind, clean_link, count)
