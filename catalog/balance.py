"""The upstream account's balance, read on its own schedule (and after an "Insufficient
balance"), kept with the time it was read, and checked for the shop's upstream currency.

One call, outside any transaction; the reading (or the reason it failed) is one row.
"""

from __future__ import annotations

import logging

from django.conf import settings

from panel.money import quantize_money
from panel.upstream.client import UpstreamError
from panel.upstream.conf import get_client

from .models import UpstreamBalance

logger = logging.getLogger(__name__)


def currency_mismatch(currency: str | None) -> str | None:
    """Why an answer in `currency` must not be used, or None. A missing currency is accepted
    (the protocol's `services` has none, and PHP panels drop it); a different one never is."""
    want = settings.SIEULIKE_CURRENCY
    if currency is None or not currency.strip() or currency.strip().upper() == want:
        return None
    return f"the upstream answered in {currency.strip()[:10]!r}, not the configured {want!r}"


def upstream_balance_refresh() -> UpstreamBalance:
    """Read the upstream balance now and record it (or why it could not be read)."""
    try:
        answer = get_client().balance()
    except UpstreamError as exc:
        logger.warning("upstream balance check failed: %s", exc)
        return UpstreamBalance.objects.create(error=f"balance unavailable: {exc}"[:500])
    problem = currency_mismatch(answer.currency)
    if problem is not None:
        logger.error("UPSTREAM CURRENCY: balance not recorded: %s", problem)
        return UpstreamBalance.objects.create(currency=answer.currency[:10], error=problem[:500])
    return UpstreamBalance.objects.create(
        balance=quantize_money(answer.balance), currency=(answer.currency or "")[:10]
    )
