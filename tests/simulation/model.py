"""A seeded simulation of the shop's money, against a reference model that knows nothing of the
panel's code.

One `Simulation` is one seed: a few customers, the sandbox upstream, and a random walk of steps
(top-ups, orders of every kind, the upstream answering each `add` with any class of answer,
polls under status faults, clocks moving, refills, cancels, sweeps, dead workers, staff resolving
reviews, tasks delivered twice). After every step the database must agree with the model.

The model predicts, by itself:

* whether an order is accepted (the customer's balance in the model covers the model's price:
  rate x quantity / 1000, half up, at least 0.01) or refused with nothing charged;
* the state each order is in after each step: from the class of answer its `add` got, from the
  sweep's rules (backoff, stale claims), from staff decisions, and, once placed, from the
  *sandbox's* own record of the upstream order (its status and remains, the runs of a drip-feed,
  or the degraded values a status fault made the panel see);
* what each order must have been refunded: nothing while open or completed, the charge when
  failed or canceled, charge x remains / total (half up) when partial, where a drip-feed's remains
  are what its runs did not deliver (a run that never started delivered nothing, a Completed run
  all of its quantity, a Canceled one nothing, a Partial one its quantity less its remains);

and so each customer's balance: deposits - charges + refunds (+ commission moved in). The check
after each step compares every order's state (and a partial's remains) and every balance, then
runs the money invariants.

Prices per customer and referrals (issue 16) are in the walk too: one customer buys at a discount
with a fixed rate on one service that lies below cost + the minimum margin (the model lifts it to
the floor itself), and one customer was referred by another. The model predicts each order's
charge at the customer's own price, the referrer's commission (10 % of charge - refund of every
ended order of the referred customer, half up), and the moves of commission to the balance
(refused below the minimum or beyond what was earned).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings

from billing.deposits import bonus_for, parse_bonus_tiers
from billing.models import BankTransfer, Wallet, WalletKind
from billing.referrals import commission_move
from billing.services import BillingError, topup_confirm, topup_request_create, wallet_deposit
from billing.transfers import (
    IncomingTransfer,
    bank_transfer_assign,
    bank_transfer_receive,
    deposit_code_for_user,
)
from catalog.models import Service
from catalog.upstreams import default_client as get_client
from orders.customer_requests import cancel_request, refill_request
from orders.errors import OrderRejected
from orders.forwarding import order_forward
from orders.models import CancelRequest, Order
from orders.placing import order_place
from orders.polling import orders_poll
from orders.request_forwarding import requests_cycle
from orders.staff_actions import (
    OrderActionError,
    order_attach_upstream_id,
    order_attention_end,
    order_attention_repoll,
    order_fail_and_refund,
    order_send_again,
)
from orders.states import order_transition
from orders.sweep import orders_sweep
from tests.faults.world import closed_port
from tests.invariants import assert_money_invariants, expected_refund

CENT = Decimal("0.01")
SENDING_TIMEOUT = timedelta(minutes=10)  # the sweep's documented patience with a claim
MAX_SEND_ATTEMPTS = 30  # ... and with an unreachable upstream

# The class of answer an `add` gets: (fault to inject or None, the state it leads to, whether
# the upstream executed the order). "unreachable" points the panel at a closed port instead.
ADD_ANSWERS: dict[str, tuple[tuple[str, dict[str, Any]] | None, str, bool]] = {
    "ok": (None, "placed", True),
    "refused": (("raw_answer", {"body": {"error": "Incorrect link"}}), "failed", False),
    "out_of_funds": (("out_of_funds", {}), "queued", False),
    "unreachable": (None, "queued", False),
    "http_500_html": (("http_500_html", {}), "review", False),
    "html_200": (("html_200", {}), "review", False),
    "html_200_executed": (("html_200", {"execute": True}), "review", True),
    "malformed_json": (("malformed_json", {}), "review", True),
    "truncated_json": (("truncated_json", {"mode": "incomplete"}), "review", True),
    "drop_after_accept": (("drop_after_accept", {}), "review", True),
    "timeout_after_accept": (("timeout_after_accept", {"seconds": 0.15}), "review", True),
}
ADD_WEIGHTS = {"ok": 60, "timeout_after_accept": 1}  # the others: 3 each

# Faults on a poll's `status` calls (all of a step's calls): what the panel sees.
STATUS_FAULTS: dict[str, tuple[str, dict[str, Any]] | None] = {
    "none": None,
    "http_500_html": ("http_500_html", {}),
    "truncated_json": ("truncated_json", {}),
    "malformed_json": ("malformed_json", {}),
    "drop_after_accept": ("drop_after_accept", {}),
    "unknown_status": ("unknown_status", {"word": "Stuck in queue"}),
    "remains_negative": ("remains_out_of_range", {"remains": -5}),
    "remains_huge": ("remains_out_of_range", {"remains": 10**9}),
}
STATUS_WEIGHTS = {"none": 30}  # the others: 2 each
# Faults that make a status call fail as a whole: the poll changes nothing.
UNREADABLE_STATUS = frozenset(
    {"http_500_html", "truncated_json", "malformed_json", "drop_after_accept"}
)
# ORDER_ATTENTION_AFTER_MINUTES as the simulation runs it (its default).
ATTENTION_AFTER = timedelta(minutes=60)

KINDS: dict[str, list[int]] = {
    "default": [101, 104, 106, 111, 302, 405],
    "comments": [109, 207],
    "dripfeed": [102, 201],
    "comment_likes": [110, 209],
    "package": [212, 213],
}


def price(rate: Decimal, units: int) -> Decimal:
    """The model's own price: half up to the cent, never free."""
    return max((rate * units / 1000).quantize(CENT, rounding=ROUND_HALF_UP), CENT)


