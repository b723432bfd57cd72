"""The sandbox upstream of `make run` keeps its state across a restart (issue 11): a restart used
to turn every open demo order into "Order not found"."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from panel.upstream.client import UpstreamClient


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(port: int, state: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
        [
            sys.executable,
            "-m",
            "panel.sandbox",
            "--port",
            str(port),
            "--time-scale",
            "0",
            "--state",
            str(state),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the sandbox did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)  # as honcho stops it
    process.wait(timeout=10)


def test_the_command_line_sandbox_keeps_orders_balance_and_messy_answers_across_a_restart(
    tmp_path: Path,
) -> None:
    state = tmp_path / "sandbox-state.json"
    port = free_port()
    process = start(port, state)
    try:
        client = UpstreamClient(url=f"http://127.0.0.1:{port}/api/v2", key="sandbox-key")
        order = client.add(service=101, link="https://tiktok.com/@u/video/1", quantity=1000)
        drip = client.add_dripfeed(
            service=102, link="https://tiktok.com/@u/video/2", quantity=100, runs=3, interval=10
        )
        balance = client.balance().balance
        client.close()
    finally:
        stop(process)
    assert state.exists()

    process = start(port, state)
    try:
        client = UpstreamClient(url=f"http://127.0.0.1:{port}/api/v2", key="sandbox-key")
        answers = client.statuses(orders=[order, drip])
        assert answers[order].error is None and answers[order].status == "Pending"
        assert answers[drip].status == "Active" and len(answers[drip].orders) == 1
        assert client.balance().balance == balance
        # a new order gets a new id, not one of the restored ones
        assert client.add(service=101, link="https://tiktok.com/@u/video/3", quantity=100) > drip
        client.close()
    finally:
        stop(process)
