"""Why an order or a request was refused, in two voices.

`OrderRejected.message` is the API's English, worded like the upstream's document ("Quantity less
than minimal 20"): the panel's API v2 answers it as `{"error": message}`, and resellers' scripts
match on it. `OrderRejected.display` is the same refusal for a person in the browser, translated,
and `OrderRejected.field` says which form field it belongs next to.

A refusal that states a limit (a length, a number of runs or lines) is raised with it as a
parameter, read from `orders.rules` by the check that refused: the words never carry the number.

`plain_reason` turns an upstream refusal stored on an order or a request into plain words for the
customer.
"""

from __future__ import annotations

from typing import Final

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# code -> (API English, translated display, form field)
_REJECTIONS: Final[dict[str, tuple[str, Promise, str | None]]] = {
    "service": ("Incorrect service ID", _("This service is not available."), "service"),
    "link": (
        "Incorrect link",
        _("Enter a valid http:// or https:// link (at most %(limit)s characters, no spaces)."),
        "link",
    ),
    "quantity": ("Incorrect quantity", _("Enter a whole number."), "quantity"),
    "quantity_min": (
        "Quantity less than minimal %(min)s",
        _("The quantity must be at least %(min)s."),
        "quantity",
    ),
    "quantity_max": (
        "Quantity more than maximal %(max)s",
        _("The quantity must be at most %(max)s."),
        "quantity",
    ),
    "total_max": (
        "Total quantity more than maximal %(max)s",
        _("Quantity x runs must be at most %(max)s."),
        "runs",
    ),
    "comments_missing": (
        "Comments are required",
        _("Write at least one comment, one per line."),
        "comments",
    ),
    "comments_min": (
        "Quantity less than minimal %(min)s",
        _("Write at least %(min)s comments (one per line)."),
        "comments",
    ),
    "comments_max": (
        "Quantity more than maximal %(max)s",
        _("Write at most %(max)s comments (one per line)."),
        "comments",
    ),
    "comment_line": (
        "Incorrect comment on line %(line)s",
        _(
            "Comment %(line)s is too long (at most %(limit)s characters) or contains control "
            "characters."
        ),
        "comments",
    ),
    "username_missing": ("Username is required", _("Enter the commenter's username."), "username"),
    "username": (
        "Incorrect username",
        _("Enter a username of letters, digits, dots, dashes or underscores (at most %(limit)s)."),
        "username",
    ),
    "no_dripfeed": (
        "This service does not support drip feed",
        _("This service does not support drip-feed."),
        "runs",
    ),
    # "at least 1" is the upstream's own wording, which scripts match on; the rule is RUNS_MIN
    # (runs=1 is taken as an ordinary order before this check).
    "runs": ("Runs must be at least 1", _("Drip-feed needs at least %(min)s runs."), "runs"),
    "interval": (
        "Interval must be at least 1 minute",
        _("The interval must be at least 1 minute."),
        "interval",
    ),
    "total_time": (
        "Total time cannot exceed %(max)s minutes",
        _("Runs x interval must not exceed %(max)s minutes (%(hours)s hours)."),
        "interval",
    ),
    "funds": (
        "Not enough funds on balance",
        _("Not enough balance: you need %(missing)s more."),
        None,
    ),
    # issue 11: never charge more than the price on the page the customer submitted.
    "price_changed": (
        "Price changed to %(rate)s per 1000, above the expected %(expected)s",
        _(
            "The price of this service rose to %(rate_display)s per 1000 since the page was "
            "shown. Check the new price and place the order again."
        ),
        None,
    ),
    "price_unseen": (
        "Price not confirmed for this service",
        _("This line changed since the prices were shown. Check the prices and place it again."),
        None,
    ),
    "expected_rate": ("Incorrect expected rate", _("The price shown is not a number."), None),
    # issue 15: a second open order on the same link and service under-delivers upstream.
    "same_link": (
        "An order for this link and service is still in progress (order %(order)s); "
        "send confirm_same_link=1 to place another",
        _(
            "Order #%(order)s for this link and service is still in progress. A second one "
            "on the same link usually under-delivers at the provider; tick the box to place "
            "it anyway."
        ),
        "link",
    ),
    "idempotency_reused": (
        "Idempotency key reused with different parameters",
        _("This request key was already used for a different order."),
        None,
    ),
    "idempotency_key": ("Incorrect idempotency key", _("The request key is too long."), None),
    "mass_format": (
        "Incorrect format, expected service_id|link|quantity",
        _("Write service_id|link|quantity."),
        None,
    ),
    "mass_empty": ("No orders", _("Write at least one order, one per line."), None),
    "mass_too_many": (
        "Too many orders, at most %(max)s lines",
        _("At most %(max)s orders at a time."),
        None,
    ),
    # Refill and cancel: the upstream document's own strings.
    "order_id": ("Incorrect order ID", _("Order not found."), None),
    "refill_unsupported": (
        "This order does not support refill",
        _("This service has no refill warranty."),
        None,
    ),
    "refill_not_finished": (
        "Order is not completed",
        _("A refill can be asked for once the order is completed or partial."),
        None,
    ),
    "refill_open": ("Refill request already submitted", _("A refill was already asked for."), None),
    "refill_running": ("Refill is currently running", _("A refill is already running."), None),
    "warranty": (
        "Warranty period has expired",
        _("The refill warranty of this order has expired."),
        None,
    ),
    "cancel_unsupported": (
        "This order cannot be cancelled",
        _("This service cannot be canceled."),
        None,
    ),
    "cancel_submitted": (
        "The cancellation request was submitted earlier",
        _("A cancellation was already asked for."),
        None,
    ),
    "cancel_status": (
        "Order cannot be cancelled at this status",
        _("The order cannot be canceled any more."),
        None,
    ),
}


