"""The randomized money simulation (see model.py): seeds x steps, each step checked against the
reference model and the money invariants.

    SIM_SEEDS=200 SIM_STEPS=30          the defaults (what `make test` and CI run)
    SIM_SEEDS=2000 SIM_STEPS=100        a long run
    SIM_SEED=1234 SIM_STEPS=30          replay one seed (a failure prints this line)
    SIM_FIRST_SEED=10000                explore seeds other than the usual ones
    SIM_VERBOSE=1                       print every step (with -s)

A seed replays exactly: the panel's clock is frozen and moved only by the simulation, the sandbox
upstream's clock too, and every choice comes from `random.Random(seed)`.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.referrals import referral_attach, referral_link_for
from billing.selectors import ledger_problems
from catalog.models import CustomerPricing, CustomerRate, PricingSettings
from tests.factories import install_catalog
from tests.faults.world import Clock, new_customer

from .model import (
    COMMISSION_PERCENT,
    DISCOUNT,
    DISCOUNTED,
    FIXED_SERVICE,
    MIN_MARGIN,
    MIN_MOVE,
    REFERRED,
    REFERRER,
    Simulation,
)


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


STEPS = _int("SIM_STEPS", 30)
if os.environ.get("SIM_SEED"):
    SEEDS = [int(os.environ["SIM_SEED"])]
else:
    SEEDS = list(
        range(_int("SIM_FIRST_SEED", 0), _int("SIM_FIRST_SEED", 0) + _int("SIM_SEEDS", 200))
    )


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    start = timezone.now()
    clock = Clock(lambda: start)
    monkeypatch.setattr(timezone, "now", clock.now)
    return clock


@pytest.mark.simulation
@pytest.mark.django_db
@pytest.mark.parametrize("seed", SEEDS, ids=lambda seed: f"seed={seed}")
def test_every_balance_agrees_with_the_model_after_every_step(
    seed: int, sandbox: Any, frozen_clock: Clock, settings: Any
) -> None:
    settings.DEPOSIT_BONUS_TIERS = "1000000:3,2500000:5"  # deposits earn bonuses, apart
    # Two customers short of money, so that some orders are refused for want of funds.
    opening = [Decimal(amount) for amount in ("0", "40.00", "5000.00", "200000.00")]
    customers = [new_customer(amount, prefix=f"s{seed}c") for amount in opening]
    staff = get_user_model().objects.create_user(username=f"s{seed}staff", is_staff=True)
    services = install_catalog()
    # Issue 16: a customer with their own prices, and a referred customer (see model.py).
    settings.REFERRAL_COMMISSION_PERCENT = COMMISSION_PERCENT
    settings.REFERRAL_MIN_MOVE = MIN_MOVE
    PricingSettings.objects.update_or_create(pk=1, defaults={"min_margin_percent": MIN_MARGIN})
    pricing = CustomerPricing.objects.create(user=customers[DISCOUNTED], discount_percent=DISCOUNT)
    CustomerRate.objects.create(
        pricing=pricing,
        service=services[FIXED_SERVICE],
        rate=services[FIXED_SERVICE].cost_rate,
    )
    referrer_code = referral_link_for(user=customers[REFERRER]).code
    assert referral_attach(referred=customers[REFERRED], code=referrer_code) is not None
    simulation = Simulation(
        seed=seed,
        sandbox=sandbox,
        services=services,
        customers=customers,
        opening=opening,
        staff=staff,
        clock=frozen_clock,
    )
    try:
        simulation.run(STEPS)
        # and `check_ledger` agrees, bonuses and bank transfers included
        assert list(ledger_problems()) == []
    except Exception as exc:
        trail = "\n".join(simulation.log[-40:])
        raise AssertionError(
            f"money simulation failed with seed {seed}: {type(exc).__name__}: {exc}\n"
            f"replay: SIM_SEED={seed} SIM_STEPS={STEPS} .venv/bin/python -m pytest "
            f"tests/simulation -x\nlast steps:\n{trail}"
        ) from exc
    finally:
        if os.environ.get("SIM_VERBOSE"):
            print(f"\nseed {seed}:\n" + "\n".join(simulation.log))
