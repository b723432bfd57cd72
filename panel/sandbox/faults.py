"""Fault switches: what can go wrong between the panel and an upstream, on demand.

``Sandbox.inject_fault(action, kind, count=1, after=0, **params)`` arms one; ``action`` None
matches any action, ``count`` None lasts until ``clear_faults()``, ``after=N`` lets N matching
calls through first. What each kind does (its params, with defaults):

=====================  =============================================================
latency                sleep ``seconds`` (1.0), then answer normally
timeout_after_accept   execute, stall ``seconds`` (5.0), then ``then``="drop"|"answer"
drop_after_accept      execute, close without answering (``reset``=True sends a RST)
http_500_html          HTTP ``status`` (500) with an HTML page; NOT executed
html_200               HTTP 200 with an HTML page; executed only if ``execute``=True
malformed_json         execute, answer a PHP warning followed by the JSON
truncated_json         execute, answer half the JSON; ``mode``="short" (Content-Length
                       matches the half) or "incomplete" (connection closed early)
slow_body              execute, send the body one byte every ``delay`` seconds (0.5)
oversize               execute, pad the JSON with whitespace to ``bytes`` (6_000_000)
out_of_funds           add only: {"error": "Insufficient balance"}; NOT executed
unknown_status         status only: every status word becomes ``word``
remains_out_of_range   status only: every ``remains`` becomes ``remains`` (-5)
raw_answer             answer ``body`` (a string, or any JSON value) with ``status`` (200),
                       ``content_type`` and extra ``headers``; executed only if ``execute``
=====================  =============================================================
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from .model import to_json

logger = logging.getLogger(__name__)

# Faults that only make sense for one action; with action=None they wait for it.
_ONLY_FOR: Final = {
    "out_of_funds": "add",
    "unknown_status": "status",
    "remains_out_of_range": "status",
}

_HTML_500: Final = (
    b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
    b"<body><h1>Internal Server Error</h1><p>The server encountered an internal error.</p>"
    b"<hr><address>nginx</address></body></html>"
)
_HTML_200: Final = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    b"<body><noscript>Enable JavaScript and cookies to continue</noscript></body></html>"
)
# What PHP prints before the JSON when a notice fires with html_errors off.
_PHP_WARNING: Final = (
    b'\nWarning: Undefined array key "quantity" in /var/www/api/v2.php on line 42\n'
)


@dataclass
class _Fault:
    action: str | None
    kind: str
    remaining: int | None  # None: until cleared
    params: dict[str, Any]
    skip: int = 0  # matching calls still to let through


@dataclass(frozen=True)
class FaultTaken:
    kind: str
    params: dict[str, Any]


class FaultSwitches:
    """The armed faults. Not thread-safe: the ``Sandbox`` holds its lock around it."""

    def __init__(self) -> None:
        self._faults: list[_Fault] = []

    def arm(
        self, action: str | None, kind: str, count: int | None, after: int, params: dict[str, Any]
    ) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {sorted(FAULT_KINDS)}")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None for until cleared)")
        self._faults.append(_Fault(action, kind, count, dict(params), skip=after))

    def clear(self) -> None:
        self._faults.clear()

    def listing(self) -> list[dict[str, Any]]:
        return [
            {"action": f.action, "kind": f.kind, "remaining": f.remaining, "params": dict(f.params)}
            for f in self._faults
        ]

    def take(self, action: str) -> FaultTaken | None:
        """The fault that applies to this request, if any (consumes one use)."""
        for fault in self._faults:
            if fault.action not in (None, action):
                continue
            if _ONLY_FOR.get(fault.kind, action) != action:
                continue
            if fault.skip > 0:
                fault.skip -= 1
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
            return FaultTaken(fault.kind, dict(fault.params))
        return None


# --------------------------------------------------------------------------- serving


class Reply(Protocol):
    """The HTTP side of one request (the server's handler)."""

    close_connection: bool

    def send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        content_length: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None: ...

    def send_slowly(self, body: bytes, *, delay: float) -> None: ...

    def drop(self, *, reset: bool) -> None: ...


class Upstream(Protocol):
    """What a fault needs of the ``Sandbox``."""

    @property
    def generation(self) -> int: ...

    def handle(self, params: Mapping[str, str]) -> Any: ...

    def sleep(self, seconds: float) -> None: ...

    def record_call(self, params: Mapping[str, str]) -> None: ...

    def take_fault(self, action: str) -> FaultTaken | None: ...


# Before executing: True when the reply is already done (the request is not executed then).
type _Before = Callable[[Reply, Upstream, dict[str, str], dict[str, Any]], bool]
# After executing: how the answer's JSON goes out.
type _Deliver = Callable[[Reply, Upstream, bytes, dict[str, Any]], None]


def serve_api(reply: Reply, upstream: Upstream, params: dict[str, str]) -> None:
    """Answer one /api/v2 request through the armed fault, if any."""
    upstream.record_call(params)
    fault = upstream.take_fault(params.get("action", ""))
    kind, options = (fault.kind, fault.params) if fault is not None else ("", {})
    before = _BEFORE.get(kind)
    if before is not None and before(reply, upstream, params, options):
        return
    if kind == "out_of_funds":
        answer: Any = {"error": "Insufficient balance"}
    else:
        try:
            answer = upstream.handle(params)
        except Exception:  # a sandbox bug: make it loud, and answer like a crashed PHP
            logger.exception("sandbox failed on %s", params.get("action"))
            reply.send(500, _HTML_500, content_type="text/html")
            return
    if kind in ("unknown_status", "remains_out_of_range"):
        answer = _degrade_status(answer, kind, options)
    deliver: _Deliver = _DELIVER.get(kind, _deliver_plain)
    deliver(reply, upstream, to_json(answer), options)


def _latency(reply: Reply, upstream: Upstream, params: dict[str, str], options: Any) -> bool:
    generation = upstream.generation
    upstream.sleep(float(options.get("seconds", 1.0)))
    if upstream.generation != generation:
        # Stalled across a reset: give up instead of acting on the new state.
        reply.drop(reset=False)
        return True
    return False


def _http_500(reply: Reply, upstream: Upstream, params: dict[str, str], options: Any) -> bool:
    reply.send(int(options.get("status", 500)), _HTML_500, content_type="text/html")
    return True


def _raw_answer(reply: Reply, upstream: Upstream, params: dict[str, str], options: Any) -> bool:
    if options.get("execute", False):
        upstream.handle(params)
    raw = options.get("body", "")
    reply.send(
        int(options.get("status", 200)),
        (raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)).encode(),
        content_type=str(options.get("content_type", "application/json")),
        headers=options.get("headers"),
    )
    return True


