"""Pure rules of an order's life: no database, no network, no Django models.

Status words: the upstream (a PHP panel) is inconsistent about case, spacing and spelling
("Cancelled", "In Progress", "inprogress"), so every word it sends passes through
`normalize_status` once, and the rest of the code compares canonical words only.

Money: a Partial is refunded for what was not delivered, at the unit price the customer paid,
rounded by the project's one rule and never more than the charge.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Final
from urllib.parse import urlsplit

from panel.money import ZERO, quantize_money

# --- status words ----------------------------------------------------------------------------

PENDING: Final = "Pending"
IN_PROGRESS: Final = "In progress"
PROCESSING: Final = "Processing"
COMPLETED: Final = "Completed"
PARTIAL: Final = "Partial"
CANCELED: Final = "Canceled"

PUBLIC_STATUSES: Final = (PENDING, IN_PROGRESS, PROCESSING, COMPLETED, PARTIAL, CANCELED)
FINAL_STATUSES: Final = frozenset({COMPLETED, PARTIAL, CANCELED})
CANCELLABLE_STATUSES: Final = frozenset({PENDING, IN_PROGRESS, PROCESSING})

# Keys are the word as `word_key` leaves it.
_ORDER_WORDS: Final = {
    "pending": PENDING,
    "inprogress": IN_PROGRESS,
    "progress": IN_PROGRESS,
    "active": IN_PROGRESS,  # a drip-feed parent whose runs are still being created
    "running": IN_PROGRESS,
    "processing": PROCESSING,
    "completed": COMPLETED,
    "complete": COMPLETED,
    "partial": PARTIAL,
    "partiallycompleted": PARTIAL,
    "canceled": CANCELED,
    "cancelled": CANCELED,
    "cancel": CANCELED,
    "refunded": CANCELED,  # some panels report a cancelled-and-refunded order this way
}

REFILL_PENDING: Final = "Pending"
REFILL_IN_PROGRESS: Final = "In progress"
REFILL_COMPLETED: Final = "Completed"
REFILL_REJECTED: Final = "Rejected"

_REFILL_WORDS: Final = {
    "pending": REFILL_PENDING,
    "inprogress": REFILL_IN_PROGRESS,
    "progress": REFILL_IN_PROGRESS,
    "processing": REFILL_IN_PROGRESS,
    "completed": REFILL_COMPLETED,
    "complete": REFILL_COMPLETED,
    "rejected": REFILL_REJECTED,
    "reject": REFILL_REJECTED,
    "canceled": REFILL_REJECTED,
    "cancelled": REFILL_REJECTED,
}


def word_key(word: object) -> str:
    """The key an upstream status word is looked up by: lower-cased, without spaces, dashes and
    underscores ("In Progress", "in_progress" -> "inprogress"); "" for a non-string. Anything
    else is kept, so "Completed?" is no known word."""
    if not isinstance(word, str):
        return ""
    return re.sub(r"[\s_\-]+", "", word).lower()


def normalize_status(word: object) -> str | None:
    """The upstream's order status as one of PUBLIC_STATUSES, or None for an unknown word."""
    return _ORDER_WORDS.get(word_key(word))


def normalize_refill_status(word: object) -> str | None:
    """The upstream's refill status as Pending / In progress / Completed / Rejected, or None."""
    return _REFILL_WORDS.get(word_key(word))


# VIP packages' counters: the name the poll keeps each under in `Order.extra` (the upstream
# client's OrderStatus field of the same name) -> the API v2 document's name for it.
VIP_FIELDS: Final = {
    "daily_post_limit": "daily_Post_Limit",
    "daily_progress": "daily_Progress",
    "total_posts": "total_posts",
    "completed_posts": "completed_posts",
    "days_left": "days_Left",
}

# --- upstream refusals -------------------------------------------------------------------------

_OUT_OF_FUNDS = re.compile(
    r"insufficient\s*(balance|funds?)|not\s+enough\s+(balance|funds?|money)|"
    r"low\s+balance|balance\s+(is\s+)?(too\s+low|insufficient)|không\s+đủ",
    re.IGNORECASE,
)


def is_upstream_out_of_funds(message: str) -> bool:
    """Does this refusal mean the shop's own upstream account is empty (not the order's fault)?

    Matched loosely on purpose: a wrongly matched message only delays an order (it waits for a
    balance check), while a missed one would refund a customer for the shop's problem.
    """
    return bool(_OUT_OF_FUNDS.search(message or ""))


def _sentence(*words: str) -> re.Pattern[str]:
    # The words in this order, any case, separated (or surrounded) by anything but letters
    # and digits: "Refill request already submitted." matches, "Not refill..." does not.
    gap = r"[\W_]*"
    return re.compile(gap + gap.join(words) + gap, re.IGNORECASE)


