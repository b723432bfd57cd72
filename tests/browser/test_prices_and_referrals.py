"""Running a shop (issue 16), prices per customer and referrals, in a real browser:

- staff give a reseller a discount in the admin; the reseller sees it on the API page and in the
  catalog, and the API over real HTTP lists the discounted price and `add` charges exactly it;
- a visitor signs up through a customer's referral link; their completed and partially refunded
  orders (ended by the sandbox upstream, polled as Celery beat would) leave exactly the right
  commission, which the referrer sees and moves to their balance.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from billing.models import Commission, EntryKind, LedgerEntry, Referral, ReferralLink, WalletKind
from billing.selectors import ledger_problems
from billing.services import wallet_balance, wallet_deposit
from catalog.models import CustomerPricing
from orders.models import OrderState
from orders.placing import order_place
from tests.factories import make_customer, make_customer_with_key, make_staff, synced_catalog

from .conftest import PASSWORD, money_text

pytestmark = [
    pytest.mark.browser,
    pytest.mark.axes,
    pytest.mark.vietnamese,  # the shop's real default language, as its customers see it
    pytest.mark.django_db(transaction=True),
]

D = Decimal
LINK = "https://www.tiktok.com/@cua_hang_hoa/video/73123456789012345"


def api(base_url: str, **fields: Any) -> Any:
    """One API v2 call over real HTTP to the live server, as a reseller's script makes it."""
    body = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(base_url + "/api/v2", data=body, timeout=10) as response:  # noqa: S310 (the test's own live server)
        return json.loads(response.read())


def test_a_discounted_reseller_sees_and_pays_their_price_in_the_browser_and_the_api(
    open_tab: Any, sandbox: Any, live_server: Any
) -> None:
    services = synced_catalog()
    service = services[101]
    reseller = make_customer_with_key(
        username="dai_ly", email="dl@example.com", password=PASSWORD, balance="100000"
    )
    make_staff(username="quanly", email="ql@example.com", password=PASSWORD, superuser=True)

    # Staff give the reseller 10 % off in the admin.
    admin = open_tab("staff")
    admin.admin_login("quanly")
    admin.goto(f"/{settings.ADMIN_URL}catalog/customerpricing/add/", "customer-price-add")
    admin.page.fill("#id_user", str(reseller.user.pk))
    admin.page.fill("#id_discount_percent", "10")
    with admin.page.expect_navigation():
        admin.page.click("input[name=_save]")
    admin.snap("customer-price-saved")
    pricing = CustomerPricing.objects.get(user=reseller.user)
    assert pricing.discount_percent == D("10")
    expected = (service.sell_rate * D("0.9")).quantize(D("0.0001"))
    assert expected >= service.cost_rate * D("1.05")  # above the floor: the discount applies

    # The reseller sees the discount on the API page and their price in the catalog.
    tab = open_tab("reseller")
    tab.login("dai_ly")
    tab.goto("/api/", "api-docs-discount")
    assert "10 %" in tab.text("[data-testid=api-discount]")
    tab.goto(f"/services/?q=%23{service.pk}", "catalog-own-price")
    assert tab.text(f"[data-testid=price-{service.pk}]").startswith(money_text(expected))

    # Over real HTTP: `services` lists the discounted rate (twice: the cached answer too) ...
    for _ in range(2):
        listed = api(live_server.url, key=reseller.key, action="services")
        row = next(row for row in listed if row["service"] == service.pk)
        assert D(row["rate"]) == expected
    # ... and `add` charges exactly it.
    answer = api(
        live_server.url,
        key=reseller.key,
        action="add",
        service=service.pk,
        link=LINK,
        quantity=2000,
    )
    charge = LedgerEntry.objects.get(order_id=answer["order"], kind=EntryKind.CHARGE)
    assert -charge.amount == (expected * 2).quantize(D("0.01"))
    # A customer without a rule still gets the shop's price from the same cache.
    plain = make_customer_with_key(balance="100")
    row = next(
        r
        for r in api(live_server.url, key=plain.key, action="services")
        if r["service"] == service.pk
    )
    assert D(row["rate"]) == service.sell_rate
    tab.goto("/transactions/", "transactions-discounted-charge")
    assert list(ledger_problems()) == []


