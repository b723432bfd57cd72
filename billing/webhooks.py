"""The receivers of bank-transfer notifications: POST /webhooks/sepay/ and /webhooks/casso/.

Thin like every view: authenticate, parse the provider's body into an `IncomingTransfer`, hand
it to `billing.transfers.bank_transfer_receive`, answer. What the providers send is summarised
in the README ("Automatic top-ups").

- A receiver whose key is not configured does not exist: 404, nothing stored.
- Wrong authentication: 401, nothing credited; the attempt is kept in the inbox as "refused"
  (at most REFUSED_KEPT_PER_MINUTE per address, so a flood cannot fill the database).
- Everything else authenticated is answered 2xx, repeats included: the providers retry
  anything else, and a repeat is harmless (the database refuses a second credit).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from panel import ratelimit
from panel.http import AuthedRequest

from .deposits import casso_signature, parse_casso_header
from .models import BankNotification, BankProvider, TopUpRequest
from .transfers import IncomingTransfer, bank_notification_record, bank_transfer_receive

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # a real notification is well under 2 KB
REFUSED_KEPT_PER_MINUTE = 30


class MalformedNotification(ValueError):
    pass


def _whole_dong(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise MalformedNotification(f"{field} is not a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise MalformedNotification(f"{field} is not a number") from exc
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise MalformedNotification(f"{field} is not a whole number of đồng")
    return amount


def _text(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    return "" if value is None else str(value)


def _content(*parts: str) -> str:
    """The provider's text fields, one per line, without repeats (see deposits.find_codes)."""
    return "\n".join(dict.fromkeys(p.strip() for p in parts if p and p.strip()))


def parse_sepay(data: Any) -> IncomingTransfer:
    """SePay's body: id, transferType in/out, transferAmount, content, code, referenceCode..."""
    if not isinstance(data, dict) or data.get("id") in (None, ""):
        raise MalformedNotification("not a SePay transaction (no id)")
    direction = data.get("transferType")
    if direction not in ("in", "out"):
        raise MalformedNotification("transferType is neither in nor out")
    amount = _whole_dong(data.get("transferAmount"), "transferAmount")
    return IncomingTransfer(
        provider=BankProvider.SEPAY,
        provider_id=str(data["id"]),
        reference=_text(data, "referenceCode"),
        amount=abs(amount) if direction == "in" else -abs(amount),
        content=_content(_text(data, "content"), _text(data, "code"), _text(data, "description")),
        account_number=_text(data, "accountNumber"),
        transaction_time=_text(data, "transactionDate"),
    )


