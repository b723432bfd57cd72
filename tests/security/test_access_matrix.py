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

from accounts.models import ApiKey
from billing.models import (
    BankNotification,
    BankTransfer,
    Commission,
    CommissionTransfer,
    LedgerEntry,
    Referral,
    ReferralLink,
    TopUpRequest,
    Wallet,
    WalletKind,
)
from billing.referrals import commission_on_order_end, referral_attach, referral_link_for
from billing.services import wallet_commission_move
from catalog.models import (
    CategoryMarkup,
    CustomerPricing,
    PriceChange,
    PricingSettings,
    Provider,
    Service,
    ServiceBackup,
    SyncRun,
)
from content.models import Announcement, AnnouncementDismissal, ContactDetails, FaqEntry, Page
from orders.models import CancelRequest, Order, RefillRequest
from panel import api_v2
from support.models import Ticket, TicketMessage
from support.services import ticket_open

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
    # where the owner is sent back after an action (the order's page unless said otherwise)
    back_to: Callable[[World], str] = lambda w: reverse("orders:detail", args=[w.order.pk])


def _ticket(w: World) -> Ticket:
    """Customer A's support ticket about their order (asking for a refill)."""
    return Ticket.objects.filter(user=w.a.user).first() or ticket_open(
        user=w.a.user, subject="Refill please", body="Dropped", kind="refill", order_id=w.order.pk
    )


CUSTOMER_PAGES: dict[str, CustomerPage] = {
    "orders:detail": CustomerPage(lambda w: [w.order.pk]),
    "orders:refill": CustomerPage(lambda w: [w.order.pk], "POST", 302),  # back to the order
    "orders:cancel": CustomerPage(lambda w: [w.order.pk], "POST", 302),
    "billing:topup_detail": CustomerPage(lambda w: [w.topup_reference]),
    "billing:topup_qr": CustomerPage(lambda w: [w.topup_reference]),
    "support:detail": CustomerPage(lambda w: [_ticket(w).pk]),
    # an empty reply is refused with the form (nothing written), shown to the owner only
    "support:reply": CustomerPage(lambda w: [_ticket(w).pk], "POST", 400),
    "support:close": CustomerPage(
        lambda w: [_ticket(w).pk],
        "POST",
        302,
        back_to=lambda w: reverse("support:detail", args=[_ticket(w).pk]),
    ),
    "billing:topup_status": CustomerPage(lambda w: [w.topup_reference]),
    "billing:topup_cancel": CustomerPage(
        lambda w: [w.topup_reference], "POST", 302, back_to=lambda w: "/topup/"
    ),
    # The demo bank is off outside `make run` (settings.BANK_DEMO): not found, even for the owner.
    "billing:topup_demo_pay": CustomerPage(lambda w: [w.topup_reference], "POST", 404),
}


@dataclass(frozen=True)
class StaffPage:
    """A staff page outside the admin, guarded like it (staff, second factor) and by a
    permission on top."""

    args: Callable[[World], list[Any]]
    method: str = "GET"
    superuser_status: int = 200


STAFF_PAGES: dict[str, StaffPage] = {
    "support:staff_detail": StaffPage(lambda w: [_ticket(w).pk]),
    "support:staff_reply": StaffPage(lambda w: [_ticket(w).pk], "POST", 400),  # empty: refused
    "support:staff_assign": StaffPage(lambda w: [_ticket(w).pk], "POST", 302),
    "support:staff_close": StaffPage(lambda w: [_ticket(w).pk], "POST", 302),
    # the order is still running: the refill is refused, with a message, back on the ticket
    "support:staff_order_action": StaffPage(lambda w: [_ticket(w).pk], "POST", 302),
}


@dataclass(frozen=True)
class SharedAction:
    """An action of any signed-in customer on a row of the shop's, not of one customer's."""

    args: Callable[[World], list[Any]]
    missing: list[Any]


def _announcement(w: World) -> Announcement:
    from django.utils import timezone

    return Announcement.objects.create(title_en="News", starts_at=timezone.now())


SHARED_ACTIONS: dict[str, SharedAction] = {
    "content:announcement_dismiss": SharedAction(lambda w: [_announcement(w).pk], [987654321]),
}


def _referred_commission(w: World) -> Commission:
    """Customer A referred by B, and B's commission on A's order (written as its end would)."""
    referral_attach(referred=w.a.user, code=referral_link_for(user=w.b.user).code)
    commission = commission_on_order_end(order_id=w.order.pk, customer_id=w.a.user.pk)
    assert commission is not None
    return commission


def _commission_transfer(w: World) -> CommissionTransfer:
    commission = Commission.objects.first() or _referred_commission(w)
    out, into = wallet_commission_move(
        user=w.b.user, amount=commission.amount, minimum=commission.amount
    )
    return CommissionTransfer.objects.create(
        user=w.b.user, amount=into.amount, out_entry=out, in_entry=into
    )


