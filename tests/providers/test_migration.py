"""Existing data migrates: services, sync runs and orders from before providers belong to the
provider `SIEULIKE_*` names, which the migration creates from the settings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("catalog", "0006_big_upstream_numbers_and_balance_checks"),
    ("orders", "0002_attention_state_and_request_outcomes"),
]


def _leaves(executor: MigrationExecutor) -> list[tuple[str, str]]:
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_existing_rows_belong_to_the_provider_made_from_the_environment(settings: Any) -> None:
    settings.SIEULIKE_API_URL = "https://sieulike.example/api/v2"
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        user = old.get_model("auth", "User").objects.create(username="old-customer")
        service = old.get_model("catalog", "Service").objects.create(
            upstream_id=101,
            name="old",
            category="c",
            cost_rate=Decimal("10"),
            sell_rate=Decimal("13"),
            min_quantity=10,
            max_quantity=100,
        )
        old.get_model("catalog", "SyncRun").objects.create(kind="full")
        old.get_model("orders", "Order").objects.create(
            user=user,
            service=service,
            link="https://x.example/1",
            quantity=10,
            rate=Decimal("13"),
            charge=Decimal("0.13"),
            state="placed",
            upstream_id=777,
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(_leaves(executor))

    from catalog.models import Provider, Service, SyncRun
    from orders.models import Order

    provider = Provider.objects.get(from_env=True)
    assert (provider.name, provider.api_url, provider.rate) == (
        "sieulike",
        "https://sieulike.example/api/v2",
        Decimal("1"),
    )
    migrated = Service.objects.get(upstream_id=101)
    assert migrated.provider == provider and migrated.upstream_rate == Decimal("10")
    assert SyncRun.objects.get().provider == provider
    assert Order.objects.get(upstream_id=777).provider == provider