def _html_200_unexecuted(
    reply: Reply, upstream: Upstream, params: dict[str, str], options: Any
) -> bool:
    if options.get("execute", False):
        return False  # executed, then answered HTML by _DELIVER
    reply.send(200, _HTML_200, content_type="text/html")
    return True


_BEFORE: Final[dict[str, _Before]] = {
    "latency": _latency,
    "http_500_html": _http_500,
    "raw_answer": _raw_answer,
    "html_200": _html_200_unexecuted,
}


def _degrade_status(answer: Any, kind: str, options: Mapping[str, Any]) -> Any:
    """unknown_status / remains_out_of_range applied to a status answer (single or multi)."""
    items = (
        [answer]
        if isinstance(answer, dict) and "status" in answer
        else (list(answer.values()) if isinstance(answer, dict) else [])
    )
    for item in items:
        if not isinstance(item, dict) or "error" in item:
            continue
        if kind == "unknown_status":
            item["status"] = str(options.get("word", "Stuck in queue"))
        elif "remains" in item:
            item["remains"] = str(options.get("remains", -5))
    return answer


def _deliver_plain(reply: Reply, upstream: Upstream, body: bytes, options: Any) -> None:
    reply.send(200, body)


def _timeout_after_accept(reply: Reply, upstream: Upstream, body: bytes, options: Any) -> None:
    upstream.sleep(float(options.get("seconds", 5.0)))
    if options.get("then", "drop") == "drop":
        reply.drop(reset=False)
    else:
        reply.send(200, body)


def _drop_after_accept(reply: Reply, upstream: Upstream, body: bytes, options: Any) -> None:
    reply.drop(reset=bool(options.get("reset", False)))


def _html_200(reply: Reply, upstream: Upstream, body: bytes, options: Any) -> None:
    reply.send(200, _HTML_200, content_type="text/html")


def _malformed_json(reply: Reply, upstream: Upstream, body: bytes, options: Any) -> None:
    reply.send(200, _PHP_WARNING + body)


def _truncated_json(reply: Reply, upstream: Upstream, body: bytes, options: Any) -> None:
    half = body[: max(1, len(body) // 2)]
    if options.get("mode", "short") == "incomplete":
        reply.send(200, half, content_length=len(body))
        reply.close_connection = True
    else:
        reply.send(200, half)


def _slow_body(reply: Reply, upstream: Upstream, body: bytes, options: Any) -> None:
    reply.send_slowly(body, delay=float(options.get("delay", 0.5)))


def _oversize(reply: Reply, upstream: Upstream, body: bytes, options: Any) -> None:
    size = int(options.get("bytes", 6_000_000))
    reply.send(200, body + b" " * max(0, size - len(body)))


_DELIVER: Final[dict[str, _Deliver]] = {
    "timeout_after_accept": _timeout_after_accept,
    "drop_after_accept": _drop_after_accept,
    "html_200": _html_200,
    "malformed_json": _malformed_json,
    "truncated_json": _truncated_json,
    "slow_body": _slow_body,
    "oversize": _oversize,
}

FAULT_KINDS: Final = frozenset(
    {*_BEFORE, *_DELIVER, "out_of_funds", "unknown_status", "remains_out_of_range"}
)
