"""The customer's money pages: sign-up, account and API key, transactions, top-ups by transfer.

Thin: parse, load the customer's own rows (always filtered by `request.user`), call one service,
render or redirect.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from panel import ratelimit
from panel.http import AuthedRequest
from panel.money import format_vnd

from . import referrals
from .forms import AccountForm, CommissionMoveForm, EntryFilterForm, SignupForm, TopUpForm
from .models import ApiKey, Profile, TopUpRequest
from .selectors import ledger_entries_for_user, topup_qr_payload, topups_for_user
from .services import (
    BillingError,
    api_key_regenerate,
    customer_create,
    profile_for_user,
    profile_update,
    topup_request_create,
)

logger = logging.getLogger(__name__)

# The raw API key waits here between the request that makes it and the page that shows it,
# once: the account page pops it. It is never stored anywhere else (the database keeps a hash).
NEW_API_KEY_SESSION_KEY = "billing_new_api_key"
# The referral code of the link a visitor followed, until they sign up (or the session ends).
REFERRAL_SESSION_KEY = "billing_referral_code"
REFERRAL_VISITS_PER_MINUTE = 10  # counted visits per client address
ENTRIES_PER_PAGE = 50
TOPUPS_PER_PAGE = 20


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Accounts are free to make, so a script could mint them by the thousand: a few a
        # minute per client address is plenty for people sharing a NAT.
        address = ratelimit.client_address(request)
        if not ratelimit.hit(f"signup:{address}", limit=settings.SIGNUP_RATE_LIMIT_PER_MINUTE):
            form.add_error(None, _("Too many sign-ups from your address. Try again in a minute."))
            return render(request, "billing/signup.html", {"form": form}, status=429)
        try:
            user, raw_key = customer_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except BillingError as exc:  # the name was taken between validation and creation
            form.add_error("username", str(exc))
        else:
            # Before login(), which starts a new session (the code is carried over anyway).
            referrals.referral_attach(
                referred=user, code=request.session.get(REFERRAL_SESSION_KEY)
            )
            # Named: the first backend is django-axes' (it checks lockouts and logs nobody in).
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[NEW_API_KEY_SESSION_KEY] = raw_key
            messages.success(
                request,
                _(
                    "Welcome! Your account is ready. Your API key is on your account page, "
                    "shown only once."
                ),
            )
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "billing/signup.html", {"form": form})


@login_required
@never_cache  # the page may carry a freshly issued API key
@require_http_methods(["GET", "POST"])
def account(request: AuthedRequest) -> HttpResponse:
    user = request.user
    profile = profile_for_user(user=user)
    if request.method == "POST":
        form = AccountForm(request.POST, user_pk=user.pk)
        if form.is_valid():
            data = form.cleaned_data
            profile_update(
                user=user,
                email=data["email"],
                language=data["language"],
                notify_completed=data["notify_completed"],
                notify_partial=data["notify_partial"],
                notify_canceled=data["notify_canceled"],
                notify_refill=data["notify_refill"],
            )
            # The preference takes effect now, and in later visits through the language cookie
            # (LocaleMiddleware reads it), exactly as Django's own set_language view does.
            translation.activate(data["language"])
            messages.success(request, _("Your account settings are saved."))
            response = redirect("billing:account")
            _set_language_cookie(response, data["language"])
            return response
    else:
        form = AccountForm(
            user_pk=user.pk,
            initial={
                "email": user.email,
                "language": profile.language,
                "notify_completed": profile.notify_completed,
                "notify_partial": profile.notify_partial,
                "notify_canceled": profile.notify_canceled,
                "notify_refill": profile.notify_refill,
            },
        )
    context = {
        "form": form,
        "api_key": ApiKey.objects.filter(user=user).first(),
        "new_api_key": request.session.pop(NEW_API_KEY_SESSION_KEY, None),
    }
    return render(request, "billing/account.html", context)


class PanelLoginView(LoginView):
    """Django's login, plus the customer's saved language: a customer who chose English on
    one device finds English after logging in on another (the cookie alone is per browser)."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        language = Profile.objects.filter(user=form.get_user()).values_list("language", flat=True)
        chosen = language.first()
        if chosen and chosen in dict(settings.LANGUAGES):
            translation.activate(chosen)
            _set_language_cookie(response, chosen)
        return response


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@login_required
@require_POST
def api_key_regenerate_view(request: AuthedRequest) -> HttpResponse:
    request.session[NEW_API_KEY_SESSION_KEY] = api_key_regenerate(user=request.user)
    messages.success(request, _("A new API key was issued; the old one no longer works."))
    return redirect("billing:account")


