"""The panel never fetches a customer's link: the link travels to the upstream as a form field,
and the only connections made while an order is placed, forwarded, polled, refilled and
cancelled go to the upstream (here, the sandbox on its loopback port)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from catalog.upstreams import default_client as get_client
from orders.models import Order
from orders.polling import orders_poll
from orders.request_forwarding import requests_cycle

from .conftest import World, logged_in

CANARY_HOST = "ssrf-canary.invalid"
LINKS = [
    "http://127.0.0.1:9/ssrf-probe",  # the discard port on this very machine
    f"https://{CANARY_HOST}/@shop/video/1",  # a name that must never even be looked up
    "http://169.254.169.254/latest/meta-data/",  # a cloud metadata address
]


@dataclass
class Network:
    allowed: tuple[str, int]
    connections: list[Any] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    refused: list[Any] = field(default_factory=list)


@pytest.fixture
def network(
    sandbox: Any, sandbox_server: Any, monkeypatch: pytest.MonkeyPatch, db: None
) -> Iterator[Network]:
    """Every outgoing connection and name lookup of this process, recorded; any connection but
    one to the sandbox refused (and remembered, so a swallowed error still fails the test)."""
    net = Network(allowed=("127.0.0.1", sandbox_server.port))
    # A fresh upstream client: the pooled one may hold a kept-alive connection from an earlier
    # call, and a reused connection would go unrecorded.
    get_client().close()
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address: Any) -> None:
        net.connections.append(address)
        if not (isinstance(address, tuple) and tuple(address[:2]) == net.allowed):
            net.refused.append(address)
            raise ConnectionRefusedError(f"test: connection to {address!r} is not allowed")

    def connect(self: socket.socket, address: Any) -> Any:
        check(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        net.lookups.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield net


def assert_only_the_upstream_was_contacted(net: Network) -> None:
    assert net.connections, "the upstream was never called: the test proved nothing"
    assert not net.refused, f"connections to customer links: {net.refused}"
    assert CANARY_HOST not in net.lookups
    assert set(net.lookups) <= {"127.0.0.1", "localhost"}, net.lookups


@pytest.mark.parametrize("link", LINKS)
def test_an_order_placed_on_the_site_sends_its_link_to_the_upstream_and_nowhere_else(
    world: World,
    network: Network,
    sandbox: Any,
    link: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # when the customer places an order on the site (forwarded at once, as the task would)
    client = logged_in(world.a.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("orders:new"),
            {"service": world.order.service_id, "link": link, "quantity": "1000"},
        )
    assert response.status_code == 302
    order = Order.objects.filter(link=link).get()
    assert order.upstream_id is not None, order.error
    # and it is polled, refilled and cancelled like any other
    orders_poll()
    client.post(reverse("orders:refill", args=[order.pk]))
    client.post(reverse("orders:cancel", args=[order.pk]))
    requests_cycle()
    # then the link reached the upstream as a form field, and nothing connected to it
    assert sandbox.calls_of("add")[-1]["link"] == link
    assert_only_the_upstream_was_contacted(network)


def test_an_order_placed_through_the_api_does_not_fetch_its_link_either(
    world: World, network: Network, sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    link = LINKS[0]
    with django_capture_on_commit_callbacks(execute=True):
        answer = (
            Client()
            .post(
                "/api/v2",
                {
                    "key": world.a.key,
                    "action": "add",
                    "service": world.order.service_id,
                    "link": link,
                    "quantity": "1000",
                },
            )
            .json()
        )
    assert "order" in answer, answer
    assert Order.objects.get(pk=answer["order"]).upstream_id is not None
    assert sandbox.calls_of("add")[-1]["link"] == link
    assert_only_the_upstream_was_contacted(network)


def test_the_guard_does_catch_a_connection_to_a_link(network: Network) -> None:
    # the fixture itself: a fetch of the link would be refused and recorded
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", 9), timeout=0.5)
    assert network.refused == [("127.0.0.1", 9)]
