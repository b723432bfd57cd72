"""Failover over real HTTP between two sandbox providers: an order moves to its service's next
backup only when its provider refused it before accepting it; after any ambiguous answer it is
held for review and sent nowhere else. The customer's price never changes."""

from __future__ import annotations

from typing import Any

import pytest

from billing.services import wallet_balance
from catalog.models import Provider
from catalog.providers import provider_pause
from orders.failover import refusal_allows_failover
from orders.forwarding import order_forward
from orders.models import ForwardAttempt, Order, OrderState
from tests.invariants import assert_provider_invariants

from .conftest import Two

S = OrderState
A = ForwardAttempt.Outcome


def invariants(two: Two) -> None:
    assert_provider_invariants({two.vnd.pk: two.vnd_sandbox, two.usd.pk: two.usd_sandbox})


def assert_placed_at_backup(two: Two, order: Order, charge: Any) -> None:
    order.refresh_from_db()
    assert order.state == S.PLACED
    assert order.provider_id == two.usd.pk
    assert order.placed_service_id == two.backup.pk
    assert order.service_id == two.main.pk  # what the customer bought does not change
    assert order.charge == charge  # nor what they paid
    assert order.upstream_id in two.usd_sandbox.orders
    assert two.usd_sandbox.orders[order.upstream_id].service == 801
    assert two.vnd_sandbox.orders == {}


# --- each refusal before acceptance moves the order ------------------------------------------


def test_out_of_funds_at_the_provider_moves_the_order_to_the_backup(two: Two) -> None:
    two.vnd_sandbox.set_balance("0")
    balance = wallet_balance(user=two.customer)
    order = two.place()
    assert_placed_at_backup(two, order, order.charge)
    assert wallet_balance(user=two.customer) == balance - order.charge  # charged once, kept
    assert two.adds() == (1, 1)
    attempts = list(order.attempts.values_list("provider_id", "service_id", "outcome"))
    assert attempts == [
        (two.vnd.pk, two.main.pk, A.OUT_OF_FUNDS),
        (two.usd.pk, two.backup.pk, A.PLACED),
    ]
    assert "Insufficient balance" in order.attempts.first().answer  # type: ignore[union-attr]
    assert Provider.objects.get(pk=two.vnd.pk).last_out_of_funds_at is not None
    invariants(two)


@pytest.mark.parametrize(
    "refusal",
    ["Incorrect service ID", "Service is disabled", "Quantity less than minimal 500"],
)
def test_a_refusal_of_the_service_moves_the_order_to_the_backup(two: Two, refusal: str) -> None:
    two.vnd_sandbox.inject_fault("add", "raw_answer", body={"error": refusal})
    order = two.place()
    assert_placed_at_backup(two, order, order.charge)
    assert two.adds() == (1, 1)
    invariants(two)


def test_a_service_removed_upstream_moves_the_order_to_the_backup(two: Two) -> None:
    two.vnd_sandbox.remove_service(501)  # the sandbox answers "Incorrect service ID"
    order = two.place()
    assert_placed_at_backup(two, order, order.charge)
    invariants(two)


def test_limits_changed_upstream_move_the_order_to_the_backup(two: Two) -> None:
    two.vnd_sandbox.update_service(501, min=500)  # our catalog still says 10
    order = two.place(quantity=100)
    assert_placed_at_backup(two, order, order.charge)
    invariants(two)


def test_an_unreachable_provider_moves_the_order_after_the_configured_attempts(
    two: Two, settings: Any
) -> None:
    from tests.faults.world import closed_port

    settings.PROVIDER_FAILOVER_UNREACHABLE_ATTEMPTS = 2
    settings.SIEULIKE_API_URL = f"http://127.0.0.1:{closed_port()}/api/v2"
    order = two.place()
    # first attempt: never reached, queued again with backoff, still at its provider
    assert order.state == S.QUEUED and order.provider_id == two.vnd.pk
    Order.objects.filter(pk=order.pk).update(next_attempt_at=None)
    # second attempt: the setting is reached, the request provably never left: backup
    assert order_forward(order_id=order.pk) == "placed"
    assert_placed_at_backup(two, order, order.charge)
    assert list(order.attempts.values_list("outcome", flat=True)) == [
        A.UNREACHABLE,
        A.UNREACHABLE,
        A.PLACED,
    ]


