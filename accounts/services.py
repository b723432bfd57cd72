"""Every write about who a customer is: creating one, their API key, their profile.

The customer's money is billing's: creating a customer opens their wallet through
`billing.services.wallet_open`, and accounts never touches a balance.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.services import BillingError, wallet_open

from .models import ApiKey, Profile

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class AccountError(BillingError):
    """A customer could not be created or their profile saved; nothing changed.

    A BillingError too: creating a customer with an opening balance can fail in billing, and
    the sign-up view and `create_customer` catch either with one `except`.
    """


# --- API keys -----------------------------------------------------------------------------------


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_regenerate(*, user: User) -> str:
    """Issue a new key for the user, replacing any old one. The raw key is returned, not stored."""
    raw = secrets.token_hex(32)
    ApiKey.objects.update_or_create(
        user=user, defaults={"key_hash": hash_api_key(raw), "prefix": raw[:8], "last_used_at": None}
    )
    return raw


def api_key_user(*, raw: str) -> User | None:
    """The active user owning this key, or None.

    The lookup is by the SHA-256 of the key (an index hit); comparing the stored digest again
    with `secrets.compare_digest` keeps the final check constant-time.
    """
    if not raw or not isinstance(raw, str) or len(raw) > 200:
        return None
    digest = hash_api_key(raw)
    key = ApiKey.objects.select_related("user").filter(key_hash=digest).first()
    if key is None or not secrets.compare_digest(key.key_hash, digest) or not key.user.is_active:
        return None
    return key.user


TOUCH_EVERY_SECONDS = 60  # "last used" is shown to the customer by the minute, no finer


def touch_api_key(*, user: User) -> None:
    """Record that the key was used; at most one write a minute, not one per API call.

    The cache marker spares most API calls the query entirely; the conditional UPDATE keeps
    the promise across processes that do not share a cache."""
    if not cache.add(f"api-touched:{user.pk}", 1, timeout=TOUCH_EVERY_SECONDS):
        return
    now = timezone.now()
    ApiKey.objects.filter(user=user).exclude(last_used_at__gt=now - timedelta(minutes=1)).update(
        last_used_at=now
    )


# --- customers ----------------------------------------------------------------------------------


def _check_username(username: str) -> None:
    user_model = get_user_model()
    try:
        user_model.username_validator(username)
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages)) from exc
    max_length = user_model._meta.get_field("username").max_length
    if not username or (max_length is not None and len(username) > max_length):
        raise AccountError(_("The username must be 1 to 150 characters."))
    if user_model.objects.filter(username__iexact=username).exists():
        raise AccountError(_("A user named %(username)s already exists.") % {"username": username})


def customer_create(
    *,
    username: str,
    email: str = "",
    password: str | None = None,
    balance: Decimal | None = None,
    created_by: User | None = None,
    terms_accepted_at: datetime | None = None,
) -> tuple[User, str]:
    """Create a customer with a wallet, a profile and an API key; returns (user, raw API key).

    Without a password the account cannot log in until the customer resets it by e-mail. The
    password is not checked against the validators here: the sign-up form and the command do
    that, where they can explain.
    """
    _check_username(username)
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(
                username=username, email=email, password=password
            )
            if password is None:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            Profile.objects.create(user=user, terms_accepted_at=terms_accepted_at)
            raw_key = api_key_regenerate(user=user)
            wallet_open(user=user, balance=balance, created_by=created_by)
    except IntegrityError as exc:
        # Two sign-ups racing for one name: the loser lands here.
        raise AccountError(
            _("A user named %(username)s already exists.") % {"username": username}
        ) from exc
    return user, raw_key


# --- profiles -----------------------------------------------------------------------------------


def profile_for_user(*, user: User) -> Profile:
    """The user's preferences, created with defaults for accounts made outside customer_create."""
    profile, _created = Profile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def profile_update(
    *,
    user: User,
    email: str,
    language: str,
    notify_completed: bool,
    notify_partial: bool,
    notify_canceled: bool,
    notify_refill: bool,
    notify_ticket_reply: bool | None = None,
) -> Profile:
    """Save the customer's e-mail address and preferences."""
    if language not in dict(settings.LANGUAGES):
        raise AccountError(_("Unknown language."))
    email = get_user_model().objects.normalize_email(email)
    if user.email != email:
        user.email = email
        user.save(update_fields=["email"])
    profile = profile_for_user(user=user)
    profile.language = language
    profile.notify_completed = notify_completed
    profile.notify_partial = notify_partial
    profile.notify_canceled = notify_canceled
    profile.notify_refill = notify_refill
    if notify_ticket_reply is not None:
        profile.notify_ticket_reply = notify_ticket_reply
    profile.save()
    return profile


def profile_set_language(*, user: User, language: str) -> None:
    """The header's language switch, for a logged-in customer: the choice follows them to their
    next login on any device and into their e-mails. An unknown code changes nothing."""
    if language not in dict(settings.LANGUAGES):
        return
    profile = profile_for_user(user=user)
    if profile.language != language:
        Profile.objects.filter(pk=profile.pk).update(language=language)
