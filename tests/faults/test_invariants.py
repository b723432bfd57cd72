"""The invariant checker itself can fail: each kind of broken money it looks for is noticed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.models import Wallet
from billing.services import wallet_refund
from orders.models import Order, OrderState
from tests.invariants import assert_money_invariants, money_problems

S = OrderState


def test_a_healthy_shop_has_no_problems(sandbox: Any, place: Any) -> None:
    place(101, quantity=1000)
    place(109, comments="one\ntwo\nthree\nfour\nfive")
    assert money_problems(sandbox=sandbox) == []
    assert_money_invariants(sandbox=sandbox)


def test_a_balance_that_is_not_the_sum_of_its_entries_is_noticed(customer: Any) -> None:
    Wallet.objects.filter(user=customer).update(balance=Decimal("1.00"))
    (problem,) = money_problems()
    assert "balance 1.00 != sum of entries 10000000.00" in problem


def test_an_order_without_its_charge_is_noticed(customer: Any, catalog: Any) -> None:
    order = Order.objects.create(
        user=customer,
        service=catalog[101],
        link="https://x.y/z",
        quantity=100,
        rate=Decimal("5.55"),
        charge=Decimal("0.56"),
    )
    assert money_problems() == [f"order {order.pk} (queued): 0 charges, expected exactly one"]


def test_a_refund_the_orders_state_does_not_call_for_is_noticed(sandbox: Any, place: Any) -> None:
    order = place(101, quantity=1000)
    wallet_refund(order_id=order.pk, amount=Decimal("1.00"))
    (problem,) = money_problems()
    assert f"order {order.pk} (placed" in problem and "refunded 1.00, expected 0.00" in problem


def test_a_partial_refunded_by_the_wrong_amount_is_noticed(sandbox: Any, place: Any) -> None:
    order = place(101, quantity=1000)
    Order.objects.filter(pk=order.pk).update(state=S.PARTIAL, remains=500)
    wallet_refund(order_id=order.pk, amount=order.charge)
    (problem,) = money_problems()
    half = (order.charge / 2).quantize(Decimal("0.01"))
    assert f"refunded {order.charge}, expected {half}" in problem


def test_a_second_upstream_order_for_one_panel_order_is_noticed(sandbox: Any, place: Any) -> None:
    order = place(101, quantity=1000)
    sandbox.handle(
        {
            "key": sandbox.key,
            "action": "add",
            "service": "101",
            "link": order.link,
            "quantity": "1000",
        }
    )
    (problem,) = money_problems(sandbox=sandbox)
    assert problem.startswith("2 upstream orders for service 101")
    assert "but 1 panel orders" in problem


def test_an_upstream_id_pointing_at_another_request_is_noticed(sandbox: Any, place: Any) -> None:
    first = place(101, quantity=1000)
    second = place(104, quantity=1000, forward=False)
    Order.objects.filter(pk=first.pk).update(upstream_id=None)
    Order.objects.filter(pk=second.pk).update(state=S.PLACED, upstream_id=first.upstream_id)
    assert any(
        f"order {second.pk}: upstream order {first.upstream_id} is for service 101" in problem
        for problem in money_problems(sandbox=sandbox)
    )
