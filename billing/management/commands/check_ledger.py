"""`manage.py check_ledger`: verify every ledger invariant; print each problem; exit 1 on any.

Read-only. On PostgreSQL the checks run in one REPEATABLE READ READ ONLY transaction: they all see
the same snapshot (no false alarm from a charge landing between two queries), and the database
itself guarantees that nothing is written.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from billing.selectors import ledger_problems


class Command(BaseCommand):
    help = (
        "Verify the ledger: balances equal the sums of their entries and are never negative, "
        "balance_after chains are consistent, each order is charged once and refunded at most "
        "its charge. Changes nothing; exits non-zero on any problem."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Only a transaction of our own can be made read-only (SET TRANSACTION must come first);
        # inside a caller's transaction (a test, a script) the checks run in the caller's.
        own_transaction = not connection.in_atomic_block
        with transaction.atomic():
            if connection.vendor == "postgresql" and own_transaction:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            problems = list(ledger_problems())
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} ledger problem(s) found.")
        self.stdout.write(self.style.SUCCESS("Ledger OK."))
