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

from . import guards, rules
from .errors import OrderRejected
from .placing import MASS_MAX_LINES
from .validation import check_order

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
    raw = [(n, line.strip()) for n, line in enumerate((text or "").splitlines(), start=1)]
    lines = [(n, line) for n, line in raw if line]
    preview = MassPreview(lines=[], total=ZERO, rates={})
    if not lines or len(lines) > MASS_MAX_LINES:
        exc = OrderRejected("mass_empty" if not lines else "mass_too_many", max=MASS_MAX_LINES)
        preview.lines.append(MassPreviewLine(line=0, text="", display=exc.display))
        return preview
    rule = customer_price_rule(user=user)  # once for every line
    for number, line in lines:
        row = MassPreviewLine(line=number, text=line)
        parts = [part.strip() for part in line.split("|")]
        try:
            if len(parts) != 3:
                raise OrderRejected("mass_format")
            checked = check_order(
                service_id=parts[0],
                link=parts[1],
                quantity=parts[2],
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
        pk = rules.as_int(pk_text)
        try:
            rate = guards.parse_rate(rate_text)
        except OrderRejected:
            continue
        if pk is not None and pk > 0 and rate is not None:
            rates[pk] = rate
    return rates
