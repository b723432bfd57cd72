"""The sandbox's state on disk, so that a restart of `make run` keeps every demo order
(issue 11: a restart used to turn every open order into "Order not found").

The command line sandbox (``--state``, under ``var/`` by `make run`) writes its whole ``Book``
and clock as JSON after every request that changes it and when it stops, replacing the file
atomically; at start it reads the file back and its clock goes on from the saved time. Faults
and the call log are not kept. Tests keep the sandbox in memory.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections import deque
from decimal import Decimal
from pathlib import Path
from typing import Any

from .book import Book
from .model import SandboxOrder, SandboxRefill

VERSION = 1


def state_save(path: str | Path, *, book: Book, now: float) -> None:
    """Write the state to `path` atomically (a crash mid-write leaves the previous file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(_dump(book, now), default=_json_default)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def state_load(path: str | Path) -> tuple[Book, float] | None:
    """The book and clock saved at `path`; None when there is no file."""
    source = Path(path)
    if not source.exists():
        return None
    data = json.loads(source.read_text(encoding="utf-8"))
    if data.get("version") != VERSION:
        raise ValueError(f"unknown sandbox state version {data.get('version')!r}")
    return _restore(data), float(data["now"])


def _dump(book: Book, now: float) -> dict[str, Any]:
    messy = book.messy
    return {
        "version": VERSION,
        "now": now,
        "balance": str(book.balance),
        "services": list(book.services.values()),
        "orders": [_plain(dataclasses.asdict(order)) for order in book.orders.values()],
        "refills": [_plain(dataclasses.asdict(refill)) for refill in book.refills.values()],
        "refill_fates": {str(k): v for k, v in book.refill_fates.items()},
        "next_fates": list(book.next_fates),
        "next_id": book.next_id,
        "answer_overrides": {str(k): v for k, v in messy.answers.items()},
        "forgotten": {str(k): v for k, v in messy.forgotten.items()},
        "omitted": {action: sorted(ids) for action, ids in messy.omitted.items()},
        "lost_refills": sorted(messy.lost_refills),
        "currency": book.currency,
        "currency_in_services": book.currency_in_services,
    }


def _restore(data: dict[str, Any]) -> Book:
    book = Book(
        balance=Decimal(data["balance"]), services=data["services"], currency=data["currency"]
    )
    for raw in data["orders"]:
        order = SandboxOrder(
            **{
                **raw,
                "paid": Decimal(raw["paid"]),
                "charge": Decimal(raw["charge"]),
                "comments": tuple(raw["comments"]),
            }
        )
        book.orders[order.id] = order
        if order.kind == "dripfeed":
            if order.status == "Active":
                book.active_parents[order.id] = order
        elif order.finished_at is None:
            book.open[order.id] = order
    for raw in data["refills"]:
        refill = SandboxRefill(**raw)
        book.refills[refill.id] = refill
        if refill.status not in ("Completed", "Rejected"):
            book.open_refills[refill.id] = refill
    book.refill_fates = {int(k): v for k, v in data["refill_fates"].items()}
    book.next_fates = deque((status, remains) for status, remains in data["next_fates"])
    book.next_id = int(data["next_id"])
    book.messy.answers = {int(k): v for k, v in data["answer_overrides"].items()}
    # An empty error reads back as the default one.
    book.messy.forgotten = {int(k): v or "Order not found" for k, v in data["forgotten"].items()}
    book.messy.omitted = {action: set(ids) for action, ids in data["omitted"].items()}
    book.messy.lost_refills = set(data["lost_refills"])
    book.currency_in_services = bool(data["currency_in_services"])
    return book


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
