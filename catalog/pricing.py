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


# --------------------------------------------------------------------------- one customer's price


class CustomerRule(StrEnum):
    """Which part of a customer's own price rule set their price."""

    LIST = "list"  # no rule for this customer (or a discount of 0): the shop's price
    DISCOUNT = "discount"
    FIXED = "fixed"


@dataclass(frozen=True, slots=True)
class CustomerPrice:
    rate: Decimal  # what this customer sees and pays, per 1000
    list_rate: Decimal  # the shop's price for everybody
    rule: CustomerRule
    floored: bool = False  # the rule asked for less than cost + minimum margin; lifted to it

    @property
    def discounted(self) -> bool:
        return self.rate < self.list_rate


def customer_price(
    *,
    list_rate: Decimal,
    cost_rate: Decimal,
    min_margin: Decimal,
    discount_percent: Decimal = Decimal(0),
    fixed_rate: Decimal | None = None,
    allow_below_floor: bool = False,
) -> CustomerPrice:
    """A customer's own rate for one service, from the shop's list rate and their rule.

    - a fixed rate the staff set for this customer and service wins over the discount;
    - else the discount percentage off the list rate, rounded half up to the rate precision
      (not to the rounding step: a discount is a promise of "x % off", not a new price list);
    - never below the floor, cost x (1 + minimum margin), unless staff allowed it for this
      customer (a loss leader is a decision, never an accident), and never below one unit of
      the rate precision (a price of zero is not a price);
    - never above the list rate: a customer's own price is a better price, never a worse one.
    """
    if min(list_rate, cost_rate, min_margin) < 0:
        raise ValueError("rates and the minimum margin cannot be negative")
    if not Decimal(0) <= discount_percent < HUNDRED:
        raise ValueError("a discount is at least 0 % and below 100 %")
    if fixed_rate is not None and fixed_rate <= 0:
        raise ValueError("a fixed rate must be positive")
    listed = quantize_rate(list_rate)
    if fixed_rate is not None:
        rule, wanted = CustomerRule.FIXED, quantize_rate(fixed_rate)
    elif discount_percent > 0:
        rule = CustomerRule.DISCOUNT
        wanted = quantize_rate(listed * (HUNDRED - discount_percent) / HUNDRED)
    else:
        return CustomerPrice(rate=listed, list_rate=listed, rule=CustomerRule.LIST)
    floored = False
    if not allow_below_floor:
        floor = _ceil_rate(with_markup(cost_rate, min_margin))
        if wanted < floor:
            wanted, floored = floor, True
    rate = min(max(wanted, RATE_PLACES), listed)
    return CustomerPrice(rate=rate, list_rate=listed, rule=rule, floored=floored)
