"""Everything after placing follows the order's provider: status, refill and cancel, batched per
provider at the protocol's limits; one provider down never stops the other's sync or poll."""

from __future__ import annotations

import math
from decimal import Decimal

from catalog.models import Provider, Service, SyncRun
from catalog.sync import catalog_sync, catalog_sync_all
from orders.customer_requests import cancel_request, refill_request
from orders.models import Order, OrderState, RefillRequest
from orders.polling import orders_poll
from orders.request_forwarding import requests_cycle
from panel.sandbox import Sandbox
from tests.faults.world import closed_port

from .conftest import Two

S = OrderState
DAY = 86400


def placed_at(two: Two, provider: Provider, service: Service, count: int) -> list[Order]:
    """`count` orders already placed at `provider` (added to its sandbox in-process)."""
    sandbox: Sandbox = two.sandbox_of(provider.pk)
    rows = []
    for n in range(count):
        answer = sandbox.handle(
            {
                "key": sandbox.key,
                "action": "add",
                "service": str(service.upstream_id),
                "link": f"https://tiktok.com/@u/video/{provider.pk}-{n}",
                "quantity": "100",
            }
        )
        rows.append(
            Order(
                user=two.customer,
                service=two.main,
                provider=provider,
                placed_service=service if service.provider_id != two.main.provider_id else None,
                link=f"https://tiktok.com/@u/video/{provider.pk}-{n}",
                quantity=100,
                rate=two.main.sell_rate,
                charge=Decimal("1.00"),
                state=S.PLACED,
                upstream_id=answer["order"],
            )
        )
    return Order.objects.bulk_create(rows)


def test_each_order_is_polled_at_its_own_provider(two: Two) -> None:
    at_vnd = two.place()
    two.vnd_sandbox.set_balance("0")
    at_usd = two.place()
    assert (at_vnd.provider_id, at_usd.provider_id) == (two.vnd.pk, two.usd.pk)
    # the two sandboxes number their orders alike: the same upstream id may be at both
    two.vnd_sandbox.advance(DAY)
    two.usd_sandbox.advance(DAY)
    two.vnd_sandbox.clear_calls()
    two.usd_sandbox.clear_calls()
    result = orders_poll()
    assert result.finished == 2
    vnd_asked = [c["orders"] for c in two.vnd_sandbox.calls_of("status")]
    usd_asked = [c["orders"] for c in two.usd_sandbox.calls_of("status")]
    assert vnd_asked == [str(at_vnd.upstream_id)]
    assert usd_asked == [str(at_usd.upstream_id)]
    for order in (at_vnd, at_usd):
        order.refresh_from_db()
        assert order.state == S.COMPLETED


def test_a_poll_cycle_makes_the_sum_of_ceil_n_over_200_calls(two: Two) -> None:
    placed_at(two, two.vnd, two.main, 250)
    placed_at(two, two.usd, two.backup, 30)
    two.vnd_sandbox.clear_calls()
    two.usd_sandbox.clear_calls()
    result = orders_poll()
    assert result.orders == 280
    assert len(two.vnd_sandbox.calls_of("status")) == math.ceil(250 / 200)
    assert len(two.usd_sandbox.calls_of("status")) == math.ceil(30 / 200)
    assert result.batches == 3


def test_the_same_upstream_id_at_two_providers_is_two_orders(two: Two) -> None:
    vnd = placed_at(two, two.vnd, two.main, 1)[0]
    usd = placed_at(two, two.usd, two.backup, 1)[0]
    assert vnd.upstream_id == usd.upstream_id  # both sandboxes start at the same number


def test_refill_and_cancel_go_to_the_orders_provider(two: Two) -> None:
    two.vnd_sandbox.set_balance("0")
    order = two.place()  # placed at the USD provider as service 801
    assert order.provider_id == two.usd.pk
    two.usd_sandbox.advance(DAY)
    orders_poll()
    order.refresh_from_db()
    assert order.state == S.COMPLETED
    two.vnd_sandbox.clear_calls()
    two.usd_sandbox.clear_calls()
    refill = refill_request(user=two.customer, order_id=order.pk)
    requests_cycle()
    refill.refresh_from_db()
    assert refill.state != RefillRequest.State.REQUESTED
    assert [c["orders"] for c in two.usd_sandbox.calls_of("refill")] == [str(order.upstream_id)]
    assert two.usd_sandbox.calls_of("refill_status")
    assert two.vnd_sandbox.calls == []

    # a cancel of a running order at the USD provider goes there too
    running = two.place()
    assert running.provider_id == two.usd.pk and running.state == S.PLACED
    two.vnd_sandbox.clear_calls()  # its refused add
    two.usd_sandbox.clear_calls()
    cancel_request(user=two.customer, order_id=running.pk)
    requests_cycle()
    assert [c["orders"] for c in two.usd_sandbox.calls_of("cancel")] == [str(running.upstream_id)]
    assert two.vnd_sandbox.calls == []


def test_one_provider_down_while_the_other_syncs_and_polls(two: Two) -> None:
    at_vnd = two.place()
    two.vnd_sandbox.set_balance("0")
    at_usd = two.place()
    two.vnd_sandbox.set_balance("100000000")
    Provider.objects.filter(pk=two.usd.pk).update(
        api_url=f"http://127.0.0.1:{closed_port()}/api/v2"
    )
    two.vnd_sandbox.update_service(501, rate="31000.0000")
    # the sync: the USD provider's run fails, the VND provider's applies
    result = catalog_sync_all()
    by_provider = {run.provider_id: run for run in result.runs}
    assert by_provider[two.vnd.pk].ok
    assert not by_provider[two.usd.pk].ok
    assert Service.objects.get(pk=two.main.pk).cost_rate == Decimal("31000.0000")
    # the poll: the VND order ends, the USD one is left as it was, to be asked next cycle
    two.vnd_sandbox.advance(DAY)
    poll = orders_poll()
    assert poll.failed_batches == 1 and poll.finished == 1
    at_vnd.refresh_from_db()
    at_usd.refresh_from_db()
    assert at_vnd.state == S.COMPLETED
    assert at_usd.state == S.PLACED


def test_each_provider_has_its_own_sync_lock(two: Two) -> None:
    SyncRun.objects.create(kind=SyncRun.Kind.FULL, provider=two.usd)  # a USD sync under way
    run = catalog_sync(provider=two.vnd)
    assert run.ok
    result = catalog_sync_all()
    assert result.skipped == ["usdshop"]


def test_the_beat_polls_each_provider_in_its_own_task(two: Two) -> None:
    from django.core.cache import cache

    from orders.tasks import orders_poll_provider_task, orders_poll_task

    at_vnd = two.place()
    two.vnd_sandbox.set_balance("0")
    at_usd = two.place()
    two.vnd_sandbox.advance(DAY)
    two.usd_sandbox.advance(DAY)
    # a poll of the USD provider still running elsewhere: its next task skips, the other runs
    cache.add(f"orders:poll:provider:{two.usd.pk}", 1)
    assert orders_poll_task.delay().get() == sorted([two.vnd.pk, two.usd.pk])
    at_vnd.refresh_from_db()
    at_usd.refresh_from_db()
    assert (at_vnd.state, at_usd.state) == (S.COMPLETED, S.PLACED)
    cache.delete(f"orders:poll:provider:{two.usd.pk}")
    assert orders_poll_provider_task.delay(two.usd.pk).get()["finished"] == 1
