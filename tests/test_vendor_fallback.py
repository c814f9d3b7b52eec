"""The circuit breaker per vendor provider and the fallback it drives when cases are created.

The state is read from the attempt log in the database, so anything any process recorded counts; the
tests write that log either directly (as another worker would) or by running real checks against a
failing simulator.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from liveness import services
from liveness.models import AuditEvent, CaseStatus, Check, CheckStatus, ProviderCircuit, ProviderSetting, Verdict
from liveness.services.audit import audit_record
from liveness.services.fallback import CLOSED, HALF_OPEN, OPEN, circuit_record_attempt, circuit_state
from liveness.services.providers import provider_setting_get
from tests.factories import CaseFactory
from tests.helpers import image_bytes
from tests.vendor_fixtures import FRONTAL_FACE, face_bytes


@pytest.fixture(autouse=True)
def circuit_settings(settings):
    settings.CIRCUIT_FAILURES = 3
    settings.CIRCUIT_MIN_CALLS = 10
    settings.CIRCUIT_FAILURE_RATE = 0.5
    settings.CIRCUIT_WINDOW_SECONDS = 300
    settings.CIRCUIT_COOLDOWN_SECONDS = 60


def attempt(provider: str, error: str = "") -> None:
    """One call attempt as the pipeline records it when it settles (success, or a failure with its error code):
    the audit event and the breaker's running state."""
    if not error:
        audit_record(action="check.succeeded", actor_label="worker", data={"provider": provider, "check": 1})
    else:
        audit_record(action="check.retry_scheduled", actor_label="worker", data={"provider": provider, "error": error})
    circuit_record_attempt(provider=provider, error_code=error)


# --- the state, from the log -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_circuit_opens_after_consecutive_failures_and_names_the_last_one():
    for code in ("vendor_5xx", "timeout"):
        attempt("kairos", code)
    assert circuit_state("kairos").state == CLOSED
    attempt("kairos", "connection_error")
    state = circuit_state("kairos")
    assert (state.state, state.consecutive_failures, state.last_failure_code) == (OPEN, 3, "connection_error")
    assert not state.admits_new_checks
    assert state.reason().startswith("kairos circuit open: 3 consecutive failed calls, last connection_error at ")


@pytest.mark.django_db
def test_a_success_closes_the_circuit_again():
    for _ in range(3):
        attempt("kairos", "vendor_5xx")
    attempt("kairos")
    assert circuit_state("kairos").state == CLOSED


@pytest.mark.django_db
def test_the_circuit_opens_on_the_failure_rate_in_the_window():
    for outcome in ["", "timeout", "", "timeout", "timeout", "", "vendor_5xx", "", "timeout", "timeout"]:
        attempt("riset", outcome)
    state = circuit_state("riset")
    assert (state.calls_in_window, state.failures_in_window, state.consecutive_failures) == (10, 6, 2)
    assert state.state == OPEN
    assert "6 of 10 calls failed in 300s" in state.reason()


@pytest.mark.django_db
def test_failures_outside_the_window_are_forgotten():
    for _ in range(3):
        attempt("kairos", "vendor_5xx")
    later = timezone.now() + timedelta(seconds=301)
    assert circuit_state("kairos", now=later).state == CLOSED


@pytest.mark.django_db
def test_a_vendor_refusing_one_cases_input_does_not_count_against_it():
    for code in ("vendor_4xx", "image_too_small", "missing_field", "evidence_unavailable"):
        audit_record(action="check.failed", actor_label="worker", data={"provider": "accura_id", "error": code})
        circuit_record_attempt(provider="accura_id", error_code=code)
    assert circuit_state("accura_id").state == CLOSED


@pytest.mark.django_db
def test_the_local_engine_has_no_circuit():
    for _ in range(5):
        audit_record(action="check.failed", actor_label="worker", data={"provider": "local", "error": "timeout"})
        circuit_record_attempt(provider="local", error_code="timeout")
    assert circuit_state("local").state == CLOSED


@pytest.mark.django_db
def test_a_healthy_vendors_circuit_is_one_small_read_and_never_the_audit_log(django_assert_num_queries):
    for _ in range(50):
        attempt("kairos", "vendor_5xx")
        attempt("kairos")
    with django_assert_num_queries(1) as captured:
        assert circuit_state("kairos").state == CLOSED
    assert "auditevent" not in captured.captured_queries[0]["sql"].lower()
    # Its successes wrote nothing after the first one that ended a run of failures.
    with django_assert_num_queries(1) as captured:
        circuit_record_attempt(provider="kairos")
    assert captured.captured_queries[0]["sql"].lstrip().upper().startswith("UPDATE")  # matching no row
    assert not ProviderCircuit.objects.get(provider="kairos").failing


@pytest.mark.django_db(transaction=True)
def test_a_retry_released_outside_any_transaction_counts_against_the_circuit():
    """check_release_for_retry runs in autocommit (no settling transaction around it), as in a worker."""
    from liveness.providers import RetryableProviderError
    from liveness.services.checks import check_claim, check_release_for_retry

    for _ in range(3):
        check = Check.objects.create(case=CaseFactory.create(), provider="kairos")
        claimed = check_claim(check_id=check.pk)
        assert claimed is not None
        error = RetryableProviderError("vendor down", code="vendor_5xx")
        assert check_release_for_retry(check_id=check.pk, token=claimed.attempts, exc=error, delay=5)
    state = circuit_state("kairos")
    assert (state.state, state.consecutive_failures, state.last_failure_code) == (OPEN, 3, "vendor_5xx")


