"""Placing orders of every kind: validation, charge, forwarding with the right parameters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billing.models import EntryKind, LedgerEntry
from orders.errors import OrderRejected
from orders.models import Order, OrderKind, OrderState
from orders.placing import order_place, orders_place_mass
from panel.money import charge_for

from .helpers import balance_of

LINK = "https://tiktok.com/@user/video/123"


def test_a_default_order_is_charged_once_and_forwarded_with_service_link_and_quantity(
    sandbox: Any, place: Any, customer: Any, catalog: Any
) -> None:
    # given a customer with 10,000,000 ₫
    before = balance_of(customer)
    # when they order 1000 of upstream service 101
    order = place(101, link=LINK, quantity=1000)
    # then the charge is the sell rate x 1000 / 1000, taken once, and the order is placed upstream
    assert order.rate == catalog[101].sell_rate
    assert order.charge == charge_for(catalog[101].sell_rate, 1000) == Decimal("5550")
    assert balance_of(customer) == before - order.charge
    assert LedgerEntry.objects.filter(order=order, kind=EntryKind.CHARGE).count() == 1
    assert order.state == OrderState.PLACED and order.upstream_id
    assert sandbox.calls_of("add") == [
        {"action": "add", "service": "101", "link": LINK, "quantity": "1000"}
    ]


def test_custom_comments_are_sent_one_per_line_and_counted_as_the_quantity(
    sandbox: Any, place: Any
) -> None:
    order = place(109, link=LINK, comments="Hay quá!\n\n  Cảm ơn bạn  \r\nTuyệt vời 👍\nA\nB\n")
    assert order.kind == OrderKind.CUSTOM_COMMENTS and order.quantity == 5
    assert order.state == OrderState.PLACED
    (call,) = sandbox.calls_of("add")
    assert call == {
        "action": "add",
        "service": "109",
        "link": LINK,
        "comments": "Hay quá!\nCảm ơn bạn\nTuyệt vời 👍\nA\nB",
    }


def test_a_dripfeed_is_charged_for_every_run_and_sent_with_runs_and_interval(
    sandbox: Any, place: Any, catalog: Any
) -> None:
    order = place(102, link=LINK, quantity=100, runs=5, interval=30)
    assert order.kind == OrderKind.DRIPFEED and order.total_quantity == 500
    assert order.charge == charge_for(catalog[102].sell_rate, 500)
    (call,) = sandbox.calls_of("add")
    assert call == {
        "action": "add",
        "service": "102",
        "link": LINK,
        "quantity": "100",
        "runs": "5",
        "interval": "30",
    }


def test_comment_likes_are_sent_with_the_username(sandbox: Any, place: Any) -> None:
    order = place(110, link=LINK, quantity=100, username="commenter_name")
    assert order.kind == OrderKind.COMMENT_LIKES and order.state == OrderState.PLACED
    (call,) = sandbox.calls_of("add")
    assert call == {
        "action": "add",
        "service": "110",
        "link": LINK,
        "quantity": "100",
        "username": "commenter_name",
    }


def test_a_vip_package_is_a_plain_add_with_likes_per_post(sandbox: Any, place: Any) -> None:
    order = place(212, link="https://facebook.com/page", quantity=50)
    assert order.kind == OrderKind.PACKAGE and order.state == OrderState.PLACED
    (call,) = sandbox.calls_of("add")
    assert call == {
        "action": "add",
        "service": "212",
        "link": "https://facebook.com/page",
        "quantity": "50",
    }


def test_a_tiny_order_is_never_free(place: Any, catalog: Any) -> None:
    catalog[101].sell_rate = Decimal("0.0010")
    catalog[101].save()
    order = place(101, link=LINK, quantity=20, forward=False)
    assert order.charge == Decimal("0.01")


@pytest.mark.parametrize(
    ("upstream_service", "params", "message"),
    [
        (101, {"link": LINK, "quantity": 19}, "Quantity less than minimal 20"),
        (101, {"link": LINK, "quantity": 200001}, "Quantity more than maximal 200000"),
        (101, {"link": LINK, "quantity": "12.5"}, "Incorrect quantity"),
        (101, {"link": LINK, "quantity": None}, "Incorrect quantity"),
        (101, {"link": "ftp://example.com/x", "quantity": 100}, "Incorrect link"),
        (101, {"link": "https://exa mple.com", "quantity": 100}, "Incorrect link"),
        (101, {"link": "https://x.com/" + "a" * 490, "quantity": 100}, "Incorrect link"),
        (
            101,
            {"link": LINK, "quantity": 100, "runs": 3, "interval": 10},
            "This service does not support drip feed",
        ),
        (
            102,
            {"link": LINK, "quantity": 100, "runs": -1, "interval": 10},
            "Runs must be at least 1",
        ),
        (
            102,
            {"link": LINK, "quantity": 100, "runs": 3, "interval": 0},
            "Interval must be at least 1 minute",
        ),
        (
            102,
            {"link": LINK, "quantity": 100, "runs": 50, "interval": 30},
            "Total time cannot exceed 1440 minutes",
        ),
        (
            102,
            {"link": LINK, "quantity": 20000, "runs": 3, "interval": 10},
            "Total quantity more than maximal 50000",
        ),
        (
            102,
            {"link": LINK, "quantity": 49, "runs": 3, "interval": 10},
            "Quantity less than minimal 50",
        ),
        (109, {"link": LINK, "comments": "\n \n"}, "Comments are required"),
        (109, {"link": LINK, "comments": "one\ntwo"}, "Quantity less than minimal 5"),
        (
            109,
            {"link": LINK, "comments": "a\nb\nc\nd\n" + "x" * 501},
            "Incorrect comment on line 5",
        ),
        (110, {"link": LINK, "quantity": 100}, "Username is required"),
        (110, {"link": LINK, "quantity": 100, "username": "<b>me</b>"}, "Incorrect username"),
    ],
)
def test_invalid_orders_are_refused_with_the_apis_words_and_charge_nothing(
    customer: Any, catalog: Any, upstream_service: int, params: dict[str, Any], message: str
) -> None:
    before = balance_of(customer)
    with pytest.raises(OrderRejected) as caught:
        order_place(user=customer, service_id=catalog[upstream_service].pk, **params)
    assert caught.value.message == message
    assert caught.value.display  # a translated text for the browser exists too
    assert balance_of(customer) == before
    assert not Order.objects.exists()
    assert not LedgerEntry.objects.filter(kind=EntryKind.CHARGE).exists()


@pytest.mark.parametrize("service_id", [0, -1, 999999, "abc", None])
def test_an_unknown_service_is_an_incorrect_service_id(
    customer: Any, catalog: Any, service_id: object
) -> None:
    with pytest.raises(OrderRejected, match="^Incorrect service ID$"):
        order_place(user=customer, service_id=service_id, link=LINK, quantity=100)  # type: ignore[arg-type]


def test_a_paused_service_cannot_be_ordered(customer: Any, catalog: Any) -> None:
    catalog[101].listed = False
    catalog[101].save()
    with pytest.raises(OrderRejected, match="^Incorrect service ID$"):
        order_place(user=customer, service_id=catalog[101].pk, link=LINK, quantity=100)


def test_an_order_beyond_the_balance_is_refused_and_leaves_nothing_behind(
    make_customer: Any, catalog: Any
) -> None:
    poor = make_customer("poor", balance="1.00")
    with pytest.raises(OrderRejected, match="^Not enough funds on balance$"):
        order_place(user=poor, service_id=catalog[101].pk, link=LINK, quantity=1000)
    assert balance_of(poor) == Decimal("1.00")
    assert not Order.objects.exists()


def test_the_same_idempotency_key_and_parameters_return_the_first_order(
    customer: Any, catalog: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first = order_place(
        user=customer, service_id=catalog[101].pk, link=LINK, quantity=100, idempotency_key="k-1"
    )
    balance = balance_of(customer)
    again = order_place(
        user=customer,
        service_id=str(catalog[101].pk),
        link=LINK,
        quantity="100",
        idempotency_key="k-1",
    )
    assert again.pk == first.pk
    assert balance_of(customer) == balance
    assert Order.objects.count() == 1


def test_the_same_idempotency_key_with_other_parameters_is_refused(
    customer: Any, catalog: Any
) -> None:
    order_place(
        user=customer, service_id=catalog[101].pk, link=LINK, quantity=100, idempotency_key="k-1"
    )
    with pytest.raises(OrderRejected, match="^Idempotency key reused with different parameters$"):
        order_place(
            user=customer,
            service_id=catalog[101].pk,
            link=LINK,
            quantity=200,
            idempotency_key="k-1",
        )


def test_idempotency_keys_are_per_customer(
    customer: Any, other_customer: Any, catalog: Any
) -> None:
    a = order_place(
        user=customer, service_id=catalog[101].pk, link=LINK, quantity=100, idempotency_key="k"
    )
    b = order_place(
        user=other_customer,
        service_id=catalog[101].pk,
        link=LINK,
        quantity=100,
        idempotency_key="k",
    )
    assert a.pk != b.pk


def test_the_forward_is_enqueued_only_after_commit(
    sandbox: Any, customer: Any, catalog: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given the placing transaction has not committed yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order = order_place(user=customer, service_id=catalog[101].pk, link=LINK, quantity=100)
        # then nothing was sent yet
        assert sandbox.calls_of("add") == []
    # when it commits, the (eager) task forwards it
    for callback in callbacks:
        callback()
    order.refresh_from_db()
    assert order.state == OrderState.PLACED
    assert len(sandbox.calls_of("add")) == 1


def test_a_mass_order_reports_each_line_and_places_the_valid_ones(
    sandbox: Any, customer: Any, catalog: Any, django_capture_on_commit_callbacks: Any
) -> None:
    text = "\n".join(
        [
            f"{catalog[101].pk}|{LINK}|100",
            "",
            f"{catalog[101].pk}|{LINK}|5",
            "not an order",
            f"999999|{LINK}|100",
            f"{catalog[104].pk} | https://tiktok.com/@user | 200 ",
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        results = orders_place_mass(user=customer, text=text)
    assert [(r.line, r.error) for r in results] == [
        (1, None),
        (3, "Quantity less than minimal 20"),
        (4, "Incorrect format, expected service_id|link|quantity"),
        (5, "Incorrect service ID"),
        (6, None),
    ]
    placed = [r.order for r in results if r.order]
    assert len(placed) == 2 == Order.objects.count()
    assert {o.pk for o in placed} == set(
        Order.objects.filter(state=OrderState.PLACED).values_list("pk", flat=True)
    )
    assert len(sandbox.calls_of("add")) == 2


def test_a_mass_order_stops_charging_when_the_money_runs_out(
    make_customer: Any, catalog: Any
) -> None:
    user = make_customer("carol", balance="12000.00")  # two orders of 5.550, not three
    line = f"{catalog[101].pk}|{LINK}|1000"
    results = orders_place_mass(user=user, text="\n".join([line] * 3))
    assert [r.error for r in results] == [None, None, "Not enough funds on balance"]
    assert balance_of(user) == Decimal("900.00")
