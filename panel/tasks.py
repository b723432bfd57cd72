"""Project-level tasks."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="panel.tasks.ping")
def ping(value: str = "pong") -> str:
    """Answers with its argument: the compose health check and the broker tests use it to
    prove a message travels from a producer through the broker to a worker."""
    return value
