"""The panel's own API v2 for resellers: the upstream's protocol, spoken by the panel.

Resellers run clients written for SMM panels of this family (`../shared/upstream-api-v2.md`), so
this module copies what those clients rely on, beyond the document:

- every answer is HTTP 200 with `Content-Type: application/json`, errors as `{"error": "..."}`:
  most clients call `raise_for_status()` (or test `status == 200`) before reading the body, so any
  other status would throw the message away and leave the reseller with "HTTP 429" or "HTTP 400";
- requests arrive as a form POST (the documented way), a GET with a query string, or a JSON body,
  and may carry fields this API does not know: they are ignored;
- a cancel or refill sent with `order` gets the single-order shape, with `orders` the list shape.

Ids are the panel's own (services and orders); refill ids are order ids, as in the document
("refill will equal the order ID you sent"): `refill_status&refill=12` reports the latest refill
request of order 12. Another customer's order answers exactly like one that does not exist.

This module parses, authenticates, calls the apps' services and selectors, and shapes JSON. The
rules (what may be ordered, refilled, cancelled, at what price) live in `orders` and `catalog`.
The API key is a secret: it is read from the request once and never logged, and nothing here logs
a request's body or query string.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from accounts import services as accounts
from billing import selectors as billing_selectors
from billing import services as billing
from catalog import selectors as catalog
from orders import guards as order_guards
from orders import rules as order_rules
from orders import selectors as order_selectors
from orders.customer_requests import (
    cancel_request,
    cancel_request_many,
    refill_request,
    refill_request_many,
)
from orders.errors import OrderRejected
from orders.models import OrderKind
from orders.placing import order_place
from orders.rules import VIP_FIELDS
from panel import ratelimit
from panel.money import quantize_money, quantize_rate
from panel.numbers import parse_id

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from catalog.models import Service
    from orders.models import Order

logger = logging.getLogger(__name__)

STATUS_MAX_IDS: Final = 200  # the document's limit for `status&orders=`
BATCH_MAX_IDS: Final = 100  # ... and for refill, refill_status and cancel with a list
SERVICES_CACHE_SECONDS: Final = 6 * 3600  # a new catalog_version() makes a new key long before

# Error strings: the document's where it has one, plain English elsewhere. Clients match on them.
INVALID_KEY: Final = "Invalid API key"
INCORRECT_REQUEST: Final = "Incorrect request"
INCORRECT_ACTION: Final = "Incorrect action"
INCORRECT_ORDER: Final = "Incorrect order ID"
REFILL_NOT_FOUND: Final = "Refill not found"
TOO_MANY_REQUESTS: Final = "Too many requests"
INTERNAL_ERROR: Final = "Internal error, try again later"
METHOD_NOT_ALLOWED: Final = "Method not allowed: use GET or POST"
ALLOWED_METHODS: Final = ("GET", "POST")


class ApiError(Exception):
    """A request refused with `{"error": message}`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Encoded(str):
    """A JSON document already encoded (the cached services list): sent as it is."""


Params = Mapping[str, str]
Handler = Callable[["User", Params, HttpRequest], Any]


# --- the endpoint --------------------------------------------------------------------------------


@csrf_exempt  # machine clients post forms without a CSRF token; the key is the credential
@never_cache
def endpoint(request: HttpRequest) -> HttpResponse:
    """`/api/v2`: one URL, the action chosen by the `action` field."""
    if request.method not in ALLOWED_METHODS:
        # HEAD, PUT, DELETE, PATCH, OPTIONS... act on nothing: a HEAD once placed and charged
        # an order from its query string. The one answer that is not HTTP 200 (see above): no
        # client of the protocol sends these methods, and 405 is what HTTP says.
        response = _answer({"error": METHOD_NOT_ALLOWED})
        response.status_code = 405
        response["Allow"] = ", ".join(ALLOWED_METHODS)
        return response
    try:
        return _answer(_dispatch(request))
    except ApiError as exc:
        return _answer({"error": exc.message})
    except Exception:
        # The path only: the query string and the body carry the key.
        logger.exception("API v2 request to %s failed", request.path)
        return _answer({"error": INTERNAL_ERROR})