@login_required
def transactions(request: AuthedRequest) -> HttpResponse:
    filter_form = EntryFilterForm(request.GET)
    kind = filter_form.cleaned_data["kind"] if filter_form.is_valid() else ""
    entries = ledger_entries_for_user(user=request.user, kind=kind or None)
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filter_form": filter_form,
        "kind": kind,
    }
    return render(request, "billing/transactions.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def topup(request: AuthedRequest) -> HttpResponse:
    form = TopUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            request_ = topup_request_create(user=request.user, amount=form.cleaned_data["amount"])
        except BillingError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("billing:topup_detail", reference=request_.reference)
    topups = topups_for_user(user=request.user)
    pending = list(topups.filter(state=TopUpRequest.State.PENDING))
    past = Paginator(topups.exclude(state=TopUpRequest.State.PENDING), TOPUPS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request, "billing/topup.html", {"form": form, "pending": pending, "past": past, **_bank()}
    )


@login_required
def topup_detail(request: AuthedRequest, reference: str) -> HttpResponse:
    topup_request = get_object_or_404(TopUpRequest, reference=reference, user=request.user)
    qr_ok = True
    try:
        topup_qr_payload(topup=topup_request)
    except ValueError:
        # The shop's bank settings are wrong; the customer can still transfer by hand.
        logger.exception("VietQR payload refused for top-up %s", reference)
        qr_ok = False
    context = {"topup": topup_request, "qr_ok": qr_ok, **_bank()}
    return render(request, "billing/topup_detail.html", context)


@login_required
def topup_qr(request: AuthedRequest, reference: str) -> HttpResponse:
    """The top-up's VietQR code as an SVG image, drawn here (never by a third-party service)."""
    topup_request = get_object_or_404(
        TopUpRequest, reference=reference, user=request.user, state=TopUpRequest.State.PENDING
    )
    try:
        payload = topup_qr_payload(topup=topup_request)
    except ValueError as exc:
        raise Http404("No QR code for this top-up.") from exc
    buffer = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(
        buffer,
        kind="svg",
        scale=6,
        border=4,
        dark="#000",
        light="#fff",
        title=topup_request.reference,
    )
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    # An SVG opened on its own is a document: it gets nothing to run and nothing to load.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _bank() -> dict[str, str]:
    return {
        "bank_name": settings.SHOP_BANK_NAME,
        "bank_account": settings.SHOP_BANK_ACCOUNT,
        "bank_account_name": settings.SHOP_BANK_ACCOUNT_NAME,
    }


# --- referrals ------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD"])
def referral_visit(request: HttpRequest, code: str) -> HttpResponse:
    """`/r/<code>/`: a referral link. A visitor's first follow of a link counts as a visit, and
    the code waits in the session for their sign-up. Signed-in customers are just sent home."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    code = code.strip().lower()
    if request.method == "GET" and request.session.get(REFERRAL_SESSION_KEY) != code:
        # A visitor who keeps dropping their cookies still counts a few times a minute at most.
        address = ratelimit.client_address(request)
        count = ratelimit.hit(f"referral-visit:{address}", limit=REFERRAL_VISITS_PER_MINUTE)
        link = referrals.referral_link_visit(code=code, count=count)
        if link is not None:
            request.session[REFERRAL_SESSION_KEY] = link.code
    return redirect("billing:signup")


@login_required
@require_GET
def referral_page(request: AuthedRequest) -> HttpResponse:
    stats = referrals.referral_stats(user=request.user)
    form = CommissionMoveForm(initial={"amount": stats.available} if stats.can_move else None)
    return _referral_page(request, stats=stats, form=form)


def _referral_page(
    request: AuthedRequest, *, stats: referrals.ReferralStats, form: CommissionMoveForm
) -> HttpResponse:
    link_url = request.build_absolute_uri(
        reverse("billing:referral_visit", kwargs={"code": stats.link.code})
    )
    context = {
        "stats": stats,
        "link_url": link_url,
        "form": form,
        "entries": referrals.commission_entries(user=request.user),
    }
    return render(request, "billing/referrals.html", context)


@login_required
@require_POST
def commission_move_view(request: AuthedRequest) -> HttpResponse:
    form = CommissionMoveForm(request.POST)
    if form.is_valid():
        try:
            transfer = referrals.commission_move(
                user=request.user, amount=form.cleaned_data["amount"]
            )
        except BillingError as exc:
            form.add_error("amount", str(exc))
        else:
            messages.success(
                request,
                _("%(amount)s of commission was moved to your balance.")
                % {"amount": format_vnd(transfer.amount)},
            )
            return redirect("billing:referrals")
    stats = referrals.referral_stats(user=request.user)
    return _referral_page(request, stats=stats, form=form)
