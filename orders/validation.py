"""Checking an order against the catalog, before any money moves.

One module for the web form, mass order and the API v2, so the three refuse the same input with
the same words (`OrderRejected` codes, worded in `orders.errors`). The limits are the constants
of `orders.rules`, and every refusal that names a limit is given it from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import Service, ServiceType
from panel.numbers import parse_id, parse_int

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
    """Validate everything against the catalog, in the upstream's order of checks: service,
    link, then what the service's type asks for (comments, drip-feed, quantity, username)."""
    # The upstream's rule: runs >= 2 activates drip feed; runs=1 is an ordinary order (reseller
    # scripts that always send `runs` rely on it). Fewer than 1 is refused, as upstream.
    if is_given(runs) and parse_int(runs) == 1:
        runs = interval = None
    service = check_service(service_id)
    kind = KIND_BY_TYPE[ServiceType(service.type)]
    clean_link = check_link(link)
    if kind == OrderKind.CUSTOM_COMMENTS:
        lines = check_comments(service, comments)
        if is_given(runs):
            raise OrderRejected("no_dripfeed")
        return CheckedOrder(service, kind, clean_link, len(lines), comments="\n".join(lines))
    if is_given(runs):
        if kind != OrderKind.DEFAULT or not service.dripfeed:
            raise OrderRejected("no_dripfeed")
        per_run = check_quantity(service, quantity)
        runs_n, interval_n = check_runs(service, per_run=per_run, runs=runs, interval=interval)
        return CheckedOrder(
            service, OrderKind.DRIPFEED, clean_link, per_run, runs=runs_n, interval=interval_n
        )
    count = check_quantity(service, quantity)
    if kind == OrderKind.COMMENT_LIKES:
        return CheckedOrder(service, kind, clean_link, count, username=check_username(username))
    return CheckedOrder(service, kind, clean_link, count)


def check_idempotency_key(value: str | None) -> str | None:
    """A client's idempotency key, trimmed; None when none was sent."""
    key = (value or "").strip() or None
    if key is not None and len(key) > rules.IDEMPOTENCY_KEY_MAX_LENGTH:
        raise OrderRejected("idempotency_key")
    return key


def check_service(value: object) -> Service:
    """A service on sale, of a type the panel can order."""
    pk = parse_id(value)
    service = Service.objects.filter(pk=pk).first() if pk is not None else None
    if service is None or not service.is_available or service.type not in KIND_BY_TYPE:
        raise OrderRejected("service")
    return service


def check_link(value: object) -> str:
    link = value.strip() if isinstance(value, str) else ""
    if not rules.is_valid_link(link):
        raise OrderRejected("link", limit=rules.LINK_MAX_LENGTH)
    return link


def check_quantity(service: Service, value: object) -> int:
    quantity = parse_int(value)
    if quantity is None or quantity <= 0:
        raise OrderRejected("quantity")
    if quantity < service.min_quantity:
        raise OrderRejected("quantity_min", min=service.min_quantity)
    if quantity > service.max_quantity:
        raise OrderRejected("quantity_max", max=service.max_quantity)
    return quantity


def check_comments(service: Service, value: object) -> list[str]:
    """Custom comments, one a line: the number of lines is the quantity."""
    lines = rules.comment_lines(value if isinstance(value, str) else "")
    if not lines:
        raise OrderRejected("comments_missing")
    for number, line in enumerate(lines, start=1):
        if not rules.is_valid_comment(line):
            raise OrderRejected("comment_line", line=number, limit=rules.COMMENT_MAX_LENGTH)
    if len(lines) < service.min_quantity:
        raise OrderRejected("comments_min", min=service.min_quantity)
    most = min(service.max_quantity, rules.COMMENTS_MAX_LINES)
    if len(lines) > most:
        raise OrderRejected("comments_max", max=most)
    return lines


def check_runs(
    service: Service, *, per_run: int, runs: object, interval: object
) -> tuple[int, int]:
    """A drip-feed's runs and interval (minutes), once its per-run quantity has passed."""
    runs_n = parse_int(runs)
    if runs_n is None or runs_n < rules.RUNS_MIN:
        raise OrderRejected("runs", min=rules.RUNS_MIN)
    interval_n = parse_int(interval)
    if interval_n is None or interval_n < 1:
        raise OrderRejected("interval")
    if runs_n * interval_n > rules.DRIPFEED_MAX_MINUTES:
        raise OrderRejected(
            "total_time",
            max=rules.DRIPFEED_MAX_MINUTES,
            hours=f"{rules.DRIPFEED_MAX_MINUTES / 60:g}",
        )
    # The upstream checks only the per-run quantity; the total is capped too so that a
    # drip-feed cannot buy more than the service's maximum by splitting it into runs.
    if per_run * runs_n > service.max_quantity:
        raise OrderRejected("total_max", max=service.max_quantity)
    return runs_n, interval_n


def check_username(value: object) -> str:
    """The commenter whose comment a comment-likes order likes."""
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise OrderRejected("username_missing")
    if not rules.is_valid_username(name):
        raise OrderRejected("username", limit=rules.USERNAME_MAX_LENGTH)
    return name


# --- mass order -------------------------------------------------------------------------------


def mass_lines(text: str) -> list[tuple[int, str]]:
    """A mass order's non-empty lines, trimmed and numbered as the customer wrote them."""
    numbered = [(n, line.strip()) for n, line in enumerate((text or "").splitlines(), start=1)]
    lines = [(n, line) for n, line in numbered if line]
    if not lines:
        raise OrderRejected("mass_empty")
    if len(lines) > rules.MASS_MAX_LINES:
        raise OrderRejected("mass_too_many", max=rules.MASS_MAX_LINES)
    return lines


def mass_fields(line: str) -> tuple[str, str, str]:
    """One mass order line, `service_id|link|quantity`, as its three trimmed fields."""
    parts = [part.strip() for part in line.split("|")]
    if len(parts) != 3:
        raise OrderRejected("mass_format")
    return parts[0], parts[1], parts[2]