def _dispatch(request: HttpRequest) -> Any:
    params = request_params(request)
    address = ratelimit.client_address(request)
    failed_bucket = f"api-auth-failed:{address}"
    # Checked before the key is looked up: an address guessing keys costs no SQL once blocked.
    if ratelimit.exceeded(failed_bucket, limit=settings.API_FAILED_AUTH_PER_MINUTE):
        raise ApiError(TOO_MANY_REQUESTS)
    user = accounts.api_key_user(raw=params.get("key", "").strip())
    if user is None:
        ratelimit.hit(failed_bucket, limit=settings.API_FAILED_AUTH_PER_MINUTE)
        logger.warning("API v2: invalid key from %s", address)
        raise ApiError(INVALID_KEY)
    if not ratelimit.hit(f"api-user:{user.pk}", limit=settings.API_RATE_LIMIT_PER_MINUTE):
        raise ApiError(TOO_MANY_REQUESTS)
    accounts.touch_api_key(user=user)

    handler = ACTIONS.get(params.get("action", "").strip().lower())
    if handler is None:
        raise ApiError(INCORRECT_ACTION)
    try:
        return handler(user, params, request)
    except OrderRejected as exc:
        raise ApiError(exc.message) from None


def _answer(payload: Any) -> HttpResponse:
    # ASCII-escaped JSON: a client that guesses the charset wrong still decodes "Tăng" intact.
    body = payload if isinstance(payload, _Encoded) else json.dumps(payload)
    return HttpResponse(body, content_type="application/json")


# --- parsing -------------------------------------------------------------------------------------


def request_params(request: HttpRequest) -> dict[str, str]:
    """The request's fields as strings, from the query string and then the body (the body wins).

    Form bodies (urlencoded or multipart), JSON objects (`Content-Type: application/json`) and
    bodies posted without a usable content type (a JSON object when it looks like one, else read
    as urlencoded, as some PHP scripts send them) are all accepted. JSON numbers become their
    text and lists become comma-separated text, so `{"orders": [1, 2]}` means `orders=1,2`.
    """
    params: dict[str, str] = dict(request.GET.items())  # type: ignore[arg-type]  # a parsed QueryDict holds no empty lists
    if request.method != "POST":
        return params
    content_type = (request.content_type or "").lower()
    try:
        if content_type == "application/json" or content_type.endswith("+json"):
            params.update(_json_fields(request.body))
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            params.update(request.POST.items())  # type: ignore[arg-type]  # a parsed QueryDict holds no empty lists
        elif request.body.lstrip().startswith(b"{"):  # JSON sent as text/plain or untyped
            params.update(_json_fields(request.body))
        elif request.body:
            params.update(QueryDict(request.body, encoding=request.encoding).items())  # type: ignore[arg-type]  # a parsed QueryDict holds no empty lists
    except (BadRequest, SuspiciousOperation, MultiPartParserError, LookupError, ValueError):
        # A body Django cannot read (too big, too many fields, a form not in UTF-8, multipart
        # without a boundary, an unknown charset, bad JSON) is the client's mistake, not ours:
        # a plain error, no traceback in the log.
        raise ApiError(INCORRECT_REQUEST) from None
    except RecursionError:  # JSON nested deeper than Python's stack (`[[[[...]]]]`)
        raise ApiError(INCORRECT_REQUEST) from None
    return params


def _json_fields(body: bytes) -> dict[str, str]:
    if not body.strip():
        return {}
    data = json.loads(body)  # ValueError (JSONDecodeError, UnicodeDecodeError) -> Incorrect request
    if not isinstance(data, dict):
        raise ValueError("a JSON body must be an object")
    fields: dict[str, str] = {}
    for name, value in data.items():
        text = _json_text(value)
        if text is not None:
            fields[str(name)] = text
    return fields


def _json_text(value: object) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        # Never 1 or 0: `"service": true` once ordered service #1. As text it is no number,
        # so any field expecting one refuses it.
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(text for item in value if (text := _json_text(item)) is not None)
    return str(value)