# --- what does not move ----------------------------------------------------------------------


def test_a_refusal_of_the_order_itself_fails_it_with_a_refund_and_no_failover(two: Two) -> None:
    two.vnd_sandbox.inject_fault("add", "raw_answer", body={"error": "Incorrect link"})
    balance = wallet_balance(user=two.customer)
    order = two.place()
    assert order.state == S.FAILED
    assert wallet_balance(user=two.customer) == balance
    assert two.adds() == (1, 0)
    invariants(two)


def test_without_a_usable_backup_out_of_funds_waits_as_before(two: Two) -> None:
    two.vnd_sandbox.set_balance("0")
    provider_pause(provider_id=two.usd.pk)
    order = two.place()
    assert order.state == S.QUEUED and order.waiting_for_funds
    assert order.provider_id == two.vnd.pk
    assert two.adds() == (1, 0)
    invariants(two)


def test_a_backup_dearer_than_what_the_customer_paid_is_not_used(two: Two) -> None:
    two.vnd_sandbox.set_balance("0")
    two.usd_sandbox.update_service(801, rate="99.0000")  # 2,475,000 VND per 1000
    from catalog.sync import catalog_sync

    assert catalog_sync(provider=two.usd).ok
    order = two.place()
    assert order.state == S.QUEUED and order.waiting_for_funds
    assert two.adds() == (1, 0)


AMBIGUOUS = {
    "http_500_html": {},
    "html_200": {},
    "malformed_json": {},
    "truncated_json": {"mode": "short"},
    "drop_after_accept": {},
    "timeout_after_accept": {},
}


@pytest.mark.parametrize("fault", sorted(AMBIGUOUS))
def test_after_an_ambiguous_answer_the_order_is_held_and_sent_nowhere_else(
    two: Two, fault: str
) -> None:
    two.vnd_sandbox.inject_fault("add", fault, **AMBIGUOUS[fault])
    order = two.place()
    assert order.state == S.REVIEW
    assert order.provider_id == two.vnd.pk
    # a redelivered task finds nothing to do: exactly one add across both providers
    assert order_forward(order_id=order.pk) == "skipped"
    vnd_adds, usd_adds = two.adds()
    assert (vnd_adds, usd_adds) == (1, 0)
    assert list(order.attempts.values_list("outcome", flat=True)) == [A.AMBIGUOUS]


def test_the_failover_words_are_the_refusals_before_acceptance() -> None:
    for message in (
        "Insufficient balance",
        "Incorrect service ID",
        "Service is disabled",
        "Quantity more than maximal 1000",
    ):
        assert refusal_allows_failover(message), message
    for message in ("Incorrect link", "Link is required", "Comments are required", ""):
        assert not refusal_allows_failover(message), message


# --- a paused provider ----------------------------------------------------------------------


def test_a_paused_provider_sends_its_orders_to_the_backup_without_calling_it(two: Two) -> None:
    provider_pause(provider_id=two.vnd.pk)
    order = two.place()
    assert_placed_at_backup(two, order, order.charge)
    assert two.adds() == (0, 1)


def test_a_paused_provider_that_says_wait_keeps_its_orders_queued(two: Two) -> None:
    Provider.objects.filter(pk=two.vnd.pk).update(when_paused=Provider.WhenPaused.WAIT)
    provider_pause(provider_id=two.vnd.pk)
    order = two.place()
    assert order.state == S.QUEUED and order.provider_id == two.vnd.pk
    assert two.adds() == (0, 0)
    # resumed: sent where it belongs
    provider_pause(provider_id=two.vnd.pk, paused=False)
    Order.objects.filter(pk=order.pk).update(next_attempt_at=None)
    assert order_forward(order_id=order.pk) == "placed"
    assert two.adds() == (1, 0)