# Issue 16: customer 3 buys 15 % off, with a fixed rate at cost on service 104 (below cost + the
# 5 % minimum margin: the floor applies); customer 2 was referred by customer 0, who earns
# COMMISSION_PERCENT of what customer 2's ended orders finally cost, and may move it from
# MIN_MOVE up.
DISCOUNTED, DISCOUNT, FIXED_SERVICE = 3, Decimal("15"), 104
REFERRER, REFERRED = 0, 2
COMMISSION_PERCENT, MIN_MOVE, MIN_MARGIN = Decimal("10"), Decimal("0.50"), Decimal("5")
RATE = Decimal("0.0001")
FINAL = frozenset({"completed", "partial", "canceled", "failed"})


def customer_rate(customer: int, service: Service) -> Decimal:
    """The model's own idea of a customer's price per 1000."""
    list_rate = Decimal(service.sell_rate)
    if customer != DISCOUNTED:
        return list_rate
    floor = (Decimal(service.cost_rate) * (100 + MIN_MARGIN) / 100).quantize(
        RATE, rounding="ROUND_CEILING"
    )
    if service.upstream_id == FIXED_SERVICE:
        wanted = Decimal(service.cost_rate)
    else:
        wanted = (list_rate * (100 - DISCOUNT) / 100).quantize(RATE, rounding=ROUND_HALF_UP)
    return min(max(wanted, floor), list_rate)


def backoff(attempts: int) -> timedelta:
    """The documented wait after `attempts` unreachable tries: 1, 2, 4 ... minutes, at most 30."""
    return min(timedelta(minutes=2 ** max(0, min(attempts - 1, 16))), timedelta(minutes=30))


@dataclass
class MOrder:
    pk: int
    customer: int
    kind: str
    service: int  # upstream id
    link: str
    quantity: int
    runs: int
    charge: Decimal
    cancelable: bool
    refillable: bool
    state: str = "queued"
    waiting: bool = False
    attempts: int = 0
    next_attempt: datetime | None = None
    claimed_at: datetime | None = None
    remains: int | None = None
    cancel_asked: bool = False
    held_since: datetime | None = None  # the poll could not decide since then

    @property
    def total(self) -> int:
        return self.quantity * self.runs

    def refund(self) -> Decimal:
        return expected_refund(
            state=self.state, charge=self.charge, remains=self.remains, total=self.total
        )

    def commission(self) -> Decimal:
        """What the referrer earns on this order: nothing until it ends."""
        if self.state not in FINAL:
            return Decimal("0.00")
        base = self.charge - self.refund()
        return (base * COMMISSION_PERCENT / 100).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class MCustomer:
    user: Any
    deposits: Decimal
    orders: list[MOrder] = field(default_factory=list)
    moved: Decimal = Decimal("0.00")  # commission moved to the balance
    referred: MCustomer | None = None  # the customer this one referred

    def balance(self) -> Decimal:
        return (
            self.deposits
            - sum((o.charge for o in self.orders), Decimal("0.00"))
            + sum((o.refund() for o in self.orders), Decimal("0.00"))
            + self.moved
        )

    def earned(self) -> Decimal:
        if self.referred is None:
            return Decimal("0.00")
        return sum((o.commission() for o in self.referred.orders), Decimal("0.00"))

    def commission_balance(self) -> Decimal:
        return self.earned() - self.moved


