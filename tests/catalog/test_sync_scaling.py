"""A sync's number of queries does not grow with the size of the catalog."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import PriceChange, PricingSettings, Provider, Service, SyncRun
from catalog.sync import catalog_sync
from tests.factories import generated_catalog

pytestmark = pytest.mark.django_db


def queries_of_a_sync_lifecycle(sandbox, size: int) -> dict[str, int]:
    """Queries of: the first sync, a sync after 10 % of prices moved and 10 % vanished, a sync
    with nothing changed, and a sync where the vanished ones came back."""
    Service.objects.all().delete()
    SyncRun.objects.all().delete()
    catalog = generated_catalog(size, start=100_000 * size)
    counts: dict[str, int] = {}

    sandbox.set_services(catalog)
    with CaptureQueriesContext(connection) as first:
        assert catalog_sync().created == size
    counts["first"] = len(first)

    tenth = size // 10
    moved = [dict(entry, rate="500.0000") for entry in catalog[:tenth]]
    sandbox.set_services(moved + catalog[tenth : size - tenth])
    with CaptureQueriesContext(connection) as changed:
        run = catalog_sync()
    assert (run.updated, run.paused) == (tenth, tenth)
    counts["changed"] = len(changed)

    with CaptureQueriesContext(connection) as unchanged:
        assert catalog_sync().updated == 0
    counts["unchanged"] = len(unchanged)

    sandbox.set_services(moved + catalog[tenth:])
    with CaptureQueriesContext(connection) as restored:
        assert catalog_sync().restored == tenth
    counts["restored"] = len(restored)
    assert PriceChange.objects.filter(field="vanished").count() == 2 * tenth
    return counts


def test_a_sync_makes_as_many_queries_for_500_services_as_for_50(sandbox):
    PricingSettings.load()  # created once, outside the measured syncs
    Provider.default()  # likewise the SIEULIKE_* provider, brought up to date with the settings
    small = queries_of_a_sync_lifecycle(sandbox, 50)
    large = queries_of_a_sync_lifecycle(sandbox, 500)

    assert small == large
    # and the number is small: claim, rules, fence, provider (rate, balance), read, writes, finish,
    # and the balance reading, the provider's balance and the catalog version (issues 11, 12)
    assert max(small.values()) <= 20, small