def id_list(raw: str, *, limit: int, name: str = "orders") -> list[str]:
    """The comma-separated items of a list field, trimmed, without blanks or repeats.

    Items that are not ids are kept (as text): each gets its own per-item error in the answer.
    """
    items = list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if not items:
        raise ApiError(INCORRECT_ORDER if name == "orders" else REFILL_NOT_FOUND)
    if len(items) > limit:
        raise ApiError(f"Maximum {limit} {name} per request")
    return items


def _list_field(params: Params, name: str) -> str | None:
    """The list field (`orders`, `refills`) when the request uses it, else None (single shape)."""
    value = params.get(name)
    return value if value is not None and value.strip() else None


def _item_id(raw: str) -> int | str:
    """The item as the answer repeats it: an integer when it is one, else the text sent."""
    parsed = parse_id(raw)
    return parsed if parsed is not None else raw


# --- shaping -------------------------------------------------------------------------------------


def money_text(value: Decimal | int) -> str:
    return format(quantize_money(value), "f")


def rate_text(value: Decimal | int) -> str:
    return format(quantize_rate(value), "f")


def service_row(service: Service) -> dict[str, Any]:
    """One service as the document lists it, under the panel's id at the customer's price
    (`customer_rate`, set by `catalog.with_customer_prices`)."""
    return {
        "service": service.pk,
        "name": service.name,
        "type": service.type,
        "rate": rate_text(service.customer_rate),  # type: ignore[attr-defined]
        "min": service.min_quantity,
        "max": service.max_quantity,
        "dripfeed": service.dripfeed,
        "refill": service.refill,
        "days_refill": service.days_refill,
        "cancel": service.cancel,
        "avg_time_min": service.avg_time_min,
        "status": service.upstream_status,
        "category": service.category,
        "description": service.description,
        "priority": service.priority,
    }


def order_status_rows(orders: Mapping[int, Order]) -> dict[int, dict[str, Any]]:
    """The status of each order in the document's shape (drip-feed parents and VIP packages
    included), with one query for the refunds of them all."""
    refunded = billing_selectors.order_refunds(order_ids=[o.pk for o in orders.values()])
    return {pk: order_status_row(order, refunded=refunded.get(pk)) for pk, order in orders.items()}


def order_status_row(order: Order, *, refunded: Decimal | None = None) -> dict[str, Any]:
    status = order_selectors.public_status(order)
    extra = order.extra if isinstance(order.extra, dict) else {}
    if order.kind == OrderKind.DRIPFEED:
        # The runs are orders the upstream creates under its own ids; the panel does not sell
        # them as orders of its own, so there is no panel id to list (and an upstream id must
        # never reach a customer): `orders` stays empty, `runs` counts the runs started so far.
        return {
            "status": status,
            "runs": str(_int_or_text(extra.get("runs_started", 0))),
            "orders": [],
        }
    row: dict[str, Any] = {
        # What the customer paid: the charge less what was refunded (a Partial, a Canceled).
        "charge": money_text(Decimal(order.charge) - (refunded or 0)),
        "start_count": str(order.start_count or 0),
        "status": status,
        "remains": str(_remains(order, status)),
        "currency": settings.CURRENCY,
    }
    for stored, name in VIP_FIELDS.items():
        value = extra.get(stored)
        if value is not None:
            row[name] = _int_or_text(value)
    return row


def _remains(order: Order, status: str) -> int:
    if order.remains is not None:
        return max(0, int(order.remains))
    # Not reported yet: nothing delivered unless the order is known complete.
    return 0 if status == "Completed" else order.total_quantity


def _int_or_text(value: object) -> int | str:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    parsed = parse_id(value)
    return parsed if parsed is not None else str(value)


# --- actions -------------------------------------------------------------------------------------


def action_balance(user: User, params: Params, request: HttpRequest) -> Any:
    balance = billing.wallet_balance(user=user)
    return {"balance": money_text(balance), "currency": settings.CURRENCY}


