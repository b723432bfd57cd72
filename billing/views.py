"""The customer's money pages: transactions, top-ups by transfer, referrals.

Thin: parse, load the customer's own rows (always filtered by `request.user`), call one service,
render or redirect.
"""

from __future__ import annotations

import io
import logging
from decimal import ROUND_CEILING, Decimal, InvalidOperation

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from panel import ratelimit
from panel.http import AuthedRequest
from panel.money import format_vnd, quantize_money

from . import referrals
from .forms import CommissionMoveForm, EntryFilterForm, TopUpForm
from .models import TopUpRequest
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
    topup_request_create,
    wallet_balance,
)
from .transfers import deposit_code_for_user, topup_cancel

logger = logging.getLogger(__name__)

REFERRAL_VISITS_PER_MINUTE = 10  # counted visits per client address
ENTRIES_PER_PAGE = 50
TOPUPS_PER_PAGE = 20


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
    if request.method == "GET" and request.session.get(referrals.REFERRAL_SESSION_KEY) != code:
        # A visitor who keeps dropping their cookies still counts a few times a minute at most.
        address = ratelimit.client_address(request)
        count = ratelimit.hit(f"referral-visit:{address}", limit=REFERRAL_VISITS_PER_MINUTE)
        link = referrals.referral_link_visit(code=code, count=count)
        if link is not None:
            request.session[referrals.REFERRAL_SESSION_KEY] = link.code
    return redirect("accounts:signup")


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
