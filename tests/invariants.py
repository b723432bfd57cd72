"""The money invariants, checked from the database (and the sandbox upstream) by plain Python.

Shared by the fault tests, the money simulation and the benchmarks. Everything is recomputed here
with its own arithmetic, never through the code under test (`billing.selectors.ledger_problems`
is that code's own audit): a bug in the panel cannot hide behind the same bug in the check.

    assert_money_invariants()                 # the ledger and the orders
    assert_money_invariants(sandbox=sandbox)  # ... and at most one upstream order per order

The checks:

* every wallet's balance equals the sum of its entries, never negative, and each entry's
  `balance_after` is the running sum of the wallet's entries in the order they were written;
* every order has exactly one charge, equal to its `charge`, taken from its own customer's
  wallet; at most one refund, to the same wallet, never more than the charge;
* the refund agrees with the order's state: none while open or completed, the whole charge when
  failed or canceled, `charge x remains / total` rounded half up when partial;
* referral commission (issue 16): an order earns its customer's referrer one commission entry,
  in the referrer's commission wallet, once it has ended, of (charge - refund) x the configured
  percent, half up (none when that rounds to nothing, none for a customer nobody referred, none
  while open); and every move of commission is a pair, out of a commission wallet and into its
  owner's main wallet, of the same amount;
* with the sandbox: each upstream order a panel order points to exists and is for that order's
  service and link, no two panel orders point to one upstream order, and for every request
  (service, link, quantity) the upstream holds no more orders than the panel has orders for it
  (the tests give every order its own link, so that means at most one upstream order each).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from panel.sandbox import Sandbox

CENT = Decimal("0.01")
OPEN_STATES = frozenset({"queued", "sending", "review", "placed", "attention"})


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def expected_refund(*, state: str, charge: Decimal, remains: int | None, total: int) -> Decimal:
    """What an order in `state` must have been refunded, from first principles."""
    if state in OPEN_STATES or state == "completed":
        return Decimal("0.00")
    if state in ("failed", "canceled"):
        return charge
    if state == "partial":
        left = max(0, min(int(remains or 0), total))
        return min(half_up(charge * left / total), charge)
    raise AssertionError(f"unknown order state {state!r}")


def money_problems(*, sandbox: Sandbox | None = None) -> list[str]:
    """Every broken invariant, one line each (empty when all hold)."""
    from billing.models import LedgerEntry, Wallet
    from orders.models import Order

    problems: list[str] = []

    # --- wallets and their ledgers
    entries_by_wallet: dict[int, list[tuple[int, str, Decimal, Decimal, int | None]]] = defaultdict(
        list
    )
    for row in LedgerEntry.objects.order_by("wallet_id", "pk").values_list(
        "pk", "kind", "amount", "balance_after", "order_id", "wallet_id"
    ):
        entries_by_wallet[row[5]].append(row[:5])
    wallet_user: dict[int, int] = {}
    for wallet_id, user_id, balance in Wallet.objects.values_list("pk", "user_id", "balance"):
        wallet_user[wallet_id] = user_id
        running = Decimal("0.00")
        for pk, _kind, amount, after, _order in entries_by_wallet.get(wallet_id, []):
            running += amount
            if after != running:
                problems.append(
                    f"wallet {wallet_id}: entry {pk} balance_after {after} != running sum {running}"
                )
            if after < 0:
                problems.append(f"wallet {wallet_id}: entry {pk} balance_after {after} < 0")
        if balance != running:
            problems.append(f"wallet {wallet_id}: balance {balance} != sum of entries {running}")
        if balance < 0:
            problems.append(f"wallet {wallet_id}: negative balance {balance}")

    # --- orders, their charge and their refund
    charges: dict[int, list[tuple[Decimal, int]]] = defaultdict(list)
    refunds: dict[int, list[tuple[Decimal, int]]] = defaultdict(list)
    for wallet_id, rows in entries_by_wallet.items():
        for _pk, kind, amount, _after, order_id in rows:
            if kind == "charge":
                if order_id is None:
                    problems.append(f"wallet {wallet_id}: a charge of {amount} with no order")
                else:
                    charges[order_id].append((-amount, wallet_id))
            elif kind == "refund":
                if order_id is None:
                    problems.append(f"wallet {wallet_id}: a refund of {amount} with no order")
                else:
                    refunds[order_id].append((amount, wallet_id))

    orders = list(
        Order.objects.order_by("pk").values_list(
            "pk",
            "user_id",
            "state",
            "charge",
            "remains",
            "quantity",
            "runs",
            "upstream_id",
            "service__upstream_id",
            "link",
        )
    )
    known_orders = {row[0] for row in orders}
    for order_id in (set(charges) | set(refunds)) - known_orders:
        problems.append(f"ledger entries for order {order_id}, which does not exist")
    for pk, user_id, state, charge, remains, quantity, runs, *_rest in orders:
        taken = charges.get(pk, [])
        if len(taken) != 1:
            problems.append(f"order {pk} ({state}): {len(taken)} charges, expected exactly one")
            continue
        amount, wallet_id = taken[0]
        if amount != charge:
            problems.append(f"order {pk}: charged {amount}, but its charge is {charge}")
        if wallet_user.get(wallet_id) != user_id:
            problems.append(f"order {pk}: charged to wallet {wallet_id} of another customer")
        given = refunds.get(pk, [])
        if len(given) > 1:
            problems.append(f"order {pk}: refunded {len(given)} times")
        refunded = sum((value for value, _wallet in given), Decimal("0.00"))
        if any(wallet != wallet_id for _value, wallet in given):
            problems.append(f"order {pk}: refunded to another wallet than the one charged")
        if refunded > charge:
            problems.append(f"order {pk}: refunded {refunded} > charge {charge}")
        total = quantity * (runs or 1)
        want = expected_refund(state=state, charge=charge, remains=remains, total=total)
        if refunded != want:
            problems.append(
                f"order {pk} ({state}, remains {remains}/{total}): refunded {refunded}, "
                f"expected {want}"
            )

    problems.extend(_commission_problems(orders, charges, refunds, wallet_user))
    if sandbox is not None:
        problems.extend(_upstream_problems(sandbox, orders))
    return problems


def _commission_problems(
    orders: list[tuple[Any, ...]],
    charges: dict[int, list[tuple[Decimal, int]]],
    refunds: dict[int, list[tuple[Decimal, int]]],
    wallet_user: dict[int, int],
) -> list[str]:
    from django.conf import settings

    from billing.models import CommissionTransfer, LedgerEntry, Referral, Wallet

    problems: list[str] = []
    percent = Decimal(str(settings.REFERRAL_COMMISSION_PERCENT))
    referrer_of = dict(Referral.objects.values_list("referred_id", "referrer_id"))
    wallet_kind = dict(Wallet.objects.values_list("pk", "kind"))
    commissions: dict[int, list[tuple[Decimal, int]]] = defaultdict(list)
    for order_id, amount, wallet_id in LedgerEntry.objects.filter(kind="commission").values_list(
        "order_id", "amount", "wallet_id"
    ):
        commissions[order_id].append((amount, wallet_id))
    for pk, user_id, state, *_rest in orders:
        paid = commissions.pop(pk, [])
        want = Decimal("0.00")
        if user_id in referrer_of and state not in OPEN_STATES:
            refunded = sum((value for value, _wallet in refunds.get(pk, [])), Decimal("0.00"))
            charged = sum((value for value, _wallet in charges.get(pk, [])), Decimal("0.00"))
            want = half_up((charged - refunded) * percent / 100)
        if want == 0:
            if paid:
                problems.append(f"order {pk} ({state}): commission {paid}, expected none")
            continue
        if len(paid) != 1 or paid[0][0] != want:
            problems.append(f"order {pk} ({state}): commission {paid}, expected {want}")
            continue
        wallet_id = paid[0][1]
        if (
            wallet_user.get(wallet_id) != referrer_of[user_id]
            or wallet_kind[wallet_id] != "commission"
        ):
            problems.append(f"order {pk}: commission in wallet {wallet_id}, not its referrer's")
    for order_id in commissions:
        problems.append(f"commission for order {order_id}, which does not exist")
    outs = LedgerEntry.objects.filter(kind="commission_out")
    ins = LedgerEntry.objects.filter(kind="commission_in")
    if outs.count() != ins.count() or outs.count() != CommissionTransfer.objects.count():
        problems.append("commission moves are not all pairs of one entry out and one in")
    for (
        transfer_id,
        user_id,
        amount,
        out_amount,
        out_wallet,
        in_amount,
        in_wallet,
    ) in CommissionTransfer.objects.values_list(
        "pk",
        "user_id",
        "amount",
        "out_entry__amount",
        "out_entry__wallet_id",
        "in_entry__amount",
        "in_entry__wallet_id",
    ):
        if not (
            out_amount == -amount
            and in_amount == amount
            and wallet_user.get(out_wallet) == wallet_user.get(in_wallet) == user_id
            and wallet_kind[out_wallet] == "commission"
            and wallet_kind[in_wallet] == "main"
        ):
            problems.append(f"commission move {transfer_id} does not add up")
    return problems


def _upstream_problems(sandbox: Sandbox, orders: list[tuple[Any, ...]]) -> list[str]:
    problems: list[str] = []
    upstream = sandbox.orders
    attached = Counter(row[7] for row in orders if row[7] is not None)
    for upstream_id, count in attached.items():
        if count > 1:
            problems.append(f"upstream order {upstream_id} is attached to {count} panel orders")
    panel_requests: Counter[tuple[int, str, int]] = Counter()
    for pk, _user, _state, _charge, _remains, quantity, _runs, upstream_id, service, link in orders:
        panel_requests[(service, link.strip(), quantity)] += 1
        if upstream_id is None:
            continue
        found = upstream.get(upstream_id)
        if found is None:
            problems.append(f"order {pk}: upstream order {upstream_id} does not exist upstream")
        elif (found.service, found.link) != (service, link.strip()):
            problems.append(
                f"order {pk}: upstream order {upstream_id} is for service {found.service} "
                f"{found.link!r}, not {service} {link!r}"
            )
    upstream_requests = Counter(
        (order.service, order.link, order.quantity)
        for order in upstream.values()
        if order.parent is None  # drip-feed runs are the upstream's own child orders
    )
    for request, count in upstream_requests.items():
        if count > panel_requests.get(request, 0):
            problems.append(
                f"{count} upstream orders for service {request[0]} {request[1]!r} x{request[2]}, "
                f"but {panel_requests.get(request, 0)} panel orders"
            )
    return problems


def assert_money_invariants(*, sandbox: Sandbox | None = None) -> None:
    problems = money_problems(sandbox=sandbox)
    assert not problems, "money invariants broken:\n  " + "\n  ".join(problems)


def provider_problems(sandboxes: dict[int, Sandbox]) -> list[str]:
    """With several providers (issue 17), keyed by provider pk: each order is checked against its
    own provider's upstream, as the service it was sent as (a backup after a failover), so an
    order bought twice, at one provider or across two, shows as a surplus there."""
    from orders.models import Order

    problems: list[str] = []
    for provider_id, sandbox in sandboxes.items():
        rows = []
        for row in (
            Order.objects.filter(provider_id=provider_id)
            .order_by("pk")
            .values_list(
                "pk",
                "user_id",
                "state",
                "charge",
                "remains",
                "quantity",
                "runs",
                "upstream_id",
                "placed_service__upstream_id",
                "service__upstream_id",
                "link",
            )
        ):
            *head, placed, own, link = row
            rows.append((*head, placed if placed is not None else own, link))
        problems.extend(f"provider {provider_id}: {p}" for p in _upstream_problems(sandbox, rows))
    return problems


def assert_provider_invariants(sandboxes: dict[int, Sandbox]) -> None:
    problems = money_problems() + provider_problems(sandboxes)
    assert not problems, "invariants broken:\n  " + "\n  ".join(problems)
