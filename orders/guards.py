"""Checks made when an order is placed that protect the customer, not the shop's catalog rules.

* The price guard (issue 11): an order is never charged more than the price on the page the
  customer submitted. The form carries the rate it showed; if the catalog's rate rose since, the
  order is refused with the new price and the customer is asked again.
* The same-link guard (issue 15): a second open order for the same link and service
  under-delivers at the provider (both runs count the same start), so the customer is warned and
  must confirm; the API refuses it unless told to go ahead (see `settings.ORDER_SAME_LINK`).
* The missing amount of an unaffordable order, so the error can say how much to top up.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.conf import settings

from panel.money import format_vnd, quantize_money, quantize_rate

from .errors import OrderRejected
from .models import Order
from .states import OPEN_STATES

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SAME_LINK_WARN = "warn"
SAME_LINK_REFUSE = "refuse"


def parse_rate(value: object) -> Decimal | None:
    """A rate as the form or a script sent it ("12.5000", "12,5"), or None when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        rate = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise OrderRejected("expected_rate") from None
    if not rate.is_finite() or rate < 0:
        raise OrderRejected("expected_rate")
    return quantize_rate(rate)


def check_price(*, rate: Decimal, max_rate: Decimal | None) -> None:
    """Refuse when the rate to be charged is above the one the customer saw (None: no guard)."""
    if max_rate is not None and rate > max_rate:
        raise OrderRejected(
            "price_changed",
            rate=f"{rate:.4f}",
            expected=f"{max_rate:.4f}",
            rate_display=format_vnd(rate),
        )


def open_order_on_link(*, user: User, service_id: int, link: str) -> Order | None:
    """The customer's newest order for this service and link that has not ended, if any."""
    return (
        Order.objects.filter(
            user=user, service_id=service_id, link=link.strip(), state__in=OPEN_STATES
        )
        .order_by("-created_at", "-id")
        .only("id")
        .first()
    )


def check_same_link(*, user: User, service_id: int, link: str, confirmed: bool) -> None:
    if confirmed:
        return
    existing = open_order_on_link(user=user, service_id=service_id, link=link)
    if existing is not None:
        raise OrderRejected("same_link", order=existing.pk)


def api_refuses_same_link() -> bool:
    """ORDER_SAME_LINK=refuse (the default): the API refuses a second open order on a link
    unless `confirm_same_link=1`; warn: it places it and says so in a `warning` key."""
    return str(settings.ORDER_SAME_LINK) == SAME_LINK_REFUSE


def missing_amount(*, balance: Decimal, needed: Decimal) -> Decimal:
    return quantize_money(max(needed - balance, Decimal(0)))
