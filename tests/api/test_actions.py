"""Every action and variant of the document, through form POST, GET and JSON (the `api` fixture
runs each test once per request style)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.services import wallet_balance, wallet_refund
from catalog.changes import catalog_version_bump
from catalog.models import ServiceType
from orders.models import CancelRequest, Order, OrderKind, OrderState, RefillRequest

from .conftest import Customer, make_order, make_service, new_customer

LINK = "https://tiktok.com/@user/video/123"


# --- balance -------------------------------------------------------------------------------------


def test_balance_is_the_wallet_with_two_decimals_in_vnd(api, customer: Customer) -> None:
    assert api("balance") == {"balance": "1000000.00", "currency": "VND"}


def test_balance_of_a_new_customer_is_zero(api, customer: Customer) -> None:
    empty = new_customer(balance=0)
    assert api("balance", key=empty.key) == {"balance": "0.00", "currency": "VND"}


# --- services ------------------------------------------------------------------------------------


def test_services_is_a_bare_list_of_what_is_for_sale_at_the_customers_price(api) -> None:
    # given one service for sale, one paused and one gone upstream
    sold = make_service(
        name="TikTok - Tim",
        sell_rate=Decimal("4900.5"),
        cost_rate=Decimal("3700"),
        refill=True,
        days_refill=30,
        cancel=True,
        dripfeed=True,
        avg_time_min=7,
        upstream_status="slow",
        priority=True,
        description="Bảo hành 30 ngày",
        category="TikTok - Tim",
    )
    make_service(listed=False)
    make_service(vanished=True)
    # when the services are listed
    answer = api("services")
    # then only the one for sale, under the panel's id, at the sell rate (never the cost)
    assert answer == [
        {
            "service": sold.pk,
            "name": "TikTok - Tim",
            "type": "Default",
            "rate": "4900.5000",
            "min": 20,
            "max": 200000,
            "dripfeed": True,
            "refill": True,
            "days_refill": 30,
            "cancel": True,
            "avg_time_min": 7,
            "status": "slow",
            "category": "TikTok - Tim",
            "description": "Bảo hành 30 ngày",
            "priority": True,
        }
    ]
    assert sold.upstream_id not in [row["service"] for row in answer]


def test_services_shows_the_upstream_type_of_every_kind(api) -> None:
    for kind in ServiceType:
        make_service(type=kind)
    assert sorted(row["type"] for row in api("services")) == sorted(ServiceType.values)


def test_services_are_served_from_the_cache_until_the_catalog_changes(api) -> None:
    # given the services list asked for once
    service = make_service(sell_rate=Decimal("100"))
    assert api("services")[0]["rate"] == "100.0000"
    # when the price changes without the catalog saying so, the cached answer is still served
    service.sell_rate = Decimal("120")
    service.save(update_fields=["sell_rate"])
    assert api("services")[0]["rate"] == "100.0000"
    # and when the catalog announces a change, the next answer has the new price
    catalog_version_bump()
    assert api("services")[0]["rate"] == "120.0000"


# --- add -----------------------------------------------------------------------------------------


def test_add_places_a_default_order_under_the_panels_ids(api, customer: Customer) -> None:
    # given a Default service at 4,900 VND per 1000
    service = make_service()
    # when 1000 are ordered
    answer = api("add", service=service.pk, link=LINK, quantity=1000)
    # then the panel's order id comes back, and the order is the customer's, charged 4,900
    order = Order.objects.get(pk=answer["order"])
    assert answer == {"order": order.pk}
    assert (order.user, order.service, order.kind, order.quantity) == (
        customer.user,
        service,
        "default",
        1000,
    )
    assert order.charge == Decimal("4900.00")
    assert wallet_balance(user=customer.user) == Decimal("995100.00")


def test_add_places_a_custom_comments_order_with_one_comment_per_line(api) -> None:
    service = make_service(type=ServiceType.CUSTOM_COMMENTS, min_quantity=2, max_quantity=100)
    answer = api(
        "add", service=service.pk, link=LINK, comments="Bài viết hay quá!\nCảm ơn bạn\nTuyệt vời 👍"
    )
    order = Order.objects.get(pk=answer["order"])
    assert order.kind == OrderKind.CUSTOM_COMMENTS
    assert order.quantity == 3
    assert order.comments.splitlines() == ["Bài viết hay quá!", "Cảm ơn bạn", "Tuyệt vời 👍"]


def test_add_places_a_drip_feed_order_with_runs_and_interval(api) -> None:
    service = make_service(dripfeed=True)
    answer = api("add", service=service.pk, link=LINK, quantity=100, runs=5, interval=30)
    order = Order.objects.get(pk=answer["order"])
    assert (order.kind, order.quantity, order.runs, order.interval) == (
        OrderKind.DRIPFEED,
        100,
        5,
        30,
    )
    assert order.charge == Decimal("2450.00")  # 100 x 5 runs at 4,900 per 1000


def test_add_places_a_comment_likes_order_with_the_username(api) -> None:
    service = make_service(type=ServiceType.COMMENT_LIKES)
    answer = api("add", service=service.pk, link=LINK, quantity=100, username="commenter_name")
    order = Order.objects.get(pk=answer["order"])
    assert (order.kind, order.username) == (OrderKind.COMMENT_LIKES, "commenter_name")


def test_add_places_a_vip_package_like_a_default_order(api) -> None:
    service = make_service(type=ServiceType.PACKAGE, min_quantity=10)
    answer = api("add", service=service.pk, link=LINK, quantity=50)
    assert Order.objects.get(pk=answer["order"]).kind == OrderKind.PACKAGE


def test_add_treats_empty_drip_feed_fields_as_an_ordinary_order(api) -> None:
    service = make_service()
    answer = api("add", service=service.pk, link=LINK, quantity=1000, runs="", interval="")
    assert Order.objects.get(pk=answer["order"]).kind == OrderKind.DEFAULT


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"service": "999999"}, "Incorrect service ID"),
        ({"service": "abc"}, "Incorrect service ID"),
        ({"service": ""}, "Incorrect service ID"),
        ({"quantity": "5"}, "Quantity less than minimal 20"),
        ({"quantity": "1000000"}, "Quantity more than maximal 200000"),
        ({"quantity": "12.5"}, "Incorrect quantity"),
        ({"link": "javascript:alert(1)"}, "Incorrect link"),
        ({"runs": "3", "interval": "10"}, "This service does not support drip feed"),
    ],
)
def test_add_refuses_what_the_service_does_not_allow_and_charges_nothing(
    api, customer: Customer, fields: dict[str, str], error: str
) -> None:
    service = make_service()
    request = {"service": service.pk, "link": LINK, "quantity": 1000, **fields}
    assert api("add", **request) == {"error": error}
    assert not Order.objects.exists()
    assert wallet_balance(user=customer.user) == Decimal("1000000.00")


def test_add_refuses_a_service_that_is_not_for_sale(api) -> None:
    paused = make_service(listed=False)
    assert api("add", service=paused.pk, link=LINK, quantity=1000) == {
        "error": "Incorrect service ID"
    }


def test_add_without_enough_funds_is_refused(api, customer: Customer) -> None:
    poor = new_customer(balance=100)
    service = make_service()
    answer = api("add", key=poor.key, service=service.pk, link=LINK, quantity=1000)
    assert answer == {"error": "Not enough funds on balance"}
    assert wallet_balance(user=poor.user) == Decimal("100.00")
    assert not Order.objects.exists()


def test_drip_feed_errors_follow_the_document(api) -> None:
    service = make_service(dripfeed=True)
    base = {"service": service.pk, "link": LINK, "quantity": 100}
    assert api("add", **base, runs=5, interval=0) == {"error": "Interval must be at least 1 minute"}
    assert api("add", **base, runs=100, interval=30) == {
        "error": "Total time cannot exceed 1440 minutes"
    }


# --- idempotency ---------------------------------------------------------------------------------


def test_a_retried_add_with_the_same_idempotency_key_places_one_order(
    api, customer: Customer
) -> None:
    # given an order placed with an idempotency key
    service = make_service()
    fields = {
        "service": service.pk,
        "link": LINK,
        "quantity": 1000,
        "idempotency_key": "reseller-0001",
    }
    first = api("add", **fields)
    # when the client retries the same request (its connection dropped, say)
    second = api("add", **fields)
    # then it gets the first answer and nothing new is placed or charged
    assert second == first
    assert Order.objects.count() == 1
    assert wallet_balance(user=customer.user) == Decimal("995100.00")


def test_the_idempotency_key_is_also_read_from_the_header(api) -> None:
    service = make_service()
    fields = {"service": service.pk, "link": LINK, "quantity": 1000}
    first = api("add", headers={"Idempotency-Key": "hdr-1"}, **fields)
    second = api("add", headers={"Idempotency-Key": "hdr-1"}, **fields)
    assert first == second
    assert Order.objects.count() == 1


def test_the_same_idempotency_key_with_other_parameters_is_an_error(api) -> None:
    service = make_service()
    api("add", service=service.pk, link=LINK, quantity=1000, idempotency_key="k-1")
    answer = api("add", service=service.pk, link=LINK, quantity=2000, idempotency_key="k-1")
    assert answer == {"error": "Idempotency key reused with different parameters"}
    assert Order.objects.count() == 1


def test_idempotency_keys_are_per_customer(api, customer: Customer) -> None:
    other = new_customer()
    service = make_service()
    fields = {"service": service.pk, "link": LINK, "quantity": 1000, "idempotency_key": "same"}
    mine = api("add", **fields)
    theirs = api("add", key=other.key, **fields)
    assert mine != theirs
    assert Order.objects.get(pk=theirs["order"]).user == other.user


def test_without_an_idempotency_key_every_add_is_a_new_order(api) -> None:
    service = make_service()
    fields = {"service": service.pk, "link": LINK, "quantity": 1000}
    assert api("add", **fields) != api("add", **fields)
    assert Order.objects.count() == 2


# --- status --------------------------------------------------------------------------------------


def test_status_of_one_order_has_the_documents_shape(api, customer: Customer) -> None:
    order = make_order(
        customer.user, make_service(), upstream_status="In progress", start_count=100, remains=500
    )
    assert api("status", order=order.pk) == {
        "charge": "4900.00",
        "start_count": "100",
        "status": "In progress",
        "remains": "500",
        "currency": "VND",
    }


def test_status_of_an_order_not_yet_sent_is_pending_with_everything_remaining(
    api, customer: Customer
) -> None:
    order = make_order(
        customer.user,
        make_service(),
        state=OrderState.QUEUED,
        upstream_status="",
        start_count=None,
        remains=None,
        quantity=1000,
    )
    answer = api("status", order=order.pk)
    assert (answer["status"], answer["start_count"], answer["remains"]) == ("Pending", "0", "1000")


def test_status_charge_is_what_the_customer_paid_after_a_partial_refund(
    api, customer: Customer
) -> None:
    # given an order placed for 4,900 VND that ended Partial with 400 of 1000 undelivered
    service = make_service()
    order_id = api("add", service=service.pk, link=LINK, quantity=1000)["order"]
    Order.objects.filter(pk=order_id).update(
        state=OrderState.PARTIAL, remains=400, upstream_status="Partial"
    )
    wallet_refund(order_id=order_id, amount=Decimal("1960.00"))
    # when its status is asked for, alone and in a list
    single = api("status", order=order_id)
    listed = api("status", orders=str(order_id))[str(order_id)]
    # then the charge is what the customer paid in the end
    assert single == listed
    assert (single["status"], single["charge"], single["remains"]) == ("Partial", "2940.00", "400")


def test_status_shows_a_failed_order_as_canceled(api, customer: Customer) -> None:
    order = make_order(customer.user, make_service(), state=OrderState.FAILED, upstream_id=None)
    assert api("status", order=order.pk)["status"] == "Canceled"


def test_status_of_an_unknown_order_is_incorrect_order_id(api) -> None:
    assert api("status", order=999999) == {"error": "Incorrect order ID"}
    assert api("status", order="abc") == {"error": "Incorrect order ID"}
    assert api("status") == {"error": "Incorrect order ID"}


def test_status_of_many_orders_is_keyed_by_id_with_an_error_per_unknown_id(
    api, customer: Customer
) -> None:
    service = make_service()
    done = make_order(
        customer.user, service, state=OrderState.COMPLETED, upstream_status="Completed", remains=0
    )
    running = make_order(
        customer.user, service, remains=250, start_count=50, charge=Decimal("2450")
    )
    answer = api("status", orders=f"{done.pk}, {running.pk},999999,abc")
    assert answer == {
        str(done.pk): {
            "charge": "4900.00",
            "start_count": "100",
            "status": "Completed",
            "remains": "0",
            "currency": "VND",
        },
        str(running.pk): {
            "charge": "2450.00",
            "start_count": "50",
            "status": "In progress",
            "remains": "250",
            "currency": "VND",
        },
        "999999": {"error": "Incorrect order ID"},
        "abc": {"error": "Incorrect order ID"},
    }


def test_status_of_up_to_200_orders_is_answered_and_more_is_refused(
    api, customer: Customer
) -> None:
    service = make_service()
    orders = [make_order(customer.user, service) for _ in range(3)]
    ids = [str(o.pk) for o in orders] + [str(n) for n in range(900_000, 900_197)]
    assert len(api("status", orders=",".join(ids))) == 200
    assert api("status", orders=",".join([*ids, "899999"])) == {
        "error": "Maximum 200 orders per request"
    }


def test_status_with_orders_wins_over_order(api, customer: Customer) -> None:
    order = make_order(customer.user, make_service())
    answer = api("status", order=order.pk, orders=str(order.pk))
    assert list(answer) == [str(order.pk)]


def test_status_of_a_drip_feed_parent_has_the_drip_feed_shape(api, customer: Customer) -> None:
    order = make_order(
        customer.user,
        make_service(dripfeed=True),
        kind=OrderKind.DRIPFEED,
        quantity=100,
        runs=5,
        interval=30,
        upstream_status="In progress",
        # as the orders app keeps what the upstream reported: 3 runs started, their upstream ids
        extra={"runs_started": 3, "orders": [700001, 700002, 700003]},
    )
    answer = api("status", order=order.pk)
    # the runs are the upstream's orders: never shown by their (upstream) ids
    assert answer == {"status": "In progress", "runs": "3", "orders": []}


def test_status_of_a_time_based_vip_package_adds_its_counters(api, customer: Customer) -> None:
    order = make_order(
        customer.user,
        make_service(type=ServiceType.PACKAGE),
        kind=OrderKind.PACKAGE,
        start_count=0,
        remains=0,
        charge=Decimal("500000"),
        extra={"daily_post_limit": 5, "daily_progress": 2, "days_left": 25},
    )
    assert api("status", order=order.pk) == {
        "charge": "500000.00",
        "start_count": "0",
        "status": "In progress",
        "remains": "0",
        "currency": "VND",
        "daily_Post_Limit": 5,
        "daily_Progress": 2,
        "days_Left": 25,
    }


def test_status_of_a_post_based_vip_package_adds_its_counters_in_a_list_too(
    api, customer: Customer
) -> None:
    order = make_order(
        customer.user,
        make_service(type=ServiceType.PACKAGE),
        kind=OrderKind.PACKAGE,
        start_count=0,
        remains=0,
        extra={"total_posts": 30, "completed_posts": 12, "days_left": 18},
    )
    answer = api("status", orders=str(order.pk))[str(order.pk)]
    assert (answer["total_posts"], answer["completed_posts"], answer["days_Left"]) == (30, 12, 18)


# --- refill --------------------------------------------------------------------------------------


@pytest.fixture
def refillable(customer: Customer) -> Order:
    service = make_service(refill=True, days_refill=30)
    return make_order(
        customer.user, service, state=OrderState.COMPLETED, upstream_status="Completed", remains=0
    )


def test_refill_of_one_order_answers_the_order_id_as_refill_id(api, refillable: Order) -> None:
    assert api("refill", order=refillable.pk) == {"refill": refillable.pk}
    assert RefillRequest.objects.get().order == refillable


def test_refill_errors_follow_the_document(api, customer: Customer, refillable: Order) -> None:
    no_refill = make_order(customer.user, make_service(), state=OrderState.COMPLETED, remains=0)
    running = make_order(customer.user, make_service(refill=True, days_refill=30))
    assert api("refill", order=999999) == {"error": "Incorrect order ID"}
    assert api("refill", order="x") == {"error": "Incorrect order ID"}
    assert api("refill", order=no_refill.pk) == {"error": "This order does not support refill"}
    assert api("refill", order=running.pk) == {"error": "Order is not completed"}
    api("refill", order=refillable.pk)
    assert api("refill", order=refillable.pk) == {"error": "Refill request already submitted"}


def test_refill_of_many_orders_answers_a_list_in_the_order_asked(
    api, customer: Customer, refillable: Order
) -> None:
    no_refill = make_order(customer.user, make_service(), state=OrderState.COMPLETED, remains=0)
    answer = api("refill", orders=f"{refillable.pk},{no_refill.pk},999999,x")
    assert answer == [
        {"order": refillable.pk, "refill": refillable.pk},
        {"order": no_refill.pk, "refill": {"error": "This order does not support refill"}},
        {"order": 999999, "refill": {"error": "Incorrect order ID"}},
        {"order": "x", "refill": {"error": "Incorrect order ID"}},
    ]


def test_refill_with_one_id_in_orders_gets_the_list_shape(api, refillable: Order) -> None:
    assert api("refill", orders=str(refillable.pk)) == [
        {"order": refillable.pk, "refill": refillable.pk}
    ]


def test_refill_of_more_than_100_orders_is_refused(api) -> None:
    ids = ",".join(str(n) for n in range(1, 102))
    assert api("refill", orders=ids) == {"error": "Maximum 100 orders per request"}


# --- refill_status -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "word"),
    [
        (RefillRequest.State.REQUESTED, "Pending"),
        (RefillRequest.State.PENDING, "Pending"),
        (RefillRequest.State.IN_PROGRESS, "In progress"),
        (RefillRequest.State.COMPLETED, "Completed"),
        (RefillRequest.State.REJECTED, "Rejected"),
    ],
)
def test_refill_status_is_the_latest_refill_of_the_order(
    api, refillable: Order, state: str, word: str
) -> None:
    RefillRequest.objects.create(order=refillable, state=RefillRequest.State.REJECTED)
    RefillRequest.objects.create(order=refillable, state=state)
    assert api("refill_status", refill=refillable.pk) == {"status": word}


def test_refill_status_of_an_order_without_refill_is_refill_not_found(
    api, refillable: Order
) -> None:
    assert api("refill_status", refill=refillable.pk) == {"error": "Refill not found"}
    assert api("refill_status", refill="abc") == {"error": "Refill not found"}


def test_refill_status_of_many_answers_a_list(api, refillable: Order) -> None:
    RefillRequest.objects.create(order=refillable, state=RefillRequest.State.COMPLETED)
    answer = api("refill_status", refills=f"{refillable.pk},999999")
    assert answer == [
        {"refill": refillable.pk, "status": "Completed"},
        {"refill": 999999, "status": {"error": "Refill not found"}},
    ]


def test_refill_status_of_more_than_100_is_refused(api) -> None:
    ids = ",".join(str(n) for n in range(1, 102))
    assert api("refill_status", refills=ids) == {"error": "Maximum 100 refills per request"}


# --- cancel --------------------------------------------------------------------------------------


@pytest.fixture
def cancellable(customer: Customer) -> Order:
    return make_order(customer.user, make_service(cancel=True))


def test_cancel_of_one_order_answers_its_id(api, cancellable: Order) -> None:
    assert api("cancel", order=cancellable.pk) == {"cancel": cancellable.pk}
    assert CancelRequest.objects.get().order == cancellable


def test_cancel_errors_follow_the_document(api, customer: Customer, cancellable: Order) -> None:
    not_cancellable = make_order(customer.user, make_service(cancel=False))
    finished = make_order(
        customer.user,
        make_service(cancel=True),
        state=OrderState.COMPLETED,
        upstream_status="Completed",
    )
    assert api("cancel", order=999999) == {"error": "Incorrect order ID"}
    assert api("cancel", order=not_cancellable.pk) == {"error": "This order cannot be cancelled"}
    assert api("cancel", order=finished.pk) == {"error": "Order cannot be cancelled at this status"}
    api("cancel", order=cancellable.pk)
    assert api("cancel", order=cancellable.pk) == {
        "error": "The cancellation request was submitted earlier"
    }


def test_cancel_of_many_orders_answers_a_list(api, customer: Customer, cancellable: Order) -> None:
    not_cancellable = make_order(customer.user, make_service(cancel=False))
    answer = api("cancel", orders=f"{cancellable.pk},{not_cancellable.pk},16")
    assert answer == [
        {"order": cancellable.pk, "cancel": cancellable.pk},
        {"order": not_cancellable.pk, "cancel": {"error": "This order cannot be cancelled"}},
        {"order": 16, "cancel": {"error": "Incorrect order ID"}},
    ]


def test_cancel_with_one_id_in_orders_gets_the_list_shape(api, cancellable: Order) -> None:
    assert api("cancel", orders=str(cancellable.pk)) == [
        {"order": cancellable.pk, "cancel": cancellable.pk}
    ]


def test_cancel_of_an_order_still_queued_here_is_immediate_and_refunded(
    api, customer: Customer
) -> None:
    # given an order placed through the API but not yet sent upstream
    service = make_service(cancel=True)
    order_id = api("add", service=service.pk, link=LINK, quantity=1000)["order"]
    # when it is cancelled
    assert api("cancel", order=order_id) == {"cancel": order_id}
    # then it shows Canceled, nothing paid, and the money is back
    answer = api("status", order=order_id)
    assert (answer["status"], answer["charge"]) == ("Canceled", "0.00")
    assert wallet_balance(user=customer.user) == Decimal("1000000.00")


def test_cancel_of_more_than_100_orders_is_refused(api) -> None:
    ids = ",".join(str(n) for n in range(1, 102))
    assert api("cancel", orders=ids) == {"error": "Maximum 100 orders per request"}


def test_an_idempotent_retry_may_change_request_style(client, customer: Customer) -> None:
    # given an order placed by a form POST with an idempotency key
    from .conftest import send

    service = make_service()
    fields = {
        "key": customer.key,
        "action": "add",
        "service": service.pk,
        "link": LINK,
        "quantity": 1000,
        "idempotency_key": "style-1",
    }
    first = send(client, "form", fields)
    # when it is retried as JSON (numbers as numbers) and as GET
    # then it is the same order each time
    assert send(client, "json", fields) == first
    assert send(client, "get", fields) == first
    assert Order.objects.count() == 1
