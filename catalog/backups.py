"""Which services may stand in for which: the compatibility rule of a backup, pure.

A backup receives the very order the customer placed for the main service, unchanged (same
kind, quantity, link, drip-feed runs), so it must accept every order the main service accepts
and promise at least what the main service promised (a refill, when the main one has it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Service


def backup_problems(*, service: Service, backup: Service) -> list[str]:
    """Why `backup` cannot stand in for `service`; empty when it can."""
    problems: list[str] = []
    if backup.pk is not None and backup.pk == service.pk:
        problems.append("a service cannot be its own backup")
    if backup.provider_id == service.provider_id:
        problems.append("a backup must be at another provider")
    if backup.type != service.type:
        problems.append(f"kind differs: {backup.type} for {service.type}")
    if backup.min_quantity > service.min_quantity or backup.max_quantity < service.max_quantity:
        problems.append(
            f"limits {backup.min_quantity}-{backup.max_quantity} do not cover "
            f"{service.min_quantity}-{service.max_quantity}"
        )
    if service.dripfeed and not backup.dripfeed:
        problems.append("no drip-feed")
    if service.refill and not backup.refill:
        problems.append("no refill")
    return problems