def action_services(user: User, params: Params, request: HttpRequest) -> Any:
    """The services for sale at this customer's prices, encoded once per catalog version and
    price rule (see `services_cache_key`)."""
    rule = catalog.customer_price_rule(user=user)
    key = services_cache_key(rule=rule)
    body = cache.get(key)
    if body is None:
        services = catalog.with_customer_prices(
            user=user, services=catalog.services_for_sale(), rule=rule
        )
        body = json.dumps([service_row(service) for service in services])
        cache.set(key, body, timeout=SERVICES_CACHE_SECONDS)
    return _Encoded(body)


def services_cache_key(*, rule: catalog.PriceRule | None) -> str:
    """Where the encoded `services` answer for a customer with this price rule is cached.

    Every part of the key is a truth read from the database, never from the cache itself, so a
    lost, stale or per-process cache can cost a rebuild but never serve a price that `add` would
    not charge. The catalog version is read before the services (see `catalog_version`). Prices
    that differ per customer add their own: customers without a price rule of their own share
    one answer ("list"); a customer with one has an answer keyed by the rule's id and version
    (read from the database with the rule), so nobody is ever served another customer's prices
    and a changed rule is a new key at once.
    """
    parts = [
        f"catalog={catalog.catalog_version()}",
        f"prices={rule.cache_key if rule is not None else 'list'}",
    ]
    return "api-v2-services:" + ":".join(parts)


def action_add(user: User, params: Params, request: HttpRequest) -> Any:
    """Place an order of any kind; the service's type decides which fields matter."""
    key = params.get("idempotency_key") or request.headers.get("Idempotency-Key") or None
    service_id = _service_id(params.get("service"))
    link = params.get("link", "").strip()
    # Same link, same service, another order still open: refused unless confirmed
    # (ORDER_SAME_LINK=refuse), or placed with a warning (warn, the default).
    confirmed = params.get("confirm_same_link", "").strip().lower() in ("1", "true", "yes")
    warn = not confirmed and not order_guards.api_refuses_same_link()
    existing = (
        order_guards.open_order_on_link(user=user, service_id=service_id, link=link)
        if warn
        else None
    )
    order = order_place(
        user=user,
        service_id=service_id,
        link=link,
        quantity=_optional(params, "quantity"),
        comments=params.get("comments"),
        username=_optional(params, "username"),
        runs=_optional(params, "runs"),
        interval=_optional(params, "interval"),
        idempotency_key=key.strip() if key else None,
        max_rate=_optional(params, "max_rate"),
        confirm_same_link=confirmed or warn,
    )
    if existing is not None and existing.pk != order.pk:
        return {
            "order": order.pk,
            "warning": f"Order {existing.pk} for this link and service is still in progress",
        }
    return {"order": order.pk}


def _service_id(raw: str | None) -> int:
    service_id = parse_id(raw)
    if service_id is None:
        raise OrderRejected("service")  # worded where every order check is (orders.errors)
    return service_id


def _optional(params: Params, name: str) -> str | None:
    """A field's text, None when absent or blank (clients send `runs=` for "no drip-feed")."""
    value = params.get(name)
    return value.strip() if value is not None and value.strip() else None


def action_status(user: User, params: Params, request: HttpRequest) -> Any:
    listed = _list_field(params, "orders")
    if listed is None:
        order_id = parse_id(params.get("order"))
        rows = order_status_rows(_orders_of(user, [order_id]))
        if order_id is None or order_id not in rows:
            raise ApiError(INCORRECT_ORDER)
        return rows[order_id]
    items = id_list(listed, limit=STATUS_MAX_IDS)
    rows = order_status_rows(_orders_of(user, [parse_id(item) for item in items]))
    answer: dict[str, Any] = {}
    for item in items:
        order_id = parse_id(item)
        found = rows.get(order_id) if order_id is not None else None
        answer[item] = found if found is not None else {"error": INCORRECT_ORDER}
    return answer


def _orders_of(user: User, ids: Iterable[int | None]) -> dict[int, Order]:
    wanted = [order_id for order_id in ids if order_id is not None]
    if not wanted:
        return {}
    return order_selectors.order_statuses(user=user, order_ids=wanted)