def parse_casso(body: Any) -> IncomingTransfer:
    """Casso v2: {"error": 0, "data": {id, reference, description, amount (signed), ...}}."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or data.get("id") in (None, ""):
        raise MalformedNotification("not a Casso v2 transaction (data.id missing)")
    return IncomingTransfer(
        provider=BankProvider.CASSO,
        provider_id=str(data["id"]),
        reference=_text(data, "reference"),
        amount=_whole_dong(data.get("amount"), "amount"),
        content=_content(_text(data, "description")),
        account_number=_text(data, "accountNumber"),
        transaction_time=_text(data, "transactionDateTime"),
    )


def _refuse(
    request: HttpRequest, *, provider: str, raw: str, detail: str, status: int
) -> JsonResponse:
    address = ratelimit.client_address(request)
    if ratelimit.hit(f"bank-refused:{address}", limit=REFUSED_KEPT_PER_MINUTE):
        bank_notification_record(
            provider=provider,
            outcome=BankNotification.Outcome.REFUSED,
            raw_body=raw,
            remote_addr=address,
            detail=detail,
        )
    logger.warning("%s notification refused from %s: %s", provider, address, detail)
    return JsonResponse({"success": False, "error": detail}, status=status)


def _receive(request: HttpRequest, incoming: IncomingTransfer, raw: str) -> JsonResponse:
    address = ratelimit.client_address(request)
    try:
        notification = bank_transfer_receive(incoming=incoming, raw_body=raw, remote_addr=address)
    except Exception:
        # Everything of this delivery rolled back, so the provider's retry (it gets a 500) will
        # find nothing and credit it. Keep a line in the inbox meanwhile, if the database lets us.
        logger.exception("%s notification %s failed", incoming.provider, incoming.provider_id)
        try:
            bank_notification_record(
                provider=incoming.provider,
                outcome=BankNotification.Outcome.REFUSED,
                raw_body=raw,
                remote_addr=address,
                detail="Internal error: nothing credited; the provider retries.",
            )
        except Exception:  # noqa: BLE001 - the database may be what failed; the 500 stands
            logger.exception("could not record the failed notification")
        raise
    return JsonResponse({"success": True, "outcome": notification.outcome})


def _body(request: HttpRequest) -> str:
    if len(request.body) > MAX_BODY_BYTES:
        raise MalformedNotification("body too large")
    return request.body.decode("utf-8", errors="replace")


@csrf_exempt  # a server-to-server POST, authenticated by its key or signature instead
@require_POST
def sepay(request: HttpRequest) -> HttpResponse:
    key = settings.SEPAY_WEBHOOK_KEY
    if not key:
        raise Http404("The SePay receiver is not configured.")
    try:
        raw = _body(request)
    except MalformedNotification as exc:
        return JsonResponse({"success": False, "error": str(exc)}, status=413)
    scheme, _sep, given = request.headers.get("Authorization", "").strip().partition(" ")
    # Constant time: the comparison must not tell an attacker how much of the key they have.
    if scheme.lower() != "apikey" or not secrets.compare_digest(
        given.strip().encode(), key.encode()
    ):
        return _refuse(
            request, provider=BankProvider.SEPAY, raw=raw, detail="wrong API key", status=401
        )
    try:
        incoming = parse_sepay(json.loads(raw))
    except ValueError as exc:  # JSONDecodeError and MalformedNotification are ValueErrors
        return _refuse(
            request, provider=BankProvider.SEPAY, raw=raw, detail=f"malformed: {exc}", status=400
        )
    return _receive(request, incoming, raw)


@csrf_exempt
@require_POST
def casso(request: HttpRequest) -> HttpResponse:
    key = settings.CASSO_CHECKSUM_KEY
    if not key:
        raise Http404("The Casso receiver is not configured.")
    try:
        raw = _body(request)
    except MalformedNotification as exc:
        return JsonResponse({"success": False, "error": str(exc)}, status=413)
    signed = parse_casso_header(request.headers.get("X-Casso-Signature", ""))
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if signed is None or body is None:
        return _refuse(
            request, provider=BankProvider.CASSO, raw=raw, detail="no valid signature", status=401
        )
    timestamp, signature = signed
    expected = casso_signature(key=key, timestamp=timestamp, payload=body)
    if not secrets.compare_digest(expected.encode(), signature.encode()):
        return _refuse(
            request, provider=BankProvider.CASSO, raw=raw, detail="forged signature", status=401
        )
    # A signature is valid forever; the timestamp it covers is what makes a captured request
    # useless later. Within the window a replay is only a duplicate, which credits nothing.
    age = abs(time.time() * 1000 - int(timestamp)) / 1000
    if age > settings.CASSO_TIMESTAMP_TOLERANCE_SECONDS:
        return _refuse(
            request,
            provider=BankProvider.CASSO,
            raw=raw,
            detail=f"timestamp outside the window ({int(age)} s)",
            status=401,
        )
    try:
        incoming = parse_casso(body)
    except MalformedNotification as exc:
        return _refuse(
            request, provider=BankProvider.CASSO, raw=raw, detail=f"malformed: {exc}", status=400
        )
    return _receive(request, incoming, raw)


# --- the demo bank of `make run` ----------------------------------------------------------------


def sepay_demo_payload(*, topup: TopUpRequest) -> dict[str, Any]:
    """A SePay notification of the customer paying exactly this request, as a bank would word it."""
    serial = uuid.uuid4().int % 10**9
    return {
        "id": serial,
        "gateway": settings.SHOP_BANK_NAME,
        "transactionDate": time.strftime("%Y-%m-%d %H:%M:%S"),
        "accountNumber": settings.SHOP_BANK_ACCOUNT,
        "code": None,
        "content": f"{topup.reference.lower()} chuyen tien",
        "transferType": "in",
        "transferAmount": int(topup.amount),
        "accumulated": 0,
        "subAccount": None,
        "referenceCode": f"DEMO{serial}",
        "description": f"MBVCB.{serial}.{topup.reference}.CT tu 0000000000 KHACH HANG DEMO",
    }


@login_required
@require_POST
def demo_pay(request: AuthedRequest, reference: str) -> HttpResponse:
    """One click plays the bank: a signed SePay notification for this request, over HTTP to our
    own receiver, exactly as SePay would send it. Only with settings.BANK_DEMO (development
    against the sandbox upstream): it makes money out of nothing."""
    if not settings.BANK_DEMO:
        raise Http404
    topup = get_object_or_404(TopUpRequest, reference=reference, user=request.user)
    try:
        response = requests.post(
            request.build_absolute_uri(reverse("billing:webhook_sepay")),
            json=sepay_demo_payload(topup=topup),
            headers={"Authorization": f"Apikey {settings.SEPAY_WEBHOOK_KEY}"},
            timeout=5,
        )
        response.raise_for_status()
    except requests.RequestException:
        logger.exception("The demo bank could not reach the SePay receiver")
        messages.error(request, _("The demo bank could not reach the receiver; try again."))
    else:
        messages.success(request, _("The demo bank sent a SePay notification for this transfer."))
    return redirect("billing:topup_detail", reference=topup.reference)
