"""Operator decisions: reasons, overrides, four-eyes approval, resubmission, closing."""

from __future__ import annotations

import pytest

from liveness import services
from liveness.models import ApprovalStatus, AuditEvent, Case, CaseStatus, Decision, Verdict
from liveness.services import DecisionError
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def auto_decided(auto: str) -> Case:
    status = CaseStatus.NEEDS_REVIEW if auto == Verdict.NEEDS_REVIEW else CaseStatus.DECIDED
    final = "" if auto == Verdict.NEEDS_REVIEW else auto
    return CaseFactory.create(status=status, auto_verdict=auto, final_verdict=final)


def error_of(func, **kwargs) -> DecisionError:
    with pytest.raises(DecisionError) as info:
        func(**kwargs)
    return info.value


def test_an_operator_decides_a_review_case(operator):
    case = auto_decided(Verdict.NEEDS_REVIEW)
    decision = services.decision_record(case=case, actor=operator, verdict=Verdict.LIVE, reason="looks fine")
    case.refresh_from_db()
    assert (case.status, case.final_verdict, case.decided_by) == (CaseStatus.DECIDED, Verdict.LIVE, operator)
    assert decision.approval_status == ApprovalStatus.NOT_REQUIRED
    assert not decision.is_override
    assert AuditEvent.objects.filter(case=case, action="decision.applied").count() == 1
    assert AuditEvent.objects.get(case=case, action="case.verdict_final").data["final_verdict"] == Verdict.LIVE


def test_a_review_case_needs_no_reason(operator):
    case = auto_decided(Verdict.NEEDS_REVIEW)
    services.decision_record(case=case, actor=operator, verdict=Verdict.SPOOF)
    case.refresh_from_db()
    assert case.final_verdict == Verdict.SPOOF


def test_overriding_an_automatic_verdict_needs_a_reason(operator):
    case = auto_decided(Verdict.LIVE)
    error = error_of(services.decision_record, case=case, actor=operator, verdict=Verdict.SPOOF, reason="  ")
    assert (error.code, error.field) == ("reason_required", "reason")
    case.refresh_from_db()
    assert case.final_verdict == Verdict.LIVE
    assert not Decision.objects.exists()


def test_live_to_spoof_override_applies_at_once(operator):
    case = auto_decided(Verdict.LIVE)
    decision = services.decision_record(case=case, actor=operator, verdict=Verdict.SPOOF, reason="mask edge visible")
    case.refresh_from_db()
    assert decision.is_override
    assert decision.previous_verdict == Verdict.LIVE
    assert (case.status, case.final_verdict) == (CaseStatus.DECIDED, Verdict.SPOOF)


def test_spoof_to_live_override_waits_for_a_second_supervisor(operator, supervisor):
    case = auto_decided(Verdict.SPOOF)
    decision = services.decision_record(case=case, actor=operator, verdict=Verdict.LIVE, reason="glare, not a screen")
    case.refresh_from_db()
    assert decision.approval_status == ApprovalStatus.PENDING
    assert (case.status, case.final_verdict) == (CaseStatus.PENDING_APPROVAL, Verdict.SPOOF)
    services.decision_approve(decision=decision, approver=supervisor, note="agreed")
    case.refresh_from_db()
    decision.refresh_from_db()
    assert (case.status, case.final_verdict) == (CaseStatus.DECIDED, Verdict.LIVE)
    assert (decision.approval_status, decision.approver) == (ApprovalStatus.APPROVED, supervisor)
    actions = list(AuditEvent.objects.filter(case=case).values_list("action", flat=True))
    assert actions == ["decision.requested", "decision.approved", "decision.applied", "case.verdict_final"]


def test_nobody_approves_their_own_override(supervisor):
    case = auto_decided(Verdict.SPOOF)
    decision = services.decision_record(case=case, actor=supervisor, verdict=Verdict.LIVE, reason="r")
    error = error_of(services.decision_approve, decision=decision, approver=supervisor)
    assert error.code == "own_override"
    decision.refresh_from_db()
    assert decision.approval_status == ApprovalStatus.PENDING


def test_an_operator_cannot_approve_overrides(operator, supervisor):
    case = auto_decided(Verdict.SPOOF)
    decision = services.decision_record(case=case, actor=supervisor, verdict=Verdict.LIVE, reason="r")
    assert error_of(services.decision_approve, decision=decision, approver=operator).code == "permission_denied"


def test_a_refused_override_returns_the_case_to_review(operator, supervisor):
    case = auto_decided(Verdict.SPOOF)
    decision = services.decision_record(case=case, actor=operator, verdict=Verdict.LIVE, reason="r")
    assert error_of(services.decision_refuse, decision=decision, approver=supervisor, note="").code == "reason_required"
    services.decision_refuse(decision=decision, approver=supervisor, note="it is a screen")
    case.refresh_from_db()
    decision.refresh_from_db()
    assert (case.status, case.final_verdict) == (CaseStatus.NEEDS_REVIEW, Verdict.SPOOF)
    assert decision.approval_status == ApprovalStatus.REFUSED