def action_refill(user: User, params: Params, request: HttpRequest) -> Any:
    listed = _list_field(params, "orders")
    if listed is None:
        order_id = parse_id(params.get("order"))
        if order_id is None:
            raise ApiError(INCORRECT_ORDER)
        refill_request(user=user, order_id=order_id)
        return {"refill": order_id}
    items = id_list(listed, limit=BATCH_MAX_IDS)
    results = _many(refill_request_many, user, items)
    return [{"order": _item_id(item), "refill": _one_result(item, results)} for item in items]


def action_cancel(user: User, params: Params, request: HttpRequest) -> Any:
    listed = _list_field(params, "orders")
    if listed is None:
        order_id = parse_id(params.get("order"))
        if order_id is None:
            raise ApiError(INCORRECT_ORDER)
        cancel_request(user=user, order_id=order_id)
        return {"cancel": order_id}
    items = id_list(listed, limit=BATCH_MAX_IDS)
    results = _many(cancel_request_many, user, items)
    return [{"order": _item_id(item), "cancel": _one_result(item, results)} for item in items]


def _many(
    call: Callable[..., Mapping[int, Any]], user: User, items: list[str]
) -> Mapping[int, Any]:
    ids = [order_id for item in items if (order_id := parse_id(item)) is not None]
    return call(user=user, order_ids=ids) if ids else {}


def _one_result(item: str, results: Mapping[int, Any]) -> int | dict[str, str]:
    """A per-item answer: the order id on success, `{"error": ...}` otherwise."""
    order_id = parse_id(item)
    if order_id is None or order_id not in results:
        return {"error": INCORRECT_ORDER}
    result = results[order_id]
    if isinstance(result, OrderRejected):
        return {"error": result.message}
    if isinstance(result, str):
        return {"error": result}
    return order_id


def action_refill_status(user: User, params: Params, request: HttpRequest) -> Any:
    """A refill id is the order id (the document: "the Order ID that was submitted for refill");
    the status is that of the order's latest refill request."""
    listed = _list_field(params, "refills")
    if listed is None:
        order_id = parse_id(params.get("refill"))
        statuses = _refill_statuses(user, [order_id])
        if order_id is None or order_id not in statuses:
            raise ApiError(REFILL_NOT_FOUND)
        return {"status": statuses[order_id]}
    items = id_list(listed, limit=BATCH_MAX_IDS, name="refills")
    statuses = _refill_statuses(user, [parse_id(item) for item in items])
    answer = []
    for item in items:
        order_id = parse_id(item)
        word = statuses.get(order_id) if order_id is not None else None
        answer.append({"refill": _item_id(item), "status": word or {"error": REFILL_NOT_FOUND}})
    return answer


def _refill_statuses(user: User, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = [order_id for order_id in ids if order_id is not None]
    if not wanted:
        return {}
    refills = order_selectors.refill_statuses(user=user, ids=wanted, by_order=True)
    return {
        order_id: order_selectors.public_refill_status(refill)
        for order_id, refill in refills.items()
    }


ACTIONS: Final[dict[str, Handler]] = {
    "balance": action_balance,
    "services": action_services,
    "add": action_add,
    "status": action_status,
    "refill": action_refill,
    "refill_status": action_refill_status,
    "cancel": action_cancel,
}


# --- the documentation page ----------------------------------------------------------------------


@login_required
def docs(request: HttpRequest) -> HttpResponse:
    """The API's documentation for the signed-in customer, with their own endpoint in examples."""
    return render(
        request,
        "api/docs.html",
        {
            "endpoint": request.build_absolute_uri(reverse("api_v2")),
            "status_max": STATUS_MAX_IDS,
            "batch_max": BATCH_MAX_IDS,
            # The order limits, stated from the constants the checks use (orders.rules).
            "runs_min": order_rules.RUNS_MIN,
            "dripfeed_max": order_rules.DRIPFEED_MAX_MINUTES,
            "key_max": order_rules.IDEMPOTENCY_KEY_MAX_LENGTH,
            "rate_limit": settings.API_RATE_LIMIT_PER_MINUTE,
            "currency": settings.CURRENCY,
            "price_rule": catalog.customer_price_rule(user=request.user),
        },
    )
