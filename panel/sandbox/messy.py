"""Messy answers (issue 11), set per id: what real upstreams do to a clean protocol."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Messy:
    # Fields to change in an order's status item (None removes the field).
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Orders the upstream has forgotten, with the error their status answers.
    forgotten: dict[int, str] = field(default_factory=dict)
    # Ids left out of the multi answers of an action.
    omitted: dict[str, set[int]] = field(default_factory=dict)
    # Refills that refill_status answers "Refill not found".
    lost_refills: set[int] = field(default_factory=set)

    def set_answer(self, order: int, fields: dict[str, Any]) -> None:
        if fields:
            self.answers.setdefault(order, {}).update(fields)
        else:
            self.answers.pop(order, None)

    def omit(self, action: str, ids: Iterable[int]) -> None:
        self.omitted.setdefault(action, set()).update(int(i) for i in ids)

    def is_omitted(self, action: str, order: int | None) -> bool:
        return order in self.omitted.get(action, set())

    def clear(self) -> None:
        self.answers.clear()
        self.forgotten.clear()
        self.omitted.clear()
        self.lost_refills.clear()

    def status_item(self, order: int, item: dict[str, Any]) -> dict[str, Any]:
        """The order's clean status item, with the changes set for it."""
        if order in self.forgotten:
            return {"error": self.forgotten[order]}
        for name, value in self.answers.get(order, {}).items():
            if value is None:
                item.pop(name, None)
            else:
                item[name] = value
        return item
