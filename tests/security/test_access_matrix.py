"""Who may open what: every URL that takes an id or a reference, as the owner, another customer,
a visitor, and staff without permissions, plus the API actions that take order ids.

The URLs come from the URLconf itself: a new URL that captures a parameter and is missing from
the tables below fails `test_every_url_that_takes_a_parameter_is_in_the_matrix`, so nobody adds
`/things/<id>/` without saying who may see it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from billing.models import ApiKey, LedgerEntry, TopUpRequest, Wallet
from catalog.models import (
    CategoryMarkup,
    PriceChange,
    PricingSettings,
    Provider,
    Service,
    ServiceBackup,
    SyncRun,
)
from orders.models import CancelRequest, Order, RefillRequest
from panel import api_v2

from .conftest import World, logged_in, new_staff, verified_client

# --- the URLconf --------------------------------------------------------------------------------


def parametrised_patterns() -> dict[str, list[str]]:
    """Every URL pattern that captures something, by its qualified name (or, unnamed, by its
    route), with the names of what it captures."""
    found: dict[str, list[str]] = {}

    def captures(pattern: Any) -> list[str]:
        # path() converters and re_path() named groups both end up as named groups.
        return list(pattern.regex.groupindex)

    def walk(patterns: list[Any], route: str, namespace: str, inherited: list[str]) -> None:
        for entry in patterns:
            params = inherited + captures(entry.pattern)
            here = route + str(entry.pattern)
            if isinstance(entry, URLResolver):
                space = ":".join(part for part in (namespace, entry.namespace or "") if part)
                walk(entry.url_patterns, here, space, params)
            elif isinstance(entry, URLPattern) and params:
                key = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                found[key or f"route:{here}"] = params

    walk(get_resolver().url_patterns, "", "", [])
    return found


# --- the tables ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerPage:
    """A customer page about one of the customer's own things."""

    args: Callable[[World], list[Any]]
    method: str = "GET"
    owner_status: int = 200


CUSTOMER_PAGES: dict[str, CustomerPage] = {
    "orders:detail": CustomerPage(lambda w: [w.order.pk]),
    "orders:refill": CustomerPage(lambda w: [w.order.pk], "POST", 302),  # back to the order
    "orders:cancel": CustomerPage(lambda w: [w.order.pk], "POST", 302),
    "billing:topup_detail": CustomerPage(lambda w: [w.topup_reference]),
    "billing:topup_qr": CustomerPage(lambda w: [w.topup_reference]),
}

def _a_backup(service: Any) -> ServiceBackup:
    other, _created = Provider.objects.get_or_create(
        name="other", defaults={"api_url": "https://other.example/api/v2", "api_key": "k" * 12}
    )
    backup = Service.objects.create(
        **{
            field.name: getattr(service, field.name)
            for field in Service._meta.concrete_fields
            if field.name not in ("id", "provider", "created_at", "updated_at")
        },
        provider=other,
    )
    return ServiceBackup.objects.create(service=service, backup=backup)


