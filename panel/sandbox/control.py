"""The control surface under ``/_sandbox/``, for other processes (`make run`, browser tests):
JSON in, JSON out, one entry per ``Sandbox`` control method.

    GET  calls | orders | balance | services | faults
    POST reset {} | advance {"seconds"} | balance {"balance"}
         services {"services": [...]} | services/update {"service", "fields": {...}}
         services/remove {"service"} | fate {"order" (omit or null: next order),
         "status", "remains"} | refill_fate {"order", "status"}
         fault {"action", "kind", "count", "after", "params": {...}} | faults/clear
         calls/clear | answer {"order", "fields": {...}} (messy status fields; null
         drops one) | forget {"order", "error"} | omit {"action", "ids"} |
         refill/lose {"refill"} | currency {"currency", "in_services"} | messy/clear
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .simulator import Sandbox

type _Control = Callable[[Sandbox, dict[str, Any]], Any]


def control(sandbox: Sandbox, method: str, name: str, payload: dict[str, Any]) -> Any:
    """Run one control; its JSON-able result, or None for {"ok": true}.

    An unknown control raises LookupError, and so does a missing field (KeyError): both are
    answered 404. A field of the wrong kind raises ValueError or TypeError: 400.
    """
    table = _GET if method == "GET" else _POST
    return table[name](sandbox, payload)


# --------------------------------------------------------------------------- GET


def _orders(sandbox: Sandbox, payload: dict[str, Any]) -> Any:
    return {
        str(order.id): {
            "service": order.service,
            "kind": order.kind,
            "link": order.link,
            "quantity": order.quantity,
            "status": order.status,
            "remains": order.remains,
            "charge": order.charge,
            "children": order.children,
            "parent": order.parent,
        }
        for order in sandbox.orders.values()
    }


_GET: Final[dict[str, _Control]] = {
    "calls": lambda s, p: [{"action": call.action, "params": call.params} for call in s.calls],
    "orders": _orders,
    "balance": lambda s, p: {"balance": f"{s.balance:.2f}", "now": s.now()},
    "services": lambda s, p: s.services,
    "faults": lambda s, p: s.faults,
}


# --------------------------------------------------------------------------- POST


def _advance(sandbox: Sandbox, payload: dict[str, Any]) -> Any:
    sandbox.advance(float(payload.get("seconds", 0)))
    return {"now": sandbox.now()}


def _fate(sandbox: Sandbox, payload: dict[str, Any]) -> None:
    remains = payload.get("remains")
    remains = int(remains) if remains is not None else None
    if payload.get("order") in (None, "next"):
        sandbox.set_next_fate(status=str(payload["status"]), remains=remains)
    else:
        sandbox.set_fate(int(payload["order"]), status=str(payload["status"]), remains=remains)


def _fault(sandbox: Sandbox, payload: dict[str, Any]) -> None:
    count = payload.get("count", 1)
    sandbox.inject_fault(
        payload.get("action"),
        str(payload["kind"]),
        None if count is None else int(count),
        after=int(payload.get("after", 0)),
        **dict(payload.get("params", {})),
    )


_POST: Final[dict[str, _Control]] = {
    "reset": lambda s, p: s.reset(),
    "advance": _advance,
    "balance": lambda s, p: s.set_balance(str(p["balance"])),
    "services": lambda s, p: s.set_services(p["services"]),
    "services/update": lambda s, p: s.update_service(
        int(p["service"]), **dict(p.get("fields", {}))
    ),
    "services/remove": lambda s, p: s.remove_service(int(p["service"])),
    "fate": _fate,
    "refill_fate": lambda s, p: s.set_refill_fate(
        int(p["order"]), status=str(p.get("status", "Rejected"))
    ),
    "fault": _fault,
    "answer": lambda s, p: s.set_answer(int(p["order"]), **dict(p.get("fields", {}))),
    "forget": lambda s, p: s.forget(int(p["order"]), error=str(p.get("error", "Order not found"))),
    "omit": lambda s, p: s.omit(str(p["action"]), [int(i) for i in p["ids"]]),
    "refill/lose": lambda s, p: s.lose_refill(int(p["refill"])),
    "messy/clear": lambda s, p: s.clear_messy(),
    "currency": lambda s, p: s.set_currency(
        str(p["currency"]), in_services=bool(p.get("in_services", False))
    ),
    "faults/clear": lambda s, p: s.clear_faults(),
    "calls/clear": lambda s, p: s.clear_calls(),
}