_REFILL_TAKEN = (
    _sentence("refill", "request", "already", "submitted"),
    _sentence("refill", "is", "currently", "running"),
)
_CANCEL_TAKEN = _sentence("the", "cancellation", "request", "was", "submitted", "earlier")


def is_refill_already_taken(message: str | None) -> bool:
    """Does this refusal of a refill say the upstream already has it (so our earlier,
    unanswered attempt got through)?"""
    return any(pattern.fullmatch(message or "") for pattern in _REFILL_TAKEN)


def is_cancel_already_taken(message: str | None) -> bool:
    """... and this refusal of a cancel, that the upstream already took it?"""
    return bool(_CANCEL_TAKEN.fullmatch(message or ""))


# --- money ------------------------------------------------------------------------------------


def clamp_remains(remains: int | None, quantity: int) -> int | None:
    """What the upstream says is left, kept within 0..quantity (it has reported both -5 and more
    than was ordered)."""
    if remains is None:
        return None
    return max(0, min(int(remains), int(quantity)))


def refund_for_remains(*, charge: Decimal, remains: int | None, total_quantity: int) -> Decimal:
    """The refund of a Partial: remains x the unit price the customer paid.

    charge x remains / total, rounded once by the project's rule, clamped to 0..charge. Unknown
    remains refund nothing: a Partial without a count is held for a person, not guessed at.
    """
    if remains is None or total_quantity <= 0:
        return ZERO
    left = clamp_remains(remains, total_quantity) or 0
    amount = quantize_money(Decimal(charge) * left / total_quantity)
    return max(ZERO, min(amount, quantize_money(charge)))


def dripfeed_remains(
    *, runs: int, quantity: int, children: list[tuple[int | None, str | None]]
) -> int:
    """What a finished drip-feed parent did not deliver, from its child orders.

    `children` is one (remains, canonical status) pair per child order the upstream created.
    A run that never became a child order delivered nothing; a Completed child delivered all of
    its quantity, a Canceled one nothing, any other its quantity minus its remains (all of it
    when unknown): the refund follows what was delivered, never what was promised.
    """
    total = runs * quantity
    delivered = 0
    for remains, status in children[:runs]:
        if status == COMPLETED:
            delivered += quantity
        elif status != CANCELED:
            left = clamp_remains(remains, quantity)
            delivered += quantity - (quantity if left is None else left)
    return max(0, min(total, total - delivered))


# --- retries ----------------------------------------------------------------------------------

BACKOFF_BASE: Final = timedelta(seconds=60)
BACKOFF_CAP: Final = timedelta(minutes=30)


def forward_backoff(attempts: int) -> timedelta:
    """The wait before sending again after `attempts` unreachable tries: 1, 2, 4 ... 30 min."""
    exponent = max(0, min(attempts - 1, 16))
    factor: int = 2**exponent  # int ** int is typed Any (a negative exponent gives a float)
    return min(BACKOFF_BASE * factor, BACKOFF_CAP)


# --- input ------------------------------------------------------------------------------------

# The limits of an order's input. `orders.validation` checks them, and the form's help texts,
# the refusals' wording (`orders.errors`) and the API documentation state them from here only.
LINK_MAX_LENGTH: Final = 500
COMMENT_MAX_LENGTH: Final = 500
COMMENTS_MAX_LINES: Final = 10_000
USERNAME_MAX_LENGTH: Final = 100
RUNS_MIN: Final = 2  # runs=1 is an ordinary order (see validation.check_order)
DRIPFEED_MAX_MINUTES: Final = 1440  # runs x interval
MASS_MAX_LINES: Final = 100  # orders in one mass order
IDEMPOTENCY_KEY_MAX_LENGTH: Final = 100

_USERNAME = re.compile(r"^[\w.@\-]+( [\w.@\-]+)*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_valid_link(link: str) -> bool:
    """An absolute http(s) URL with a host, no whitespace or control characters, at most
    LINK_MAX_LENGTH characters."""
    if not link or len(link) > LINK_MAX_LENGTH or re.search(r"\s", link) or _CONTROL.search(link):
        return False
    try:
        parts = urlsplit(link)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def comment_lines(text: str) -> list[str]:
    """Custom comments: one per line, surrounding spaces trimmed, empty lines dropped."""
    return [line.strip() for line in re.split(r"\r\n|\r|\n", text or "") if line.strip()]


def is_valid_comment(line: str) -> bool:
    return len(line) <= COMMENT_MAX_LENGTH and not _CONTROL.search(line)


def is_valid_username(username: str) -> bool:
    return 0 < len(username) <= USERNAME_MAX_LENGTH and bool(_USERNAME.match(username))


def request_fingerprint(**params: object) -> str:
    """A stable digest of an order's parameters: one idempotency key must mean one order."""
    payload = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()
