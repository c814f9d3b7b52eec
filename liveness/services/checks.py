"""Running and settling checks, safe under re-delivery, retries and dead workers.

Protocol (after healthchecks' "claim with a conditional UPDATE"):
1. claim: UPDATE ... SET status=running, attempts=attempts+1, lease=now+L WHERE id=? AND (status=queued
   OR (status=running AND lease expired)). Zero rows -> someone else has it or it is settled: do nothing.
   The attempt number after the claim is this run's fencing token. It is recorded before the network call,
   outside any transaction.
2. call the provider with no transaction open.
3. settle: UPDATE ... WHERE id=? AND status=running AND attempts=<token>. A worker whose lease expired and
   whose check was re-claimed by another finds zero rows and its late result is dropped, so a check is
   never settled twice.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import enqueue, policy, storage
from ..models import Case, CaseKind, CaseStatus, Check, CheckStatus, Evidence, EvidenceRole
from ..providers import (
    CheckRequest,
    EvidenceImage,
    ProviderError,
    ProviderResult,
    RetryableProviderError,
    get_provider,
)
from ..providers.details import settle_details
from ..storage import EvidenceUnavailable, StorageUnavailable
from .audit import audit_record
from .fallback import circuit_record_attempt
from .providers import provider_config, provider_settings_snapshot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExecuteOutcome:
    """What happened to one task run. ``retry_in`` is set when the task should retry later."""

    state: str  # settled | retry | not_claimed | dropped
    retry_in: float | None = None


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)], at least 1 s."""
    ceiling = min(settings.CHECK_RETRY_BACKOFF_MAX, settings.CHECK_RETRY_BACKOFF_BASE * (2**attempt))
    return max(1.0, random.uniform(0, ceiling))


def check_claim(*, check_id: int) -> Check | None:
    now = timezone.now()
    claimed = (
        Check.objects.filter(pk=check_id)
        .filter(Q(status=CheckStatus.QUEUED) | Q(status=CheckStatus.RUNNING, lease_expires_at__lt=now))
        .filter(attempts__lt=F("max_attempts"))
        .update(
            status=CheckStatus.RUNNING,
            attempts=F("attempts") + 1,
            lease_expires_at=now + timedelta(seconds=settings.CHECK_LEASE_SECONDS),
            started_at=now,
            next_attempt_at=None,
        )
    )
    if not claimed:
        return None
    check = Check.objects.select_related("case").get(pk=check_id)
    if check.threshold is None:
        # The threshold and margin in force at the first claim hold for the whole check (retries included):
        # a settings change while the check runs does not move the goalposts under it.
        config = provider_config(check.provider)
        if Check.objects.filter(pk=check_id, threshold__isnull=True).update(
            threshold=config.threshold, review_margin=config.review_margin
        ):
            check.threshold, check.review_margin = config.threshold, config.review_margin
        else:
            check.refresh_from_db(fields=["threshold", "review_margin"])
    # The first claim moves the case out of "received"; conditional, so concurrent claims are harmless. A case
    # read past "received" never goes back to it: then there is nothing to update.
    if check.case.status == CaseStatus.RECEIVED:
        Case.objects.filter(pk=check.case_id, status=CaseStatus.RECEIVED).update(
            status=CaseStatus.PROCESSING, updated_at=now
        )
    return check


def check_request_build(check: Check) -> CheckRequest:
    """Load and decrypt the evidence of the check's round into a provider request."""
    case = check.case
    evidence = list(Evidence.objects.filter(case=case, round=check.round).order_by("role", "index"))
    if case.kind == CaseKind.ACTIVE:
        evidence.sort(key=lambda e: e.index)
    else:
        # The primary image first: the selfie of a selfie case, the document of an ID case.
        primary = EvidenceRole.ID_FRONT if case.kind == CaseKind.ID_DOCUMENT else EvidenceRole.SELFIE
        evidence.sort(key=lambda e: (e.role != primary, e.index))
    images = []
    for item in evidence:
        if item.is_purged:
            raise EvidenceUnavailable(f"evidence {item.pk} was purged")
        images.append(
            EvidenceImage(
                role=item.role,
                index=item.index,
                content=storage.get(item.storage_key),
                content_type=item.content_type,
                width=item.width,
                height=item.height,
                face_parameter=item.face_parameter,
            )
        )
    config = provider_config(check.provider)
    return CheckRequest(
        check_id=check.pk,
        case_id=str(case.public_id),
        kind=case.kind,
        images=images,
        threshold=config.threshold if check.threshold is None else check.threshold,
        timeout=config.timeout_seconds,
        country_code=case.country_code,
        card_code=case.card_code,
        face_parameters=list(case.face_parameters),
        success_threshold=case.success_threshold,
        subject_id=case.subject_id,
        face_gallery_id=case.face_gallery_id,
    )


