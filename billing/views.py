"""The customer's money pages: sign-up, account and API key, transactions, top-ups by transfer.

Thin: parse, load the customer's own rows (always filtered by `request.user`), call one service,
render or redirect.
"""

from __future__ import annotations

import hashlib
import io
import logging
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordResetView
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language

from panel import ratelimit
from panel.http import AuthedRequest
from panel.money import format_vnd, quantize_money

from . import referrals
from .forms import AccountForm, CommissionMoveForm, EntryFilterForm, SignupForm, TopUpForm
from .models import ApiKey, Profile, TopUpRequest
from .selectors import (
    deposit_qr_payload,
    latest_transfer_for_user,
    ledger_entries_for_user,
    topup_qr_payload,
    topups_for_user,
)
from .services import (
    TOPUP_MAX_AMOUNT,
    TOPUP_MIN_AMOUNT,
    BillingError,
    TopUpNotPending,
    api_key_regenerate,
    customer_create,
    profile_for_user,
    profile_set_language,
    profile_update,
    topup_request_create,
    wallet_balance,
)
from .transfers import deposit_code_for_user, topup_cancel

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
                terms_accepted_at=timezone.now(),  # the form refuses a sign-up without it
            )
        except BillingError as exc:  # the name was taken between validation and creation
            form.add_error("username", str(exc))
        else:
            # Before login(), which starts a new session (the code is carried over anyway).
            referrals.referral_attach(referred=user, code=request.session.get(REFERRAL_SESSION_KEY))
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
                notify_ticket_reply=data["notify_ticket_reply"],
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
                "notify_ticket_reply": profile.notify_ticket_reply,
            },
        )
    context = {
        "form": form,
        "api_key": ApiKey.objects.filter(user=user).first(),
        "terms_accepted_at": profile.terms_accepted_at,
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


class PanelPasswordResetView(PasswordResetView):
    """Django's password reset, rate limited like sign-up: each request can send an e-mail, so a
    script could flood one inbox (8 requests in 2 s once sent 8 e-mails) or the shop's mailer.

    Per client address (per minute): refused with the form and status 429, which says nothing
    about any account. Per e-mail address and per account (per hour): the page answers exactly
    as when a mail was sent, and none is: what it shows must never tell whether an account
    exists, and a real customer already has the earlier mails."""

    def form_valid(self, form: Any) -> HttpResponse:
        address = ratelimit.client_address(self.request)
        if not ratelimit.hit(
            f"password-reset:{address}", limit=settings.PASSWORD_RESET_RATE_LIMIT_PER_MINUTE
        ):
            form.add_error(
                None,
                _("Too many password reset requests from your address. Try again in a minute."),
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        email = form.cleaned_data["email"].strip().lower()
        limit = settings.PASSWORD_RESET_PER_ACCOUNT_PER_HOUR
        digest = hashlib.sha256(email.encode()).hexdigest()  # an address is no cache key
        allowed = ratelimit.hit(f"password-reset-email:{digest}", limit=limit, window=3600)
        for user in form.get_users(email):
            # Counted even when the address is over its limit: the account's count is the truth
            # for every spelling of its address.
            counted = ratelimit.hit(f"password-reset-user:{user.pk}", limit=limit, window=3600)
            allowed = counted and allowed
        if not allowed:
            logger.warning("Password reset not sent: over the per-account limit (from %s)", address)
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]  # "Lax": the stubs say str
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


def language_set(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie, redirect back), plus the profile of a logged-in customer,
    so the choice made in the header sticks at the next login and in e-mails."""
    response = set_language(request)
    if request.method == "POST" and request.user.is_authenticated:
        profile_set_language(user=request.user, language=request.POST.get("language", ""))
    return response


def _suggested_amount(raw: str) -> Decimal | None:
    """?amount= from the order form's "you need X more": whole đồng, within the top-up limits."""
    try:
        amount = quantize_money(Decimal(raw))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount <= 0:
        return None
    whole = amount.to_integral_value(rounding=ROUND_CEILING)
    return min(max(whole, TOPUP_MIN_AMOUNT), TOPUP_MAX_AMOUNT)


@login_required
@require_http_methods(["GET", "POST"])
def topup(request: AuthedRequest) -> HttpResponse:
    suggested = _suggested_amount(request.GET.get("amount", "")[:20])
    form = TopUpForm(
        request.POST or None, initial={"amount": f"{suggested:.0f}"} if suggested else None
    )
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
    context = {
        "form": form,
        "pending": pending,
        "past": past,
        "deposit_code": deposit_code_for_user(user=request.user),
        "latest_transfer": latest_transfer_for_user(user=request.user),
        **_bank(),
    }
    return render(request, "billing/topup.html", context)


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
    context = {
        "topup": topup_request,
        "qr_ok": qr_ok,
        "bank_demo": settings.BANK_DEMO,
        **_bank(),
    }
    return render(request, "billing/topup_detail.html", context)


@login_required
@require_GET
@never_cache
def topup_status(request: AuthedRequest, reference: str) -> JsonResponse:
    """The request's state, polled by static/js/billing.js: the page turns "credited" by itself."""
    topup_request = get_object_or_404(TopUpRequest, reference=reference, user=request.user)
    difference = topup_request.difference
    return JsonResponse(
        {
            "state": topup_request.state,
            "label": str(topup_request.get_state_display()),
            "final": topup_request.state != TopUpRequest.State.PENDING,
            "received": format_vnd(topup_request.received)
            if topup_request.received is not None
            else None,
            "difference": format_vnd(difference) if difference else None,
            # the balance in the page's header, which the same poll brings up to date
            "balance": format_vnd(wallet_balance(user=request.user)),
        }
    )


@login_required
@require_GET
@never_cache
def topup_recent(request: AuthedRequest) -> JsonResponse:
    """The customer's latest credited bank transfer and balance, polled by /topup/: a transfer
    with the deposit code shows up there by itself."""
    latest = latest_transfer_for_user(user=request.user)
    return JsonResponse(
        {
            "balance": format_vnd(wallet_balance(user=request.user)),
            "latest": {"id": latest.pk, "amount": format_vnd(latest.amount)} if latest else None,
        }
    )


@login_required
@require_POST
def topup_cancel_view(request: AuthedRequest, reference: str) -> HttpResponse:
    topup_request = get_object_or_404(TopUpRequest, reference=reference, user=request.user)
    try:
        topup_cancel(topup_id=topup_request.pk, user=request.user)
    except TopUpNotPending as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The top-up request is canceled."))
    return redirect("billing:topup")


@login_required
def deposit_qr(request: AuthedRequest) -> HttpResponse:
    """A VietQR code without an amount, for the customer's permanent deposit code."""
    code = deposit_code_for_user(user=request.user)
    try:
        payload = deposit_qr_payload(code=code)
    except ValueError as exc:
        raise Http404("No QR code.") from exc
    return _qr_response(payload, title=code)


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
    return _qr_response(payload, title=topup_request.reference)


def _qr_response(payload: str, *, title: str) -> HttpResponse:
    buffer = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(
        buffer, kind="svg", scale=6, border=4, dark="#000", light="#fff", title=title
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
