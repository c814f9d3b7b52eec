"""Fault modes end in the right state: each drives the real pipeline (check_execute, or the Celery task
eagerly) against a misbehaving simulator over HTTP, and checks attempts, the reason shown, and that a
check is never lost or settled twice."""

from __future__ import annotations

import pytest
import requests

from liveness import services
from liveness.models import AuditEvent, Case, CaseStatus, Check, CheckOutcome, CheckStatus, ProviderSetting, Verdict
from liveness.sandbox.recorder import recording
from liveness.services.providers import provider_setting_get
from liveness.tasks import run_check
from tests.helpers import image_bytes
from tests.vendor_fixtures import FRONTAL_FACE, OBAMA_480, face_bytes

pytestmark = pytest.mark.usefixtures("sandbox", "no_broker", "fresh_judge")


def configure(provider: str, **values: object) -> None:
    provider_setting_get(provider)
    ProviderSetting.objects.filter(provider=provider).update(**values)


def selfie_case(provider: str, content: bytes | None = None) -> tuple[Case, Check]:
    image = services.IncomingImage("selfie", content if content is not None else face_bytes(FRONTAL_FACE))
    case = services.case_create(kind="selfie", images=[image], providers=[provider]).case
    return case, Check.objects.get(case=case)


def run(check: Check) -> str:
    return services.check_execute(check_id=check.pk).state


def events(case: Case, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(case=case, action=action))


def test_server_errors_are_retried_then_the_check_settles_once(settings):
    settings.SANDBOX_FAULTS = {"accura": "5xx*2"}
    case, check = selfie_case("accura_face")
    assert [run(check), run(check), run(check)] == ["retry", "retry", "settled"]
    check.refresh_from_db()
    assert (check.status, check.attempts, check.error_code) == (CheckStatus.SUCCEEDED, 3, "")
    assert check.score is not None
    assert check.score > 0.9
    assert [e.data["error"] for e in events(case, "check.retry_scheduled")] == ["vendor_5xx", "vendor_5xx"]
    # A re-delivered task after the settle finds nothing to do: no second settle, no second verdict.
    assert run(check) == "not_claimed"
    assert len(events(case, "check.succeeded")) == 1
    assert len(events(case, "case.auto_decided")) == 1
    case.refresh_from_db()
    assert (case.status, case.auto_verdict) == (CaseStatus.DECIDED, Verdict.LIVE)


def test_the_celery_task_retries_through_server_errors_until_it_settles(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.SANDBOX_FAULTS = {"kairos": "5xx=502*2"}
    _case, check = selfie_case("kairos")
    with recording() as calls:
        result = run_check.apply(args=(check.pk,))
    check.refresh_from_db()
    assert result.successful()
    assert [call.status for call in calls] == [502, 502, 200]
    assert (check.status, check.attempts) == (CheckStatus.SUCCEEDED, 3)
    assert check.vendor_request_id == calls[-1].response["api_req_uid"]


def test_a_kairos_usage_limit_is_retried_and_never_read_as_a_spoof(settings):
    settings.SANDBOX_FAULTS = {"kairos": "403"}
    configure("kairos", max_attempts=2)
    case, check = selfie_case("kairos")
    assert [run(check), run(check)] == ["retry", "settled"]
    check.refresh_from_db()
    assert (check.status, check.attempts, check.error_code) == (CheckStatus.FAILED, 2, "usage_limit")
    assert "gave up after 2 attempts" in check.error_message
    assert check.outcome == CheckOutcome.ERROR
    assert check.score is None
    assert "usage limit" in (check.raw_response or {})["body"]
    case.refresh_from_db()
    assert (case.status, case.auto_verdict) == (CaseStatus.NEEDS_REVIEW, Verdict.NEEDS_REVIEW)
    assert any("kairos: provider error" in reason for reason in case.auto_reasons)


def test_a_vendor_that_does_not_answer_in_time_is_retried(settings):
    # The simulator holds the first request for 4 s; the adapter stops waiting after 1.5 s (a small
    # photo keeps the second, normal answer well inside that).
    settings.SANDBOX_FAULTS = {"riset": "timeout=4*1"}
    configure("riset", timeout_seconds=1.5)
    case, check = selfie_case("riset", face_bytes(OBAMA_480))
    assert run(check) == "retry"
    check.refresh_from_db()
    assert (check.status, check.error_code) == (CheckStatus.QUEUED, "timeout")
    assert "timed out after 1.5s" in check.error_message
    assert (check.latency_ms or 0) >= 1500
    assert run(check) == "settled"
    check.refresh_from_db()
    assert (check.status, check.attempts, check.error_code) == (CheckStatus.SUCCEEDED, 2, "")
    assert len(events(case, "check.succeeded")) == 1


def test_a_rate_limit_is_retried(settings):
    settings.SANDBOX_FAULTS = {"riset": "429*1"}
    case, check = selfie_case("riset")
    assert [run(check), run(check)] == ["retry", "settled"]
    assert [e.data["error"] for e in events(case, "check.retry_scheduled")] == ["rate_limited"]
    check.refresh_from_db()
    assert check.status == CheckStatus.SUCCEEDED


def test_a_malformed_body_fails_the_check_at_once_with_the_body_kept(settings):
    settings.SANDBOX_FAULTS = {"accura": "malformed"}
    case, check = selfie_case("accura_face")
    assert run(check) == "settled"
    check.refresh_from_db()
    assert (check.status, check.attempts, check.error_code) == (CheckStatus.FAILED, 1, "unparseable")
    assert check.raw_response == {"body": '{"status": true, "data": {"score": 9'}
    case.refresh_from_db()
    assert case.status == CaseStatus.NEEDS_REVIEW


def test_a_wrong_content_type_fails_the_check_with_the_page_kept(settings):
    settings.SANDBOX_FAULTS = {"kairos": "content-type"}
    _, check = selfie_case("kairos")
    assert run(check) == "settled"
    check.refresh_from_db()
    assert (check.status, check.attempts, check.error_code) == (CheckStatus.FAILED, 1, "unexpected_content_type")
    assert "text/html" in check.error_message
    assert "<h1>Temporarily unavailable</h1>" in (check.raw_response or {})["body"]


def test_added_latency_is_waited_out_and_measured(settings):
    settings.SANDBOX_FAULTS = {"accura": "latency=0.3"}
    _, check = selfie_case("accura_face")
    assert run(check) == "settled"
    check.refresh_from_db()
    assert check.status == CheckStatus.SUCCEEDED
    assert (check.latency_ms or 0) >= 300


def test_input_kairos_cannot_take_fails_at_once_without_calling_it():
    case, check = selfie_case("kairos", image_bytes(280, 400))
    with recording() as calls:
        assert run(check) == "settled"
    check.refresh_from_db()
    assert (check.status, check.attempts, check.error_code) == (CheckStatus.FAILED, 1, "image_too_small")
    assert calls == []
    case.refresh_from_db()
    assert case.status == CaseStatus.NEEDS_REVIEW


def test_a_fault_header_applies_to_that_request_only(sandbox):
    url = sandbox.url("accura", "/v2/api/liveness")
    files = {"liveness_image": ("selfie.jpg", face_bytes(FRONTAL_FACE), "image/jpeg")}
    faulty = requests.post(url, headers={"Api-Key": "k", "X-Sandbox-Fault": "5xx=500"}, files=files, timeout=30)
    normal = requests.post(url, headers={"Api-Key": "k"}, files=files, timeout=30)
    assert faulty.status_code == 500
    assert faulty.json() == {"status": False, "message": "sandbox fault: simulated server error"}
    assert normal.status_code == 200
    assert normal.json()["status"] is True
