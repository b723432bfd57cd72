"""The upstream account's balance, read on its own schedule (and after an "Insufficient
balance"), kept with the time it was read, and checked for the shop's upstream currency.

One call, outside any transaction; the reading (or the reason it failed) is one row.
"""

from __future__ import annotations

import logging

from django.conf import settings

from panel.money import quantize_money
from panel.upstream import UpstreamError

from .models import Provider, UpstreamBalance
from .upstreams import client_for

logger = logging.getLogger(__name__)


def expected_currency(provider: Provider | None) -> str:
    """The currency a provider's answers must be in: SIEULIKE_CURRENCY for the SIEULIKE_*
    provider, the currency staff set for any other."""
    if provider is None or provider.from_env:
        return str(settings.SIEULIKE_CURRENCY)
    return provider.currency.strip().upper()


def currency_mismatch(currency: str | None, *, expected: str | None = None) -> str | None:
    """Why an answer in `currency` must not be used, or None. A missing currency is accepted
    (the protocol's `services` has none, and PHP panels drop it); a different one never is."""
    want = expected or settings.SIEULIKE_CURRENCY
    if currency is None or not currency.strip() or currency.strip().upper() == want:
        return None
    return f"the upstream answered in {currency.strip()[:10]!r}, not the configured {want!r}"


def upstream_balance_refresh(*, provider: Provider | None = None) -> UpstreamBalance:
    """Read a provider's balance now (the SIEULIKE_* one by default) and record it, or why it
    could not be read: an `UpstreamBalance` row, and the provider's own latest balance."""
    from .providers import provider_record_balance

    provider = provider or Provider.default()
    try:
        answer = client_for(provider).balance()
    except UpstreamError as exc:
        logger.warning("upstream balance check failed: %s", exc)
        return UpstreamBalance.objects.create(error=f"balance unavailable: {exc}"[:500])
    problem = currency_mismatch(answer.currency, expected=expected_currency(provider))
    if problem is not None:
        logger.error("UPSTREAM CURRENCY: balance not recorded: %s", problem)
        return UpstreamBalance.objects.create(currency=answer.currency[:10], error=problem[:500])
    provider_record_balance(provider_id=provider.pk, balance=answer.balance)
    return UpstreamBalance.objects.create(
        balance=quantize_money(answer.balance), currency=(answer.currency or "")[:10]
    )