def test_an_override_is_approved_only_once(operator, supervisor, supervisor2):
    case = auto_decided(Verdict.SPOOF)
    decision = services.decision_record(case=case, actor=operator, verdict=Verdict.LIVE, reason="r")
    services.decision_approve(decision=decision, approver=supervisor)
    assert error_of(services.decision_refuse, decision=decision, approver=supervisor2, note="n").code == "invalid_state"


def test_four_eyes_can_be_switched_off(operator, settings):
    settings.FOUR_EYES_ENABLED = False
    case = auto_decided(Verdict.SPOOF)
    services.decision_record(case=case, actor=operator, verdict=Verdict.LIVE, reason="r")
    case.refresh_from_db()
    assert case.final_verdict == Verdict.LIVE


def test_users_without_the_permission_cannot_decide():
    case = auto_decided(Verdict.NEEDS_REVIEW)
    nobody = UserFactory.create()
    assert error_of(services.decision_record, case=case, actor=nobody, verdict=Verdict.LIVE).code == "permission_denied"


@pytest.mark.parametrize(
    "status", [CaseStatus.RECEIVED, CaseStatus.PROCESSING, CaseStatus.CLOSED, CaseStatus.PENDING_APPROVAL]
)
def test_cases_not_awaiting_a_decision_cannot_be_decided(operator, status):
    case = CaseFactory.create(status=status)
    assert error_of(services.decision_record, case=case, actor=operator, verdict=Verdict.LIVE).code == "invalid_state"


def test_unknown_verdicts_are_refused(operator):
    case = auto_decided(Verdict.NEEDS_REVIEW)
    error = error_of(services.decision_record, case=case, actor=operator, verdict=Verdict.NEEDS_REVIEW)
    assert (error.code, error.field) == ("invalid_verdict", "verdict")


def test_resubmission_needs_a_reason_and_is_bounded(operator, settings):
    settings.MAX_RESUBMISSIONS = 1
    case = auto_decided(Verdict.NEEDS_REVIEW)
    assert error_of(
        services.decision_record, case=case, actor=operator, verdict=Verdict.RESUBMIT, resubmission_reasons=["blurry"]
    ).code == ("reason_required")
    services.decision_record(
        case=case, actor=operator, verdict=Verdict.RESUBMIT, reason="blurred", resubmission_reasons=["blurry"]
    )
    case.refresh_from_db()
    assert (case.status, case.resubmission_count) == (CaseStatus.RESUBMISSION_REQUESTED, 1)
    assert AuditEvent.objects.get(case=case, action="case.verdict_final").data["event"] == (
        "case.resubmission_requested"
    )
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.NEEDS_REVIEW)
    error = error_of(
        services.decision_record,
        case=case,
        actor=operator,
        verdict=Verdict.RESUBMIT,
        reason="again",
        resubmission_reasons=["glare"],
    )
    assert error.code == "resubmission_limit"


def test_the_same_verdict_twice_is_refused(operator):
    case = auto_decided(Verdict.LIVE)
    assert error_of(services.decision_record, case=case, actor=operator, verdict=Verdict.LIVE).code == "no_change"


def test_closing_needs_a_reason_and_is_final(operator):
    case = auto_decided(Verdict.NEEDS_REVIEW)
    assert error_of(services.case_close, case=case, actor=operator, reason="").code == "reason_required"
    services.case_close(case=case, actor=operator, reason="duplicate submission")
    assert case.status == CaseStatus.CLOSED
    assert error_of(services.case_close, case=case, actor=operator, reason="again").code == "invalid_state"
    assert error_of(services.decision_record, case=case, actor=operator, verdict=Verdict.LIVE).code == "invalid_state"


def test_audit_events_are_append_only(operator):
    case = auto_decided(Verdict.NEEDS_REVIEW)
    event = services.audit_record(action="case.claimed", case=case, actor=operator)
    event.action = "case.released"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="y")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "case.claimed"


def test_a_case_claimed_by_someone_else_cannot_be_decided(operator, supervisor):
    from datetime import timedelta

    from django.utils import timezone

    case = auto_decided(Verdict.NEEDS_REVIEW)
    Case.objects.filter(pk=case.pk).update(
        claimed_by=supervisor, claim_expires_at=timezone.now() + timedelta(minutes=5)
    )
    case.refresh_from_db()
    assert error_of(services.decision_record, case=case, actor=operator, verdict=Verdict.LIVE).code == "claimed"
    services.decision_record(case=case, actor=supervisor, verdict=Verdict.LIVE)  # the holder may
    case.refresh_from_db()
    assert case.final_verdict == Verdict.LIVE


def test_an_expired_claim_does_not_block_a_decision(operator, supervisor):
    from datetime import timedelta

    from django.utils import timezone

    case = auto_decided(Verdict.NEEDS_REVIEW)
    Case.objects.filter(pk=case.pk).update(
        claimed_by=supervisor, claim_expires_at=timezone.now() - timedelta(seconds=1)
    )
    case.refresh_from_db()
    services.decision_record(case=case, actor=operator, verdict=Verdict.SPOOF)
    case.refresh_from_db()
    assert case.final_verdict == Verdict.SPOOF
