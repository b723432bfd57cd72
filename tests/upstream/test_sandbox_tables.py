"""The sandbox's dispatch tables and their documentation agree: every fault kind the faults
module documents can be armed (and no other), every control the control module documents is
served, and anything else under /_sandbox/ is not found."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

import panel.sandbox.control
import panel.sandbox.faults
from panel.sandbox import FAULT_KINDS, Sandbox, SandboxServer


def documented_fault_kinds() -> set[str]:
    doc = panel.sandbox.faults.__doc__ or ""
    return set(re.findall(r"^([a-z_0-9]+)\s{2,}", doc, flags=re.MULTILINE))


def documented_controls() -> tuple[set[str], set[str]]:
    """(GET names, POST names) as the control module's docstring lists them."""
    doc = panel.sandbox.control.__doc__ or ""
    get_part, post_part = doc.split("GET", 1)[1].split("POST", 1)
    # A name starts a line or follows "|", and is followed by its payload, "|" or the line's end.
    names = r"(?:^|\|)\s*([a-z_]+(?:/[a-z_]+)?)(?=\s*(?:\{|\||$))"
    return (
        set(re.findall(names, get_part, flags=re.MULTILINE)),
        set(re.findall(names, post_part, flags=re.MULTILINE)),
    )


def test_every_documented_fault_kind_can_be_armed_and_no_other() -> None:
    sandbox = Sandbox()
    documented = documented_fault_kinds()
    assert len(documented) == 13
    assert documented == FAULT_KINDS
    for kind in sorted(documented):
        sandbox.inject_fault(None, kind)
    assert sorted(f["kind"] for f in sandbox.faults) == sorted(documented)
    with pytest.raises(ValueError, match="unknown fault"):
        sandbox.inject_fault(None, "meteor_strike")


@pytest.fixture
def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def test_every_documented_get_control_answers_and_unknown_controls_are_not_found(
    sandbox_server: SandboxServer, sandbox: Sandbox, http: requests.Session
) -> None:
    gets, posts = documented_controls()
    assert gets == {"calls", "orders", "balance", "services", "faults"}
    assert {"reset", "advance", "fault", "faults/clear", "messy/clear", "refill/lose"} <= posts
    base = f"{sandbox_server.base_url}/_sandbox"

    answers: dict[str, Any] = {name: http.get(f"{base}/{name}", timeout=5) for name in gets}

    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(gets, 200)
    assert http.get(f"{base}/reset", timeout=5).status_code == 404  # POST only
    assert http.post(f"{base}/no-such-control", json={}, timeout=5).status_code == 404


def test_every_documented_post_control_is_served(
    sandbox_server: SandboxServer, sandbox: Sandbox, http: requests.Session
) -> None:
    _, posts = documented_controls()
    order = sandbox.handle(
        {"key": sandbox.key, "action": "add", "service": "104", "link": "x", "quantity": "100"}
    )["order"]
    payloads: dict[str, dict[str, Any]] = {
        "reset": {},
        "advance": {"seconds": 1},
        "balance": {"balance": "100"},
        "services": {"services": sandbox.services},
        "services/update": {"service": 104, "fields": {"name": "renamed"}},
        "services/remove": {"service": 101},
        "fate": {"status": "Completed"},
        "refill_fate": {"order": order, "status": "Rejected"},
        "fault": {"action": "balance", "kind": "latency"},
        "faults/clear": {},
        "calls/clear": {},
        "answer": {"order": order, "fields": {"remains": None}},
        "forget": {"order": order},
        "omit": {"action": "status", "ids": [order]},
        "refill/lose": {"refill": order},
        "currency": {"currency": "USD"},
        "messy/clear": {},
    }
    assert set(payloads) == posts
    base = f"{sandbox_server.base_url}/_sandbox"

    # "reset" last: it would forget the order the others refer to.
    codes = {
        name: http.post(f"{base}/{name}", json=payloads[name], timeout=5).status_code
        for name in sorted(posts - {"reset"}) + ["reset"]
    }

    assert codes == dict.fromkeys(posts, 200)
