"""A provider's balance: asked for in one call, outside any transaction, checked for the
provider's currency, and kept with the time it was read (the provider's row always; an
`UpstreamBalance` row for the staff dashboard). Read on its own schedule, after an
"Insufficient balance", and by every sync.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from panel.money import quantize_money
from panel.upstream import UpstreamClient, UpstreamError

from .models import Provider, UpstreamBalance
from .providers import provider_record_balance
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


@dataclass(frozen=True)
class BalanceAnswer:
    """One `balance` call: the balance, or why there is none (unreachable or refused)."""

    balance: Decimal | None = None
    currency: str = ""
    unavailable: str = ""  # the upstream error
    refused: str = ""  # the currency mismatch

    def keep(self) -> UpstreamBalance:
        """Record it as the dashboard's reading, with its time."""
        if self.unavailable:
            error = f"balance unavailable: {self.unavailable}"
            return UpstreamBalance.objects.create(error=error[:500])
        if self.refused:
            return UpstreamBalance.objects.create(currency=self.currency, error=self.refused[:500])
        return UpstreamBalance.objects.create(balance=self.balance, currency=self.currency)


def balance_ask(*, client: UpstreamClient, provider: Provider) -> BalanceAnswer:
    """Ask the provider for its balance; a usable one is stored on the provider's row."""
    try:
        answer = client.balance()
    except UpstreamError as exc:
        return BalanceAnswer(unavailable=str(exc))
    currency = (answer.currency or "")[:10]
    problem = currency_mismatch(answer.currency, expected=expected_currency(provider))
    if problem is not None:
        return BalanceAnswer(currency=currency, refused=problem)
    balance = quantize_money(answer.balance)
    provider_record_balance(provider_id=provider.pk, balance=balance)
    return BalanceAnswer(balance=balance, currency=currency)


def upstream_balance_refresh(*, provider: Provider | None = None) -> UpstreamBalance:
    """Read a provider's balance now (the SIEULIKE_* one by default) and record it, or why it
    could not be read: an `UpstreamBalance` row, and the provider's own latest balance."""
    provider = provider or Provider.default()
    answer = balance_ask(client=client_for(provider), provider=provider)
    if answer.unavailable:
        logger.warning("upstream balance check failed: %s", answer.unavailable)
    elif answer.refused:
        logger.error("UPSTREAM CURRENCY: balance not recorded: %s", answer.refused)
    return answer.keep()
