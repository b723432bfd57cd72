"""The sandbox upstream behaves like the provider's document says, over real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import requests

from panel.sandbox import Sandbox, SandboxServer
from panel.sandbox.catalog import CATALOG
from panel.upstream import UpstreamClient, UpstreamRejected

from .conftest import KEY, ROOT

LINK = "https://www.facebook.com/somepage/posts/1234567890"
START = Decimal("100000000.00")

Api = Callable[..., Any]


@pytest.fixture
def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


@pytest.fixture
def api(sandbox_server: SandboxServer, sandbox: Sandbox, http: requests.Session) -> Api:
    """POST one raw API v2 request, as any client would, and return the decoded JSON."""

    def call(**params: Any) -> Any:
        response = http.post(sandbox_server.url, data={"key": KEY, **params}, timeout=5)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        return response.json()

    return call


# --------------------------------------------------------------------------- the wire format


def test_answers_have_exactly_the_documented_shapes(api: Api, sandbox: Sandbox) -> None:
    assert api(action="balance") == {"balance": "100000000.00", "currency": "VND"}
    order = api(action="add", service="101", link=LINK, quantity="1000")["order"]
    assert isinstance(order, int)

    status = api(action="status", order=str(order))

    assert status == {
        "charge": "3700.00",
        "start_count": "0",
        "status": "Pending",
        "remains": "1000",
        "currency": "VND",
    }
    assert api(action="status", orders=f"{order},1") == {
        str(order): status,
        "1": {"error": "Order not found"},
    }
    services = api(action="services")
    assert len(services) == len(CATALOG)
    assert set(services[0]) == {
        "service", "name", "type", "rate", "min", "max", "dripfeed", "refill", "days_refill",
        "cancel", "avg_time_min", "status", "category", "description", "priority",
    }  # fmt: skip
    assert all("_vip" not in entry for entry in services)


def test_the_catalog_covers_every_kind_of_service_the_panel_must_handle(
    client: UpstreamClient,
) -> None:
    services = client.services()

    assert {s.type for s in services} == {"Default", "Custom Comments", "Comment Likes", "Package"}
    assert {s.dripfeed for s in services} == {s.cancel for s in services} == {True, False}
    assert {s.days_refill for s in services if s.refill} == {0, 7, 30}
    assert {s.status for s in services} == {"normal", "slow", "overload"}
    assert {s.priority for s in services} == {True, False}
    assert any("<b>" in s.description for s in services)
    # Vietnamese market prices: likes and views a few thousand đồng per 1000, VIP packages millions.
    assert all(Decimal(1000) <= s.rate <= Decimal(5000000) and 0 < s.min <= s.max for s in services)
    assert len({s.service for s in services}) == len(services)


def test_multi_refill_and_cancel_answer_lists_with_per_item_errors(
    api: Api, sandbox: Sandbox
) -> None:
    order = api(action="add", service="104", link=LINK, quantity="100")["order"]

    assert api(action="cancel", orders=f"{order},3") == [
        {"order": order, "cancel": order},
        {"order": 3, "cancel": {"error": "Incorrect order ID"}},
    ]
    assert api(action="refill", orders="3") == [
        {"order": 3, "refill": {"error": "Incorrect order ID"}}
    ]
    assert api(action="refill_status", refills="3") == [
        {"refill": 3, "status": {"error": "Refill not found"}}
    ]


@pytest.mark.parametrize(
    ("action", "param", "limit", "message"),
    [
        ("status", "orders", 200, "Maximum 200 orders per request"),
        ("refill", "orders", 100, "Maximum 100 orders per request"),
        ("refill_status", "refills", 100, "Maximum 100 refills per request"),
        ("cancel", "orders", 100, "Maximum 100 orders per request"),
    ],
)
def test_multi_requests_over_their_maximum_are_refused(
    api: Api, action: str, param: str, limit: int, message: str
) -> None:
    ids = ",".join(str(n) for n in range(1, limit + 2))
    at_limit = ",".join(str(n) for n in range(1, limit + 1))

    assert api(action=action, **{param: ids}) == {"error": message}
    assert "error" not in api(action=action, **{param: at_limit})


def test_a_wrong_key_and_an_unknown_action_are_refused(
    api: Api, sandbox_server: SandboxServer, http: requests.Session
) -> None:
    wrong = http.post(sandbox_server.url, data={"key": "nope", "action": "balance"}, timeout=5)

    assert wrong.json() == {"error": "Invalid API key"}
    assert api(action="refund_everything") == {"error": "Invalid action"}


def test_get_with_a_query_string_is_accepted(
    sandbox_server: SandboxServer, sandbox: Sandbox, http: requests.Session
) -> None:
    answer = http.get(sandbox_server.url, params={"key": KEY, "action": "balance"}, timeout=5)

    assert answer.json()["currency"] == "VND"


def test_other_paths_are_not_found(sandbox_server: SandboxServer, http: requests.Session) -> None:
    answer = http.post(f"{sandbox_server.base_url}/api/v1", data={"key": KEY}, timeout=5)

    assert answer.status_code == 404


def test_calls_are_recorded_without_the_key(api: Api, sandbox: Sandbox) -> None:
    api(action="balance")
    api(action="status", orders="1,2")

    assert [tuple(call) for call in sandbox.calls] == [
        ("balance", {"action": "balance"}),
        ("status", {"action": "status", "orders": "1,2"}),
    ]


# --------------------------------------------------------------------------- placing orders


def test_the_charge_is_rate_times_quantity_over_1000_taken_from_the_balance(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=201, link=LINK, quantity=1234)  # 15.000 VND per 1000

    assert client.status(order=order).charge == Decimal("18510.00")
    assert client.balance().balance == START - Decimal("18510.00")


def test_insufficient_balance_is_refused_and_nothing_is_charged(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    sandbox.set_balance(Decimal("3699.99"))

    with pytest.raises(UpstreamRejected, match="^upstream rejected add: Insufficient balance$"):
        client.add(service=101, link=LINK, quantity=1000)  # 3.700

    assert sandbox.orders == {}
    assert sandbox.balance == Decimal("3699.99")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"service": "9999", "quantity": "100"}, "Incorrect service ID"),
        ({"service": "abc", "quantity": "100"}, "Incorrect service ID"),
        ({"service": "101", "quantity": "19"}, "Quantity less than minimal 20"),
        ({"service": "101", "quantity": "200001"}, "Quantity more than maximal 200000"),
        ({"service": "101", "quantity": "many"}, "Incorrect quantity"),
        ({"service": "101", "quantity": "100", "link": ""}, "Link is required"),
        ({"service": "207", "quantity": "10"}, "Comments are required"),
        ({"service": "209", "quantity": "100"}, "Username is required"),
        ({"service": "101", "quantity": "100", "runs": "2", "interval": "5"},
         "This service does not support drip feed"),
        ({"service": "102", "quantity": "100", "runs": "0", "interval": "5"},
         "Runs must be at least 1"),
        ({"service": "102", "quantity": "100", "runs": "2", "interval": "0"},
         "Interval must be at least 1 minute"),
        ({"service": "102", "quantity": "100", "runs": "50", "interval": "30"},
         "Total time 1500 minutes cannot exceed 1440 minutes"),
        ({"service": "207", "comments": "a\nb"}, "Quantity less than minimal 5"),
    ],
)  # fmt: skip
def test_add_is_validated_with_the_documented_error_strings(
    api: Api, sandbox: Sandbox, params: dict[str, str], message: str
) -> None:
    assert api(action="add", **{"link": LINK, **params}) == {"error": message}
    assert sandbox.orders == {}
    assert sandbox.balance == START


def test_one_run_is_an_ordinary_order_even_on_a_service_without_drip_feed(api: Api) -> None:
    order = api(action="add", service="101", link=LINK, quantity="100", runs="1", interval="0")

    assert set(api(action="status", order=str(order["order"]))) >= {"charge", "remains"}


def test_a_comments_order_counts_its_non_empty_lines(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add_comments(service=207, link=LINK, comments="a\n\nb\nc\n  \nd\ne\n")

    assert sandbox.orders[order].quantity == 5
    assert client.status(order=order).charge == Decimal("2000.00")  # 400.000 per 1000


# --------------------------------------------------------------------------- time passing


def test_an_order_is_pending_then_in_progress_then_completed_as_time_passes(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=104, link=LINK, quantity=1000)  # 180 min per 1000: 10800 s

    pending = client.status(order=order)
    sandbox.advance(60 + 3600)
    early = client.status(order=order)
    sandbox.advance(3600)
    later = client.status(order=order)
    sandbox.advance(3600)
    done = client.status(order=order)

    assert (pending.status, pending.remains, pending.start_count) == ("Pending", 1000, 0)
    assert (early.status, early.remains) == ("In progress", 667)
    assert (later.status, later.remains) == ("In progress", 334)
    assert early.start_count == later.start_count == done.start_count
    assert early.start_count is not None and early.start_count > 0
    assert (done.status, done.remains, done.charge) == ("Completed", 0, Decimal("35000.00"))


def test_an_order_fated_partial_ends_partial_and_refunds_what_was_not_delivered(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=104, link=LINK, quantity=1000)  # 35.000
    sandbox.set_fate(order, status="Partial", remains=400)

    sandbox.advance(86400)

    status = client.status(order=order)
    assert (status.status, status.remains, status.charge) == ("Partial", 400, Decimal("21000.00"))
    assert client.balance().balance == START - Decimal("21000.00")


def test_the_next_fate_applies_to_the_next_order_only(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    sandbox.set_next_fate(status="Canceled")
    canceled = client.add(service=104, link=LINK, quantity=1000)
    completed = client.add(service=104, link=LINK, quantity=1000)

    sandbox.advance(86400)

    result = client.statuses(orders=[canceled, completed])
    assert (result[canceled].status, result[canceled].remains) == ("Canceled", 1000)
    assert result[canceled].charge == Decimal("0.00")
    assert result[completed].status == "Completed"
    assert client.balance().balance == START - Decimal("35000.00")


def test_a_fate_cannot_be_set_on_an_order_that_has_ended(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=104, link=LINK, quantity=1000)
    sandbox.advance(86400)

    with pytest.raises(ValueError, match="already ended"):
        sandbox.set_fate(order, status="Partial")
    with pytest.raises(ValueError, match="remains"):
        sandbox.set_fate(client.add(service=104, link=LINK, quantity=1000), status="Partial",
                         remains=1000)  # fmt: skip


def test_a_drip_feed_starts_one_run_every_interval_and_completes_after_the_last(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    parent = client.add_dripfeed(service=102, link=LINK, quantity=100, runs=3, interval=30)

    assert client.balance().balance == START - 3 * Decimal("1250.00")  # all runs paid up front
    seen = [client.status(order=parent)]
    for _ in range(2):
        sandbox.advance(30 * 60)
        seen.append(client.status(order=parent))
    sandbox.advance(86400)
    final = client.status(order=parent)

    assert [(s.status, s.runs, len(s.orders)) for s in seen] == [
        ("Active", 1, 1),
        ("Active", 2, 2),
        ("Active", 3, 3),
    ]
    children = client.statuses(orders=final.orders)
    assert (final.status, final.runs) == ("Completed", 3)
    assert {c.status for c in children.values()} == {"Completed"}
    assert {c.charge for c in children.values()} == {Decimal("1250.00")}
    assert sandbox.orders[final.orders[0]].parent == parent


def test_a_drip_feed_fate_applies_to_each_of_its_runs(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    parent = client.add_dripfeed(service=102, link=LINK, quantity=100, runs=2, interval=10)
    sandbox.set_fate(parent, status="Partial", remains=30)

    sandbox.advance(86400)

    runs = client.statuses(orders=client.status(order=parent).orders)
    assert [(r.status, r.remains) for r in runs.values()] == [("Partial", 30), ("Partial", 30)]
    assert client.balance().balance == START - 2 * Decimal("875.00")  # 70 of 100 delivered twice


def test_a_vip_package_counts_its_days_down_and_completes(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=212, link=LINK, quantity=100)

    sandbox.advance(60)
    first = client.status(order=order)
    sandbox.advance(10 * 86400)
    later = client.status(order=order)
    sandbox.advance(20 * 86400)
    done = client.status(order=order)

    assert (first.status, first.days_left, first.daily_progress) == ("In progress", 30, 0)
    assert (later.days_left, later.daily_post_limit) == (20, 5)
    assert (done.status, done.days_left) == ("Completed", 0)
    with pytest.raises(UpstreamRejected, match="This order cannot be cancelled"):
        client.cancel(order=order)


def test_the_clock_can_run_in_real_time_scaled() -> None:
    fast = Sandbox(time_scale=1000)
    time.sleep(0.02)

    assert fast.now() >= 10
    assert Sandbox().now() == 0


# --------------------------------------------------------------------------- refill


def test_refill_follows_the_document_rules_and_progresses(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=104, link=LINK, quantity=1000)
    with pytest.raises(UpstreamRejected, match="Order cannot be refilled at this status"):
        client.refill(order=order)
    sandbox.advance(86400)

    assert client.refill(order=order) == order
    with pytest.raises(UpstreamRejected, match="Refill request already submitted"):
        client.refill(order=order)
    sandbox.advance(300)
    assert client.refill_status(refill=order) == "In progress"
    with pytest.raises(UpstreamRejected, match="Refill is currently running"):
        client.refill(order=order)
    sandbox.advance(3600)
    assert client.refill_status(refill=order) == "Completed"
    assert client.refill(order=order) == order  # a finished refill allows a new one


def test_a_rejected_refill_blocks_further_refills(client: UpstreamClient, sandbox: Sandbox) -> None:
    order = client.add(service=104, link=LINK, quantity=1000)
    sandbox.advance(86400)
    sandbox.set_refill_fate(order, status="Rejected")
    client.refill(order=order)

    sandbox.advance(300)

    assert client.refill_status(refill=order) == "Rejected"
    with pytest.raises(UpstreamRejected, match="Refill request was rejected"):
        client.refill(order=order)


def test_the_warranty_runs_from_completion_for_days_refill_days(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    seven_days = client.add(service=105, link=LINK, quantity=100)
    lifetime = client.add(service=106, link=LINK, quantity=100)
    sandbox.advance(86400)  # both completed within the day
    sandbox.advance(7 * 86400)

    with pytest.raises(UpstreamRejected, match="Warranty period has expired"):
        client.refill(order=seven_days)
    sandbox.advance(365 * 86400)
    assert client.refill(order=lifetime) == lifetime


def test_orders_that_cannot_be_refilled(client: UpstreamClient, sandbox: Sandbox) -> None:
    no_warranty = client.add(service=102, link=LINK, quantity=100)
    parent = client.add_dripfeed(service=201, link=LINK, quantity=100, runs=2, interval=5)
    sandbox.advance(86400)

    result = client.refills(orders=[no_warranty, parent, 1])

    assert result[no_warranty].error == "This order does not support refill"
    assert result[parent].error == "This order does not support refill"
    assert result[1].error == "Incorrect order ID"
    child = client.status(order=parent).orders[0]
    assert client.refill(order=child) == child  # a run carries its service's warranty


# --------------------------------------------------------------------------- cancel


def test_a_pending_order_cancelled_becomes_canceled_and_is_refunded(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=104, link=LINK, quantity=1000)

    assert client.cancel(order=order) == order
    with pytest.raises(UpstreamRejected, match="The cancellation request was submitted earlier"):
        client.cancel(order=order)
    assert client.status(order=order).status == "Pending"  # takes effect a little later
    sandbox.advance(60)

    status = client.status(order=order)
    assert (status.status, status.remains, status.charge) == ("Canceled", 1000, Decimal("0.00"))
    assert client.balance().balance == START


def test_an_order_cancelled_in_progress_ends_partial(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    order = client.add(service=104, link=LINK, quantity=1000)  # 10800 s of delivery
    sandbox.advance(60 + 5400 - 60)
    client.cancel(order=order)

    sandbox.advance(60)

    status = client.status(order=order)
    assert (status.status, status.remains, status.charge) == ("Partial", 500, Decimal("17500.00"))
    assert client.balance().balance == START - Decimal("17500.00")


def test_orders_that_cannot_be_cancelled(client: UpstreamClient, sandbox: Sandbox) -> None:
    completed = client.add(service=104, link=LINK, quantity=100)
    no_cancel = client.add(service=101, link=LINK, quantity=100)
    parent = client.add_dripfeed(service=102, link=LINK, quantity=100, runs=3, interval=60)
    sandbox.advance(1800)  # the first order has completed; the drip-feed is still Active

    result = client.cancels(orders=[completed, no_cancel, parent, 1])

    assert result[completed].error == "Order cannot be cancelled at this status"
    assert result[no_cancel].error == "This order cannot be cancelled"
    assert result[parent].error == "Order cannot be cancelled at this status"
    assert client.status(order=parent).status == "Active"
    assert result[1].error == "Incorrect order ID"


# --------------------------------------------------------------------------- controls


def test_the_catalog_can_be_changed_and_restored(client: UpstreamClient, sandbox: Sandbox) -> None:
    sandbox.update_service(101, rate="4.1000", status="overload")
    sandbox.remove_service(102)

    services = {s.service: s for s in client.services()}
    assert (services[101].rate, services[101].status) == (Decimal("4.1000"), "overload")
    assert 102 not in services
    with pytest.raises(UpstreamRejected, match="Incorrect service ID"):
        client.add(service=102, link=LINK, quantity=100)

    sandbox.reset()
    assert len(client.services()) == len(CATALOG)


def test_a_fault_lasts_for_its_count_and_a_standing_fault_until_cleared(
    client: UpstreamClient, sandbox: Sandbox
) -> None:
    sandbox.inject_fault("balance", "http_500_html", count=2)
    outcomes = []
    for _ in range(3):
        try:
            client.balance()
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001
            outcomes.append(type(exc).__name__)
    sandbox.inject_fault(None, "html_200", count=None)
    with pytest.raises(Exception, match="HTML"):
        client.status(order=1)
    sandbox.clear_faults()

    assert outcomes == ["UpstreamBadAnswer", "UpstreamBadAnswer", "ok"]
    assert client.balance().currency == "VND"


def test_the_controls_work_over_http_for_other_processes(
    client: UpstreamClient,
    sandbox_server: SandboxServer,
    sandbox: Sandbox,
    http: requests.Session,
) -> None:
    def control(name: str, **payload: Any) -> Any:
        answer = http.post(f"{sandbox_server.base_url}/_sandbox/{name}", json=payload, timeout=5)
        assert answer.status_code == 200, answer.text
        return answer.json()

    control("balance", balance="5000.00")
    control("fate", order=None, status="Partial", remains=10)
    control("services/update", service=104, fields={"rate": "10.0000"})
    order = client.add(service=104, link=LINK, quantity=100)  # 1.00
    assert control("advance", seconds=86400)["now"] == 86400
    control("fault", action="balance", kind="http_500_html", count=1)

    assert (client.status(order=order).status, client.status(order=order).remains) == (
        "Partial", 10,
    )  # fmt: skip
    with pytest.raises(Exception, match="HTTP 500"):
        client.balance()
    orders = http.get(f"{sandbox_server.base_url}/_sandbox/orders", timeout=5).json()
    assert orders[str(order)]["status"] == "Partial"
    calls = http.get(f"{sandbox_server.base_url}/_sandbox/calls", timeout=5).json()
    assert [call["action"] for call in calls] == ["add", "status", "status", "balance"]
    assert http.get(f"{sandbox_server.base_url}/_sandbox/balance", timeout=5).json()[
        "balance"
    ] == "4999.10"  # fmt: skip

    control("reset")
    assert client.balance().balance == START
    bad = http.post(f"{sandbox_server.base_url}/_sandbox/fault", json={"kind": "?"}, timeout=5)
    assert bad.status_code == 400


def test_stop_shuts_down_even_with_a_request_stalled(http: requests.Session) -> None:
    server = SandboxServer().start()
    server.sandbox.inject_fault(None, "latency", seconds=30)
    port = server.port
    with pytest.raises(requests.RequestException):
        http.post(server.url, data={"key": KEY, "action": "balance"}, timeout=0.3)

    started = time.monotonic()
    server.stop()

    assert time.monotonic() - started < 2
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


def test_the_sandbox_runs_as_a_process(http: requests.Session) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "panel.sandbox", "--port", str(port), "--key", "k1"]
    # A fixed argv: this interpreter running our own module.
    process = subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/api/v2" in banner

        answer = http.post(
            f"http://127.0.0.1:{port}/api/v2", data={"key": "k1", "action": "balance"}, timeout=5
        )

        assert json.loads(answer.text) == {"balance": "100000000.00", "currency": "VND"}
    finally:
        process.terminate()
        process.wait(timeout=5)