class OrderRejected(Exception):
    """An order, refill or cancel refused before anything was charged or sent."""

    def __init__(self, code: str, **params: object) -> None:
        api, display, field = _REJECTIONS[code]
        self.code = code
        self.params = params
        self.message = api % params if params else api
        self.field = field
        self._display = display
        super().__init__(self.message)

    @property
    def display(self) -> str:
        """The refusal for a person, in the active language."""
        return str(self._display) % self.params if self.params else str(self._display)


# Upstream refusals of add / refill / cancel that customers see: lower-cased upstream words ->
# plain words. Anything else is shown as the upstream said it, after a plain lead-in.
_UPSTREAM_WORDS: Final[dict[str, Promise]] = {
    "incorrect link": _(
        "The provider could not use this link. Check that it is public and correct."
    ),
    "invalid link": _("The provider could not use this link. Check that it is public and correct."),
    "incorrect service id": _("The provider no longer offers this service."),
    "incorrect order id": _("The provider does not know this order."),
    "this order does not support refill": _("This service has no refill warranty."),
    "refill request already submitted": _("A refill was already asked for."),
    "refill is currently running": _("A refill is already running."),
    "refill request was rejected": _("The provider rejected the refill."),
    "warranty period has expired": _("The refill warranty of this order has expired."),
    "this order cannot be cancelled": _("This service cannot be canceled."),
    "the cancellation request was submitted earlier": _("A cancellation was already asked for."),
    "order cannot be cancelled at this status": _("The order could no longer be canceled."),
    "this service does not support drip feed": _("This service does not support drip-feed."),
    "order not found": _("The provider does not know this order."),
    "refill not found": _("The provider does not know this refill."),
}


# Reasons the panel itself writes on an order or a request (stored as codes, shown translated).
REASON_UNREACHABLE: Final = "panel:unreachable"
REASON_INVALID: Final = "panel:invalid"
REASON_BY_SHOP: Final = "panel:by_shop"
REASON_CANCELED_BEFORE_SENDING: Final = "panel:canceled_before_sending"
REASON_ORDER_FINISHED: Final = "panel:order_finished"

_PANEL_REASONS: Final[dict[str, Promise]] = {
    REASON_UNREACHABLE: _(
        "The provider could not be reached for a long time; the order was refunded."
    ),
    REASON_INVALID: _("The order's details were refused before sending; the order was refunded."),
    REASON_BY_SHOP: _("Canceled by the shop and refunded in full."),
    REASON_CANCELED_BEFORE_SENDING: _(
        "Canceled at your request before it was sent; refunded in full."
    ),
    REASON_ORDER_FINISHED: _("The order had already finished."),
}


def plain_reason(reason: str) -> str:
    """An upstream refusal (or a reason the panel wrote) in plain words for the customer."""
    text = (reason or "").strip()
    if not text:
        return ""
    if text in _PANEL_REASONS:
        return str(_PANEL_REASONS[text])
    known = _UPSTREAM_WORDS.get(text.rstrip(".").lower())
    if known is not None:
        return str(known)
    return gettext("The provider refused: %(reason)s") % {"reason": text}
