"""Placing orders: validate, charge and queue, one at a time or a mass order's lines."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from billing.services import InsufficientFunds, wallet_charge
from catalog.selectors import customer_price_for
from panel.money import charge_for, format_vnd
from panel.numbers import parse_int

from . import guards, rules
from .errors import OrderRejected
from .forwarding import enqueue_forward
from .models import Order, OrderEvent, OrderState
from .validation import check_idempotency_key, check_order, mass_fields, mass_lines

if TYPE_CHECKING:
    from django.contrib.auth.models import User

S = OrderState


def _find_by_key(*, user: User, key: str, fingerprint: str) -> Order | None:
    existing = Order.objects.filter(user=user, idempotency_key=key).first()
    if existing is not None and existing.request_fingerprint != fingerprint:
        raise OrderRejected("idempotency_reused")
    return existing


def order_place(
    *,
    user: User,
    service_id: int | str,
    link: str,
    quantity: int | str | None = None,
    comments: str | None = None,
    username: str | None = None,
    runs: int | str | None = None,
    interval: int | str | None = None,
    idempotency_key: str | None = None,
    max_rate: Decimal | str | None = None,
    confirm_same_link: bool = True,
) -> Order:
    """Validate, charge and queue an order; the forward is enqueued after commit.

    `max_rate`: the price per 1000 the customer was shown; a higher current price is refused
    ("price_changed"), never charged. `confirm_same_link=False`: refuse ("same_link") while
    another order of the customer's for this service and link is still open.

    The numbers may come as given (strings from the API and mass orders): they are validated.

    Raises OrderRejected (nothing charged) with the API's wording. With an idempotency key, the
    same key and parameters return the order placed the first time; the same key with other
    parameters is refused.
    """
    key = check_idempotency_key(idempotency_key)
    # The fingerprint is of the request as given, so a retry is recognised before validation
    # (which may now fail: the service could have been paused since the first attempt).
    fingerprint = rules.request_fingerprint(
        service=str(service_id).strip(),
        link=str(link).strip(),
        quantity=str(quantity or "").strip(),
        comments=rules.comment_lines(comments or ""),
        username=(username or "").strip(),
        runs=str(runs or "").strip(),
        interval=str(interval or "").strip(),
    )
    if key is not None and (found := _find_by_key(user=user, key=key, fingerprint=fingerprint)):
        return found
    expected_rate = guards.parse_rate(max_rate)

    checked = check_order(
        service_id=service_id,
        link=link,
        quantity=quantity,
        comments=comments,
        username=username,
        runs=runs,
        interval=interval,
    )
    # The customer's own price (their discount or fixed rate), read through the same selector
    # as every page and the API's `services`: the price shown is the price charged.
    rate = customer_price_for(user=user, service=checked.service).rate
    charge = charge_for(rate, checked.total_quantity)
    if charge <= 0:  # a service priced at zero is a catalog mistake, never a free order
        raise OrderRejected("service")
    guards.check_price(rate=rate, max_rate=expected_rate)
    guards.check_same_link(
        user=user, service_id=checked.service.pk, link=checked.link, confirmed=confirm_same_link
    )
    try:
        with transaction.atomic():
            order = Order.objects.create(
                user=user,
                service=checked.service,
                # Sent to the service's own provider first (orders.failover may move it).
                provider_id=checked.service.provider_id,
                kind=checked.kind,
                link=checked.link,
                quantity=checked.quantity,
                comments=checked.comments,
                username=checked.username,
                runs=checked.runs,
                interval=checked.interval,
                rate=rate,
                charge=charge,
                state=S.QUEUED,
                idempotency_key=key,
                request_fingerprint=fingerprint,
            )
            OrderEvent.objects.create(order=order, to_state=S.QUEUED, actor=user, reason="placed")
            wallet_charge(user=user, amount=charge, order_id=order.pk, memo=f"Order #{order.pk}")
            transaction.on_commit(partial(enqueue_forward, order.pk), robust=True)
    except InsufficientFunds as exc:
        missing = guards.missing_amount(balance=exc.balance, needed=exc.needed)
        raise OrderRejected(
            "funds", missing=format_vnd(missing), missing_amount=f"{missing:.2f}"
        ) from None
    except IntegrityError:
        # Two requests with the same key raced: the loser's insert hit the unique constraint
        # and rolled back; the winner's order is the answer.
        if key is not None and (found := _find_by_key(user=user, key=key, fingerprint=fingerprint)):
            return found
        raise
    return order


@dataclass
class MassLineResult:
    line: int
    text: str
    order: Order | None = None
    error: str | None = None  # the API's English
    display: str | None = None  # the same, for a person


def orders_place_mass(
    *, user: User, text: str, max_rates: dict[int, Decimal] | None = None
) -> list[MassLineResult]:
    """One order per line, `service_id|link|quantity`; every line reported, the valid ones placed.

    Each line is its own transaction: a bad or unaffordable line never undoes the others.
    `max_rates` (service id -> the price per 1000 the customer was shown, see `orders.mass`):
    a line is never charged above it, and a line whose service was not shown is refused.
    """
    try:
        lines = mass_lines(text)
    except OrderRejected as exc:
        return [MassLineResult(line=0, text="", error=exc.message, display=exc.display)]
    results = []
    for number, line in lines:
        result = MassLineResult(line=number, text=line)
        try:
            service_id, link, quantity = mass_fields(line)
            max_rate = None
            if max_rates is not None:
                max_rate = max_rates.get(parse_int(service_id) or 0)
                if max_rate is None:
                    raise OrderRejected("price_unseen")
            result.order = order_place(
                user=user, service_id=service_id, link=link, quantity=quantity, max_rate=max_rate
            )
        except OrderRejected as exc:
            result.error, result.display = exc.message, exc.display
        results.append(result)
    return results