@pytest.mark.django_db
def test_after_the_cool_down_one_probe_is_let_through_at_a_time():
    for _ in range(3):
        attempt("kairos", "vendor_5xx")
    later = timezone.now() + timedelta(seconds=61)
    half_open = circuit_state("kairos", now=later)
    assert (half_open.state, half_open.admits_new_checks) == (HALF_OPEN, True)
    Check.objects.create(case=CaseFactory.create(), provider="kairos")  # the probe, not settled yet
    probing = circuit_state("kairos", now=later)
    assert (probing.state, probing.probe_in_flight, probing.admits_new_checks) == (HALF_OPEN, True, False)
    assert probing.reason().endswith("probe in flight")


# --- the fallback, end to end against a failing simulator ---------------------------------------------


def selfie_case():
    image = services.IncomingImage("selfie", face_bytes(FRONTAL_FACE))
    return services.case_create(kind="selfie", images=[image]).case


def run(check: Check) -> str:
    return services.check_execute(check_id=check.pk).state


def disable(*providers: str) -> None:
    for key in providers:
        provider_setting_get(key)
    ProviderSetting.objects.filter(provider__in=providers).update(enabled=False)


@pytest.mark.usefixtures("sandbox", "no_broker", "fresh_judge")
def test_an_open_circuit_sends_new_checks_to_the_next_provider_and_says_why(settings):
    settings.LIVENESS_WORKFLOWS = {"selfie": ["kairos"]}
    settings.SANDBOX_FAULTS = {"kairos": "5xx"}
    provider_setting_get("kairos")
    ProviderSetting.objects.filter(provider="kairos").update(max_attempts=3)
    failing = selfie_case()
    check = Check.objects.get(case=failing)
    assert [run(check), run(check), run(check)] == ["retry", "retry", "settled"]
    assert circuit_state("kairos").state == OPEN

    case = selfie_case()
    [replacement] = Check.objects.filter(case=case)
    assert replacement.provider == "accura_face"  # the next selfie provider configured
    assert replacement.fallback_from == "kairos"
    assert replacement.fallback_reason.startswith("kairos circuit open: 3 consecutive failed calls, last vendor_5xx")
    assert case.providers == ["accura_face"]
    event = AuditEvent.objects.get(case=case, action="check.fallback")
    assert event.data == {
        "check": replacement.pk,
        "provider": "accura_face",
        "fallback_from": "kairos",
        "reason": replacement.fallback_reason,
    }
    # The replacement decides the case; the check keeps saying which provider it stands in for.
    assert run(replacement) == "settled"
    case.refresh_from_db()
    replacement.refresh_from_db()
    assert (case.status, case.auto_verdict) == (CaseStatus.DECIDED, Verdict.LIVE)
    assert (replacement.status, replacement.fallback_from) == (CheckStatus.SUCCEEDED, "kairos")

    # Cool-down over: the next case probes kairos, the one after still falls back while it runs.
    settings.CIRCUIT_COOLDOWN_SECONDS = 0
    settings.SANDBOX_FAULTS = {}
    probe = Check.objects.get(case=selfie_case())
    assert (probe.provider, probe.fallback_from) == ("kairos", "")
    waiting = Check.objects.get(case=selfie_case())
    assert (waiting.provider, waiting.fallback_from) == ("accura_face", "kairos")
    assert "probe in flight" in waiting.fallback_reason
    # The probe succeeds: the circuit closes and kairos gets new cases again.
    assert run(probe) == "settled"
    assert circuit_state("kairos").state == CLOSED
    assert Check.objects.get(case=selfie_case()).provider == "kairos"


@pytest.mark.usefixtures("sandbox", "no_broker", "fresh_judge")
def test_without_a_replacement_the_open_provider_is_skipped_and_the_others_decide(settings):
    settings.LIVENESS_WORKFLOWS = {"selfie": ["local", "kairos"]}
    disable("accura_face", "riset")
    for _ in range(3):
        attempt("kairos", "usage_limit")
    case = selfie_case()
    checks = {check.provider: check for check in Check.objects.filter(case=case)}
    skipped = checks["kairos"]
    assert (skipped.status, skipped.error_code) == (CheckStatus.SKIPPED, "circuit_open")
    assert skipped.reason.startswith("kairos circuit open")
    assert skipped.attempts == 0
    assert AuditEvent.objects.filter(case=case, action="check.skipped", data__provider="kairos").exists()
    assert run(checks["local"]) == "settled"
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED  # decided by the local engine alone
    assert case.auto_reasons == ["local: above threshold"]


@pytest.mark.usefixtures("sandbox", "no_broker")
def test_when_nobody_else_can_check_the_open_provider_is_tried_anyway(settings):
    settings.LIVENESS_WORKFLOWS = {"selfie": ["kairos"]}
    disable("accura_face", "riset", "local")
    for _ in range(3):
        attempt("kairos", "timeout")
    [check] = Check.objects.filter(case=selfie_case())
    assert (check.provider, check.status, check.fallback_from) == ("kairos", CheckStatus.QUEUED, "")


@pytest.mark.usefixtures("sandbox", "no_broker")
def test_input_errors_never_open_the_circuit(settings):
    settings.LIVENESS_WORKFLOWS = {"selfie": ["kairos"]}
    for _ in range(4):
        case = services.case_create(
            kind="selfie", images=[services.IncomingImage("selfie", image_bytes(250, 250))]
        ).case
        assert run(Check.objects.get(case=case)) == "settled"
    assert Check.objects.filter(provider="kairos", error_code="image_too_small").count() == 4
    assert circuit_state("kairos").state == CLOSED
    assert Check.objects.get(case=selfie_case()).provider == "kairos"
