"""The catalog's Django admin: rules reprice, actions go through the services, nothing deletes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from catalog.models import (
    CategoryMarkup,
    PauseReason,
    PriceChange,
    PricingSettings,
    Service,
    SyncRun,
)
from catalog.sync import catalog_sync
from tests.factories import make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_client):
    return admin_client


def changelist() -> str:
    return reverse("admin:catalog_service_changelist")


def test_every_catalog_admin_page_renders(staff, sandbox):
    catalog_sync()
    service = Service.objects.get(upstream_id=101)
    PriceChange.objects.create(service=service, field="sell_rate", old_value="1", new_value="2")
    CategoryMarkup.objects.create(category="TikTok - Tim", markup_percent=Decimal("40"))
    pages = [
        changelist(),
        changelist() + "?flagged__exact=1&q=101",
        reverse("admin:catalog_service_change", args=[service.pk]),
        reverse("admin:catalog_pricechange_changelist"),
        reverse("admin:catalog_categorymarkup_changelist"),
        reverse("admin:catalog_categorymarkup_add"),
        reverse("admin:catalog_syncrun_changelist"),
        reverse("admin:catalog_syncrun_change", args=[SyncRun.objects.get().pk]),
    ]
    for url in pages:
        assert staff.get(url).status_code == 200, url
    settings_page = staff.get(reverse("admin:catalog_pricingsettings_changelist"))
    assert settings_page.status_code == 302
    assert staff.get(settings_page.url).status_code == 200


def test_the_service_changelist_warns_when_the_upstream_balance_is_low(staff, sandbox):
    sandbox.set_balance("1000")
    catalog_sync()

    html = staff.get(changelist(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "The upstream balance is low: 1.000 ₫" in html
    assert "below the warning threshold of 500.000 ₫" in html


def test_the_service_changelist_does_not_warn_when_the_balance_is_fine(staff, sandbox):
    catalog_sync()

    html = staff.get(changelist(), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "100.000.000 ₫" in html and "balance is low" not in html


def test_saving_a_service_markup_reprices_it_and_records_who(staff, admin_user):
    service = make_service(cost_rate=Decimal("10"), sell_rate=Decimal("13"))

    response = staff.post(
        reverse("admin:catalog_service_change", args=[service.pk]),
        {
            "markup_percent": "50",
            "fixed_rate": "",
            "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0",
            "backups-TOTAL_FORMS": "0",
            "backups-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    service.refresh_from_db()
    assert service.markup_percent == Decimal("50") and service.sell_rate == Decimal("15.0000")
    change = PriceChange.objects.get(service=service)
    assert (change.field, change.new_value, change.changed_by) == (
        "sell_rate",
        "15.0000",
        admin_user,
    )


def test_the_admin_cannot_type_a_sell_rate_or_delete_a_service(staff):
    service = make_service(sell_rate=Decimal("13"))

    staff.post(
        reverse("admin:catalog_service_change", args=[service.pk]),
        {
            "sell_rate": "1",
            "listed": "",
            "cost_rate": "0",
            "markup_percent": "",
            "fixed_rate": "",
            "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0",
            "backups-TOTAL_FORMS": "0",
            "backups-INITIAL_FORMS": "0",
        },
    )
    response = staff.get(reverse("admin:catalog_service_delete", args=[service.pk]))

    service.refresh_from_db()
    assert service.sell_rate == Decimal("13.0000") and service.listed
    assert service.cost_rate == Decimal("10.0000")
    assert response.status_code == 403


def test_pause_and_resume_actions_go_through_the_services_and_the_history(staff, admin_user):
    services = [make_service(), make_service()]
    ids = [str(s.pk) for s in services]

    staff.post(changelist(), {"action": "pause_selected", ACTION_CHECKBOX_NAME: ids})
    assert not Service.objects.filter(listed=True).exists()
    assert set(Service.objects.values_list("pause_reason", flat=True)) == {PauseReason.ADMIN}

    staff.post(changelist(), {"action": "resume_selected", ACTION_CHECKBOX_NAME: ids})
    assert Service.objects.filter(listed=True, pause_reason="").count() == 2
    assert PriceChange.objects.filter(field="listed", changed_by=admin_user).count() == 4


def test_the_set_markup_action_asks_then_applies_a_fixed_price(staff):
    service = make_service(cost_rate=Decimal("10"))
    selected = {"action": "set_markup", ACTION_CHECKBOX_NAME: [str(service.pk)]}

    form_page = staff.post(changelist(), selected)
    assert form_page.status_code == 200 and b'name="apply"' in form_page.content

    missing = staff.post(changelist(), {**selected, "rule": "fixed", "apply": "1"})
    assert missing.status_code == 200 and b"errorlist" in missing.content

    staff.post(changelist(), {**selected, "rule": "fixed", "fixed_rate": "19.99", "apply": "1"})
    service.refresh_from_db()
    assert service.fixed_rate == Decimal("19.9900") and service.sell_rate == Decimal("19.9900")

    staff.post(changelist(), {**selected, "rule": "clear", "apply": "1"})
    service.refresh_from_db()
    assert service.fixed_rate is None and service.sell_rate == Decimal("13.0000")


def test_the_set_markup_action_shows_the_price_charged_below_cost_before_applying(staff):
    settings_row = PricingSettings.load()
    settings_row.min_margin_percent = Decimal("10")
    settings_row.below_cost_policy = PricingSettings.BelowCostPolicy.RAISE
    settings_row.save()
    cheap = make_service(cost_rate=Decimal("10"), sell_rate=Decimal("13"), name="Cheap")
    dear = make_service(cost_rate=Decimal("30"), sell_rate=Decimal("39"), name="Dear")
    selected = {"action": "set_markup", ACTION_CHECKBOX_NAME: [str(cheap.pk), str(dear.pk)]}
    fixed = {**selected, "rule": "fixed", "fixed_rate": "20", "apply": "1"}

    page = staff.post(changelist(), fixed, HTTP_ACCEPT_LANGUAGE="en")

    # Nothing applied yet; the page names the service and the price it will really sell at.
    html = page.content.decode()
    assert page.status_code == 200 and 'name="confirm"' in html
    assert f"#{dear.pk} Dear" in html and f"#{cheap.pk} Cheap" not in html
    assert "customers are charged 33 ₫" in html and "minimum margin of 10%" in html
    dear.refresh_from_db()
    assert dear.fixed_rate is None and dear.sell_rate == Decimal("39")

    done = staff.post(changelist(), {**fixed, "confirm": "1"}, HTTP_ACCEPT_LANGUAGE="en")

    assert done.status_code == 302
    cheap.refresh_from_db()
    dear.refresh_from_db()
    assert cheap.sell_rate == Decimal("20") and dear.sell_rate == Decimal("33")
    assert dear.flagged and dear.fixed_rate == Decimal("20")
    shown = [str(m) for m in staff.get(done.url).context["messages"]]
    assert any("1 of them is priced at cost plus the minimum margin" in m for m in shown)


def test_the_set_markup_action_says_a_fixed_price_below_cost_pauses_the_service(staff):
    settings_row = PricingSettings.load()
    settings_row.min_margin_percent = Decimal("10")
    settings_row.below_cost_policy = PricingSettings.BelowCostPolicy.PAUSE
    settings_row.save()
    service = make_service(cost_rate=Decimal("30"), sell_rate=Decimal("39"))
    fixed = {
        "action": "set_markup",
        ACTION_CHECKBOX_NAME: [str(service.pk)],
        "rule": "fixed",
        "fixed_rate": "20",
        "apply": "1",
    }

    html = staff.post(changelist(), fixed, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "pause such a service: it is taken off sale" in html
    service.refresh_from_db()
    assert service.listed and service.fixed_rate is None


def test_the_set_markup_action_says_a_markup_below_the_minimum_margin_is_raised(staff):
    settings_row = PricingSettings.load()
    settings_row.min_margin_percent = Decimal("10")
    settings_row.save()
    service = make_service(cost_rate=Decimal("30"), sell_rate=Decimal("39"))
    percent = {
        "action": "set_markup",
        ACTION_CHECKBOX_NAME: [str(service.pk)],
        "rule": "percent",
        "markup_percent": "5",
        "apply": "1",
    }

    html = staff.post(changelist(), percent, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "The markup is below the minimum margin of 10%" in html
    assert "customers are charged 33 ₫" in html
    service.refresh_from_db()
    assert service.markup_percent is None

    staff.post(changelist(), {**percent, "confirm": "1"})
    service.refresh_from_db()
    assert service.markup_percent == Decimal("5") and service.sell_rate == Decimal("33")


def test_changing_the_pricing_settings_reprices_the_whole_catalog(staff, sandbox):
    catalog_sync()
    settings_row = PricingSettings.load()

    staff.post(
        reverse("admin:catalog_pricingsettings_change", args=[settings_row.pk]),
        {
            "default_markup_percent": "100",
            "min_margin_percent": "5",
            "rounding_step": "1000",
            "new_service_policy": "list",
            "below_cost_policy": "raise",
            "upstream_balance_warning": "500000",
        },
    )

    # 3.700 x 2 = 7.400 -> up to 8.000
    assert Service.objects.get(upstream_id=101).sell_rate == Decimal("8000.0000")
    rates = list(Service.objects.values_list("cost_rate", "sell_rate"))
    assert all(sell % 1000 == 0 and sell >= 2 * cost for cost, sell in rates)


def test_a_category_markup_reprices_its_category_and_its_removal_reprices_it_back(staff):
    inside = make_service(category="TikTok - Tim", cost_rate=Decimal("10"))
    outside = make_service(category="Facebook - Like", cost_rate=Decimal("10"))

    staff.post(
        reverse("admin:catalog_categorymarkup_add"),
        {"category": "TikTok - Tim", "markup_percent": "80"},
    )
    inside.refresh_from_db()
    outside.refresh_from_db()
    assert inside.sell_rate == Decimal("18.0000") and outside.sell_rate == Decimal("13.0000")

    markup = CategoryMarkup.objects.get()
    staff.post(reverse("admin:catalog_categorymarkup_delete", args=[markup.pk]), {"post": "yes"})
    inside.refresh_from_db()
    assert inside.sell_rate == Decimal("13.0000")


def test_the_sync_button_runs_a_full_sync_through_the_task(staff, sandbox):
    response = staff.post(reverse("admin:catalog_service_sync"))

    assert response.status_code == 302
    run = SyncRun.objects.get()
    assert run.ok and run.kind == "full" and Service.objects.count() == run.created


def test_the_sync_button_refuses_get(staff):
    assert staff.get(reverse("admin:catalog_service_sync")).status_code == 405


def test_the_service_changelist_offers_the_sync_button_to_staff_who_may_change(staff):
    html = staff.get(changelist()).content.decode()

    assert reverse("admin:catalog_service_sync") in html
