"""Orders of every kind, their recorded state changes, and refill and cancel requests."""

from __future__ import annotations

from typing import Final

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog.fields import ProviderForeignKey
from panel.db import Digits

MONEY: Digits = {"max_digits": 16, "decimal_places": 2}
RATE: Digits = {"max_digits": 14, "decimal_places": 4}


class OrderKind(models.TextChoices):
    DEFAULT = "default", _("Default")
    CUSTOM_COMMENTS = "comments", _("Custom comments")
    DRIPFEED = "dripfeed", _("Drip-feed")
    COMMENT_LIKES = "comment_likes", _("Comment likes")
    PACKAGE = "package", _("VIP package")


class OrderState(models.TextChoices):
    """The panel's own states. Transitions are listed in `orders.states.TRANSITIONS`."""

    QUEUED = "queued", _("Queued")  # charged, waiting to be forwarded
    SENDING = "sending", _("Sending")  # claimed by a worker; the add call may be under way
    REVIEW = "review", _("Held for review")  # the add may or may not have reached the upstream
    PLACED = "placed", pgettext_lazy("order state", "Placed")  # the upstream accepted it; tracked
    # The poll cannot decide (unknown to the upstream, missing from answers, an unknown word, no
    # usable count) for longer than ORDER_ATTENTION_AFTER: a person ends it or sends it back.
    ATTENTION = "attention", _("Needs attention")
    COMPLETED = "completed", _("Completed")
    PARTIAL = "partial", _("Partial")
    CANCELED = "canceled", _("Canceled")
    FAILED = "failed", _("Failed")  # rejected by the upstream; refunded in full


