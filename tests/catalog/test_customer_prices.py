"""Prices per customer: a discount or fixed rates, never below cost + the minimum margin unless
allowed, shown on every page and in the API, and charged by order_place (price shown = price
charged)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import EntryKind, LedgerEntry
from catalog.models import CustomerPricing, CustomerRate, PricingSettings, Service
from catalog.pricing import CustomerRule, customer_price
from catalog.selectors import customer_price_for, customer_price_rule, with_customer_prices
from orders.placing import order_place, orders_place_mass
from tests.factories import PASSWORD, make_customer, make_customer_with_key, make_service

D = Decimal
LINK = "https://tiktok.com/@user/video/123"

# --- the pure function ---------------------------------------------------------------------------


def price(**kwargs: Any) -> Any:
    values = {"list_rate": D("20"), "cost_rate": D("10"), "min_margin": D("5")} | kwargs
    return customer_price(**values)


def test_without_a_rule_the_customer_pays_the_list_price() -> None:
    got = price()
    assert (got.rate, got.rule, got.discounted) == (D("20.0000"), CustomerRule.LIST, False)


def test_a_discount_takes_its_percentage_off_the_list_price_half_up() -> None:
    got = price(list_rate=D("13.3333"), discount_percent=D("10"))
    # 13.3333 x 0.9 = 11.99997 -> 12.0000 (half up to four decimals)
    assert (got.rate, got.rule, got.discounted) == (D("12.0000"), CustomerRule.DISCOUNT, True)


def test_a_discount_never_takes_the_price_below_cost_plus_the_minimum_margin() -> None:
    got = price(discount_percent=D("60"))  # 8.00 wanted; the floor is 10 x 1.05 = 10.50
    assert (got.rate, got.floored) == (D("10.5000"), True)


def test_staff_may_allow_a_customer_below_the_floor() -> None:
    got = price(discount_percent=D("60"), allow_below_floor=True)
    assert (got.rate, got.floored) == (D("8.0000"), False)


def test_a_fixed_rate_wins_over_the_discount_and_is_floored_too() -> None:
    assert price(discount_percent=D("10"), fixed_rate=D("15")).rate == D("15.0000")
    assert price(fixed_rate=D("3")).rate == D("10.5000")
    assert price(fixed_rate=D("3"), allow_below_floor=True).rate == D("3.0000")


def test_a_customer_price_is_never_above_the_list_price() -> None:
    got = price(fixed_rate=D("25"))
    assert (got.rate, got.rule) == (D("20.0000"), CustomerRule.FIXED)


@pytest.mark.parametrize(
    "bad",
    [
        {"discount_percent": D("100")},
        {"discount_percent": D("-1")},
        {"fixed_rate": D("0")},
        {"cost_rate": D("-1")},
    ],
)
def test_nonsense_rules_are_refused(bad: dict[str, Decimal]) -> None:
    with pytest.raises(ValueError):
        price(**bad)


# --- one selector for every reader ---------------------------------------------------------------


def give(user: Any, *, discount: str = "0", allow: bool = False, **fixed: Any) -> CustomerPricing:
    pricing = CustomerPricing.objects.create(
        user=user, discount_percent=D(discount), allow_below_floor=allow
    )
    for service, rate in fixed.values():
        CustomerRate.objects.create(pricing=pricing, service=service, rate=D(rate))
    return pricing


@pytest.fixture
def service(db: None) -> Service:
    PricingSettings.objects.create(pk=1, min_margin_percent=D("5"))
    return make_service(cost_rate="10", sell_rate="20", min_quantity=10, max_quantity=10_000)


@pytest.mark.django_db
def test_the_selector_prices_each_customer_by_their_own_rule(service: Service) -> None:
    other = make_service(cost_rate="10", sell_rate="20")
    vip, regular = make_customer(), make_customer()
    give(vip, discount="10", fixed=(other, "12"))
    mine = {
        s.pk: s.customer_rate for s in with_customer_prices(user=vip, services=[service, other])
    }
    theirs = {s.pk: s.customer_rate for s in with_customer_prices(user=regular, services=[service])}
    assert mine == {service.pk: D("18.0000"), other.pk: D("12.0000")}
    assert theirs == {service.pk: D("20.0000")}
    assert with_customer_prices(user=None, services=[service])[0].customer_rate == D("20.0000")


@pytest.mark.django_db
def test_order_place_charges_the_customers_own_price(service: Service) -> None:
    customer = make_customer(balance="100000")
    give(customer, discount="25")  # 20 -> 15 per 1000
    order = order_place(user=customer, service_id=service.pk, link=LINK, quantity=1000)
    assert (order.rate, order.charge) == (D("15.0000"), D("15.00"))
    charge = LedgerEntry.objects.get(order=order, kind=EntryKind.CHARGE)
    assert charge.amount == D("-15.00")
    assert customer_price_for(user=customer, service=service).rate == order.rate


@pytest.mark.django_db
def test_a_mass_order_charges_the_customers_own_price_on_every_line(service: Service) -> None:
    customer = make_customer(balance="100000")
    give(customer, fixed=(service, "11"))
    results = orders_place_mass(
        user=customer, text=f"{service.pk}|{LINK}|1000\n{service.pk}|{LINK}/2|2000"
    )
    assert [r.order.charge for r in results if r.order] == [D("11.00"), D("22.00")]


@pytest.mark.django_db
def test_the_floor_holds_at_the_charge_unless_staff_allow_it(service: Service) -> None:
    floored, allowed = make_customer(balance="1000"), make_customer(balance="1000")
    give(floored, discount="90")
    give(allowed, discount="90", allow=True)
    low = order_place(user=floored, service_id=service.pk, link=LINK, quantity=1000)
    lower = order_place(user=allowed, service_id=service.pk, link=LINK, quantity=1000)
    assert low.charge == D("10.50")  # cost 10 + 5 % margin
    assert lower.charge == D("2.00")


# --- pages ---------------------------------------------------------------------------------------


def logged_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.mark.django_db
def test_the_catalog_and_the_order_form_show_the_customers_own_price(service: Service) -> None:
    customer = make_customer(balance="100")
    give(customer, discount="10")
    client = logged_in(customer)
    catalog = client.get(reverse("catalog:list")).content.decode()
    form = client.get(reverse("orders:new") + f"?service={service.pk}").content.decode()
    assert "18 ₫" in catalog and "your price" in catalog
    assert 'data-rate="18.0000"' in form and 'data-rate="20.0000"' not in form
    # a visitor sees the shop's price
    assert "20 ₫" in Client().get(reverse("catalog:list")).content.decode()


@pytest.mark.django_db
def test_a_reseller_with_a_discount_sees_it_on_the_api_page(service: Service) -> None:
    customer = make_customer()
    give(customer, discount="12.5")
    page = logged_in(customer).get(reverse("api_docs")).content.decode()
    assert "discount of 12.5 %" in page
    assert "discount of" not in logged_in(make_customer()).get(reverse("api_docs")).content.decode()


# --- the API's cached services answer ------------------------------------------------------------


def api(key: str, action: str, **fields: Any) -> Any:
    response = Client().post("/api/v2", {"key": key, "action": action, **fields})
    return json.loads(response.content)


def rate_of(answer: list[dict[str, Any]], service: Service) -> str:
    return next(row["rate"] for row in answer if row["service"] == service.pk)


@pytest.mark.django_db
def test_no_customer_is_ever_served_another_customers_cached_prices(service: Service) -> None:
    vip, plain, other_vip = (make_customer_with_key() for _ in range(3))
    give(vip.user, discount="10")
    give(other_vip.user, discount="20")
    # each asks twice: the second answer comes from the cache
    for _ in range(2):
        assert rate_of(api(vip.key, "services"), service) == "18.0000"
        assert rate_of(api(plain.key, "services"), service) == "20.0000"
        assert rate_of(api(other_vip.key, "services"), service) == "16.0000"


@pytest.mark.django_db
def test_a_changed_rule_is_served_at_once_despite_the_cache(service: Service) -> None:
    vip = make_customer_with_key()
    pricing = give(vip.user, discount="10")
    assert rate_of(api(vip.key, "services"), service) == "18.0000"
    pricing.discount_percent = D("30")
    pricing.save()
    assert rate_of(api(vip.key, "services"), service) == "14.0000"
    # a fixed rate added, then removed, alone (the rule row untouched) is seen at once too
    rate = CustomerRate.objects.create(pricing=pricing, service=service, rate=D("12"))
    assert rate_of(api(vip.key, "services"), service) == "12.0000"
    rate.delete()
    assert rate_of(api(vip.key, "services"), service) == "14.0000"
    # and a new minimum margin moves the floor
    PricingSettings.objects.filter(pk=1).update(min_margin_percent=D("50"))
    assert rate_of(api(vip.key, "services"), service) == "15.0000"


@pytest.mark.django_db
def test_the_api_add_charges_the_price_the_api_services_showed(service: Service) -> None:
    vip = make_customer_with_key(balance="1000")
    give(vip.user, discount="15")
    shown = D(rate_of(api(vip.key, "services"), service))
    answer = api(vip.key, "add", service=service.pk, link=LINK, quantity=2000)
    charged = LedgerEntry.objects.get(order_id=answer["order"], kind=EntryKind.CHARGE).amount
    assert shown == D("17.0000") and -charged == shown * 2 == D("34.00")


@pytest.mark.django_db
def test_a_rule_is_one_query(service: Service, django_assert_num_queries: Any) -> None:
    vip = make_customer()
    give(vip, discount="10", fixed=(service, "15"))
    with django_assert_num_queries(1):
        rule = customer_price_rule(user=vip)
    assert rule is not None and rule.discount_percent == D("10")


@pytest.mark.django_db
def test_the_admin_shows_what_the_customer_pays_with_the_floor_applied(service: Service) -> None:
    from django.conf import settings

    from tests.factories import make_staff

    customer = make_customer()
    pricing = give(customer, fixed=(service, "3"))  # below cost 10 + 5 %: lifted to 10.50
    boss = make_staff(username="boss", superuser=True)
    client = Client()
    client.force_login(boss)
    url = f"/{settings.ADMIN_URL}catalog/customerpricing/{pricing.pk}/change/"
    page = client.get(url).content.decode()
    assert "10,5 ₫ ⚠" in page  # a rate, written as format_rate writes every rate
    # saving the rule (here: allowing below the floor) gives the API a new version at once
    before = customer_price_rule(user=customer)
    assert before is not None
    form = {
        "user": customer.pk,
        "discount_percent": "0",
        "allow_below_floor": "on",
        "note": "",
        "rates-TOTAL_FORMS": "1",
        "rates-INITIAL_FORMS": "1",
        "rates-MIN_NUM_FORMS": "0",
        "rates-MAX_NUM_FORMS": "1000",
        "rates-0-id": str(pricing.rates.get().pk),
        "rates-0-pricing": str(pricing.pk),
        "rates-0-service": str(service.pk),
        "rates-0-rate": "3",
        "_save": "Save",
    }
    assert client.post(url, form).status_code == 302
    after = customer_price_rule(user=customer)
    assert after is not None and after.cache_key != before.cache_key
    assert customer_price_for(user=customer, service=service).rate == D("3.0000")