class Simulation:
    def __init__(
        self,
        *,
        seed: int,
        sandbox: Any,
        services: dict[int, Service],
        customers: list[Any],
        opening: list[Decimal],
        staff: Any,
        clock: Any,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.sandbox = sandbox
        self.services = services
        self.staff = staff
        self.clock = clock
        self.customers = [
            MCustomer(user, amount) for user, amount in zip(customers, opening, strict=True)
        ]
        self.customers[REFERRER].referred = self.customers[REFERRED]
        self.orders: dict[int, MOrder] = {}
        self.messy: dict[int, str] = {}  # upstream id -> how the upstream answers it
        self.links = 0
        self.bank_serial = 0
        self.log: list[str] = []
        self.upstream_url = settings.SIEULIKE_API_URL
        self.upstream_timeout = settings.SIEULIKE_TIMEOUT
        self.steps: dict[str, tuple[int, Callable[[], None]]] = {
            "place": (30, self.step_place),
            "poll": (14, self.step_poll),
            "time": (12, self.step_time),
            "sweep": (8, self.step_sweep),
            "topup": (8, self.step_topup),
            "bank": (6, self.step_bank),
            "cancel": (6, self.step_cancel),
            "requests": (6, self.step_requests),
            "resolve": (6, self.step_resolve),
            "refill": (4, self.step_refill),
            "dead_worker": (3, self.step_dead_worker),
            "redeliver": (3, self.step_redeliver),
            "move_commission": (4, self.step_move_commission),
        }

    # ------------------------------------------------------------------ driving

    def run(self, steps: int) -> None:
        self.check()
        names = list(self.steps)
        weights = [self.steps[name][0] for name in names]
        for number in range(1, steps + 1):
            name = self.rng.choices(names, weights)[0]
            self.log.append(f"step {number}: {name}")
            self.steps[name][1]()
            self.check()
        self.settle()

    def settle(self) -> None:
        """The end of every run: time passes beyond the attention bound twice, with a poll each
        time. Then no open order may be older than the bound without a person in front of it:
        every placed order has a clear answer (not held), the rest are ended or in attention."""
        for _ in range(2):
            seconds = int(ATTENTION_AFTER.total_seconds()) + 60
            self.sandbox.advance(seconds)
            self.clock.advance(seconds=seconds)
            orders_poll()
            self.log.append("settle: the attention bound passes, poll")
            self.apply_poll(seen_remains=None)
            self.check()
        held = list(
            Order.objects.filter(state="placed", held_since__isnull=False).values_list(
                "pk", "attention_reason"
            )
        )
        assert not held, f"open orders held past the attention bound, before no person: {held}"

    def note(self, text: str) -> None:
        self.log.append(f"    {text}")

    def pick(self, orders: list[MOrder]) -> MOrder | None:
        return self.rng.choice(orders) if orders else None

    def in_state(self, *states: str) -> list[MOrder]:
        return [o for o in self.orders.values() if o.state in states]

    # ------------------------------------------------------------------ the check

    def check(self) -> None:
        assert_money_invariants(sandbox=self.sandbox)
        rows = {
            pk: (state, remains, waiting, charge)
            for pk, state, remains, waiting, charge in Order.objects.values_list(
                "pk", "state", "remains", "waiting_for_funds", "charge"
            )
        }
        assert set(rows) == set(self.orders), "the database has orders the model does not"
        for order in self.orders.values():
            state, remains, waiting, charge = rows[order.pk]
            want = (order.state, order.charge)
            assert (state, charge) == want, f"order {order.pk}: {state} {charge}, model {want}"
            if order.state == "partial":
                assert remains == order.remains, (
                    f"order {order.pk}: remains {remains}, model {order.remains}"
                )
            if order.state == "queued":
                assert waiting == order.waiting, f"order {order.pk}: waiting {waiting}"
        balances = {
            (user, kind): balance
            for user, kind, balance in Wallet.objects.values_list("user_id", "kind", "balance")
        }
        for customer in self.customers:
            got, want = balances[(customer.user.pk, WalletKind.MAIN)], customer.balance()
            assert got == want, f"{customer.user}: balance {got}, model {want}"
            got = balances.get((customer.user.pk, WalletKind.COMMISSION), Decimal("0.00"))
            want = customer.commission_balance()
            assert got == want, f"{customer.user}: commission {got}, model {want}"

    # ------------------------------------------------------------------ money in

    def step_topup(self) -> None:
        customer = self.rng.choice(self.customers)
        if self.rng.random() < 0.3:
            # A bank transfer confirmed by staff, and the confirmation delivered twice.
            amount = Decimal(self.rng.randrange(10_000, 50_001, 1000))
            topup = topup_request_create(user=customer.user, amount=amount)
            topup_confirm(topup_id=topup.pk, confirmed_by=self.staff)
            topup_confirm(topup_id=topup.pk, confirmed_by=self.staff)
            amount += self.bonus(amount)
        else:
            amount = Decimal(self.rng.randrange(1, 3_000_000)) / 100
            wallet_deposit(user=customer.user, amount=amount, memo="simulation")
        customer.deposits += amount
        self.note(f"{customer.user}: +{amount}")

    def bonus(self, amount: Decimal) -> Decimal:
        return bonus_for(amount, parse_bonus_tiers(settings.DEPOSIT_BONUS_TIERS))

    def step_bank(self) -> None:
        """A bank notification: by deposit code or request code (the amount sometimes not what was
        asked), matching nobody (then assigned by staff), outgoing; delivered one to three times,
        sometimes by both services."""
        customer = self.rng.choice(self.customers)
        self.bank_serial += 1
        serial = f"{self.seed}-{self.bank_serial}"
        amount = Decimal(self.rng.randrange(10_000, 3_000_001, 1000))
        kind = self.rng.choice(["code", "request", "unmatched", "outgoing"])
        if kind == "code":
            content = f"MBVCB.{serial}.{deposit_code_for_user(user=customer.user).lower()}.CT"
        elif kind == "request":
            asked = Decimal(self.rng.randrange(10_000, 3_000_001, 1000))
            reference = topup_request_create(user=customer.user, amount=asked).reference
            content = f"ck {reference.lower()} tu NGUYEN VAN A"
        else:
            content = f"chuyen tien {serial}"
        signed = -amount if kind == "outgoing" else amount
        for _ in range(self.rng.randint(1, 3)):
            provider = self.rng.choice(["sepay", "casso"])
            bank_transfer_receive(
                incoming=IncomingTransfer(
                    provider=provider,
                    provider_id=f"{provider}-{serial}",
                    reference=f"FT{serial}",
                    amount=signed,
                    content=content,
                ),
                raw_body="{}",
            )
        if kind == "unmatched" and self.rng.random() < 0.5:
            transfer = BankTransfer.objects.get(reference=f"FT{serial}")
            for _ in range(2):  # two staff members, or a double click: credited once
                try:
                    bank_transfer_assign(
                        transfer_id=transfer.pk,
                        user=customer.user,
                        reason="simulation",
                        assigned_by=self.staff,
                    )
                except BillingError:
                    pass
            kind = "assigned"
        if kind in ("code", "request", "assigned"):
            customer.deposits += amount + self.bonus(amount)
        self.note(f"{customer.user}: bank {kind} {signed}")

    def step_move_commission(self) -> None:
        """The referrer moves commission to their balance: a random amount, sometimes one the
        panel must refuse (below the minimum, or more than earned), changing nothing."""
        customer = self.customers[REFERRER]
        available = customer.commission_balance()
        roll = self.rng.random()
        if roll < 0.2:
            amount = MIN_MOVE - CENT
        elif roll < 0.4 or available < MIN_MOVE:
            amount = available + CENT
        else:
            cents = int((available - MIN_MOVE) / CENT)
            amount = MIN_MOVE + CENT * self.rng.randint(0, cents)
        allowed = MIN_MOVE <= amount <= available
        self.note(f"{customer.user}: move {amount} of {available} commission")
        try:
            commission_move(user=customer.user, amount=amount)
        except BillingError as exc:
            assert not allowed, f"the panel refused a move the model allows: {exc}"
            self.note(f"refused: {exc}")
            return
        assert allowed, "the panel moved commission the model says it must refuse"
        customer.moved += amount

    # ------------------------------------------------------------------ orders

    def new_link(self) -> str:
        self.links += 1
        return f"https://example.com/post/{self.seed}/{self.links}"

    def order_params(self, kind: str, service: Service) -> dict[str, Any]:
        rng = self.rng
        low, high = service.min_quantity, service.max_quantity
        if kind == "comments":
            count = rng.randint(low, min(high, low + 20))
            return {"comments": "\n".join(f"comment {n} 👍" for n in range(count))}
        if kind == "dripfeed":
            runs = rng.randint(2, 4)
            return {
                "quantity": rng.randint(low, min(high // runs, low * 4)),
                "runs": runs,
                "interval": rng.choice([5, 15, 60, 240]),
            }
        top = low * 2 if kind == "package" else low * 30  # a VIP package costs 9,000+ per 50
        params: dict[str, Any] = {"quantity": rng.randint(low, min(high, top))}
        if kind == "comment_likes":
            params["username"] = rng.choice(["an.user", "someone_else", "khach-hang"])
        return params

    def step_place(self) -> None:
        self.place_order(forward=True)

    def place_order(self, *, forward: bool) -> MOrder | None:
        """Place a random order (or a mistake the panel refuses); forward it, maybe twice, unless
        told not to or its task is lost. Returns the order the model expects to exist."""
        rng = self.rng
        # The customers short of money order less often than the others.
        customer = rng.choices(self.customers, [1, 2, 4, 4][: len(self.customers)])[0]
        kind = rng.choice(list(KINDS))
        service = self.services[rng.choice(KINDS[kind])]
        params = self.order_params(kind, service)
        params["link"] = self.new_link()
        invalid = rng.random() < 0.05
        if invalid:  # a mistake the panel must refuse before charging anything
            params.update(
                rng.choice([{"link": "not a link"}, {"quantity": 1, "comments": "x", "runs": None}])
            )
        key = f"idem-{self.seed}-{self.links}" if rng.random() < 0.2 else None
        quantity = (
            len(params["comments"].splitlines())
            if "comments" in params
            else params.get("quantity", 0)
        )
        runs = params.get("runs") or 1
        charge = price(customer_rate(self.customers.index(customer), service), quantity * runs)
        self.note(f"{customer.user} {kind} on {service.upstream_id} x{quantity}x{runs} = {charge}")

        def place() -> Order:
            return order_place(
                user=customer.user, service_id=service.pk, idempotency_key=key, **params
            )

        if invalid or charge > customer.balance():
            try:
                place()
            except OrderRejected as exc:
                self.note(f"refused: {exc.message}")
                return None
            raise AssertionError("the panel accepted an order the model says it must refuse")
        order = place()
        if key is not None:  # the reseller's retry of the same request: the same order
            assert place().pk == order.pk
        model = MOrder(
            pk=order.pk,
            customer=self.customers.index(customer),
            kind=kind,
            service=service.upstream_id,
            link=params["link"],
            quantity=quantity,
            runs=runs,
            charge=charge,
            cancelable=service.cancel,
            refillable=service.refill and kind != "dripfeed",
        )
        self.orders[order.pk] = model
        customer.orders.append(model)
        roll = rng.random()
        if not forward:
            pass
        elif roll < 0.75:
            self.forward(model, self.add_answer())
        elif roll < 0.85:
            self.forward(model, self.add_answer(), twice=True)
        else:
            self.note("its task was lost; the sweep will send it")
        return model

    def add_answer(self) -> str:
        names = list(ADD_ANSWERS)
        return self.rng.choices(names, [ADD_WEIGHTS.get(name, 3) for name in names])[0]

    def upstream_ids(self, order: MOrder, upstream: dict[int, Any] | None = None) -> list[int]:
        """What staff find in the upstream's order list for this order (its link is its own)."""
        records = self.sandbox.orders if upstream is None else upstream
        return [o.id for o in records.values() if o.link == order.link and o.parent is None]

    def forward(self, order: MOrder, answer: str, *, twice: bool = False) -> None:
        """Forward `order` (queued, due, not waiting) with the upstream answering `answer`."""
        fault, state, executed = ADD_ANSWERS[answer]
        if fault is not None:
            self.sandbox.inject_fault("add", fault[0], **fault[1])
        if answer == "unreachable":
            settings.SIEULIKE_API_URL = f"http://127.0.0.1:{closed_port()}/api/v2"
        if answer == "timeout_after_accept":
            settings.SIEULIKE_TIMEOUT = 0.05
        try:
            outcome = order_forward(order_id=order.pk)
            if twice:  # a redelivered task
                order_forward(order_id=order.pk)
        finally:
            settings.SIEULIKE_API_URL = self.upstream_url
            settings.SIEULIKE_TIMEOUT = self.upstream_timeout
            self.sandbox.clear_faults()
        self.note(f"order {order.pk}: add answered {answer} -> {outcome}")
        self.apply_forward(order, answer, state)
        assert len(self.upstream_ids(order)) == (1 if executed else 0)

    def apply_forward(self, order: MOrder, answer: str, state: str) -> None:
        order.attempts += 1
        order.claimed_at = None
        if answer == "unreachable":
            if order.attempts >= MAX_SEND_ATTEMPTS:
                order.state = "failed"
                return
            order.next_attempt = self.clock.now() + backoff(order.attempts)
        elif answer == "out_of_funds":
            order.waiting, order.attempts = True, 0
        else:
            order.next_attempt = None
        order.state = state

    def due(self, order: MOrder) -> bool:
        return order.state == "queued" and (
            order.waiting or order.next_attempt is None or order.next_attempt <= self.clock.now()
        )

    # ------------------------------------------------------------------ the sweep

    def step_sweep(self) -> None:
        down = self.rng.random() < 0.15
        now = self.clock.now()
        stale = [
            o
            for o in self.in_state("sending")
            if o.claimed_at and o.claimed_at < now - SENDING_TIMEOUT
        ]
        due = [o for o in self.in_state("queued") if self.due(o)]
        if down:
            # The upstream is unreachable for the whole sweep: orders waiting for funds cannot
            # even be checked (the balance call fails), the due ones are tried and wait longer.
            settings.SIEULIKE_API_URL = f"http://127.0.0.1:{closed_port()}/api/v2"
            due = [o for o in due if not o.waiting]
        try:
            result = orders_sweep(forward=lambda pk: order_forward(order_id=pk), grace=timedelta(0))
        finally:
            settings.SIEULIKE_API_URL = self.upstream_url
        self.note(f"sweep{' (upstream down)' if down else ''}: {len(stale)} stale, {len(due)} due")
        assert result.to_review == len(stale)
        assert sorted(result.forwarded) == sorted(o.pk for o in due)
        for order in stale:
            order.state, order.claimed_at = "review", None
        for order in due:
            order.waiting = False
            self.apply_forward(
                order, "unreachable" if down else "ok", "queued" if down else "placed"
            )

    def step_dead_worker(self) -> None:
        order = self.pick([o for o in self.in_state("queued") if self.due(o) and not o.waiting])
        if order is None:
            order = self.place_order(forward=False)
        if order is None:
            return None
        row = Order.objects.get(pk=order.pk)
        assert order_transition(
            order=row,
            to="sending",
            reason="sending (a worker about to die)",
            changes={"send_attempts": row.send_attempts + 1, "next_attempt_at": None},
        )
        order.state, order.claimed_at, order.attempts = (
            "sending",
            self.clock.now(),
            order.attempts + 1,
        )
        if self.rng.random() < 0.5:
            # ... after the upstream placed it: the answer never reached the database.
            service = self.services[order.service]
            client = get_client()
            if order.kind == "comments":
                client.add_comments(service=order.service, link=order.link, comments=row.comments)
            elif order.kind == "dripfeed":
                client.add_dripfeed(
                    service=order.service,
                    link=order.link,
                    quantity=order.quantity,
                    runs=order.runs,
                    interval=row.interval or 0,
                )
            elif order.kind == "comment_likes":
                client.add_comment_likes(
                    service=order.service,
                    link=order.link,
                    quantity=order.quantity,
                    username=row.username,
                )
            else:
                client.add(service=service.upstream_id, link=order.link, quantity=order.quantity)
            self.note(f"order {order.pk}: worker died after the upstream placed it")
        else:
            self.note(f"order {order.pk}: worker died before calling the upstream")
        return None

    def step_redeliver(self) -> None:
        """A forward task delivered again, for an order in any state: only a due one moves."""
        order = self.pick(list(self.orders.values()))
        if order is None:
            return self.step_place()
        if order.state == "queued" and self.due(order) and not order.waiting:
            self.forward(order, "ok")
        else:
            before = order.state
            outcome = order_forward(order_id=order.pk)
            self.note(f"order {order.pk} ({before}): redelivered task -> {outcome}")
            assert outcome in ("skipped", "not_due", "waiting_for_funds"), outcome
        return None

    # ------------------------------------------------------------------ staff

    def step_resolve(self) -> None:
        if self.in_state("attention") and self.rng.random() < 0.6:
            return self.resolve_attention()
        order = self.pick(self.in_state("review"))
        if order is None:
            # Staff giving up on a long wait (for upstream funds, or an unreachable upstream).
            waiting = [o for o in self.in_state("queued") if o.waiting or o.next_attempt]
            order = self.pick(waiting) if self.rng.random() < 0.3 else None
            if order is None:
                return self.step_place()
            order_fail_and_refund(order_id=order.pk, actor=self.staff)
            order.state = "failed"
            self.note(f"order {order.pk}: staff failed it while it waited")
            return None
        found = self.upstream_ids(order)
        assert len(found) <= 1
        give_up = self.rng.random() < 0.25
        if give_up:
            order_fail_and_refund(order_id=order.pk, actor=self.staff)
            order.state = "failed"
        elif found:
            order_attach_upstream_id(order_id=order.pk, upstream_id=found[0], actor=self.staff)
            order.state = "placed"
        elif order.cancel_asked:
            # Provably not upstream, and the customer asked to cancel: the cancel wins.
            order_send_again(order_id=order.pk, actor=self.staff)
            order.state = "canceled"
        else:
            order_send_again(order_id=order.pk, actor=self.staff)
            order.state, order.next_attempt, order.waiting = "queued", None, False
            if self.rng.random() < 0.5:
                self.forward(order, "ok")
        decision = "failed" if give_up else "attached" if found else "resent"
        self.note(f"order {order.pk}: staff {decision} it")
        with_twice = self.rng.random() < 0.2
        if with_twice:  # the admin action submitted twice: refused the second time
            try:
                order_fail_and_refund(order_id=order.pk, actor=self.staff)
            except OrderActionError:
                pass
            else:
                assert order.state == "queued"
                order.state = "failed"
        return None

    def resolve_attention(self) -> None:
        """Staff end an order that needs attention, or send it back to polling."""
        order = self.pick(self.in_state("attention"))
        assert order is not None
        decision = self.rng.choice(["completed", "partial", "canceled", "repoll"])
        if decision == "partial" and order.total < 2:
            decision = "canceled"
        if decision == "repoll":
            order_attention_repoll(order_id=order.pk, actor=self.staff, reason="simulation")
            order.state, order.held_since = "placed", None
        else:
            remains = self.rng.randint(1, order.total - 1) if decision == "partial" else None
            order_attention_end(
                order_id=order.pk,
                outcome=decision,
                actor=self.staff,
                reason="simulation",
                remains=remains,
            )
            order.state, order.remains = decision, remains
        self.note(f"order {order.pk}: staff decided {decision} (remains {order.remains})")
        if self.rng.random() < 0.2:  # submitted twice: refused, nothing changes
            try:
                order_attention_end(
                    order_id=order.pk, outcome="canceled", actor=self.staff, reason="again"
                )
            except OrderActionError:
                pass
            else:
                raise AssertionError(f"order {order.pk}: ended twice by staff")

    # ------------------------------------------------------------------ requests

    def step_cancel(self) -> None:
        order = self.pick(list(self.orders.values()))
        if order is None:
            return self.step_place()
        customer = self.customers[order.customer]
        cancelable_now = (
            order.cancelable
            and not order.cancel_asked
            and order.state in ("queued", "sending", "review", "placed", "attention")
        )
        try:
            request = cancel_request(user=customer.user, order_id=order.pk)
        except OrderRejected as exc:
            self.note(f"order {order.pk} ({order.state}): cancel refused: {exc.message}")
            assert not cancelable_now, f"order {order.pk}: a cancel the model expected was refused"
            return None
        assert cancelable_now, f"order {order.pk}: a cancel the model did not expect"
        order.cancel_asked = True
        if order.state == "queued":
            # Nothing bought upstream yet: cancelled here, refunded in full.
            assert request.state == CancelRequest.State.SUBMITTED
            order.state = "canceled"
        self.note(f"order {order.pk}: cancel asked -> {request.state}")
        return None

    def step_refill(self) -> None:
        ended = self.in_state("completed", "partial")
        refillable = [o for o in ended if o.refillable]
        order = self.pick(refillable if refillable and self.rng.random() < 0.8 else ended)
        if order is None:
            return self.step_poll()
        try:
            refill_request(user=self.customers[order.customer].user, order_id=order.pk)
            self.note(f"order {order.pk}: refill asked")
        except OrderRejected as exc:
            self.note(f"order {order.pk}: refill refused: {exc.message}")
        return None

    def step_requests(self) -> None:
        fault = self.rng.random() < 0.2
        if fault:
            self.sandbox.inject_fault(None, "http_500_html", count=None)
        try:
            result = requests_cycle()
        finally:
            self.sandbox.clear_faults()
        if self.rng.random() < 0.3:
            requests_cycle()  # delivered twice
        self.note(f"requests cycle{' (upstream failing)' if fault else ''}: {result}")

    # ------------------------------------------------------------------ time and polling

    def step_time(self) -> None:
        seconds = self.rng.choice([30, 90, 300, 700, 3600, 6 * 3600, 86400, 3 * 86400])
        self.sandbox.advance(seconds)
        self.clock.advance(seconds=seconds)
        self.note(f"{seconds}s pass")

    def set_fates(self) -> None:
        """Decide how some orders still running upstream will end."""
        upstream = self.sandbox.orders
        for order in self.in_state("placed", "review"):
            if self.rng.random() > 0.5:
                continue
            for upstream_id in self.upstream_ids(order, upstream):
                status = self.rng.choice(["Completed", "Partial", "Partial", "Canceled"])
                remains = self.rng.randint(1, max(1, order.quantity - 1))
                try:
                    self.sandbox.set_fate(upstream_id, status=status, remains=remains)
                except ValueError:
                    pass  # already ended, or a quantity of 1 cannot end Partial

    def make_messy(self) -> None:
        """The upstream starts answering one open order (or a drip-feed run) messily, for good:
        forgotten, left out, an unknown word, unreadable optional fields, no remains."""
        order = self.pick(self.in_state("placed"))
        if order is None:
            return
        upstream = self.sandbox.orders
        (upstream_id,) = self.upstream_ids(order, upstream)
        kind = self.rng.choice(
            [
                "forgotten",
                "incorrect",
                "omitted",
                "unknown_word",
                "unreadable",
                "no_remains",
                "run_forgotten",
                "run_no_remains",
            ]
        )
        target = upstream_id
        if kind.startswith("run_"):
            children = upstream[upstream_id].children
            if order.kind != "dripfeed" or not children:
                kind = "unreadable"
            else:
                target = self.rng.choice(children)
        if target in self.messy:
            return  # one way of being messy per order, kept simple for the model
        if kind in ("forgotten", "run_forgotten"):
            self.sandbox.forget(target)
        elif kind == "incorrect":
            self.sandbox.forget(target, error="Incorrect order ID")
        elif kind == "omitted":
            self.sandbox.omit("status", [target])
        elif kind == "unknown_word":
            self.sandbox.set_answer(target, status="Stuck in queue")
        elif kind == "unreadable":
            self.sandbox.set_answer(target, charge="N/A", start_count="N/A")
        else:
            self.sandbox.set_answer(target, remains=None)
        self.messy[target] = kind.removeprefix("run_")
        self.note(f"order {order.pk}: upstream {target} now answers messily: {kind}")

    def step_poll(self) -> None:
        self.set_fates()
        if self.rng.random() < 0.25:
            self.make_messy()
        names = list(STATUS_FAULTS)
        fault_name = self.rng.choices(names, [STATUS_WEIGHTS.get(n, 2) for n in names])[0]
        fault = STATUS_FAULTS[fault_name]
        if fault is not None:
            self.sandbox.inject_fault("status", fault[0], count=None, **fault[1])
        try:
            orders_poll()
        finally:
            self.sandbox.clear_faults()
        self.note(f"poll, status fault: {fault_name}")
        if fault_name not in UNREADABLE_STATUS:
            seen = None
            if fault is not None and fault[0] == "remains_out_of_range":
                seen = fault[1]["remains"]
            self.apply_poll(seen_remains=seen, unknown_words=fault_name == "unknown_status")
        if self.rng.random() < 0.3:
            orders_poll()  # delivered twice, or the next cycle after a failed one
            self.note("poll again")
            self.apply_poll(seen_remains=None)

    def apply_poll(self, *, seen_remains: int | None, unknown_words: bool = False) -> None:
        """What the panel must have made of the upstream's records, for every placed order:
        an end, progress, or (when the answers cannot decide) a hold that turns into
        "attention" once it has lasted the attention bound."""
        upstream = self.sandbox.orders
        now = self.clock.now()

        def remains_of(record: Any, cap: int) -> int:
            value = record.remains if seen_remains is None else seen_remains
            return max(0, min(value, cap))

        for order in self.in_state("placed"):
            (upstream_id,) = self.upstream_ids(order, upstream)
            record = upstream[upstream_id]
            final = record.status in ("Completed", "Partial", "Canceled")
            messy = self.messy.get(upstream_id)
            undecided = (
                messy in ("forgotten", "incorrect", "omitted", "unknown_word")
                or unknown_words
                or (
                    final
                    and record.status == "Partial"
                    and messy == "no_remains"
                    and order.kind != "dripfeed"
                )
                or (
                    # a run the upstream cannot report holds its parent, running or ended
                    order.kind == "dripfeed"
                    and any(
                        self.messy.get(c) in ("forgotten", "incorrect") for c in record.children
                    )
                )
                or (
                    final
                    and order.kind == "dripfeed"
                    and any(
                        self.messy.get(c) in ("forgotten", "incorrect")
                        or (self.messy.get(c) == "no_remains" and upstream[c].status == "Partial")
                        for c in record.children
                    )
                )
            )
            if undecided:
                if order.held_since is None:
                    order.held_since = now
                elif now - order.held_since >= ATTENTION_AFTER:
                    order.state = "attention"
                    self.note(f"order {order.pk}: needs attention")
                continue
            order.held_since = None
            if not final:
                continue
            if order.kind == "dripfeed":
                delivered = 0
                for child in (upstream[c] for c in record.children[: order.runs]):
                    if child.status == "Completed":
                        delivered += order.quantity
                    elif child.status == "Partial":
                        delivered += order.quantity - remains_of(child, order.quantity)
                left = order.total - delivered
                order.remains = left
                order.state = (
                    "canceled" if left >= order.total else "partial" if left else "completed"
                )
            elif record.status == "Partial":
                order.state, order.remains = "partial", remains_of(record, order.total)
            else:
                order.state = record.status.lower()
            self.note(f"order {order.pk}: ended {order.state} (remains {order.remains})")
