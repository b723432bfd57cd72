"""The pure pricing function: examples, then properties over Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from catalog.pricing import BelowCost, Rule, price_for, round_up_to_step

D = Decimal

# Rates as the upstream sends them (4 decimals, up to 10^6 per 1000), percentages with 2.
rates = st.decimals(min_value=D("0"), max_value=D("1000000"), places=4)
positive_rates = st.decimals(min_value=D("0.0001"), max_value=D("1000000"), places=4)
percents = st.decimals(min_value=D("0"), max_value=D("500"), places=2)
steps = st.sampled_from([D("0"), D("0.5"), D("1"), D("10"), D("100"), D("1000"), D("0.0003")])
policies = st.sampled_from([BelowCost.RAISE, BelowCost.PAUSE])
maybe_percent = st.none() | percents
maybe_rate = st.none() | rates


def rules(**overrides):
    values = {"default_markup": D("30"), "min_margin": D("5"), "rounding_step": D("0")}
    values.update(overrides)
    return values


# --------------------------------------------------------------------------- examples


def test_the_default_markup_applies_when_no_other_rule_exists():
    price = price_for(cost_rate=D("3.7000"), **rules())
    assert price.sell_rate == D("4.8100") and price.rule == Rule.DEFAULT and not price.flagged


def test_a_category_markup_beats_the_default_and_a_service_markup_beats_both():
    assert price_for(cost_rate=D("10"), category_markup=D("50"), **rules()).sell_rate == D(
        "15.0000"
    )
    price = price_for(cost_rate=D("10"), category_markup=D("50"), service_markup=D("20"), **rules())
    assert price.sell_rate == D("12.0000") and price.rule == Rule.SERVICE


def test_a_fixed_rate_beats_every_percentage_and_is_kept_exactly_as_typed():
    price = price_for(
        cost_rate=D("10"),
        category_markup=D("50"),
        service_markup=D("20"),
        fixed_rate=D("11.37"),
        **rules(rounding_step=D("100")),
    )
    assert price == price.__class__(sell_rate=D("11.3700"), rule=Rule.FIXED)


def test_a_markup_below_the_minimum_margin_is_lifted_to_it():
    assert price_for(cost_rate=D("100"), service_markup=D("1"), **rules()).sell_rate == D(
        "105.0000"
    )


def test_prices_are_rounded_up_to_the_next_multiple_of_the_step():
    assert price_for(cost_rate=D("1234"), **rules(rounding_step=D("100"))).sell_rate == D(
        "1700.0000"
    )
    assert price_for(cost_rate=D("1000"), **rules(rounding_step=D("100"))).sell_rate == D(
        "1300.0000"
    )


def test_a_fixed_rate_below_cost_is_raised_to_cost_plus_margin_and_flagged():
    price = price_for(cost_rate=D("16"), fixed_rate=D("15"), **rules(rounding_step=D("0.5")))
    assert price.sell_rate == D("17.0000")  # 16.8, rounded up to the step
    assert price.flagged and not price.pause and price.rule == Rule.FIXED


def test_a_fixed_rate_under_the_minimum_margin_is_flagged_even_above_cost():
    price = price_for(cost_rate=D("10"), fixed_rate=D("10.2"), **rules())
    assert price.flagged and price.sell_rate == D("10.5000")


def test_the_pause_policy_asks_to_pause_and_still_prices_at_the_floor():
    price = price_for(cost_rate=D("16"), fixed_rate=D("15"), below_cost_policy="pause", **rules())
    assert price.pause and price.flagged and price.sell_rate == D("16.8000")


def test_a_fraction_of_a_rate_unit_is_rounded_up_never_down():
    # 0.0001 x 1.05 = 0.000105: half-up rounding would give 0.0001, below the minimum margin
    assert price_for(cost_rate=D("0.0001"), **rules(default_markup=D("0"))).sell_rate == D("0.0002")


def test_negative_inputs_are_refused():
    with pytest.raises(ValueError):
        price_for(cost_rate=D("-1"), **rules())
    with pytest.raises(ValueError):
        price_for(cost_rate=D("1"), service_markup=D("-5"), **rules())
    with pytest.raises(ValueError):
        price_for(cost_rate=D("1"), **rules(rounding_step=D("-1")))


# --------------------------------------------------------------------------- properties


@given(
    cost=rates,
    default=percents,
    category=maybe_percent,
    service=maybe_percent,
    fixed=maybe_rate,
    margin=percents,
    step=steps,
    policy=policies,
)
def test_the_sell_rate_is_never_below_cost_plus_the_minimum_margin(
    cost, default, category, service, fixed, margin, step, policy
):
    price = price_for(
        cost_rate=cost,
        default_markup=default,
        category_markup=category,
        service_markup=service,
        fixed_rate=fixed,
        min_margin=margin,
        rounding_step=step,
        below_cost_policy=policy,
    )
    assert price.sell_rate >= cost * (1 + margin / 100)
    assert price.sell_rate >= cost
    assert price.sell_rate == price.sell_rate.quantize(D("0.0001"))
    assert price.pause <= price.flagged  # a pause is only ever asked for a flagged price


@given(
    cost=rates,
    default=percents,
    category=maybe_percent,
    service=maybe_percent,
    fixed=maybe_rate,
    margin=percents,
    step=steps,
)
def test_the_most_specific_rule_wins(cost, default, category, service, fixed, margin, step):
    price = price_for(
        cost_rate=cost,
        default_markup=default,
        category_markup=category,
        service_markup=service,
        fixed_rate=fixed,
        min_margin=margin,
        rounding_step=step,
    )
    if fixed is not None:
        expected_rule, alone = Rule.FIXED, {"fixed_rate": fixed}
    elif service is not None:
        expected_rule, alone = Rule.SERVICE, {"service_markup": service}
    elif category is not None:
        expected_rule, alone = Rule.CATEGORY, {"category_markup": category}
    else:
        expected_rule, alone = Rule.DEFAULT, {}
    # the winner alone gives the same price: the less specific rules had no say
    same = price_for(
        cost_rate=cost, default_markup=default, min_margin=margin, rounding_step=step, **alone
    )
    assert price.rule == expected_rule
    assert price.sell_rate == same.sell_rate


@given(cost=rates, percent=percents, margin=percents, step=steps)
def test_a_percentage_price_is_the_smallest_step_multiple_at_or_above_markup_and_margin(
    cost, percent, margin, step
):
    price = price_for(
        cost_rate=cost, default_markup=percent, min_margin=margin, rounding_step=step
    ).sell_rate
    wanted = max(cost * (100 + percent) / 100, cost * (100 + margin) / 100)
    assert price >= wanted
    if step > 0:
        assert price % step == 0  # exactly a multiple: Decimal arithmetic, no float drift
        assert price - step < wanted  # the next multiple up, not one more
    else:
        assert price - D("0.0001") < wanted  # only rounded up to the rate precision


@given(
    low=rates,
    high=rates,
    default=percents,
    category=maybe_percent,
    service=maybe_percent,
    fixed=maybe_rate,
    margin=percents,
    step=steps,
    policy=policies,
)
def test_the_sell_rate_never_falls_when_the_cost_rises(
    low, high, default, category, service, fixed, margin, step, policy
):
    assume(low <= high)
    common = {
        "default_markup": default,
        "category_markup": category,
        "service_markup": service,
        "fixed_rate": fixed,
        "min_margin": margin,
        "rounding_step": step,
        "below_cost_policy": policy,
    }
    assert (
        price_for(cost_rate=low, **common).sell_rate
        <= price_for(cost_rate=high, **common).sell_rate
    )


@given(value=positive_rates, step=steps.filter(lambda s: s > 0))
def test_round_up_to_step_is_the_least_multiple_not_below_the_value(value, step):
    rounded = round_up_to_step(value, step)
    assert rounded % step == 0
    assert value <= rounded < value + step