def test_a_referred_customers_orders_earn_the_referrer_exactly_their_commission(
    open_tab: Any, sandbox: Any, settings: Any
) -> None:
    settings.REFERRAL_COMMISSION_PERCENT = D("10")
    settings.REFERRAL_MIN_MOVE = D("1")
    services = synced_catalog()
    make_customer(username="gioi_thieu", email="gt@example.com", password=PASSWORD)

    # The referrer finds their link on the referral page.
    referrer_tab = open_tab("referrer")
    referrer_tab.login("gioi_thieu")
    referrer_tab.goto("/referrals/", "referrals-empty")
    link = referrer_tab.text("[data-testid=referral-link]")
    assert link.endswith(f"/r/{ReferralLink.objects.get(user__username='gioi_thieu').code}/")

    # A visitor follows it and signs up.
    visitor = open_tab("visitor")
    visitor.page.goto(link)
    assert "/accounts/signup/" in visitor.page.url
    visitor.snap("signup-through-link")
    visitor.page.fill("#id_username", "khach_moi")
    visitor.page.fill("#id_email", "km@example.com")
    visitor.page.fill("#id_password1", PASSWORD)
    visitor.page.fill("#id_password2", PASSWORD)
    visitor.page.check("#id_accept_terms")
    with visitor.page.expect_navigation():
        visitor.page.click("main form button[type=submit]")
    visitor.snap("welcome")
    referral = Referral.objects.get(referred__username="khach_moi")
    assert referral.referrer.username == "gioi_thieu"

    # The new customer tops up and orders; one order completes, one ends Partial.
    customer = referral.referred
    wallet_deposit(user=customer, amount=D("200000"), memo="bank transfer")
    completed = order_place(
        user=customer, service_id=services[101].pk, link=LINK + "1", quantity=1000
    )
    partial = order_place(
        user=customer, service_id=services[101].pk, link=LINK + "2", quantity=3000
    )
    call_command("sync_orders", stdout=StringIO())  # forwards both
    partial.refresh_from_db()
    sandbox.set_fate(partial.upstream_id, status="Partial", remains=1000)
    sandbox.advance(3 * 86400)
    call_command("sync_orders", stdout=StringIO())  # polls: both end
    completed.refresh_from_db()
    partial.refresh_from_db()
    assert (completed.state, partial.state) == (OrderState.COMPLETED, OrderState.PARTIAL)
    refund = LedgerEntry.objects.get(order=partial, kind=EntryKind.REFUND).amount
    assert refund == (partial.charge / 3).quantize(D("0.01"))
    spend = completed.charge + partial.charge - refund
    commission = (completed.charge * D("0.1")).quantize(D("0.01")) + (
        (partial.charge - refund) * D("0.1")
    ).quantize(D("0.01"))
    assert sum(Commission.objects.values_list("amount", flat=True)) == commission

    # The referrer sees the visit, the sign-up, the spend and the commission, and moves it.
    referrer_tab.goto("/referrals/", "referrals-earned")
    assert referrer_tab.text("[data-testid=referral-visits]") == "1"
    assert referrer_tab.text("[data-testid=referral-signups]") == "1"
    assert referrer_tab.text("[data-testid=referral-spend]") == money_text(spend)
    assert referrer_tab.text("[data-testid=referral-earned]") == money_text(commission)
    assert referrer_tab.page.locator("[data-testid=commission-entry]").count() == 2
    referrer_tab.page.fill("#id_amount", str(commission))
    with referrer_tab.page.expect_navigation():
        referrer_tab.page.click("[data-testid=commission-move]")
    referrer_tab.snap("commission-moved")
    assert referrer_tab.page.is_visible(".msg.success")
    assert referrer_tab.text("[data-testid=balance]") == money_text(commission)
    assert referrer_tab.text("[data-testid=referral-available]") == money_text(D("0"))
    referrer = referral.referrer
    assert wallet_balance(user=referrer) == commission
    assert wallet_balance(user=referrer, kind=WalletKind.COMMISSION) == 0
    assert list(ledger_problems()) == []
