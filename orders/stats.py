"""The panel's own figures about its services, measured from its own orders.

The average completion time a customer sees on the order form is the panel's measurement: the
time from placing to completion of this service's orders that completed here in the last
`WINDOW`, with the sample size. With fewer than `MIN_SAMPLE` such orders the upstream's own
figure (minutes per 1000) is shown instead, marked as the provider's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F
from django.utils import timezone

from catalog.models import Service

from .models import Order, OrderKind, OrderState

WINDOW = timedelta(days=30)
MIN_SAMPLE = 5
# Drip-feed orders wait out their intervals and VIP packages last their whole period by design:
# their duration says nothing about how fast the service delivers.
_MEASURED_KINDS = (OrderKind.DEFAULT, OrderKind.CUSTOM_COMMENTS, OrderKind.COMMENT_LIKES)


@dataclass(frozen=True)
class CompletionTime:
    minutes: int | None  # the panel's average per order, or None when it falls back
    sample: int  # completed orders measured
    upstream_minutes_per_1000: int  # the provider's own figure (0: none given)

    @property
    def measured(self) -> bool:
        return self.minutes is not None


def completion_times(services: Iterable[Service]) -> dict[int, CompletionTime]:
    """Per service: the panel's average completion time, or the upstream's figure. One query."""
    by_id = {service.pk: service for service in services}
    if not by_id:
        return {}
    since = timezone.now() - WINDOW
    duration = ExpressionWrapper(F("finished_at") - F("created_at"), output_field=DurationField())
    rows = (
        Order.objects.filter(
            service_id__in=by_id,
            state=OrderState.COMPLETED,
            kind__in=_MEASURED_KINDS,
            finished_at__gte=since,
        )
        .values("service_id")
        .annotate(sample=Count("id"), average=Avg(duration))
        .order_by()
    )
    measured = {row["service_id"]: (row["sample"], row["average"]) for row in rows}
    result = {}
    for pk, service in by_id.items():
        sample, average = measured.get(pk, (0, None))
        minutes = None
        if sample >= MIN_SAMPLE and average is not None:
            minutes = max(1, round(average.total_seconds() / 60))
        result[pk] = CompletionTime(
            minutes=minutes, sample=sample, upstream_minutes_per_1000=service.avg_time_min
        )
    return result
