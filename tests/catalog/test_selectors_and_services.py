"""Selectors other apps rely on, and the admin-side services (reprice, pause, resume, markup)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import PauseReason, PriceChange, PricingSettings, Service
from catalog.selectors import (
    catalog_version,
    service_for_sale,
    services_flagged,
    services_for_sale,
    services_slow_now,
    upstream_balance_status,
)
from catalog.services import (
    catalog_reprice,
    service_pause,
    service_resume,
    service_set_markup,
)
from catalog.sync import catalog_sync
from tests.factories import make_service

pytestmark = pytest.mark.django_db


def test_only_listed_services_present_upstream_are_for_sale():
    sellable = make_service()
    held = make_service(listed=False, pause_reason=PauseReason.REVIEW)
    gone = make_service(vanished=True)

    assert service_for_sale(service_id=sellable.pk) == sellable
    assert service_for_sale(service_id=held.pk) is None
    assert service_for_sale(service_id=gone.pk) is None
    assert service_for_sale(service_id=999_999) is None
    assert list(services_for_sale()) == [sellable]


def test_priority_services_come_first_for_sale():
    plain = make_service(category="A", sell_rate=Decimal("1"))
    top = make_service(category="Z", priority=True)

    assert list(services_for_sale()) == [top, plain]


def test_slow_and_flagged_selectors():
    slow = make_service(upstream_status="slow")
    busy = make_service(upstream_status="overload")
    make_service()
    flagged = make_service(flagged=True)

    assert set(services_slow_now()) == {slow, busy}
    assert list(services_flagged()) == [flagged]


def test_the_catalog_version_moves_when_a_sync_changes_something_and_only_then(sandbox):
    first = catalog_version()
    assert catalog_version() == first  # stable between changes

    catalog_sync()
    after_import = catalog_version()
    catalog_sync()
    after_nothing = catalog_version()
    sandbox.update_service(101, rate="9.0000")
    catalog_sync()

    assert after_import != first
    assert after_nothing == after_import
    assert catalog_version() != after_nothing


def test_the_catalog_version_moves_after_a_reprice_commits(django_capture_on_commit_callbacks):
    make_service(cost_rate=Decimal("10"), sell_rate=Decimal("1"))
    before = catalog_version()

    with django_capture_on_commit_callbacks(execute=True):
        assert catalog_reprice() == 1

    assert catalog_version() != before


def test_the_upstream_balance_status_reads_the_last_known_balance(sandbox):
    assert upstream_balance_status()[:4] == (None, Decimal("500000.00"), False, None)

    sandbox.set_balance("499999.99")
    catalog_sync()
    sandbox.inject_fault("services", "http_500_html")
    sandbox.inject_fault("balance", "http_500_html")
    failed = catalog_sync()

    balance, threshold, is_low, last_sync, as_of, error = upstream_balance_status()
    assert balance == Decimal("499999.99") and is_low and last_sync == failed
    assert as_of is not None and error.startswith("balance unavailable")
    PricingSettings.objects.filter(pk=1).update(upstream_balance_warning=Decimal("100"))
    assert not upstream_balance_status().is_low


def test_reprice_makes_as_many_queries_for_300_services_as_for_30():
    def reprice_queries(size: int) -> int:
        Service.objects.all().delete()
        for _ in range(size):
            make_service(cost_rate=Decimal("10"), sell_rate=Decimal("1"))
        with CaptureQueriesContext(connection) as queries:
            assert catalog_reprice() == size
        return len(queries)

    PricingSettings.load()
    assert reprice_queries(30) == reprice_queries(300)
    assert PriceChange.objects.filter(field="sell_rate").count() == 300


def test_a_fixed_price_below_cost_is_flagged_when_set_and_lifted_to_the_floor():
    service = make_service(cost_rate=Decimal("10"))

    service_set_markup(service_ids=[service.pk], markup_percent=None, fixed_rate=Decimal("9"))

    service.refresh_from_db()
    assert service.flagged and service.sell_rate == Decimal("10.5000") and service.listed


def test_resuming_a_service_below_cost_under_the_pause_policy_keeps_it_paused_quietly():
    PricingSettings.objects.update_or_create(pk=1, defaults={"below_cost_policy": "pause"})
    service = make_service(cost_rate=Decimal("10"), fixed_rate=Decimal("9"))
    catalog_reprice()
    service.refresh_from_db()
    assert not service.listed and service.pause_reason == PauseReason.BELOW_COST
    PriceChange.objects.all().delete()

    service_resume(service_ids=[service.pk])

    service.refresh_from_db()
    assert not service.listed and service.pause_reason == PauseReason.BELOW_COST
    assert not PriceChange.objects.exists()  # no "listed, then paused again" noise


def test_an_admin_pause_survives_a_reprice_and_resume_lists_again():
    service = make_service()

    service_pause(service_ids=[service.pk])
    catalog_reprice()
    service.refresh_from_db()
    assert not service.listed and service.pause_reason == PauseReason.ADMIN

    service_resume(service_ids=[service.pk])
    service.refresh_from_db()
    assert service.listed and service.pause_reason == PauseReason.NONE


def test_negative_rules_are_refused():
    service = make_service()
    with pytest.raises(ValueError):
        service_set_markup(service_ids=[service.pk], markup_percent=Decimal("-1"), fixed_rate=None)
    with pytest.raises(ValueError):
        service_set_markup(service_ids=[service.pk], markup_percent=None, fixed_rate=Decimal("-1"))


def test_the_catalog_version_is_a_database_row_not_a_cache_entry() -> None:
    # given a version, when the cache is lost (flushed, another process's, a restart)
    from django.core.cache import cache

    before = catalog_version()
    cache.clear()
    # then the version is the same: it is the database's
    assert catalog_version() == before
