"""Sign-up, log-in, password reset, the account page (profile and API key), the language switch.

Thin: parse, call one service of accounts (or billing's referral hook at sign-up), render or
redirect.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, PasswordResetView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from billing import referrals
from panel import ratelimit
from panel.http import AuthedRequest

from .forms import AccountForm, SignupForm
from .models import ApiKey, Profile
from .services import (
    AccountError,
    api_key_regenerate,
    customer_create,
    profile_for_user,
    profile_set_language,
    profile_update,
)

logger = logging.getLogger(__name__)

# The raw API key waits here between the request that makes it and the page that shows it,
# once: the account page pops it. It is never stored anywhere else (the database keeps a hash).
# (The name predates the accounts app; kept so that a session in flight still finds its key.)
NEW_API_KEY_SESSION_KEY = "billing_new_api_key"


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
            return render(request, "accounts/signup.html", {"form": form}, status=429)
        try:
            user, raw_key = customer_create(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                terms_accepted_at=timezone.now(),  # the form refuses a sign-up without it
            )
        except AccountError as exc:  # the name was taken between validation and creation
            form.add_error("username", str(exc))
        else:
            # Before login(), which starts a new session (the code is carried over anyway).
            code = request.session.get(referrals.REFERRAL_SESSION_KEY)
            referrals.referral_attach(referred=user, code=code)
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
    return render(request, "accounts/signup.html", {"form": form})


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
            response = redirect("accounts:account")
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
    return render(request, "accounts/account.html", context)


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
    return redirect("accounts:account")


def language_set(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie, redirect back), plus the profile of a logged-in customer,
    so the choice made in the header sticks at the next login and in e-mails."""
    response = set_language(request)
    if request.method == "POST" and request.user.is_authenticated:
        profile_set_language(user=request.user, language=request.POST.get("language", ""))
    return response
