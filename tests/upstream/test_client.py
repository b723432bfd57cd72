"""The API v2 client against the sandbox upstream, over real HTTP on loopback."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from panel.sandbox import Sandbox
from panel.upstream import (
    Balance,
    CancelResult,
    OrderStatus,
    RefillResult,
    RefillStatus,
    UpstreamAmbiguous,
    UpstreamBadAnswer,
    UpstreamClient,
    UpstreamError,
    UpstreamRejected,
    UpstreamService,
    UpstreamUnreachable,
)

from .conftest import KEY

MakeClient = Callable[..., UpstreamClient]
LINK = "https://www.tiktok.com/@someone/video/7300000000000000000"


def place_completed(client: UpstreamClient, sandbox: Sandbox, *, service: int = 101) -> int:
    order = client.add(service=service, link=LINK, quantity=1000)
    sandbox.advance(3 * 86400)
    return order


# --------------------------------------------------------------------------- account


def test_balance_is_a_decimal_with_its_currency(client: UpstreamClient, sandbox: Sandbox) -> None:
    sandbox.set_balance(Decimal("123456.78"))

    assert client.balance() == Balance(balance=Decimal("123456.78"), currency="VND")
    assert sandbox.calls_of("balance") == [{"action": "balance"}]


def test_services_are_parsed_into_typed_fields(client: UpstreamClient, sandbox: Sandbox) -> None:
    services = {service.service: service for service in client.services()}

    assert len(services) == len(sandbox.services) == 41
    first = services[101]
    assert first == UpstreamService(
        service=101,
        name="TikTok - Tim - Nước ngoài 🌎 - BH 30 ngày",
        type="Default",
        rate=Decimal("3700.0000"),
        min=20,
        max=200000,
        dripfeed=False,
        refill=True,
        days_refill=30,
        cancel=False,
        avg_time_min=5,
        status="normal",
        category="TikTok - Tim",
        description=first.description,
        priority=False,
    )
    assert first.description.startswith("<b>Bảo hành</b>")  # passed through, never unescaped
    assert {s.type for s in services.values()} == {
        "Default",
        "Custom Comments",
        "Comment Likes",
        "Package",
    }
    assert all(isinstance(s.rate, Decimal) for s in services.values())


def test_services_accept_numbers_and_booleans_in_every_spelling_the_upstream_uses(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    base = {"name": "X", "type": "Default", "category": "C", "description": "", "status": "slow"}
    sandbox.set_services(
        [
            {**base, "service": "7", "rate": 3.7, "min": "20", "max": "1000.00", "dripfeed": 1,
             "refill": "1", "days_refill": "30", "cancel": "false", "avg_time_min": "5",
             "priority": "true"},
            {**base, "service": 8, "rate": 12, "min": 1, "max": 10, "dripfeed": "0",
             "refill": 0, "days_refill": None, "cancel": True, "avg_time_min": 0,
             "priority": False},
        ]
    )  # fmt: skip

    seven, eight = client.services()

    assert (seven.service, seven.rate, seven.min, seven.max) == (7, Decimal("3.7"), 20, 1000)
    assert (seven.dripfeed, seven.refill, seven.cancel, seven.priority) == (True, True, False, True)
    assert (seven.days_refill, seven.avg_time_min, seven.status) == (30, 5, "slow")
    assert (eight.rate, eight.dripfeed, eight.refill, eight.days_refill, eight.cancel) == (
        Decimal(12), False, False, 0, True,
    )  # fmt: skip


def test_one_unparseable_service_fails_the_whole_catalog_rather_than_dropping_it(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    entries = sandbox.services
    entries[3]["rate"] = "call us"
    sandbox.set_services(entries)

    with pytest.raises(UpstreamBadAnswer, match="unexpected answer shape: rate is not a number"):
        client.services()


# --------------------------------------------------------------------------- add


def test_add_places_a_default_order_with_service_link_and_quantity(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=101, link=LINK, quantity=1000)

    assert sandbox.calls_of("add") == [
        {"action": "add", "service": "101", "link": LINK, "quantity": "1000"}
    ]
    placed = sandbox.orders[order]
    assert (placed.service, placed.kind, placed.quantity) == (101, "default", 1000)
    assert sandbox.balance == Decimal("100000000.00") - Decimal("3700.00")


def test_add_comments_sends_one_comment_per_line(client: UpstreamClient, sandbox: Sandbox) -> None:
    comments = ["Bài viết hay quá!", "Cảm ơn bạn đã chia sẻ", "Tuyệt vời 👍", "Hay", "Đỉnh"]

    order = client.add_comments(service=207, link=LINK, comments=comments)

    (params,) = sandbox.calls_of("add")
    assert params["comments"] == "\n".join(comments)
    assert "quantity" not in params
    assert sandbox.orders[order].comments == tuple(comments)
    assert sandbox.orders[order].quantity == 5


def test_add_comments_refuses_a_comment_with_a_line_break_before_sending_anything(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    with pytest.raises(ValueError, match="line break"):
        client.add_comments(service=207, link=LINK, comments=["one\ntwo", "three"])

    assert sandbox.calls == []


def test_add_dripfeed_sends_runs_and_interval(client: UpstreamClient, sandbox: Sandbox) -> None:
    order = client.add_dripfeed(service=102, link=LINK, quantity=100, runs=5, interval=30)

    (params,) = sandbox.calls_of("add")
    assert (params["quantity"], params["runs"], params["interval"]) == ("100", "5", "30")
    assert sandbox.orders[order].kind == "dripfeed"


def test_add_comment_likes_sends_the_username(client: UpstreamClient, sandbox: Sandbox) -> None:
    order = client.add_comment_likes(service=110, link=LINK, quantity=100, username="commenter")

    (params,) = sandbox.calls_of("add")
    assert (params["username"], params["quantity"]) == ("commenter", "100")
    assert sandbox.orders[order].username == "commenter"


@pytest.mark.parametrize(
    "arguments",
    [
        {"service": 101, "link": LINK, "quantity": 0},
        {"service": 101, "link": "  ", "quantity": 100},
        {"service": True, "link": LINK, "quantity": 100},
        {"service": 101, "link": LINK, "quantity": "100"},
    ],
)
def test_invalid_arguments_are_refused_before_anything_is_sent(
    client: UpstreamClient, sandbox: Sandbox, arguments: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        client.add(**arguments)

    assert sandbox.calls == []


def test_a_refused_add_raises_rejected_with_the_upstream_message(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    with pytest.raises(UpstreamRejected) as caught:
        client.add(service=101, link=LINK, quantity=5)

    assert caught.value.message == "Quantity less than minimal 20"
    assert caught.value.action == "add"
    assert sandbox.orders == {}


def test_out_of_funds_is_a_rejection_and_nothing_is_placed(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    sandbox.inject_fault("add", "out_of_funds")

    with pytest.raises(UpstreamRejected, match="Insufficient balance"):
        client.add(service=101, link=LINK, quantity=1000)

    assert sandbox.orders == {}


@pytest.mark.parametrize(
    "answer",
    [{"status": "ok"}, {"order": "abc"}, {"order": 0}, [12345], 12345, {"order": 1, "error": "x"}],
)
def test_an_add_answer_of_the_wrong_shape_is_ambiguous(
    client: UpstreamClient, sandbox: Sandbox, answer: object
) -> None:
    sandbox.inject_fault("add", "raw_answer", body=answer, execute=True)

    with pytest.raises(UpstreamAmbiguous, match="unexpected answer shape") as caught:
        client.add(service=101, link=LINK, quantity=1000)

    assert isinstance(caught.value, UpstreamBadAnswer)
    assert len(sandbox.orders) == 1  # it WAS placed: exactly why this must not be re-sent


# --------------------------------------------------------------------------- status


def test_status_of_one_order_has_typed_values(client: UpstreamClient, sandbox: Sandbox) -> None:
    order = client.add(service=101, link=LINK, quantity=1000)
    sandbox.advance(60 + 150)  # Pending 60 s, then 1000 units over 300 s: half delivered

    assert client.status(order=order) == OrderStatus(
        status="In progress",
        charge=Decimal("3700.00"),
        start_count=sandbox.orders[order].start_count,
        remains=500,
        currency="VND",
    )
    assert sandbox.calls_of("status") == [{"action": "status", "order": str(order)}]


def test_status_of_an_unknown_order_is_rejected(client: UpstreamClient) -> None:
    with pytest.raises(UpstreamRejected, match="Order not found"):
        client.status(order=999999)


def test_statuses_of_many_orders_report_errors_per_item(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    first = client.add(service=101, link=LINK, quantity=1000)
    second = client.add(service=104, link=LINK, quantity=100)
    sandbox.advance(3 * 86400)

    result = client.statuses(orders=[first, second, 999999, first])

    assert set(result) == {first, second, 999999}
    assert result[first].status == result[second].status == "Completed"
    assert result[first].remains == 0
    assert result[999999] == OrderStatus(error="Order not found")
    assert sandbox.calls_of("status") == [
        {"action": "status", "orders": f"{first},{second},999999"}
    ]


def test_statuses_are_asked_in_batches_of_200(client: UpstreamClient, sandbox: Sandbox) -> None:
    ids = list(range(1, 451))

    result = client.statuses(orders=ids)

    calls = sandbox.calls_of("status")
    assert [len(call["orders"].split(",")) for call in calls] == [200, 200, 50]
    assert set(result) == set(ids)


def test_statuses_leave_out_ids_the_upstream_did_not_mention_or_was_not_asked(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    answer = {
        "11": {"status": "Completed", "charge": "1.00", "remains": "0"},
        "13": {"status": "Pending"},  # not asked
        "abc": {"status": "Pending"},
    }
    sandbox.inject_fault("status", "raw_answer", body=answer)

    result = client.statuses(orders=[11, 12])

    assert list(result) == [11]


def test_an_empty_php_array_as_a_multi_status_answer_means_no_orders_mentioned(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    sandbox.inject_fault("status", "raw_answer", body=[])

    assert client.statuses(orders=[1, 2]) == {}


def test_a_multi_status_answer_that_is_a_list_is_ambiguous(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    sandbox.inject_fault("status", "raw_answer", body=[{"status": "Completed"}])

    with pytest.raises(UpstreamBadAnswer, match="expected an object keyed by order id"):
        client.statuses(orders=[1])


def test_a_malformed_item_in_a_multi_status_is_reported_on_that_item_only(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    answer = {
        "1": {"status": "Completed", "remains": "many"},
        "2": "Completed",
        "3": {"charge": "1.00"},
        "4": {"status": "Partial", "remains": 7},
    }
    sandbox.inject_fault("status", "raw_answer", body=answer)

    result = client.statuses(orders=[1, 2, 3, 4])

    # An unreadable optional field is unknown, not a malformed item: the word still counts.
    assert result[1].error is None and result[1].status == "Completed"
    assert result[1].remains is None
    assert result[1].unreadable == ("remains is not a number: 'many'",)
    assert result[2].error is not None and result[2].error.startswith("malformed item")
    assert result[3].error is not None and result[3].error.startswith("malformed item")
    assert result[4] == OrderStatus(status="Partial", remains=7)


def test_a_failed_batch_raises_with_the_batches_already_answered(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    sandbox.inject_fault("status", "http_500_html", after=1)

    with pytest.raises(UpstreamBadAnswer, match="HTTP 500") as caught:
        client.statuses(orders=range(1, 451))

    assert set(caught.value.partial) == set(range(1, 201))
    assert len(sandbox.calls_of("status")) == 2  # the third batch is not tried


def test_drip_feed_parent_status_lists_its_runs(client: UpstreamClient, sandbox: Sandbox) -> None:
    parent = client.add_dripfeed(service=102, link=LINK, quantity=100, runs=3, interval=30)
    sandbox.advance(31 * 60)

    single = client.status(order=parent)
    multi = client.statuses(orders=[parent])[parent]

    assert single == multi == OrderStatus(status="Active", runs=2, orders=(parent + 1, parent + 2))


def test_vip_time_based_status_has_the_daily_fields(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=212, link=LINK, quantity=100)
    sandbox.advance(60 + 5 * 86400 + 9 * 3600)  # day 6 of 30, 9 hours in

    status = client.status(order=order)

    assert status == OrderStatus(
        status="In progress",
        charge=Decimal("360000.00"),  # 3.600.000 per 1000 likes-per-post, 100 a post
        start_count=0,
        remains=0,
        currency="VND",
        daily_post_limit=5,
        daily_progress=2,
        days_left=25,
    )
    assert client.statuses(orders=[order])[order] == status


def test_vip_post_based_status_has_the_post_fields(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=213, link=LINK, quantity=100)
    sandbox.advance(60 + 12 * 86400 + 3600)

    status = client.status(order=order)

    assert (status.total_posts, status.completed_posts, status.days_left) == (30, 12, 18)
    assert status.daily_post_limit is None


def test_status_values_as_numbers_or_strings_and_odd_key_case_parse_alike(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    answer = {
        "charge": 500000,
        "start_count": "0",
        "status": "In progress",
        "remains": 0,
        "currency": "VND",
        "daily_post_limit": "5",
        "Daily_Progress": 2,
        "days_left": "25",
        "runs": "",
        "orders": None,
    }
    sandbox.inject_fault("status", "raw_answer", body=answer)

    status = client.status(order=1)

    assert status == OrderStatus(
        status="In progress",
        charge=Decimal("500000"),
        start_count=0,
        remains=0,
        currency="VND",
        daily_post_limit=5,
        daily_progress=2,
        days_left=25,
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    charge=st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False),
    remains=st.integers(min_value=0, max_value=10**7),
    as_string=st.booleans(),
)
def test_money_and_counts_arrive_exact_whether_sent_as_json_numbers_or_strings(
    client: UpstreamClient, sandbox: Sandbox, charge: Decimal, remains: int, as_string: bool
) -> None:
    sandbox.clear_faults()
    charge_json = json.dumps(str(charge)) if as_string else str(charge)
    remains_json = json.dumps(str(remains)) if as_string else str(remains)
    body = f'{{"status": "Partial", "charge": {charge_json}, "remains": {remains_json}}}'
    sandbox.inject_fault("status", "raw_answer", body=body)

    status = client.status(order=1)

    assert status.charge == charge and isinstance(status.charge, Decimal)
    assert status.remains == remains


def test_an_unknown_status_word_is_passed_through_as_sent(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=101, link=LINK, quantity=1000)
    sandbox.inject_fault("status", "unknown_status", word="Đang xử lý")

    assert client.status(order=order).status == "Đang xử lý"


def test_remains_out_of_range_is_passed_through_for_the_caller_to_judge(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=101, link=LINK, quantity=1000)
    sandbox.inject_fault("status", "remains_out_of_range", remains=-5)

    assert client.status(order=order).remains == -5


# --------------------------------------------------------------------------- refill


def test_refill_returns_the_refill_id(client: UpstreamClient, sandbox: Sandbox) -> None:
    order = place_completed(client, sandbox)

    assert client.refill(order=order) == order
    assert sandbox.refills[order].status == "Pending"


def test_refill_of_an_order_without_warranty_is_rejected(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = place_completed(client, sandbox, service=102)

    with pytest.raises(UpstreamRejected, match="This order does not support refill"):
        client.refill(order=order)


def test_a_single_refill_answering_an_error_object_is_a_rejection(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    sandbox.inject_fault("refill", "raw_answer", body={"refill": {"error": "Refill is running"}})

    with pytest.raises(UpstreamRejected, match="Refill is running"):
        client.refill(order=5)


def test_refills_report_results_and_errors_per_order(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    good = client.add(service=101, link=LINK, quantity=1000)
    no_warranty = client.add(service=102, link=LINK, quantity=100)
    sandbox.advance(3 * 86400)

    result = client.refills(orders=[good, no_warranty, 3])

    assert result == {
        good: RefillResult(order=good, refill=good, error=None),
        no_warranty: RefillResult(
            order=no_warranty, refill=None, error="This order does not support refill"
        ),
        3: RefillResult(order=3, refill=None, error="Incorrect order ID"),
    }


def test_refills_are_sent_in_batches_of_100(client: UpstreamClient, sandbox: Sandbox) -> None:
    result = client.refills(orders=range(1, 251))

    assert [len(c["orders"].split(",")) for c in sandbox.calls_of("refill")] == [100, 100, 50]
    assert len(result) == 250
    assert {r.error for r in result.values()} == {"Incorrect order ID"}


def test_refill_status_of_one_and_of_many(client: UpstreamClient, sandbox: Sandbox) -> None:
    order = place_completed(client, sandbox)
    client.refill(order=order)

    assert client.refill_status(refill=order) == "Pending"
    assert client.refill_statuses(refills=[order, 3]) == {
        order: RefillStatus(refill=order, status="Pending", error=None),
        3: RefillStatus(refill=3, status=None, error="Refill not found"),
    }
    assert sandbox.calls_of("refill_status")[-1] == {
        "action": "refill_status",
        "refills": f"{order},3",
    }
    with pytest.raises(UpstreamRejected, match="Refill not found"):
        client.refill_status(refill=3)


def test_refill_statuses_are_asked_in_batches_of_100(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    client.refill_statuses(refills=range(1, 102))

    assert [len(c["refills"].split(",")) for c in sandbox.calls_of("refill_status")] == [100, 1]


# --------------------------------------------------------------------------- cancel


def test_cancel_returns_the_order_id(client: UpstreamClient, sandbox: Sandbox) -> None:
    order = client.add(service=104, link=LINK, quantity=100)

    assert client.cancel(order=order) == order


def test_cancel_of_a_service_without_cancel_is_rejected(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=101, link=LINK, quantity=1000)

    with pytest.raises(UpstreamRejected, match="This order cannot be cancelled"):
        client.cancel(order=order)


def test_cancels_report_results_and_errors_per_order_in_batches_of_100(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    cancellable = client.add(service=104, link=LINK, quantity=100)
    not_cancellable = client.add(service=101, link=LINK, quantity=1000)
    others = list(range(1, 100))

    result = client.cancels(orders=[cancellable, not_cancellable, *others])

    assert result[cancellable] == CancelResult(order=cancellable, cancel=cancellable, error=None)
    assert result[not_cancellable] == CancelResult(
        order=not_cancellable, cancel=None, error="This order cannot be cancelled"
    )
    assert result[1] == CancelResult(order=1, cancel=None, error="Incorrect order ID")
    assert [len(c["orders"].split(",")) for c in sandbox.calls_of("cancel")] == [100, 1]


def test_empty_batches_make_no_call(client: UpstreamClient, sandbox: Sandbox) -> None:
    assert client.statuses(orders=[]) == {}
    assert client.cancels(orders=iter(())) == {}
    assert sandbox.calls == []


# --------------------------------------------------------------------------- unreachable


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A listener that never accepts, with its backlog already full: a new connection
    attempt hangs in SYN_SENT, which is a genuine connect timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)
    try:
        yield port
    finally:
        filler.close()
        listener.close()


def test_a_closed_port_is_unreachable(make_client: MakeClient, closed_port: int) -> None:
    client = make_client(url=f"http://127.0.0.1:{closed_port}/api/v2")

    with pytest.raises(UpstreamUnreachable, match="not reached"):
        client.add(service=101, link=LINK, quantity=1000)


def test_an_unresolvable_host_is_unreachable(make_client: MakeClient) -> None:
    client = make_client(url="http://upstream.invalid/api/v2")

    with pytest.raises(UpstreamUnreachable):
        client.balance()


def test_a_connect_timeout_is_unreachable(make_client: MakeClient, full_backlog: int) -> None:
    client = make_client(url=f"http://127.0.0.1:{full_backlog}/api/v2", connect_timeout=0.3)
    started = time.monotonic()

    with pytest.raises(UpstreamUnreachable):
        client.add(service=101, link=LINK, quantity=1000)

    assert time.monotonic() - started < 1.5


# --------------------------------------------------------------------------- ambiguous


def test_a_timeout_after_the_upstream_accepted_is_ambiguous_and_the_order_was_placed(
    make_client: MakeClient, sandbox: Sandbox
) -> None:
    client = make_client(timeout=0.5)
    sandbox.inject_fault("add", "timeout_after_accept", seconds=5)
    started = time.monotonic()

    with pytest.raises(UpstreamAmbiguous) as caught:
        client.add(service=101, link=LINK, quantity=1000)

    assert time.monotonic() - started < 0.5 + 1.0
    assert not isinstance(caught.value, UpstreamBadAnswer)
    (placed,) = sandbox.orders.values()
    assert (placed.service, placed.quantity) == (101, 1000)


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_a_connection_dropped_after_the_upstream_accepted_is_ambiguous(
    client: UpstreamClient, sandbox: Sandbox, reset: bool
) -> None:
    sandbox.inject_fault("add", "drop_after_accept", reset=reset)

    with pytest.raises(UpstreamAmbiguous, match="sent, no answer"):
        client.add(service=101, link=LINK, quantity=1000)

    assert len(sandbox.orders) == 1


def test_an_answer_slower_than_the_deadline_is_ambiguous(
    make_client: MakeClient, sandbox: Sandbox
) -> None:
    client = make_client(timeout=0.5)
    sandbox.inject_fault("balance", "latency", seconds=3)

    with pytest.raises(UpstreamAmbiguous):
        client.balance()


def test_a_trickled_body_is_cut_at_the_total_deadline(
    make_client: MakeClient, sandbox: Sandbox
) -> None:
    client = make_client(timeout=0.8)
    sandbox.inject_fault("add", "slow_body", delay=0.1)  # ~15 bytes: 1.5 s
    started = time.monotonic()

    with pytest.raises(UpstreamAmbiguous, match="not complete within the 0.8s deadline"):
        client.add(service=101, link=LINK, quantity=1000)

    elapsed = time.monotonic() - started
    assert 0.7 < elapsed < 0.8 + 1.0
    assert len(sandbox.orders) == 1


def test_a_slow_body_within_the_deadline_is_read_whole(
    make_client: MakeClient, sandbox: Sandbox
) -> None:
    client = make_client(timeout=2.0)
    sandbox.inject_fault("balance", "slow_body", delay=0.005)

    assert client.balance().currency == "VND"


def test_an_http_500_html_page_is_ambiguous_and_the_sandbox_did_not_execute_it(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    sandbox.inject_fault("add", "http_500_html")

    with pytest.raises(UpstreamBadAnswer, match="HTTP 500: '<!DOCTYPE html>"):
        client.add(service=101, link=LINK, quantity=1000)

    assert sandbox.orders == {}


def test_an_http_200_html_page_is_ambiguous(client: UpstreamClient, sandbox: Sandbox) -> None:
    sandbox.inject_fault("add", "html_200")

    with pytest.raises(UpstreamBadAnswer, match="answered HTML"):
        client.add(service=101, link=LINK, quantity=1000)


def test_malformed_json_is_ambiguous(client: UpstreamClient, sandbox: Sandbox) -> None:
    sandbox.inject_fault("add", "malformed_json")

    with pytest.raises(UpstreamBadAnswer, match="malformed JSON: 'Warning: Undefined array key"):
        client.add(service=101, link=LINK, quantity=1000)

    sandbox.inject_fault("add", "raw_answer", body='{"order": 12345,,}')
    with pytest.raises(UpstreamBadAnswer, match="malformed JSON"):
        client.add(service=101, link=LINK, quantity=1000)


def test_truncated_json_is_ambiguous(client: UpstreamClient, sandbox: Sandbox) -> None:
    sandbox.inject_fault("add", "truncated_json", mode="short")

    with pytest.raises(UpstreamBadAnswer, match="truncated JSON"):
        client.add(service=101, link=LINK, quantity=1000)


def test_a_body_cut_short_of_its_content_length_is_ambiguous(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    sandbox.inject_fault("add", "truncated_json", mode="incomplete")

    with pytest.raises(UpstreamAmbiguous, match="broken off"):
        client.add(service=101, link=LINK, quantity=1000)


@pytest.mark.parametrize("answer", ["", "NaN", '{"balance": NaN, "currency": "VND"}'])
def test_empty_or_non_standard_json_is_ambiguous(
    client: UpstreamClient, sandbox: Sandbox, answer: str
) -> None:
    sandbox.inject_fault("balance", "raw_answer", body=answer)

    with pytest.raises(UpstreamBadAnswer):
        client.balance()


def test_a_body_over_the_size_cap_is_ambiguous(make_client: MakeClient, sandbox: Sandbox) -> None:
    client = make_client(max_body_bytes=100_000)
    sandbox.inject_fault("add", "oversize", bytes=300_000)

    with pytest.raises(UpstreamBadAnswer, match="larger than 100000 bytes"):
        client.add(service=101, link=LINK, quantity=1000)

    assert client.services()  # the real catalog is well under the cap


def test_a_redirect_is_not_followed(client: UpstreamClient, sandbox: Sandbox) -> None:
    sandbox.inject_fault(
        "add", "raw_answer", status=307, body="", headers={"Location": "http://example.com/"}
    )

    with pytest.raises(UpstreamBadAnswer, match="HTTP 307"):
        client.add(service=101, link=LINK, quantity=1000)

    assert len(sandbox.calls) == 1


def test_a_json_answer_labelled_text_html_is_still_read(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    body = {"balance": "5.00", "currency": "VND"}
    sandbox.inject_fault("balance", "raw_answer", body=body, content_type="text/html")

    assert client.balance() == Balance(balance=Decimal("5.00"), currency="VND")


def test_every_ambiguous_error_is_an_upstream_error_but_not_a_rejection() -> None:
    assert issubclass(UpstreamBadAnswer, UpstreamAmbiguous)
    for error in (UpstreamRejected, UpstreamUnreachable, UpstreamAmbiguous):
        assert issubclass(error, UpstreamError)
    assert not issubclass(UpstreamAmbiguous, UpstreamRejected | UpstreamUnreachable)


# --------------------------------------------------------------------------- the key


SECRET = "s3cr3t+key/Ω"


@pytest.fixture
def secret_sandbox(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.key = SECRET
    yield sandbox
    sandbox.key = KEY


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("raw_answer", {"status": 502, "body": f"<html>bad gateway for key={SECRET}</html>"}),
        ("raw_answer", {"body": {"error": f"Invalid API key {SECRET}"}}),
        ("raw_answer", {"body": "Fatal error near key=s3cr3t%2Bkey%2F%CE%A9 {"}),
        ("html_200", {}),
        ("drop_after_accept", {}),
        ("truncated_json", {"mode": "incomplete"}),
    ],
)
def test_the_key_never_appears_in_an_error_or_a_log_line(
    make_client: MakeClient,
    secret_sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    params: dict[str, Any],
) -> None:
    client = make_client(key=SECRET)
    secret_sandbox.inject_fault("add", kind, **params)
    caplog.set_level(logging.DEBUG, logger="panel.upstream")

    with pytest.raises(UpstreamError) as caught:
        client.add(service=101, link=LINK, quantity=1000)

    texts = [str(caught.value), repr(caught.value), *(r.getMessage() for r in caplog.records)]
    if isinstance(caught.value, UpstreamRejected):
        texts.append(caught.value.message)
    assert not [text for text in texts if SECRET in text or "s3cr3t%2Bkey" in text]
    assert "***" in str(caught.value) or kind in ("html_200", "drop_after_accept", "truncated_json")
    assert SECRET not in repr(client)


def test_a_wrong_key_is_a_rejection(make_client: MakeClient, sandbox: Sandbox) -> None:
    with pytest.raises(UpstreamRejected, match="Invalid API key"):
        make_client(key="not-the-key").balance()