class Order(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    service = models.ForeignKey("catalog.Service", on_delete=models.PROTECT, related_name="orders")
    kind = models.CharField(_("kind"), max_length=20, choices=OrderKind, default=OrderKind.DEFAULT)
    link = models.URLField(_("link"), max_length=500)
    quantity = models.PositiveBigIntegerField(_("quantity"))  # per run for drip-feed
    comments = models.TextField(_("comments"), blank=True)
    username = models.CharField(_("username"), max_length=100, blank=True)
    runs = models.PositiveIntegerField(_("runs"), null=True, blank=True)
    interval = models.PositiveIntegerField(_("interval (minutes)"), null=True, blank=True)

    # Money, fixed at placing: later catalog syncs never change an order's price.
    rate = models.DecimalField(_("price per 1000"), **RATE)
    charge = models.DecimalField(_("charge"), **MONEY)
    cost = models.DecimalField(_("upstream cost"), null=True, blank=True, **MONEY)

    state = models.CharField(
        _("state"), max_length=20, choices=OrderState, default=OrderState.QUEUED
    )
    # Where the order is sent (and, once placed, followed): its service's provider, or the
    # provider of the backup it failed over to; `placed_service` is that backup (NULL: its own
    # service). The customer's service, rate and charge never change with it.
    provider = ProviderForeignKey(
        "catalog.Provider",
        on_delete=models.PROTECT,
        related_name="orders",
        fill_from="service",
        verbose_name=_("provider"),
    )
    placed_service = models.ForeignKey(
        "catalog.Service",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("sent as service"),
    )
    upstream_id = models.PositiveBigIntegerField(_("upstream order id"), null=True, blank=True)
    upstream_status = models.CharField(_("upstream status"), max_length=50, blank=True)
    start_count = models.BigIntegerField(_("start count"), null=True, blank=True)
    remains = models.BigIntegerField(_("remains"), null=True, blank=True)
    error = models.CharField(_("reason"), max_length=500, blank=True)
    # VIP counters, drip-feed runs and their child orders, the last per-order poll error.
    extra = models.JSONField(_("upstream details"), default=dict, blank=True)
    # Since when the poll has been unable to decide about this order, and why (see
    # orders/attention.py); NULL while its answers are clear.
    held_since = models.DateTimeField(_("undecided since"), null=True, blank=True)
    attention_reason = models.CharField(_("why it needs attention"), max_length=500, blank=True)

    send_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    waiting_for_funds = models.BooleanField(
        _("waiting for upstream funds"),
        default=False,
        help_text=_("The upstream answered 'Insufficient balance': the shop must top up upstream."),
    )
    # NULL, not "", for "no key": the unique constraint below applies only to real keys.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    request_fingerprint = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(charge__gt=0), name="order_charge_gt_0"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_gt_0"),
            # Each provider numbers its orders itself: ids are unique per provider only.
            models.UniqueConstraint(
                fields=["provider", "upstream_id"], name="order_upstream_id_per_provider"
            ),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="order_idempotency_key_per_user",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="order_state_idx"),
            models.Index(fields=["user", "-created_at"], name="order_user_recent_idx"),
            # The poll's batches, per provider: `provider = ? AND state = placed AND id > ?`
            # in id order (orders.polling.orders_poll).
            models.Index(fields=["provider", "state", "id"], name="order_provider_poll_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def total_quantity(self) -> int:
        return self.quantity * (self.runs or 1)


class OrderEvent(models.Model):
    """One state change of an order: who, when, from, to, why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_state} -> {self.to_state}"


class RefillState(models.TextChoices):
    """Transitions are listed in `orders.states.REFILL_TRANSITIONS`."""

    REQUESTED = "requested", _("Requested")  # waiting to be forwarded
    SENDING = "sending", _("Sending")
    PENDING = "pending", _("Pending")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")
    # Not answered, or "Refill not found", for longer than ORDER_ATTENTION_AFTER.
    ATTENTION = "attention", _("Needs attention")


# A refill still under way: at most one per order (the constraint below, as the upstream insists).
OPEN_REFILL_STATES: Final = (
    RefillState.REQUESTED,
    RefillState.SENDING,
    RefillState.PENDING,
    RefillState.IN_PROGRESS,
)


class RefillRequest(models.Model):
    State = RefillState

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refills")
    state = models.CharField(max_length=20, choices=State, default=State.REQUESTED)
    upstream_refill_id = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # Since when the upstream has not answered it usably (see orders/attention.py).
    held_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(state__in=[str(state) for state in OPEN_REFILL_STATES]),
                name="refill_one_open_per_order",
            ),
        ]

    def __str__(self) -> str:
        return f"refill of #{self.order_id} ({self.state})"


class CancelRequest(models.Model):
    class State(models.TextChoices):
        """Transitions are listed in `orders.states.CANCEL_TRANSITIONS`."""

        REQUESTED = "requested", _("Requested")
        SENDING = "sending", _("Sending")
        SUBMITTED = "submitted", _("Submitted")  # the upstream took it; the order's end decides
        DONE = "done", _("Done")  # the order ended canceled (or partial) after it
        REJECTED = "rejected", _("Rejected")
        # Not answered for longer than ORDER_ATTENTION_AFTER.
        ATTENTION = "attention", _("Needs attention")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="cancels")
    state = models.CharField(max_length=20, choices=State, default=State.REQUESTED)
    error = models.CharField(max_length=500, blank=True)
    held_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order"], name="cancel_one_per_order"),
        ]

    def __str__(self) -> str:
        return f"cancel of #{self.order_id} ({self.state})"


class ForwardAttempt(models.Model):
    """One `add` call for an order: to which provider, as which service, what it answered and
    how long it took. Written after the call, outside any transaction; read by the order's admin
    page (every attempt and where it was placed) and by provider health."""

    class Outcome(models.TextChoices):
        PLACED = "placed", _("Placed")
        REFUSED = "refused", _("Refused")
        OUT_OF_FUNDS = "out_of_funds", _("Out of funds")
        UNREACHABLE = "unreachable", _("Unreachable")
        AMBIGUOUS = "ambiguous", _("No clear answer")
        SKIPPED = "skipped", _("Skipped: provider paused")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="attempts")
    provider = models.ForeignKey(
        "catalog.Provider", on_delete=models.PROTECT, related_name="attempts"
    )
    service = models.ForeignKey("catalog.Service", on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome)
    answer = models.CharField(_("answer"), max_length=500, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), null=True, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("forward attempt")
        verbose_name_plural = _("forward attempts")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["provider", "-at"], name="attempt_provider_recent_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} -> {self.provider_id}: {self.outcome}"
