"""The customer's balance on every page (one query, only for signed-in users)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def wallet(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .models import Wallet, WalletKind

    balance = (
        Wallet.objects.filter(user=user, kind=WalletKind.MAIN)
        .values_list("balance", flat=True)
        .first()
    )
    return {"wallet_balance": balance}
