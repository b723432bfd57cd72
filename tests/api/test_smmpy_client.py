"""A third-party SMM API client from the package registry (smmpy), used unchanged against a
running panel whose orders go on to the sandbox upstream over real HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest
from smmpy import smm

from orders.models import CancelRequest, Order, OrderState
from orders.polling import orders_poll

from .conftest import make_service, new_customer

LINK = "https://tiktok.com/@user/video/123"


@pytest.mark.django_db(transaction=True)
def test_smmpy_lists_orders_reads_status_cancels_and_refills_against_a_running_panel(
    live_server, sandbox
) -> None:
    # given a customer with 1,000,000 VND and one service for sale, mapped to the sandbox's 104
    # (TikTok follows, cancel allowed, 100..20000), sold at 50 VND per 1000
    customer = new_customer(balance=1_000_000)
    service = make_service(
        upstream_id=104,
        name="TikTok - Follow",
        sell_rate=Decimal("50"),
        cost_rate=Decimal("35"),
        min_quantity=100,
        max_quantity=20_000,
        refill=True,
        days_refill=30,
        cancel=True,
    )
    panel = smm(f"{live_server.url}/api/v2", customer.key)

    # when the client lists the services, it sees the panel's id and price
    services = panel.get_services()
    assert [(row["service"], row["rate"], row["min"], row["cancel"]) for row in services] == [
        (service.pk, "50.0000", 100, True)
    ]
    assert panel.get_balance() == {"balance": "1000000.00", "currency": "VND"}

    # when it places two orders, they are the panel's and reach the upstream once each
    first = panel.add_order(service.pk, LINK, 1000)["order"]
    second = panel.add_order(service.pk, LINK, 2000)["order"]
    assert [call["service"] for call in sandbox.calls_of("add")] == ["104", "104"]
    assert set(Order.objects.values_list("state", flat=True)) == {OrderState.PLACED}
    assert all(order.upstream_id for order in Order.objects.all())  # kept, never shown

    # then their status reads in the document's shape, one at a time and together
    assert panel.get_status(first) == {
        "charge": "50.00",
        "start_count": "0",
        "status": "Pending",
        "remains": "1000",
        "currency": "VND",
    }
    multi = panel.get_multi_status([first, second, 999_999])
    assert multi[str(second)]["charge"] == "100.00"
    assert multi["999999"] == {"error": "Incorrect order ID"}

    # and a cancel is accepted for the order, per item
    assert panel.cancel_orders([first, 999_999]) == [
        {"order": first, "cancel": first},
        {"order": 999_999, "cancel": {"error": "Incorrect order ID"}},
    ]
    assert CancelRequest.objects.filter(order_id=first).exists()

    # and refusals surface as the client's exceptions with the panel's words
    with pytest.raises(Exception, match="Quantity less than minimal 100"):
        panel.add_order(service.pk, LINK, 1)
    with pytest.raises(Exception, match="Invalid API key"):
        smm(f"{live_server.url}/api/v2", "not-the-key").get_balance()
    assert panel.get_balance()["balance"] == "999850.00"

    # and once the upstream completes the other order, a refill is asked for and followed
    sandbox.advance(30 * 24 * 3600)
    orders_poll()
    assert panel.get_status(second)["status"] == "Completed"
    assert panel.create_refill(second) == {"refill": second}
    assert panel.get_refill_status(second) == {"status": "Pending"}
    assert panel.get_multi_refill_status([second, first]) == [
        {"refill": second, "status": "Pending"},
        {"refill": first, "status": {"error": "Refill not found"}},
    ]
