"""Sending Celery tasks from services, by the task's registered name.

Services never import `tasks` modules (tasks import services, so the reverse would close a
circle); they name the task instead. Looking it up in the app's registry, rather than
`send_task`, keeps `CELERY_TASK_ALWAYS_EAGER` and a test's patched `.delay` working.
"""

from __future__ import annotations

import logging

from panel.celery import app

logger = logging.getLogger(__name__)


def enqueue(task_name: str, *args: object) -> bool:
    """Send `task_name(*args)`; False when the broker refused it.

    A broker error is logged, not raised: every caller has a sweep or a schedule that does the
    work later, and a web request or a committed order must not fail because the queue is down.
    """
    try:
        if task_name not in app.tasks:
            # A web process has not imported the apps' tasks modules; Celery's autodiscovery
            # runs on this signal (a worker sends it at start).
            app.loader.import_default_modules()
        app.tasks[task_name].delay(*args)
    except Exception:
        logger.warning("could not enqueue %s%r", task_name, args, exc_info=True)
        return False
    return True
