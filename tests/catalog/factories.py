"""Test data for the catalog: upstream-shaped entries and panel services."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from catalog.models import Service

_ids = itertools.count(10_000)


def upstream_entry(service: int | None = None, **overrides: Any) -> dict[str, Any]:
    """One entry of the upstream's `services` answer, as the sandbox serves it."""
    number = service if service is not None else next(_ids)
    entry: dict[str, Any] = {
        "service": number,
        "name": f"TikTok - Tim - gói {number}",
        "type": "Default",
        "rate": "10.0000",
        "min": 10,
        "max": 10000,
        "dripfeed": False,
        "refill": False,
        "days_refill": 0,
        "cancel": False,
        "avg_time_min": 30,
        "status": "normal",
        "category": "TikTok - Tim",
        "description": "",
        "priority": False,
    }
    entry.update(overrides)
    return entry


def generated_catalog(size: int, *, start: int = 1) -> list[dict[str, Any]]:
    """`size` entries over a handful of categories, some priority, all plain."""
    categories = ["TikTok - Tim", "Facebook - Like", "Instagram - Follow", "YouTube - View"]
    return [
        upstream_entry(
            number,
            category=categories[number % len(categories)],
            rate=f"{(number % 97) + 1}.5000",
            priority=number % 10 == 0,
        )
        for number in range(start, start + size)
    ]


def make_service(**overrides: Any) -> Service:
    number = overrides.pop("upstream_id", None) or next(_ids)
    values: dict[str, Any] = {
        "upstream_id": number,
        "name": f"Service {number}",
        "category": "TikTok - Tim",
        "platform": "TikTok",
        "cost_rate": Decimal("10.0000"),
        "sell_rate": Decimal("13.0000"),
        "min_quantity": 10,
        "max_quantity": 10000,
    }
    values.update(overrides)
    return Service.objects.create(**values)
