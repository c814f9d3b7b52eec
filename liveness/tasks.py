"""Celery tasks: thin. They take ids, call one service, and let typed outcomes decide retries."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from . import services

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # the retry budget is the check's own max_attempts, counted in the database
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def run_check(self, check_id: int, provider: str = "") -> str:
    """Run one check. ``provider`` only routes the message (liveness.enqueue.route_task); the row is the truth."""
    try:
        outcome = services.check_execute(check_id=check_id)
    except SoftTimeLimitExceeded:
        # The lease runs out and the sweeper (or a re-delivery) gives the check another attempt.
        logger.warning("check %s hit the soft time limit; left for re-claim after its lease", check_id)
        return "time_limit"
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.state


@shared_task(acks_late=True)
def requeue_stale_checks() -> int:
    from .services.faces import face_search_requeue_stale

    return services.checks_requeue_stale() + face_search_requeue_stale()


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def build_face_templates(case_id: int, round_: int) -> str:
    """The face step of one round of a case: templates, repeat search, findings (services.faces)."""
    from .services.faces import face_search_execute

    try:
        return face_search_execute(case_id=case_id, round_=round_)
    except SoftTimeLimitExceeded:
        logger.warning("face step of case %s hit the soft time limit; the case is decided without it", case_id)
        return "time_limit"


@shared_task(acks_late=True)
def purge_expired_evidence() -> int:
    from .services.faces import face_templates_purge_expired
    from .services.retention import evidence_purge_expired

    return evidence_purge_expired() + face_templates_purge_expired()


# --- partner API: webhooks and idempotency keys ---


@shared_task(bind=True, acks_late=True, max_retries=None)
def deliver_webhook(self, delivery_id: int) -> str:
    from .services.webhooks import webhook_deliver

    outcome = webhook_deliver(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        # The countdown is the backoff; the row's next_attempt_at guards against early or duplicate runs.
        raise self.retry(countdown=outcome.retry_in)
    return outcome.state


@shared_task(acks_late=True)
def requeue_due_webhooks() -> int:
    from .services.webhooks import webhooks_requeue_due

    return webhooks_requeue_due()


@shared_task(acks_late=True)
def expire_idempotency_keys() -> int:
    from .services.idempotency import idempotency_keys_expire

    return idempotency_keys_expire()


@shared_task(acks_late=True)
def expire_verification_sessions() -> int:
    from .services.sessions import sessions_expire_due

    return sessions_expire_due()


@shared_task(acks_late=True)
def refresh_dashboard_summaries() -> int:
    """Rebuild the dashboard's daily summaries of new and touched days (speed only: README, "At scale")."""
    from .console.stats import summaries_refresh

    return summaries_refresh()


@shared_task(acks_late=True)
def purge_upload_drafts() -> int:
    """Delete files kept for the console's upload form past UPLOAD_DRAFT_MAX_MINUTES."""
    from .console.upload_drafts import purge_stale

    return purge_stale()
