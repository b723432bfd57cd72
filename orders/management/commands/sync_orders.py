"""`manage.py sync_orders`: one full cycle of the order machinery, synchronously.

Forward what is waiting (and hold stale claims for review), poll open orders, forward refill and
cancel requests, poll refill statuses: what the beat schedule does, once, in this process.
Safe to run while workers run too: every step claims its rows.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orders.cycle import orders_cycle


class Command(BaseCommand):
    help = "Run one full order cycle now: forward, poll, refill/cancel requests, refill statuses."

    def handle(self, *args: Any, **options: Any) -> None:
        result = orders_cycle()
        sweep, poll, requests = result.sweep, result.poll, result.requests
        outcomes = (
            ", ".join(f"{n} {word}" for word, n in sorted(result.forwarded.items())) or "nothing"
        )
        self.stdout.write(f"forwarded: {outcomes}")
        if sweep.released:
            self.stdout.write(f"released after the upstream balance check: {sweep.released}")
        if sweep.to_review:
            self.stdout.write(
                self.style.WARNING(f"stale claims held for review: {sweep.to_review}")
            )
        self.stdout.write(
            f"polled: {poll.orders} orders in {poll.batches} batches, {poll.updated} updated, "
            f"{poll.finished} finished, {poll.item_errors} per-order errors, "
            f"{poll.unknown} unknown statuses, {poll.failed_batches} failed batches"
        )
        self.stdout.write(
            f"refills: {requests.refills_sent} sent, {requests.refills_rejected} refused, "
            f"{requests.refills_updated} updated, {requests.refills_finished} finished; "
            f"cancels: {requests.cancels_sent} sent, {requests.cancels_rejected} refused"
        )
        if poll.failed_batches or requests.failed_calls:
            self.stdout.write(
                self.style.WARNING("some upstream calls failed; they are retried next cycle")
            )
        waiting = result.waiting_for_funds
        if waiting:
            self.stdout.write(
                self.style.ERROR(f"{waiting} order(s) wait for upstream funds: top up upstream")
            )