# The referral link: public, taking a code (see test_a_referral_link_counts_visitors_only).
REFERRAL_LINK = {"billing:referral_visit"}

# Customer pages without a parameter that show or move one's own money: a visitor goes to the
# login, a customer sees (or moves) only their own
# (see test_the_referral_pages_are_the_customers_own).
OWN_PAGES = {"billing:referrals": "GET", "billing:commission_move": "POST"}


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
    "accounts.apikey": lambda w: ApiKey.objects.get(user=w.a.user),
    "billing.banktransfer": lambda w: _transfer(),
    "billing.banknotification": lambda w: BankNotification.objects.get_or_create(
        provider="sepay", outcome="unmatched", raw_body="{}", transfer=_transfer()
    )[0],
    "billing.referrallink": lambda w: referral_link_for(user=w.a.user),
    "billing.referral": lambda w: (
        Referral.objects.filter(referred=w.a.user).first() or _referred_commission(w).referral
    ),
    "billing.commission": lambda w: Commission.objects.first() or _referred_commission(w),
    "billing.commissiontransfer": _commission_transfer,
    "catalog.customerpricing": lambda w: CustomerPricing.objects.get_or_create(
        user=w.a.user, defaults={"discount_percent": 10}
    )[0],
    "orders.order": lambda w: w.order,
    "orders.refillrequest": lambda w: RefillRequest.objects.create(
        order=w.order, state=RefillRequest.State.REJECTED, error="test"
    ),
    "orders.cancelrequest": lambda w: CancelRequest.objects.get_or_create(
        order=w.order, defaults={"state": CancelRequest.State.REJECTED}
    )[0],
    "support.ticket": _ticket,
    "content.page": lambda w: Page.objects.get_or_create(kind=Page.Kind.TERMS)[0],
    "content.faqentry": lambda w: FaqEntry.objects.create(question_en="Why?", answer_en="So."),
    "content.contactdetails": lambda w: ContactDetails.objects.get_or_create(pk=1)[0],
    "content.announcement": _announcement,
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


def _transfer() -> BankTransfer:
    return BankTransfer.objects.get_or_create(
        provider="sepay",
        provider_id="1",
        defaults={"amount": 100000, "content": "no code", "state": "unmatched"},
    )[0]


