"""The catalog sync against the sandbox upstream, over real HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import PauseReason, PriceChange, PricingSettings, Service, ServiceType, SyncRun
from catalog.pricing import price_for
from catalog.sync import catalog_sync
from panel.sandbox.catalog import CATALOG
from tests.factories import upstream_entry

pytestmark = pytest.mark.django_db


def catalog_snapshot() -> list[tuple]:
    return list(Service.objects.order_by("upstream_id").values_list())


def writes_to(queries: list[dict], *tables: str) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and any(f'"{table}"' in q["sql"] for table in tables)
    ]


def test_first_sync_mirrors_every_sandbox_service_with_its_fields(sandbox):
    # given the sandbox catalog and the default pricing (30 % markup, 5 % margin)
    rules = PricingSettings.load()

    # when
    run = catalog_sync()

    # then every upstream service is a panel service with the upstream's fields
    assert run.ok, run.message
    assert run.created == len(CATALOG) and run.updated == 0
    assert run.upstream_balance == Decimal("100000000.00")
    services = {s.upstream_id: s for s in Service.objects.all()}
    assert set(services) == {entry["service"] for entry in CATALOG}
    for entry in CATALOG:
        service = services[entry["service"]]
        assert service.name == entry["name"]
        assert service.category == entry["category"]
        assert service.description == entry["description"]
        assert service.cost_rate == Decimal(entry["rate"])
        assert (service.min_quantity, service.max_quantity) == (entry["min"], entry["max"])
        assert (service.dripfeed, service.refill, service.cancel) == (
            entry["dripfeed"],
            entry["refill"],
            entry["cancel"],
        )
        assert service.days_refill == entry["days_refill"]
        assert service.avg_time_min == entry["avg_time_min"]
        assert service.upstream_status == entry["status"]
        assert service.priority == entry["priority"]
        assert service.platform == entry["category"].split(" - ")[0]
        assert (
            service.sell_rate
            == price_for(
                cost_rate=service.cost_rate,
                default_markup=rules.default_markup_percent,
                min_margin=rules.min_margin_percent,
            ).sell_rate
        )
        assert service.is_available and not service.flagged
    assert services[212].type == ServiceType.PACKAGE
    assert services[109].type == ServiceType.CUSTOM_COMMENTS
    assert services[110].type == ServiceType.COMMENT_LIKES
    assert services[101].type == ServiceType.DEFAULT
    assert services[101].sell_rate == Decimal("4810.0000")  # 3700 x 1.30
    # the panel's ids are its own (a sequence), not the upstream's (which have gaps)
    assert {s.pk for s in services.values()} != set(services)
    assert not PriceChange.objects.exists()


def test_resync_with_no_change_writes_nothing_to_the_catalog(sandbox):
    # given a mirrored catalog
    assert catalog_sync().ok
    before = catalog_snapshot()

    # when the same answer is synced again
    with CaptureQueriesContext(connection) as queries:
        run = catalog_sync()

    # then no service or history row is inserted or updated
    assert run.ok and (run.created, run.updated, run.paused, run.restored) == (0, 0, 0, 0)
    assert writes_to(queries.captured_queries, "catalog_service", "catalog_pricechange") == []
    assert catalog_snapshot() == before
    assert not PriceChange.objects.exists()


def test_a_price_rise_is_followed_and_recorded_in_the_history(sandbox):
    # given
    assert catalog_sync().ok
    service = Service.objects.get(upstream_id=102)
    old_sell = service.sell_rate

    # when the upstream raises the cost of 102 from 12500 to 20000
    sandbox.update_service(102, rate="20000.0000", max=40000, cancel=False)
    run = catalog_sync()

    # then
    service.refresh_from_db()
    assert run.ok and run.updated == 1
    assert service.cost_rate == Decimal("20000.0000")
    assert service.sell_rate == Decimal("26000.0000")
    assert service.max_quantity == 40000 and service.cancel is False
    changes = {c.field: (c.old_value, c.new_value, c.sync_id) for c in service.changes.all()}
    assert changes == {
        "cost_rate": ("12500.0000", "20000.0000", run.pk),
        "sell_rate": (str(old_sell), "26000.0000", run.pk),
        "max_quantity": ("50000", "40000", run.pk),
        "cancel": ("true", "false", run.pk),
    }


def test_a_cost_above_a_fixed_price_raises_it_to_cost_plus_margin_and_flags_it(sandbox):
    # given a fixed price of 15 on service 102 (cost 12.5) and the "raise" policy
    assert catalog_sync().ok
    Service.objects.filter(upstream_id=102).update(
        fixed_rate=Decimal("15"), sell_rate=Decimal("15")
    )

    # when the cost rises to 16
    sandbox.update_service(102, rate="16.0000")
    assert catalog_sync().ok

    # then the price is cost + 5 % and the admin sees the flag; it is still for sale
    service = Service.objects.get(upstream_id=102)
    assert service.sell_rate == Decimal("16.8000")
    assert service.sell_rate >= service.cost_rate
    assert service.flagged and service.is_available


def test_a_cost_above_a_fixed_price_pauses_the_service_under_the_pause_policy_until_it_drops(
    sandbox,
):
    # given a fixed price of 15 on service 102 (cost 12.5) and the "pause" policy
    assert catalog_sync().ok
    PricingSettings.objects.filter(pk=1).update(below_cost_policy="pause")
    Service.objects.filter(upstream_id=102).update(
        fixed_rate=Decimal("15"), sell_rate=Decimal("15")
    )

    # when the cost rises above the fixed price
    sandbox.update_service(102, rate="16.0000")
    run = catalog_sync()

    # then it is paused, flagged, and never priced below cost
    service = Service.objects.get(upstream_id=102)
    assert run.paused == 1
    assert not service.listed and service.pause_reason == PauseReason.BELOW_COST
    assert service.flagged and service.sell_rate >= service.cost_rate

    # and when the cost falls back under the fixed price, it is on sale again at that price
    sandbox.update_service(102, rate="12.0000")
    run = catalog_sync()
    service.refresh_from_db()
    assert run.restored == 1
    assert service.listed and service.pause_reason == PauseReason.NONE and not service.flagged
    assert service.sell_rate == Decimal("15.0000")


def test_an_admin_pause_is_not_lifted_by_a_sync(sandbox):
    assert catalog_sync().ok
    Service.objects.filter(upstream_id=101).update(listed=False, pause_reason=PauseReason.ADMIN)
    sandbox.update_service(101, rate="4.0000")

    assert catalog_sync().ok

    service = Service.objects.get(upstream_id=101)
    assert not service.listed and service.pause_reason == PauseReason.ADMIN
    assert service.cost_rate == Decimal("4.0000")


def test_a_vanished_service_is_paused_not_deleted_and_comes_back(sandbox):
    # given
    assert catalog_sync().ok
    service = Service.objects.get(upstream_id=105)

    # when the upstream stops listing it
    sandbox.remove_service(105)
    run = catalog_sync()

    # then it is kept, unavailable
    service.refresh_from_db()
    assert run.paused == 1
    assert service.vanished and not service.is_available
    assert Service.objects.count() == len(CATALOG)

    # when it comes back
    sandbox.set_services([*sandbox.services, dict(next(e for e in CATALOG if e["service"] == 105))])
    run = catalog_sync()

    # then it is on sale again, and both events are in the history
    service.refresh_from_db()
    assert run.restored == 1
    assert service.is_available
    assert list(service.changes.order_by("id").values_list("field", "new_value")) == [
        ("vanished", "true"),
        ("vanished", "false"),
    ]


@pytest.mark.parametrize(
    "services",
    [
        pytest.param([], id="empty"),
        pytest.param([e for e in CATALOG if e["service"] < 200], id="more-than-half-gone"),
        pytest.param([upstream_entry(900 + n) for n in range(40)], id="same-size-other-ids"),
    ],
)
def test_a_suspiciously_short_answer_changes_nothing_and_is_reported(sandbox, services):
    # given a mirrored catalog
    assert catalog_sync().ok
    before = catalog_snapshot()

    # when the upstream answers a much smaller (or unrelated) catalog
    sandbox.set_services(services)
    run = catalog_sync()

    # then the sync is refused and recorded, the catalog untouched
    assert not run.ok and run.finished_at is not None
    assert "empty" in run.message or "refused as suspicious" in run.message
    assert catalog_snapshot() == before
    assert not PriceChange.objects.exists()


def test_a_large_shrink_is_applied_when_the_operator_allows_it(sandbox):
    assert catalog_sync().ok
    sandbox.set_services([e for e in CATALOG if e["service"] < 200])

    run = catalog_sync(allow_shrink=True)

    assert run.ok and run.paused == len([e for e in CATALOG if e["service"] >= 200])
    assert Service.objects.filter(vanished=True, upstream_id__gte=200).count() == run.paused


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("http_500_html", {}),
        ("html_200", {}),
        ("malformed_json", {}),
        ("truncated_json", {"mode": "short"}),
        ("drop_after_accept", {}),
        ("oversize", {}),
    ],
)
def test_a_failed_services_answer_changes_nothing_and_is_recorded(sandbox, kind, params):
    # given
    assert catalog_sync().ok
    sandbox.update_service(101, rate="99.0000")
    before = catalog_snapshot()

    # when the services call fails
    sandbox.inject_fault("services", kind, **params)
    run = catalog_sync()

    # then
    assert not run.ok and run.message
    assert catalog_snapshot() == before
    assert not PriceChange.objects.exists()
    # and the lock is released: the next sync applies the change
    assert catalog_sync().ok
    assert Service.objects.get(upstream_id=101).cost_rate == Decimal("99.0000")


def test_an_unreachable_upstream_changes_nothing_and_is_recorded(sandbox, settings):
    assert catalog_sync().ok
    before = catalog_snapshot()
    settings.SIEULIKE_API_URL = "http://127.0.0.1:9/api/v2"

    run = catalog_sync()

    assert not run.ok and "not reached" in run.message
    assert run.upstream_balance is None
    assert catalog_snapshot() == before


def test_a_rejected_services_call_is_recorded_with_the_upstreams_words(sandbox, settings):
    settings.SIEULIKE_API_KEY = "wrong-key"

    run = catalog_sync()

    assert not run.ok and "Invalid API key" in run.message
    assert not Service.objects.exists()


def test_the_balance_is_kept_and_a_missing_balance_does_not_fail_the_sync(sandbox):
    sandbox.set_balance("123456.78")
    assert catalog_sync().upstream_balance == Decimal("123456.78")

    sandbox.inject_fault("balance", "http_500_html")
    run = catalog_sync()

    assert run.ok and run.upstream_balance is None
    assert "balance unavailable" in run.message


def test_new_services_are_held_for_review_under_the_hold_policy(sandbox):
    # given a mirrored catalog and the "hold" policy
    assert catalog_sync().ok
    PricingSettings.objects.filter(pk=1).update(new_service_policy="hold")

    # when the upstream adds a service
    sandbox.set_services([*sandbox.services, upstream_entry(777, rate="5.0000")])
    run = catalog_sync()

    # then it is mirrored and priced, but not for sale
    service = Service.objects.get(upstream_id=777)
    assert run.created == 1
    assert not service.listed and service.pause_reason == PauseReason.REVIEW
    assert service.sell_rate == Decimal("6.5000")
    assert Service.objects.filter(listed=True).count() == len(CATALOG)


def test_new_services_are_listed_at_the_default_markup_under_the_list_policy(sandbox):
    assert catalog_sync().ok
    sandbox.set_services([*sandbox.services, upstream_entry(778, rate="5.0000")])

    assert catalog_sync().created == 1

    service = Service.objects.get(upstream_id=778)
    assert service.is_available and service.sell_rate == Decimal("6.5000")


def test_the_priority_sync_writes_only_priority_services_and_creates_nothing(sandbox):
    # given a mirrored catalog
    assert catalog_sync().ok
    # when prices move on a priority service (102) and a plain one (101), and a service appears
    sandbox.update_service(102, rate="13000.0000")
    sandbox.update_service(101, rate="5000.0000")
    sandbox.set_services([*sandbox.services, upstream_entry(779)])
    run = catalog_sync(kind=SyncRun.Kind.PRIORITY)

    # then only the priority service moved
    assert run.ok and run.kind == "priority"
    assert (run.created, run.updated) == (0, 1)
    assert Service.objects.get(upstream_id=102).cost_rate == Decimal("13000.0000")
    assert Service.objects.get(upstream_id=101).cost_rate == Decimal("3700.0000")
    assert not Service.objects.filter(upstream_id=779).exists()


def test_the_priority_sync_never_pauses_services_missing_from_the_answer(sandbox):
    assert catalog_sync().ok
    sandbox.remove_service(101)

    assert catalog_sync(kind=SyncRun.Kind.PRIORITY).ok

    assert Service.objects.get(upstream_id=101).is_available


def test_unusable_entries_are_skipped_and_reported_and_count_as_absent(sandbox):
    # given
    assert catalog_sync().ok
    # when one entry has max < min and a new one a negative number of refill days
    sandbox.update_service(101, min=500, max=100)
    sandbox.set_services([*sandbox.services, upstream_entry(780, days_refill=-1)])
    run = catalog_sync()

    # then
    assert run.ok and "2 unusable entries skipped" in run.message
    assert Service.objects.get(upstream_id=101).vanished
    assert not Service.objects.filter(upstream_id=780).exists()


def test_odd_but_valid_upstream_values_are_normalised(sandbox):
    sandbox.set_services(
        [
            upstream_entry(1, type="package", status="Overloaded", category="facebook like vn"),
            upstream_entry(
                2, type="Mentions", status="weird", category="Kênh lạ | Follow", min="20"
            ),
        ]
    )

    assert catalog_sync().ok

    first, second = Service.objects.order_by("upstream_id")
    assert (first.type, first.upstream_status, first.platform) == (
        "Package",
        "overload",
        "Facebook",
    )
    assert (second.type, second.upstream_status, second.platform) == (
        "Mentions",
        "weird",
        "Kênh lạ",
    )
    assert second.min_quantity == 20