# Every model in the admin, and how to get one object of it that concerns customer A (or, for
# shop-wide rows, any one). Its change, delete and history pages, and the unnamed
# `<id>/` redirect, are checked for each.
ADMIN_MODELS: dict[str, Callable[[World], Any]] = {
    "auth.user": lambda w: w.a.user,
    "auth.group": lambda w: Group.objects.get_or_create(name="support")[0],
    "catalog.service": lambda w: w.order.service,
    "catalog.pricechange": lambda w: PriceChange.objects.create(
        service=w.order.service, field=PriceChange.Field.SELL_RATE, old_value="1", new_value="2"
    ),
    "catalog.pricingsettings": lambda w: PricingSettings.objects.get_or_create(pk=1)[0],
    "catalog.categorymarkup": lambda w: CategoryMarkup.objects.get_or_create(
        category=w.order.service.category, defaults={"markup_percent": 40}
    )[0],
    "catalog.syncrun": lambda w: SyncRun.objects.create(kind=SyncRun.Kind.FULL, ok=False),
    "catalog.provider": lambda w: w.order.provider,
    "catalog.servicebackup": lambda w: _a_backup(w.order.service),
    "billing.wallet": lambda w: Wallet.objects.get(user=w.a.user),
    "billing.ledgerentry": lambda w: LedgerEntry.objects.filter(wallet__user=w.a.user).first(),
    "billing.topuprequest": lambda w: TopUpRequest.objects.get(reference=w.topup_reference),
    "billing.apikey": lambda w: ApiKey.objects.get(user=w.a.user),
    "orders.order": lambda w: w.order,
    "orders.refillrequest": lambda w: RefillRequest.objects.create(
        order=w.order, state=RefillRequest.State.REJECTED, error="test"
    ),
    "orders.cancelrequest": lambda w: CancelRequest.objects.get_or_create(
        order=w.order, defaults={"state": CancelRequest.State.REJECTED}
    )[0],
    "otp_totp.totpdevice": lambda w: TOTPDevice.objects.create(user=w.staff, name="phone"),
    "otp_static.staticdevice": lambda w: StaticDevice.objects.create(user=w.staff, name="codes"),
    "axes.accessattempt": lambda w: AccessAttempt.objects.create(
        username=w.a.user.username,
        ip_address="192.0.2.1",
        failures_since_start=1,
        user_agent="test",
        http_accept="*/*",
        path_info="/accounts/login/",
    ),
    "axes.accesslog": lambda w: AccessLog.objects.create(
        username=w.a.user.username,
        ip_address="192.0.2.1",
        user_agent="test",
        http_accept="*/*",
        path_info="/accounts/login/",
    ),
    "axes.accessfailurelog": lambda w: AccessFailureLog.objects.create(
        username=w.a.user.username,
        ip_address="192.0.2.1",
        user_agent="test",
        http_accept="*/*",
        path_info="/accounts/login/",
    ),
}
ADMIN_OBJECT_PAGES = ("change", "delete", "history")


@dataclass(frozen=True)
class AdminPage:
    """An admin page of its own (not one of a model's standard pages)."""

    kwargs: Callable[[World], dict[str, Any]]
    staff_status: int  # for staff verified by 2FA but without any permission
    superuser_status: tuple[int, ...]


def _order_type(w: World) -> int:
    return ContentType.objects.get_for_model(Order).pk


ADMIN_PAGES: dict[str, AdminPage] = {
    "admin:billing_wallet_adjust": AdminPage(
        lambda w: {"wallet_id": Wallet.objects.get(user=w.a.user).pk}, 403, (200,)
    ),
    "admin:auth_user_password_change": AdminPage(lambda w: {"id": w.a.user.pk}, 403, (200,)),
    # The admin never shows a device's secret, not even to a superuser.
    "admin:otp_totp_totpdevice_config": AdminPage(
        lambda w: {"pk": ADMIN_MODELS["otp_totp.totpdevice"](w).pk}, 403, (403,)
    ),
    "admin:otp_totp_totpdevice_qrcode": AdminPage(
        lambda w: {"pk": ADMIN_MODELS["otp_totp.totpdevice"](w).pk}, 403, (403,)
    ),
    # "View on site": orders have no public page, so nobody is sent anywhere.
    "admin:view_on_site": AdminPage(
        lambda w: {"content_type_id": _order_type(w), "object_id": w.order.pk}, 404, (404,)
    ),
    # Not ids, but parameters: an app's page lists nothing to staff without permissions, and the
    # catch-all answers 404 to staff and sends everybody else to the login.
    "admin:app_list": AdminPage(lambda w: {"app_label": "orders"}, 404, (200,)),
    f"route:{settings.ADMIN_URL}(?P<url>.*)$": AdminPage(
        lambda w: {"url": "nothing/here/"}, 404, (404,)
    ),
}

# The password-reset link is a credential of its own, not a page of somebody's session: it is
# tested separately (a forged one is refused whoever follows it).
SEPARATELY_TESTED = {"password_reset_confirm"}


