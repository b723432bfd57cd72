"""The sandbox upstream's state on disk, so that a restart of `make run` keeps every demo order
(issue 11: a restart used to turn every open order into "Order not found").

The command line sandbox writes its whole state as JSON to one file (``--state``, under ``var/``
by `make run`) after every request that changes it and when it stops, replacing the file
atomically; at start it reads the file back and its clock goes on from the saved time. Tests keep
the sandbox in memory (no ``--state``). Standard library only, like the sandbox.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from collections import deque
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sandbox import Sandbox

VERSION = 1


def sandbox_dump(sandbox: Sandbox) -> dict[str, Any]:
    """Everything a restart must keep, as JSON-able values (call under the sandbox's lock)."""
    return {
        "version": VERSION,
        "now": sandbox.now(),
        "balance": str(sandbox._balance),
        "services": list(sandbox._services.values()),
        "orders": [_plain(dataclasses.asdict(order)) for order in sandbox._orders.values()],
        "refills": [_plain(dataclasses.asdict(refill)) for refill in sandbox._refills.values()],
        "refill_fates": {str(k): v for k, v in sandbox._refill_fates.items()},
        "next_fates": list(sandbox._next_fates),
        "next_id": sandbox._next_id,
        "answer_overrides": {str(k): v for k, v in sandbox._answer_overrides.items()},
        "forgotten": {str(k): sandbox._forgotten_errors.get(k, "") for k in sandbox._forgotten},
        "omitted": {action: sorted(ids) for action, ids in sandbox._omitted.items()},
        "lost_refills": sorted(sandbox._lost_refills),
        "currency": sandbox.currency,
        "currency_in_services": sandbox.currency_in_services,
    }


def sandbox_restore(sandbox: Sandbox, data: dict[str, Any]) -> None:
    """Put a dumped state back (call under the sandbox's lock, after `reset`)."""
    from .sandbox import SandboxOrder, SandboxRefill

    if data.get("version") != VERSION:
        raise ValueError(f"unknown sandbox state version {data.get('version')!r}")
    sandbox._offset, sandbox._t0 = float(data["now"]), time.monotonic()
    sandbox._balance = Decimal(data["balance"])
    sandbox._services = {}
    sandbox._install_services(data["services"])
    for raw in data["orders"]:
        order = SandboxOrder(
            **{
                **raw,
                "paid": Decimal(raw["paid"]),
                "charge": Decimal(raw["charge"]),
                "comments": tuple(raw["comments"]),
            }
        )
        sandbox._orders[order.id] = order
        if order.kind == "dripfeed":
            if order.status == "Active":
                sandbox._active_parents[order.id] = order
        elif order.finished_at is None:
            sandbox._open[order.id] = order
    for raw in data["refills"]:
        refill = SandboxRefill(**raw)
        sandbox._refills[refill.id] = refill
        if refill.status not in ("Completed", "Rejected"):
            sandbox._open_refills[refill.id] = refill
    sandbox._refill_fates = {int(k): v for k, v in data["refill_fates"].items()}
    sandbox._next_fates = deque((status, remains) for status, remains in data["next_fates"])
    sandbox._next_id = int(data["next_id"])
    sandbox._answer_overrides = {int(k): v for k, v in data["answer_overrides"].items()}
    sandbox._forgotten = {int(k) for k in data["forgotten"]}
    sandbox._forgotten_errors = {int(k): v for k, v in data["forgotten"].items() if v}
    sandbox._omitted = {action: set(ids) for action, ids in data["omitted"].items()}
    sandbox._lost_refills = set(data["lost_refills"])
    sandbox.currency = data["currency"]
    sandbox.currency_in_services = bool(data["currency_in_services"])
    sandbox._ticked_at = None


def sandbox_save(sandbox: Sandbox, path: str | Path) -> None:
    """Write the state to `path` atomically (a crash mid-write leaves the previous file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(sandbox_dump(sandbox), default=_json_default)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sandbox_load(sandbox: Sandbox, path: str | Path) -> bool:
    """Read the state from `path` if it exists; False when there is none."""
    source = Path(path)
    if not source.exists():
        return False
    data = json.loads(source.read_text(encoding="utf-8"))
    with sandbox._lock:
        sandbox.reset()
        sandbox_restore(sandbox, data)
    return True


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: (str(value) if isinstance(value, Decimal) else value)
        for name, value in values.items()
    }


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
