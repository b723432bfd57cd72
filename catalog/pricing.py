"""Markup pricing: one pure function over `Decimal`, no database, no settings.

The sell rate of a service (VND per 1000 units) is derived from its cost rate and the admin's
rules, the most specific rule winning:

    service fixed rate  >  service markup %  >  category markup %  >  default markup %

Two guards apply to every rule:

- the minimum margin: sell >= cost x (1 + min_margin / 100), so a percentage below the margin
  is lifted to it, and the shop never sells below cost;
- the rounding step: a computed price is rounded UP to the next multiple of the step (a price
  typed in by the admin as a fixed rate is kept exactly as typed while it is above the floor).

A fixed rate that has fallen below the floor (the upstream raised its cost) is the one case that
needs the admin's attention: the service is *flagged*, and by the below-cost policy either
raised to the floor ("raise") or paused ("pause"). A paused service still gets the floor as its
sell rate, so whoever resumes it never sells below cost by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from panel.money import RATE_PLACES, quantize_rate

HUNDRED = Decimal(100)


class Rule(StrEnum):
    """Which rule set the price (shown to admins next to the price)."""

    FIXED = "fixed"
    SERVICE = "service"
    CATEGORY = "category"
    DEFAULT = "default"


class BelowCost(StrEnum):
    """Mirrors PricingSettings.BelowCostPolicy's values without importing Django."""

    RAISE = "raise"
    PAUSE = "pause"


@dataclass(frozen=True, slots=True)
class Price:
    sell_rate: Decimal
    rule: Rule
    flagged: bool = False  # a fixed rate was below cost + minimum margin
    pause: bool = False  # ... and the policy says to stop selling it


def _ceil_rate(value: Decimal) -> Decimal:
    """Up to the rate precision (4 decimals). Rounding half up could land a hair below the
    minimum margin; rounding up never does."""
    return value.quantize(RATE_PLACES, rounding=ROUND_CEILING)


def round_up_to_step(value: Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of `step` that is >= `value` (no rounding when step is 0)."""
    if step <= 0:
        return value
    multiples = (value / step).to_integral_value(rounding=ROUND_CEILING)
    return multiples * step


def with_markup(cost_rate: Decimal, percent: Decimal) -> Decimal:
    return cost_rate * (HUNDRED + percent) / HUNDRED


def price_for(
    *,
    cost_rate: Decimal,
    default_markup: Decimal,
    min_margin: Decimal = Decimal(0),
    rounding_step: Decimal = Decimal(0),
    below_cost_policy: str = BelowCost.RAISE,
    category_markup: Decimal | None = None,
    service_markup: Decimal | None = None,
    fixed_rate: Decimal | None = None,
) -> Price:
    """The sell rate of one service, and whether it needs the admin's attention.

    Every rate is per 1000 units; percentages are plain numbers (30 means 30 %).
    """
    if cost_rate < 0:
        raise ValueError("a cost rate cannot be negative")
    if min(default_markup, min_margin, rounding_step) < 0:
        raise ValueError("markups, the minimum margin and the rounding step cannot be negative")
    floor = _ceil_rate(with_markup(cost_rate, min_margin))

    if fixed_rate is not None:
        fixed = quantize_rate(fixed_rate)
        if fixed >= floor:
            return Price(sell_rate=fixed, rule=Rule.FIXED)
        raised = quantize_rate(round_up_to_step(floor, rounding_step))
        return Price(
            sell_rate=raised,
            rule=Rule.FIXED,
            flagged=True,
            pause=below_cost_policy == BelowCost.PAUSE,
        )

    if service_markup is not None:
        rule, percent = Rule.SERVICE, service_markup
    elif category_markup is not None:
        rule, percent = Rule.CATEGORY, category_markup
    else:
        rule, percent = Rule.DEFAULT, default_markup
    if percent < 0:
        raise ValueError("a markup cannot be negative")
    sell = max(_ceil_rate(with_markup(cost_rate, percent)), floor)
    return Price(sell_rate=quantize_rate(round_up_to_step(sell, rounding_step)), rule=rule)