def admin_model_keys() -> dict[str, tuple[str, str]]:
    """URL key -> (model label, page) for every standard object page of the admin models."""
    keys: dict[str, tuple[str, str]] = {}
    for label in ADMIN_MODELS:
        app, model = label.split(".")
        for page in ADMIN_OBJECT_PAGES:
            keys[f"admin:{app}_{model}_{page}"] = (label, page)
        keys[f"route:{settings.ADMIN_URL}{app}/{model}/<path:object_id>/"] = (label, "redirect")
    return keys


def test_every_url_that_takes_a_parameter_is_in_the_matrix() -> None:
    covered = set(CUSTOMER_PAGES) | set(ADMIN_PAGES) | set(admin_model_keys()) | SEPARATELY_TESTED
    found = set(parametrised_patterns())
    assert not found - covered, (
        f"URLs that take an id but are not in the access matrix: {sorted(found - covered)}"
    )
    assert not covered - found, (
        f"matrix entries for URLs that no longer exist: {sorted(covered - found)}"
    )


@pytest.mark.urls("tests.security.urls")
def test_a_new_url_taking_an_id_is_noticed() -> None:
    # the same walk over a URLconf with one more `things/<int:thing_id>/`: the check above
    # would fail on it
    found = parametrised_patterns()
    assert found["thing"] == ["thing_id"]
    assert "thing" not in set(CUSTOMER_PAGES) | set(ADMIN_PAGES) | set(admin_model_keys())


def test_every_api_action_is_classified() -> None:
    assert set(api_v2.ACTIONS) == set(API_ID_ACTIONS) | {"balance", "services", "add"}


# --- the roles ----------------------------------------------------------------------------------


@pytest.fixture
def two_factor(settings: Any) -> None:
    settings.ADMIN_REQUIRE_2FA = True  # as in production


def request(client: Client, method: str, url: str) -> Any:
    return client.post(url) if method == "POST" else client.get(url)


def is_login_redirect(response: Any, login_url: str) -> bool:
    return response.status_code == 302 and response["Location"].startswith(login_url)


# --- customer pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CUSTOMER_PAGES))
def test_a_customer_page_is_for_its_owner_only(world: World, name: str, two_factor: None) -> None:
    page = CUSTOMER_PAGES[name]
    url = reverse(name, args=page.args(world))
    refills, cancels = RefillRequest.objects.count(), CancelRequest.objects.count()
    # another customer, and staff (who are not customers of theirs), get a 404 like a missing id
    for stranger in (logged_in(world.b.user), verified_client(world.staff)):
        assert request(stranger, page.method, url).status_code == 404
    # and nothing was asked of the upstream on their behalf
    assert (RefillRequest.objects.count(), CancelRequest.objects.count()) == (refills, cancels)
    # a visitor is sent to the login
    assert is_login_redirect(request(Client(), page.method, url), reverse("login"))
    # the owner gets the page (or, for an action, is sent back to the order)
    response = request(logged_in(world.a.user), page.method, url)
    assert response.status_code == page.owner_status
    if page.owner_status == 302:
        assert response["Location"] == reverse("orders:detail", args=[world.order.pk])


@pytest.mark.parametrize("name", ["orders:detail", "billing:topup_detail", "billing:topup_qr"])
def test_a_missing_id_looks_exactly_like_someone_elses(world: World, name: str) -> None:
    other = logged_in(world.b.user)
    theirs = other.get(reverse(name, args=CUSTOMER_PAGES[name].args(world)))
    missing_arg: Any = 987654321 if name == "orders:detail" else "TOPUPMISSING"
    missing = other.get(reverse(name, args=[missing_arg]))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content


# --- admin pages --------------------------------------------------------------------------------


def admin_cases() -> Iterator[tuple[str, str]]:
    for key, (label, page) in sorted(admin_model_keys().items()):
        yield key, f"{label}:{page}"
    for key in sorted(ADMIN_PAGES):
        yield key, "own"


