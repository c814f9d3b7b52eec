"""Enqueueing Celery tasks. Always after commit: a worker must never look for a row not yet written.

If the broker is unreachable at that moment the case is still safely stored (its checks are queued
rows): the error is logged, the request still succeeds, and the periodic sweeper
(``requeue_stale_checks``) sends the message again. Accepted work is never lost to a broker outage.
"""

from __future__ import annotations

from django.db import transaction


def enqueue_check(check_id: int, *, countdown: float | None = None) -> None:
    from .. import tasks  # tasks import services; import lazily to keep the layers one-way

    def send() -> None:
        tasks.run_check.apply_async(args=(check_id,), countdown=countdown or 0)

    transaction.on_commit(send, robust=True)
