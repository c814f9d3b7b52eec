"""Running and settling checks: success, retries with backoff, permanent failures, re-delivery, leases."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from liveness import enqueue, services, storage
from liveness.models import AuditEvent, Case, CaseStatus, Check, CheckOutcome, CheckStatus, Verdict
from liveness.providers import PermanentProviderError, ProviderResult, RetryableProviderError
from liveness.services.checks import backoff_seconds, check_claim, check_succeed
from liveness.tasks import run_check
from tests.helpers import ScriptedProvider, enqueued, image_bytes, install_provider

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker():
    with enqueued(enqueue.RUN_CHECK) as apply_async:
        yield apply_async


def new_case(kind: str = "selfie") -> Case:
    return services.case_create(kind=kind, images=[services.IncomingImage("selfie", image_bytes())]).case


def only_check(case: Case) -> Check:
    return Check.objects.get(case=case)


def test_a_successful_check_settles_and_decides_the_case(scripted):
    scripted.script.append(ProviderResult(score=0.93, vendor_label="LIVE", details={"faces": 1}))
    case = new_case()
    outcome = services.check_execute(check_id=only_check(case).pk)
    check = only_check(case)
    case.refresh_from_db()
    assert outcome.state == "settled"
    assert (check.status, check.attempts, check.score, check.threshold, check.passed) == (
        CheckStatus.SUCCEEDED, 1, 0.93, 0.5, True,
    )  # fmt: skip
    assert check.outcome == CheckOutcome.PASS
    assert check.vendor_label == "LIVE"
    assert (case.status, case.auto_verdict, case.final_verdict) == (CaseStatus.DECIDED, Verdict.LIVE, Verdict.LIVE)
    assert case.decided_by is None
    assert case.decided_at is not None
    # The provider saw the decrypted, normalised image.
    assert scripted.requests[0].images[0].content[:2] == b"\xff\xd8"


@pytest.mark.parametrize(
    ("score", "status", "verdict"),
    [
        (0.1, CaseStatus.DECIDED, Verdict.SPOOF),
        (0.55, CaseStatus.NEEDS_REVIEW, Verdict.NEEDS_REVIEW),
        (None, CaseStatus.NEEDS_REVIEW, Verdict.NEEDS_REVIEW),
    ],
)
def test_the_policy_routes_the_case(scripted, score, status, verdict):
    scripted.script.append(ProviderResult(score=score, reason="no_face" if score is None else ""))
    case = new_case()
    services.check_execute(check_id=only_check(case).pk)
    case.refresh_from_db()
    assert (case.status, case.auto_verdict) == (status, verdict)
    if verdict == Verdict.NEEDS_REVIEW:
        assert case.final_verdict == ""
        assert case.auto_reasons


def test_a_retryable_error_requeues_with_the_error_kept_and_a_backoff(scripted):
    scripted.script.append(RetryableProviderError("timed out after 5s", code="timeout", latency_ms=5000))
    case = new_case()
    outcome = services.check_execute(check_id=only_check(case).pk)
    check = only_check(case)
    assert outcome.state == "retry"
    assert outcome.retry_in is not None
    assert outcome.retry_in >= 1
    assert (check.status, check.attempts, check.error_code) == (CheckStatus.QUEUED, 1, "timeout")
    assert check.next_attempt_at is not None
    assert AuditEvent.objects.filter(case=case, action="check.retry_scheduled").count() == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.PROCESSING


def test_it_gives_up_after_the_retry_budget_and_sends_the_case_to_review(scripted):
    scripted.script.extend(RetryableProviderError("vendor 503", code="vendor_5xx") for _ in range(3))
    case = new_case()
    Check.objects.filter(case=case).update(max_attempts=3)
    states = [services.check_execute(check_id=only_check(case).pk).state for _ in range(3)]
    check = only_check(case)
    case.refresh_from_db()
    assert states == ["retry", "retry", "settled"]
    assert (check.status, check.attempts, check.outcome) == (CheckStatus.FAILED, 3, CheckOutcome.ERROR)
    assert "gave up after 3 attempts" in check.error_message
    assert (case.status, case.auto_verdict) == (CaseStatus.NEEDS_REVIEW, Verdict.NEEDS_REVIEW)
    # Budget spent: a further delivery of the task does nothing.
    assert services.check_execute(check_id=check.pk).state == "not_claimed"


def test_a_permanent_error_fails_at_once_and_keeps_the_raw_body(scripted):
    scripted.script.append(
        PermanentProviderError("bad request", code="vendor_4xx", raw_body='{"error":"x"}', status_code=400)
    )
    case = new_case()
    services.check_execute(check_id=only_check(case).pk)
    check = only_check(case)
    assert (check.status, check.attempts, check.error_code) == (CheckStatus.FAILED, 1, "vendor_4xx")
    assert check.raw_response == {"body": '{"error":"x"}'}


def test_a_redelivered_task_does_not_settle_twice(scripted):
    scripted.script.append(ProviderResult(score=0.9))
    case = new_case()
    check_id = only_check(case).pk
    assert services.check_execute(check_id=check_id).state == "settled"
    assert services.check_execute(check_id=check_id).state == "not_claimed"  # re-delivery
    assert len(scripted.requests) == 1  # no second vendor call
    assert only_check(case).attempts == 1
    assert AuditEvent.objects.filter(case=case, action="check.succeeded").count() == 1
    assert AuditEvent.objects.filter(case=case, action="case.auto_decided").count() == 1


def test_a_running_check_with_a_live_lease_is_not_claimed_again(scripted):
    case = new_case()
    check_id = only_check(case).pk
    assert check_claim(check_id=check_id) is not None
    assert check_claim(check_id=check_id) is None


def test_an_expired_lease_is_reclaimed_and_the_late_result_is_dropped(scripted):
    case = new_case()
    check_id = only_check(case).pk
    first = check_claim(check_id=check_id)
    assert first is not None
    Check.objects.filter(pk=check_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    second = check_claim(check_id=check_id)
    assert second is not None
    assert second.attempts == 2
    # The first (presumed dead) worker answers late: its token is stale, its result is dropped.
    assert check_succeed(check_id=check_id, token=first.attempts, result=ProviderResult(score=0.1)) is False
    assert check_succeed(check_id=check_id, token=second.attempts, result=ProviderResult(score=0.9)) is True
    check = only_check(case)
    assert (check.score, check.attempts) == (0.9, 2)


def test_the_case_is_decided_once_when_the_last_of_several_checks_settles(scripted, settings):
    other = ScriptedProvider()
    other.key = "scripted2"  # type: ignore[misc]  # a second instance under another key
    restore = install_provider(other)
    try:
        settings.LIVENESS_WORKFLOWS = {"selfie": ["scripted", "scripted2"]}
        scripted.script.append(ProviderResult(score=0.9))
        other.script.append(ProviderResult(score=0.05))
        case = new_case()
        checks = list(case.checks.order_by("provider"))
        services.check_execute(check_id=checks[0].pk)
        case.refresh_from_db()
        assert case.status == CaseStatus.PROCESSING  # one check still open: no verdict yet
        services.check_execute(check_id=checks[1].pk)
        case.refresh_from_db()
        assert case.auto_verdict == Verdict.NEEDS_REVIEW  # they disagree
        assert "disagree" in case.auto_reasons[0]
        assert AuditEvent.objects.filter(case=case, action="case.auto_decided").count() == 1
    finally:
        restore()


def test_purged_evidence_fails_the_check_with_the_reason(scripted):
    case = new_case()
    storage.delete(case.evidence.get().storage_key)
    services.check_execute(check_id=only_check(case).pk)
    check = only_check(case)
    assert (check.status, check.error_code) == (CheckStatus.FAILED, "evidence_unavailable")
    assert scripted.requests == []


def test_backoff_grows_exponentially_with_jitter_and_a_cap(settings):
    settings.CHECK_RETRY_BACKOFF_BASE = 2.0
    settings.CHECK_RETRY_BACKOFF_MAX = 60.0
    with mock.patch("liveness.services.checks.random.uniform", side_effect=lambda lo, hi: hi):
        assert [backoff_seconds(n) for n in (1, 2, 3, 10)] == [4.0, 8.0, 16.0, 60.0]
    with mock.patch("liveness.services.checks.random.uniform", side_effect=lambda lo, hi: lo):
        assert backoff_seconds(3) == 1.0  # never an immediate hammering retry
    samples = {backoff_seconds(4) for _ in range(50)}
    assert len(samples) > 1
    assert all(1.0 <= s <= 32.0 for s in samples)


def test_the_task_retries_through_celery_until_it_settles(scripted, settings, no_broker):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    scripted.script.extend(
        [
            RetryableProviderError("t", code="timeout"),
            RetryableProviderError("t", code="timeout"),
            ProviderResult(score=0.8),
        ]
    )
    case = new_case()
    with mock.patch("liveness.services.checks.backoff_seconds", return_value=1.0):
        result = run_check.apply(args=(only_check(case).pk,))
    check = only_check(case)
    assert result.successful()
    assert (check.status, check.attempts, check.score) == (CheckStatus.SUCCEEDED, 3, 0.8)


def test_the_sweeper_requeues_lost_checks_and_fails_dead_last_attempts(
    scripted, settings, no_broker, django_capture_on_commit_callbacks
):
    settings.CHECK_STALE_QUEUED_SECONDS = 60
    lost = only_check(new_case())
    Check.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    fresh = only_check(new_case())
    dead = only_check(new_case())
    Check.objects.filter(pk=dead.pk).update(
        status=CheckStatus.RUNNING, attempts=5, max_attempts=5, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    no_broker.reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        count = services.checks_requeue_stale()
    assert count == 1
    assert [c.kwargs["args"] for c in no_broker.call_args_list] == [(lost.pk,)]
    dead.refresh_from_db()
    assert (dead.status, dead.error_code) == (CheckStatus.FAILED, "worker_lost")
    fresh.refresh_from_db()
    assert fresh.status == CheckStatus.QUEUED


def test_a_crashing_provider_fails_the_check_at_once_instead_of_holding_the_case(scripted):
    scripted.script.append(ZeroDivisionError("bug in an adapter"))
    case = new_case()
    outcome = services.check_execute(check_id=only_check(case).pk)
    check = only_check(case)
    case.refresh_from_db()
    assert outcome.state == "settled"
    assert (check.status, check.error_code, check.attempts) == (CheckStatus.FAILED, "internal_error", 1)
    assert "bug in an adapter" not in check.error_message  # only the type: messages may carry data
    assert case.status == CaseStatus.NEEDS_REVIEW


def test_the_soft_time_limit_is_left_to_the_task(scripted):
    from celery.exceptions import SoftTimeLimitExceeded

    scripted.script.append(SoftTimeLimitExceeded())
    case = new_case()
    with pytest.raises(SoftTimeLimitExceeded):
        services.check_execute(check_id=only_check(case).pk)
    assert only_check(case).status == CheckStatus.RUNNING  # re-claimed after its lease


def test_a_vendor_retry_after_delays_the_retry_but_never_past_the_cap(scripted, settings):
    settings.CHECK_RETRY_BACKOFF_MAX = 120.0
    scripted.script.extend(
        [
            RetryableProviderError("429", code="rate_limited", retry_after=90),
            RetryableProviderError("429", code="rate_limited", retry_after=3600),
        ]
    )
    case = new_case()
    with mock.patch("liveness.services.checks.backoff_seconds", return_value=2.0):
        first = services.check_execute(check_id=only_check(case).pk)
        Check.objects.filter(pk=only_check(case).pk).update(next_attempt_at=None)
        second = services.check_execute(check_id=only_check(case).pk)
    assert (first.retry_in, second.retry_in) == (90, 120.0)


def test_the_threshold_in_force_at_the_first_claim_holds_for_the_whole_check(scripted):
    from liveness.services.providers import provider_setting_get

    case = new_case()
    check = check_claim(check_id=only_check(case).pk)
    assert check is not None
    assert (check.threshold, check.review_margin) == (0.5, 0.1)
    claimed_margin = check.review_margin
    # A supervisor raises the threshold while the check runs (and between its retries).
    setting = provider_setting_get("scripted")
    setting.threshold, setting.review_margin = 0.9, 0.0
    setting.save()
    assert check_succeed(check_id=check.pk, token=check.attempts, result=ProviderResult(score=0.7))
    settled = only_check(case)
    assert (settled.threshold, settled.review_margin, settled.passed) == (0.5, claimed_margin, True)
    # The next check is claimed under the new setting.
    later = check_claim(check_id=only_check(new_case()).pk)
    assert later is not None
    assert later.threshold == 0.9


def test_a_finding_sends_the_case_to_review_with_its_code_whatever_the_score(scripted):
    from liveness.providers import Finding

    scripted.script.append(
        ProviderResult(score=0.99, findings=(Finding("face_mismatch", "different people", ("selfie", "id_front")),))
    )
    case = new_case()
    services.check_execute(check_id=only_check(case).pk)
    check = only_check(case)
    case.refresh_from_db()
    assert (check.outcome, check.passed) == (CheckOutcome.FINDING, False)
    assert check.findings == [
        {"code": "face_mismatch", "message": "different people", "images": ["selfie", "id_front"]}
    ]
    assert (case.status, case.auto_verdict) == (CaseStatus.NEEDS_REVIEW, Verdict.NEEDS_REVIEW)
    assert case.reason_codes == ["face_mismatch"]
    event = AuditEvent.objects.filter(case=case, action="check.succeeded").get()
    assert event.data["findings"] == ["face_mismatch"]


def test_a_failed_challenge_is_a_spoof_unless_configured_otherwise(scripted, settings):
    from liveness.providers import Finding

    failed = Finding("challenge_failed", "1 of 3 frames answered their parameter, 3 required")
    scripted.script.extend(
        [ProviderResult(score=0.97, findings=(failed,)), ProviderResult(score=0.97, findings=(failed,))]
    )
    case = new_case()
    services.check_execute(check_id=only_check(case).pk)
    case.refresh_from_db()
    assert (case.status, case.auto_verdict, case.reason_codes) == (
        CaseStatus.DECIDED, Verdict.SPOOF, ["challenge_failed"],
    )  # fmt: skip
    settings.FINDING_VERDICTS = {**settings.FINDING_VERDICTS, "challenge_failed": "needs_review"}
    second = new_case()
    services.check_execute(check_id=only_check(second).pk)
    second.refresh_from_db()
    assert second.status == CaseStatus.NEEDS_REVIEW


def test_an_unknown_finding_code_is_refused_by_the_provider_interface():
    from liveness.providers import Finding

    with pytest.raises(ValueError, match="unknown finding"):
        Finding("looks_odd", "no such code")


@pytest.mark.django_db(transaction=True)
def test_a_slow_provider_call_keeps_its_claim_by_renewing_a_short_lease(scripted, settings):
    settings.CHECK_LEASE_SECONDS = 1
    settings.CHECK_LEASE_RENEW_SECONDS = 0.2
    seen: dict[str, float | Check | None] = {}

    def slow(request):
        import time

        time.sleep(1.6)  # longer than the lease: only renewals keep the claim
        check = Check.objects.get(pk=request.check_id)
        assert check.lease_expires_at is not None
        seen["lease_left"] = (check.lease_expires_at - timezone.now()).total_seconds()
        seen["reclaimed"] = check_claim(check_id=request.check_id)
        return ProviderResult(score=0.9)

    scripted.script.append(slow)
    case = new_case()
    outcome = services.check_execute(check_id=only_check(case).pk)
    assert outcome.state == "settled"
    assert seen["reclaimed"] is None  # another worker could not take it mid-call
    lease_left = seen["lease_left"]
    assert isinstance(lease_left, float)
    assert 0 < lease_left <= 1.0
    check = only_check(case)
    assert (check.status, check.attempts) == (CheckStatus.SUCCEEDED, 1)


@pytest.mark.django_db(transaction=True)
def test_a_dead_workers_check_is_free_again_within_one_lease(scripted, settings):
    settings.CHECK_LEASE_SECONDS = 1
    case = new_case()
    claimed = check_claim(check_id=only_check(case).pk)  # the worker claims, then dies: no renewals
    assert claimed is not None
    assert check_claim(check_id=claimed.pk) is None
    Check.objects.filter(pk=claimed.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=0.01))
    again = check_claim(check_id=claimed.pk)
    assert again is not None
    assert again.attempts == 2


def test_no_renewal_thread_runs_when_renewal_is_off(settings):
    from liveness.services.checks import LeaseKeeper

    settings.CHECK_LEASE_RENEW_SECONDS = 0  # no thread at all when renewal is off
    keeper = LeaseKeeper(1, 1)
    with keeper:
        pass
    assert keeper._thread is None


def test_recovery_defaults_meet_the_targets(settings):
    # Worker kill: a lease plus a sweep; broker loss: the stale period plus a sweep (issue: <= 90 s, <= 2 min).
    assert settings.CHECK_LEASE_SECONDS + settings.SWEEP_SECONDS <= 90
    assert settings.CHECK_STALE_QUEUED_SECONDS + settings.SWEEP_SECONDS <= 120
    assert settings.WEBHOOK_STALE_SECONDS + settings.SWEEP_SECONDS <= 120
    assert settings.CHECK_LEASE_RENEW_SECONDS * 2 < settings.CHECK_LEASE_SECONDS


def test_a_requeued_check_waits_a_stale_period_before_it_is_resent_again(scripted, no_broker):
    case = new_case()
    lost = only_check(case)
    Check.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    no_broker.reset_mock()
    assert services.checks_requeue_stale() == 1
    assert services.checks_requeue_stale() == 0  # the next sweep does not resend it at once


def test_reading_a_providers_settings_writes_nothing(scripted):
    from liveness.models import ProviderSetting
    from liveness.services.providers import provider_config

    ProviderSetting.objects.all().delete()
    config = provider_config("scripted")
    assert (config.threshold, config.review_margin, config.enabled) == (0.5, 0.1, True)
    assert ProviderSetting.objects.count() == 0