def admin_url(world: World, key: str) -> tuple[str, AdminPage | None, str]:
    if key in ADMIN_PAGES:
        page = ADMIN_PAGES[key]
        kwargs = page.kwargs(world)
        if key.startswith("route:"):
            return f"/{settings.ADMIN_URL}{kwargs['url']}", page, "own"
        return reverse(key, kwargs=kwargs), page, "own"
    label, kind = admin_model_keys()[key]
    obj = ADMIN_MODELS[label](world)
    app, model = label.split(".")
    change = reverse(f"admin:{app}_{model}_change", args=[obj.pk])
    if kind == "redirect":
        return change.removesuffix("change/"), None, kind
    return reverse(key, args=[obj.pk]), None, kind


@pytest.mark.parametrize(("key", "what"), list(admin_cases()))
def test_an_admin_page_is_for_permitted_staff_only(
    world: World, key: str, what: str, two_factor: None
) -> None:
    url, page, kind = admin_url(world, key)
    admin_login = reverse("admin:login")
    # visitors, customers (even the one the object is about) and staff who have not passed the
    # second factor are sent to the admin login
    for outsider in (
        Client(),
        logged_in(world.a.user),
        logged_in(world.b.user),
        logged_in(world.staff),
    ):
        assert is_login_redirect(outsider.get(url), admin_login), url
    # staff verified by 2FA but without permissions are refused
    staff = verified_client(world.staff)
    response = staff.get(url, follow=(kind == "redirect"))
    expected = page.staff_status if page else 403
    assert response.status_code == expected, url
    # and a superuser reaches it: the page exists, and the matrix built its address right
    boss = verified_client(new_staff("boss", is_superuser=True))
    response = boss.get(url, follow=(kind == "redirect"))
    if page is not None:
        assert response.status_code in page.superuser_status, url
    elif kind in ("change", "history", "redirect"):
        assert response.status_code == 200, url
    else:  # delete: shown, or refused where nothing may be deleted (money, history)
        assert response.status_code in (200, 403), url


# --- the password-reset link --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_forged_password_reset_link_is_refused_whoever_follows_it(world: World) -> None:
    uid = urlsafe_base64_encode(str(world.a.user.pk).encode())
    url = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": "forged-token"})
    for client in (Client(), logged_in(world.a.user), logged_in(world.b.user)):
        response = client.get(url, follow=True)
        assert response.status_code == 200
        assert response.context["validlink"] is False
        assert "new_password1" not in response.content.decode()


# --- the API ------------------------------------------------------------------------------------

API_ID_ACTIONS: dict[str, tuple[str, str, str]] = {
    # action: (single field, list field, the error a missing id gets)
    "status": ("order", "orders", api_v2.INCORRECT_ORDER),
    "refill": ("order", "orders", api_v2.INCORRECT_ORDER),
    "cancel": ("order", "orders", api_v2.INCORRECT_ORDER),
    "refill_status": ("refill", "refills", api_v2.REFILL_NOT_FOUND),
}
MISSING = 987_654_321


def call(key: str, action: str, **fields: Any) -> Any:
    response = Client().post("/api/v2", {"key": key, "action": action, **fields})
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("action", sorted(API_ID_ACTIONS))
@pytest.mark.parametrize("shape", ["single", "list"])
def test_an_api_action_on_another_customers_order_answers_like_a_missing_order(
    world: World, action: str, shape: str
) -> None:
    single, listed, error = API_ID_ACTIONS[action]
    field = single if shape == "single" else listed
    theirs = world.order.pk
    before = (RefillRequest.objects.count(), CancelRequest.objects.count())
    # when customer B asks about A's order, and about an order that does not exist
    about_theirs = call(world.b.key, action, **{field: theirs})
    about_missing = call(world.b.key, action, **{field: MISSING})
    # then the answers are the same error, the id echoed back aside
    normalise = lambda answer, pk: str(answer).replace(str(pk), "ID")  # noqa: E731
    assert normalise(about_theirs, theirs) == normalise(about_missing, MISSING)
    assert error in str(about_theirs)
    # and nothing was requested on A's order
    assert (RefillRequest.objects.count(), CancelRequest.objects.count()) == before


def test_the_owner_gets_their_orders_status_through_the_api(world: World) -> None:
    answer = call(world.a.key, "status", order=world.order.pk)
    assert "error" not in answer
    assert answer["status"] in ("Pending", "In progress")