ADMIN_PAGES: dict[str, AdminPage] = {
    "admin:billing_topuprequest_approve": AdminPage(
        lambda w: {"topup_id": TopUpRequest.objects.get(reference=w.topup_reference).pk},
        403,
        (200, 302),  # 302: already decided in this world
    ),
    "admin:billing_banktransfer_assign": AdminPage(
        lambda w: {"transfer_id": _transfer().pk}, 403, (200,)
    ),
    "admin:billing_wallet_adjust": AdminPage(
        lambda w: {"wallet_id": Wallet.objects.get(user=w.a.user).pk}, 403, (200,)
    ),
    "admin:auth_user_password_change": AdminPage(lambda w: {"id": w.a.user.pk}, 403, (200,)),
    # Deciding about an order that needs attention (issue 11): change permission on orders.
    "admin:orders_order_attention": AdminPage(lambda w: {"order_id": w.order.pk}, 403, (200,)),
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

# Pages about a shop-wide thing (a service for sale) that write only the customer's own rows:
# any customer may star any service; the star is theirs alone (tested below).
SHOP_WIDE_FOR_CUSTOMERS = {"catalog:favourite"}


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
    covered = (
        set(CUSTOMER_PAGES)
        | set(STAFF_PAGES)
        | set(SHARED_ACTIONS)
        | set(ADMIN_PAGES)
        | set(admin_model_keys())
        | SEPARATELY_TESTED
        | SHOP_WIDE_FOR_CUSTOMERS
        | REFERRAL_LINK
    )
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
        assert response["Location"] == page.back_to(world)


# --- staff pages outside the admin ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STAFF_PAGES))
def test_a_staff_page_is_for_permitted_staff_only(
    world: World, name: str, two_factor: None
) -> None:
    page = STAFF_PAGES[name]
    url = reverse(name, args=page.args(world))
    before = (TicketMessage.objects.count(), RefillRequest.objects.count())
    admin_login = reverse("admin:login")
    # visitors, customers (the ticket's own among them) and staff without the second factor
    for outsider in (
        Client(),
        logged_in(world.a.user),
        logged_in(world.b.user),
        logged_in(world.staff),
    ):
        assert is_login_redirect(request(outsider, page.method, url), admin_login), url
    # staff verified by 2FA but without the support permissions are refused
    assert request(verified_client(world.staff), page.method, url).status_code == 403
    assert (TicketMessage.objects.count(), RefillRequest.objects.count()) == before
    # a superuser reaches it
    boss = verified_client(new_staff("boss", is_superuser=True))
    assert request(boss, page.method, url).status_code == page.superuser_status, url


# --- actions on the shop's own rows ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SHARED_ACTIONS))
def test_a_shared_action_needs_a_login_and_an_existing_row(world: World, name: str) -> None:
    action = SHARED_ACTIONS[name]
    url = reverse(name, args=action.args(world))
    assert is_login_redirect(Client().post(url), reverse("login"))
    assert logged_in(world.a.user).get(url).status_code == 405  # never by a link
    for customer in (world.a.user, world.b.user):  # each for themselves
        assert logged_in(customer).post(url).status_code == 302
    assert logged_in(world.a.user).post(reverse(name, args=action.missing)).status_code == 404
    assert AnnouncementDismissal.objects.count() == 2


# --- pages without an id -------------------------------------------------------------------------

# Who gets what (visitor, customer, staff verified without permissions) on the pages of issue 16
# that take no id. "login" / "admin" mean a redirect to that login.
PLAIN_PAGES: dict[str, tuple[Any, Any, Any]] = {
    "content:faq": (200, 200, 200),
    "content:terms": (200, 200, 200),
    "content:refund": (200, 200, 200),
    "content:contact": (200, 200, 200),
    "support:list": ("login", 200, 200),
    "support:new": ("login", 200, 200),
    "support:staff_list": ("admin", "admin", 403),
}


@pytest.mark.parametrize("name", sorted(PLAIN_PAGES))
def test_a_page_without_an_id_answers_each_role(world: World, name: str, two_factor: None) -> None:
    url = reverse(name)
    expected = dict(zip(("visitor", "customer", "staff"), PLAIN_PAGES[name], strict=True))
    clients = {
        "visitor": Client(),
        "customer": logged_in(world.a.user),
        "staff": verified_client(world.staff),
    }
    for role, client in clients.items():
        response = client.get(url)
        if expected[role] == "login":
            assert is_login_redirect(response, reverse("login")), (role, url)
        elif expected[role] == "admin":
            assert is_login_redirect(response, reverse("admin:login")), (role, url)
        else:
            assert response.status_code == expected[role], (role, url)
    # staff list: a superuser sees it
    if name == "support:staff_list":
        boss = verified_client(new_staff("boss", is_superuser=True))
        assert boss.get(url).status_code == 200


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


def test_a_star_needs_a_login_and_belongs_to_the_customer_who_set_it(world: World) -> None:
    from catalog.models import FavouriteService

    service = world.order.service
    url = reverse("catalog:favourite", args=[service.pk])
    assert is_login_redirect(Client().post(url), reverse("login"))
    assert logged_in(world.a.user).get(url).status_code == 405  # a star is set by POST only
    assert logged_in(world.a.user).post(url).status_code == 302
    assert list(FavouriteService.objects.values_list("user_id", "service_id")) == [
        (world.a.user.pk, service.pk)
    ]
    # B's toggle sets B's own star; it never removes A's.
    logged_in(world.b.user).post(url)
    assert FavouriteService.objects.filter(user=world.a.user).count() == 1
    missing = reverse("catalog:favourite", args=[987654])
    assert logged_in(world.a.user).post(missing).status_code == 404


# --- referrals ----------------------------------------------------------------------------------


def test_a_referral_link_counts_visitors_only(world: World) -> None:
    code = referral_link_for(user=world.a.user).code
    url = reverse("billing:referral_visit", args=[code])
    # customers (the owner included) and staff are sent home: nothing counted, nobody attributed
    for client in (logged_in(world.a.user), logged_in(world.b.user), verified_client(world.staff)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert ReferralLink.objects.get(code=code).visits == 0
    # a visitor is counted and sent to the sign-up; a POST is refused
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:signup")
    assert ReferralLink.objects.get(code=code).visits == 1
    assert Client().post(url).status_code == 405


def test_the_referral_pages_are_the_customers_own(world: World) -> None:
    _referred_commission(world)  # B earned commission on A's order
    earned = Wallet.objects.get(user=world.b.user, kind=WalletKind.COMMISSION).balance
    for name, method in OWN_PAGES.items():
        assert is_login_redirect(request(Client(), method, reverse(name)), reverse("login"))
    # A sees their own (empty) numbers, never B's commission, and cannot move it
    page = logged_in(world.a.user).get(reverse("billing:referrals")).content.decode()
    assert referral_link_for(user=world.a.user).code in page
    assert referral_link_for(user=world.b.user).code not in page
    moved = logged_in(world.a.user).post(reverse("billing:commission_move"), {"amount": earned})
    assert moved.status_code == 200  # refused on the page
    assert Wallet.objects.get(user=world.b.user, kind=WalletKind.COMMISSION).balance == earned
    assert not CommissionTransfer.objects.exists()
    # B sees their sign-up, and the commission, as their own
    page = logged_in(world.b.user).get(reverse("billing:referrals")).content.decode()
    assert 'data-testid="referral-signups">1<' in page