class LeaseKeeper:
    """Renews a running check's lease every CHECK_LEASE_RENEW_SECONDS while its provider call is in flight.

    The lease can then be short (CHECK_LEASE_SECONDS): a worker that dies stops renewing and its check is
    claimable again within one lease, while a slow but live vendor call keeps its claim for as long as the
    task's time limit allows. Renewal is conditional on (running, this attempt), like the settle: it never
    revives a check that another worker has re-claimed. The thread touches the database only when a renewal
    is due, and closes its own connection when it stops.
    """

    def __init__(self, check_id: int, token: int) -> None:
        self.check_id = check_id
        self.token = token
        self.renewals = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LeaseKeeper:
        if settings.CHECK_LEASE_RENEW_SECONDS > 0:
            self._thread = threading.Thread(target=self._run, name=f"lease-{self.check_id}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(settings.CHECK_LEASE_RENEW_SECONDS):
                try:
                    renewed = Check.objects.filter(
                        pk=self.check_id, status=CheckStatus.RUNNING, attempts=self.token
                    ).update(lease_expires_at=timezone.now() + timedelta(seconds=settings.CHECK_LEASE_SECONDS))
                except DatabaseError as exc:  # the next renewal tries again; the lease bounds the damage
                    logger.warning("check %s: lease renewal failed: %s", self.check_id, type(exc).__name__)
                    continue
                if not renewed:
                    return  # settled, or re-claimed by another worker: nothing left to keep
                self.renewals += 1
        finally:
            if settings.CHECK_LEASE_RENEW_SECONDS > 0:
                connection.close()


def release_connection_if_pooled() -> None:
    """Give this thread's database connection back to the process's pool (``DATABASE_POOL_MAX_SIZE``) before a
    long wait on the network, so that a pool much smaller than the thread pool serves it: a thread holds a
    connection only while it talks to the database. Without a pool (or inside a transaction) it does nothing:
    closing would only cost a reconnect."""
    if connection.settings_dict.get("OPTIONS", {}).get("pool") and not connection.in_atomic_block:
        connection.close()


def check_execute(*, check_id: int) -> ExecuteOutcome:
    """Claim the check, call its provider, settle it; then decide the case if it was the last one.

    The provider settings are read once for the whole run (the claim's thresholds, the request's timeout), and
    the claimed row (its provider, thresholds, case) is carried to the settle instead of being read again: the
    claim's fencing token guards every write, and those fields do not change while the claim is held.
    """
    with provider_settings_snapshot():
        check = check_claim(check_id=check_id)
        if check is None:
            return ExecuteOutcome("not_claimed")
        return _check_run(check)


def _check_run(check: Check) -> ExecuteOutcome:
    token = check.attempts
    try:
        with LeaseKeeper(check.pk, token):
            request = check_request_build(check)
            release_connection_if_pooled()
            result = get_provider(check.provider).check(request)
    except ProviderError as exc:
        return _check_handle_error(check, token, exc)
    except EvidenceUnavailable as exc:
        settled = check_fail(
            check_id=check.pk, token=token, code="evidence_unavailable", message=str(exc), claimed=check
        )
        return ExecuteOutcome("settled" if settled else "dropped")
    except StorageUnavailable as exc:
        # The store is down, not the evidence gone: try again later, like a vendor's outage.
        return _check_handle_error(check, token, RetryableProviderError(str(exc), code="storage_unavailable"))
    except SoftTimeLimitExceeded:
        raise  # the task's time limit: the lease expires and the check is claimed again
    except Exception as exc:
        # A bug in a provider or the engine, not a vendor answer: retrying gives the same crash, and leaving
        # the check "running" would hold the case until the lease ran out. Fail it now, visibly, and keep
        # the traceback in the log (it holds no image bytes: providers get them as arguments, not state).
        logger.exception("check %s (%s) crashed in the provider", check.pk, check.provider)
        settled = check_fail(
            check_id=check.pk,
            token=token,
            code="internal_error",
            message=f"internal error: {type(exc).__name__}",
            claimed=check,
        )
        return ExecuteOutcome("settled" if settled else "dropped")
    settled = check_succeed(check_id=check.pk, token=token, result=result, claimed=check)
    return ExecuteOutcome("settled" if settled else "dropped")


def _check_handle_error(check: Check, token: int, exc: ProviderError) -> ExecuteOutcome:
    logger.warning("check %s (%s) attempt %s failed: %s [%s]", check.pk, check.provider, token, exc.code, exc.message)
    if exc.retryable and token < check.max_attempts:
        delay = backoff_seconds(token)
        if exc.retry_after is not None:
            # The vendor said when to come back: not sooner (it would only answer 429 again), never past our cap.
            delay = min(settings.CHECK_RETRY_BACKOFF_MAX, max(delay, exc.retry_after))
        released = check_release_for_retry(check_id=check.pk, token=token, exc=exc, delay=delay, claimed=check)
        return ExecuteOutcome("retry", retry_in=delay) if released else ExecuteOutcome("dropped")
    message = exc.message if not exc.retryable else f"{exc.message} (gave up after {token} attempts)"
    settled = check_fail(
        check_id=check.pk,
        token=token,
        code=exc.code,
        message=message,
        raw_body=exc.raw_body,
        latency_ms=exc.latency_ms,
        vendor_request_id=exc.vendor_request_id,
        claimed=check,
    )
    return ExecuteOutcome("settled" if settled else "dropped")


def _claimed_row(check_id: int, claimed: Check | None) -> Check:
    """The check as this attempt claimed it (its provider and case do not change while the claim is held), or
    read with its case when the caller did not carry it."""
    return claimed if claimed is not None else Check.objects.select_related("case").get(pk=check_id)


def check_release_for_retry(
    *, check_id: int, token: int, exc: ProviderError, delay: float, claimed: Check | None = None
) -> bool:
    """Put a running check back in the queue after a retryable error, keeping the error visible.

    ``claimed``: the row as this attempt claimed it (provider, case), saving a read; None reads it."""
    released = Check.objects.filter(pk=check_id, status=CheckStatus.RUNNING, attempts=token).update(
        status=CheckStatus.QUEUED,
        lease_expires_at=None,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        error_code=exc.code,
        error_message=exc.message,
        latency_ms=exc.latency_ms,
    )
    if released:
        check = _claimed_row(check_id, claimed)
        audit_record(
            action="check.retry_scheduled",
            case=check.case,
            actor_label="worker",
            data={
                "check": check_id,
                "provider": check.provider,
                "attempt": token,
                "error": exc.code,
                "retry_in_s": round(delay, 1),
            },
        )
        circuit_record_attempt(provider=check.provider, error_code=exc.code)
    return bool(released)


def check_succeed(*, check_id: int, token: int, result: ProviderResult, claimed: Check | None = None) -> bool:
    """Settle a check with a provider result. False when the claim was lost (result dropped).

    ``claimed``: the row as this attempt claimed it (provider, thresholds, case), saving two reads; None reads
    it (the thresholds were fixed at the first claim and never change after)."""
    if claimed is not None:
        provider, claimed_threshold, claimed_margin = claimed.provider, claimed.threshold, claimed.review_margin
    else:
        provider, claimed_threshold, claimed_margin = Check.objects.values_list(
            "provider", "threshold", "review_margin"
        ).get(pk=check_id)
    if claimed_threshold is None or claimed_margin is None:  # claimed before thresholds were kept at claim
        config = provider_config(provider)
        claimed_threshold, claimed_margin = config.threshold, config.review_margin
    findings = [finding.as_dict() for finding in result.findings]
    assessment = policy.assess(
        score=result.score,
        threshold=claimed_threshold,
        margin=claimed_margin,
        findings=[finding.code for finding in result.findings],
        reported_threshold=result.threshold,
    )
    outcome = assessment.outcome
    return _settle(
        check_id=check_id,
        token=token,
        action="check.succeeded",
        fields={
            "status": CheckStatus.SUCCEEDED,
            "score": result.score,
            "threshold": assessment.threshold,
            "review_margin": claimed_margin,
            "passed": assessment.passed,
            "outcome": outcome,
            "findings": findings,
            "vendor_label": result.vendor_label[:100],
            "reason": result.reason[:200],
            "details": settle_details(result.details, check_id=check_id),
            "raw_response": result.raw_response,
            "latency_ms": result.latency_ms,
            "vendor_request_id": result.vendor_request_id[:200],
            "error_code": "",
            "error_message": "",
        },
        audit={
            "score": result.score,
            "outcome": outcome,
            "reason": result.reason,
            **({"findings": [f["code"] for f in findings]} if findings else {}),
        },
        claimed=claimed,
    )


def check_fail(
    *,
    check_id: int,
    token: int,
    code: str,
    message: str,
    raw_body: str = "",
    latency_ms: int | None = None,
    vendor_request_id: str = "",
    claimed: Check | None = None,
) -> bool:
    """Settle a check as failed (permanent error or retry budget spent); the case goes to review."""
    return _settle(
        check_id=check_id,
        token=token,
        action="check.failed",
        fields={
            "status": CheckStatus.FAILED,
            "outcome": policy.classify(status=CheckStatus.FAILED, score=None, threshold=0, margin=0),
            "error_code": code[:60],
            "error_message": message,
            "raw_response": {"body": raw_body} if raw_body else None,
            "latency_ms": latency_ms,
            "vendor_request_id": vendor_request_id[:200],
        },
        audit={"error": code, "message": message[:500]},
        claimed=claimed,
    )


def _settle(
    *,
    check_id: int,
    token: int,
    action: str,
    fields: dict[str, Any],
    audit: dict[str, Any],
    claimed: Check | None = None,
) -> bool:
    """The one way a check is settled: a conditional update on (running, this attempt), then the audit
    event and the case evaluation, in one transaction. False when the claim was lost (nothing written).
    ``claimed`` (the row as claimed: its provider and case) saves reading it back after the update."""
    with transaction.atomic():
        settled = Check.objects.filter(pk=check_id, status=CheckStatus.RUNNING, attempts=token).update(
            **fields, lease_expires_at=None, finished_at=timezone.now()
        )
        if not settled:
            return False
        check = _claimed_row(check_id, claimed)
        audit_record(
            action=action,
            case=check.case,
            actor_label="worker",
            data={"check": check_id, "provider": check.provider, **audit, "attempt": token},
        )
        # The breaker's running state follows the attempt in the same transaction (services.fallback).
        circuit_record_attempt(provider=check.provider, error_code=str(audit.get("error", "")))
        case_evaluate(case_id=check.case_id)
    return True


def case_evaluate(*, case_id: int) -> str | None:
    """When every check of the current round is settled, apply the policy and move the case on.

    Runs inside the settling transaction; the case row is locked so two checks settling at once
    decide it exactly once. Returns the new auto verdict, or None if the case is not ready.
    """
    from . import faces
    from .decisions import case_apply_auto_verdict

    case = Case.objects.select_for_update().get(pk=case_id)
    if case.status not in (CaseStatus.PROCESSING, CaseStatus.RECEIVED):
        return None
    if faces.is_waiting(case):  # the face step evaluates the case when it finishes
        return None
    checks = list(Check.objects.filter(case=case, round=case.round))
    if not checks or any(not c.is_settled for c in checks):
        return None
    views = [
        policy.CheckView(
            c.provider,
            c.outcome,
            c.reason or c.error_code,
            tuple(f.get("code", "") for f in c.findings or [] if isinstance(f, dict)),
        )
        for c in checks
        if c.status != CheckStatus.SKIPPED
    ]
    face_inputs = faces.policy_inputs(case)
    decision = policy.decide(views, settings.FINDING_VERDICTS, face_inputs.codes)
    if face_inputs.notes:
        decision = dataclasses.replace(
            decision,
            reasons=decision.reasons + face_inputs.notes,
            codes=tuple(dict.fromkeys(decision.codes + face_inputs.note_codes)),
        )
    case_apply_auto_verdict(case=case, decision=decision)
    return decision.verdict


def checks_requeue_stale() -> int:
    """Re-enqueue checks whose message was lost: queued past their due time, or running past the lease."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.CHECK_STALE_QUEUED_SECONDS)
    stale = Check.objects.filter(
        Q(status=CheckStatus.QUEUED, created_at__lt=stale_before)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=stale_before))
        | Q(status=CheckStatus.RUNNING, lease_expires_at__lt=now)
    ).values_list("pk", "provider", "status", "attempts", "max_attempts")
    count = 0
    for check_id, provider, status, attempts, max_attempts in stale:
        if status == CheckStatus.QUEUED:
            # Marked as re-sent now: a check still waiting in a long queue is re-sent once per stale period,
            # not at every sweep.
            Check.objects.filter(pk=check_id, status=CheckStatus.QUEUED).update(next_attempt_at=now)
        if status == CheckStatus.RUNNING and attempts >= max_attempts:
            # A worker died on the last attempt: fail it so the case reaches review rather than hanging.
            check_fail(
                check_id=check_id,
                token=attempts,
                code="worker_lost",
                message="the worker running the last attempt stopped before answering",
            )
            continue
        with transaction.atomic():
            enqueue.check(check_id, provider)
        count += 1
    return count