# --- orders already waiting for funds when their provider is paused (issue 17 gap) -----------


def _waiting_at_vnd(two: Two) -> Order:
    """An order refused with "Insufficient balance" at vnd while its backup was unusable: it
    waits for vnd's funds, queued, never accepted anywhere."""
    two.vnd_sandbox.set_balance("0")
    provider_pause(provider_id=two.usd.pk)
    order = two.place()
    assert order.state == S.QUEUED and order.waiting_for_funds
    assert order.provider_id == two.vnd.pk
    assert two.adds() == (1, 0)
    provider_pause(provider_id=two.usd.pk, paused=False)  # the backup is usable again
    two.vnd_sandbox.clear_calls()
    two.usd_sandbox.clear_calls()
    return order


def _sweep() -> Any:
    from datetime import timedelta

    from orders.sweep import orders_sweep

    return orders_sweep(forward=lambda pk: order_forward(order_id=pk), grace=timedelta(0))


def test_an_order_waiting_for_funds_fails_over_when_its_provider_is_then_paused(
    two: Two,
) -> None:
    order = _waiting_at_vnd(two)
    balance = wallet_balance(user=two.customer)
    provider_pause(provider_id=two.vnd.pk)  # when_paused: fail over (the default)
    result = _sweep()
    assert order.pk in result.forwarded
    assert_placed_at_backup(two, order, order.charge)
    assert not order.waiting_for_funds
    # exactly one add across both providers since the pause, and the paused one not even asked
    # for its balance
    assert two.adds() == (0, 1)
    assert two.vnd_sandbox.calls_of("balance") == []
    assert wallet_balance(user=two.customer) == balance  # the charge stands, nothing refunded
    assert list(order.attempts.values_list("provider_id", "outcome")) == [
        (two.vnd.pk, A.OUT_OF_FUNDS),
        (two.vnd.pk, A.SKIPPED),
        (two.usd.pk, A.PLACED),
    ]
    # a second sweep changes nothing
    _sweep()
    assert two.adds() == (0, 1)
    invariants(two)


def test_an_order_waiting_for_funds_keeps_waiting_when_its_paused_provider_says_wait(
    two: Two,
) -> None:
    order = _waiting_at_vnd(two)
    Provider.objects.filter(pk=two.vnd.pk).update(when_paused=Provider.WhenPaused.WAIT)
    provider_pause(provider_id=two.vnd.pk)
    two.vnd_sandbox.set_balance("100000000")  # even with funds: paused means nothing is sent
    _sweep()
    order.refresh_from_db()
    assert order.state == S.QUEUED and order.waiting_for_funds
    assert order.provider_id == two.vnd.pk
    assert two.adds() == (0, 0)
    # resumed: released by the balance check and sent where it belongs, once
    provider_pause(provider_id=two.vnd.pk, paused=False)
    _sweep()
    order.refresh_from_db()
    assert order.state == S.PLACED and order.provider_id == two.vnd.pk
    assert two.adds() == (1, 0)
    invariants(two)


def test_an_order_waiting_for_funds_at_a_paused_provider_without_a_backup_keeps_waiting(
    two: Two,
) -> None:
    order = _waiting_at_vnd(two)
    provider_pause(provider_id=two.vnd.pk)
    provider_pause(provider_id=two.usd.pk)  # the only backup is paused too
    _sweep()
    order.refresh_from_db()
    assert order.state == S.QUEUED and order.waiting_for_funds
    assert order.provider_id == two.vnd.pk
    assert two.adds() == (0, 0)
    invariants(two)
