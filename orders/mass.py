"""The mass order's first step: every line checked and priced, nothing placed.

The customer sees what each line costs and the total, then confirms; the page carries the rates
it showed (`rates_text`), and `orders_place_mass(max_rates=...)` never charges a line above them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from catalog.models import Service
from catalog.selectors import customer_price_rule, customer_rate
from panel.money import ZERO, charge_for
from panel.numbers import parse_id

from . import guards
from .errors import OrderRejected
from .validation import check_order, mass_fields, mass_lines

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RATES_MAX = 200


@dataclass
class MassPreviewLine:
    line: int
    text: str
    service: Service | None = None
    quantity: int = 0
    rate: Decimal | None = None
    charge: Decimal | None = None
    display: str | None = None  # why the line would be refused


@dataclass
class MassPreview:
    lines: list[MassPreviewLine]
    total: Decimal
    rates: dict[int, Decimal]

    @property
    def valid(self) -> int:
        return sum(1 for line in self.lines if line.charge is not None)

    @property
    def rates_text(self) -> str:
        return ",".join(f"{pk}:{rate:.4f}" for pk, rate in sorted(self.rates.items()))


def orders_preview_mass(*, user: User, text: str) -> MassPreview:
    preview = MassPreview(lines=[], total=ZERO, rates={})
    try:
        lines = mass_lines(text)
    except OrderRejected as exc:
        preview.lines.append(MassPreviewLine(line=0, text="", display=exc.display))
        return preview
    rule = customer_price_rule(user=user)  # once for every line
    for number, line in lines:
        row = MassPreviewLine(line=number, text=line)
        try:
            service_id, link, quantity = mass_fields(line)
            checked = check_order(
                service_id=service_id,
                link=link,
                quantity=quantity,
                comments=None,
                username=None,
                runs=None,
                interval=None,
            )
        except OrderRejected as exc:
            row.display = exc.display
        else:
            row.service, row.quantity = checked.service, checked.total_quantity
            row.rate = customer_rate(service=checked.service, user=user, rule=rule)
            row.charge = charge_for(row.rate, row.quantity)
            preview.rates[checked.service.pk] = row.rate
            preview.total += row.charge
        preview.lines.append(row)
    return preview


def parse_rates(text: str) -> dict[int, Decimal]:
    """The page's `id:rate,id:rate` back into a map; anything malformed is left out (its lines
    are then refused as unconfirmed, never charged at an unseen price)."""
    rates: dict[int, Decimal] = {}
    for item in (text or "").split(",")[:RATES_MAX]:
        pk_text, _sep, rate_text = item.partition(":")
        pk = parse_id(pk_text)
        try:
            rate = guards.parse_rate(rate_text)
        except OrderRejected:
            continue
        if pk is not None and rate is not None:
            rates[pk] = rate
    return rates
