"""Verdicts: the automatic one from the policy, and operators' decisions with four-eyes approval.

One home for these rules: the console and the REST API both call these functions.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from ..models import ApprovalStatus, Case, CaseStatus, Decision, Verdict
from ..policy import CaseDecision
from .audit import audit_record
from .notify import case_verdict_final

OPERATOR_VERDICTS = (Verdict.LIVE, Verdict.SPOOF, Verdict.RESUBMIT)


class DecisionError(ValueError):
    """An operator action the rules refuse. ``code`` is machine-readable; nothing was changed."""

    def __init__(self, message: str, *, code: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


def case_apply_auto_verdict(*, case: Case, decision: CaseDecision) -> None:
    """Record the policy's verdict (called with the case row locked, inside a transaction)."""
    if case.status == CaseStatus.RECEIVED:
        case.transition(CaseStatus.PROCESSING)
    case.auto_verdict = decision.verdict
    case.auto_reasons = list(decision.reasons)
    case.reason_codes = list(decision.codes)
    if decision.verdict == Verdict.NEEDS_REVIEW:
        case.transition(CaseStatus.NEEDS_REVIEW)
    else:
        case.transition(CaseStatus.DECIDED)
        case.final_verdict = decision.verdict
        case.decided_at = timezone.now()
        case.decided_by = None
    case.save(
        update_fields=[
            "status",
            "auto_verdict",
            "auto_reasons",
            "reason_codes",
            "final_verdict",
            "decided_at",
            "decided_by",
            "updated_at",
        ]
    )
    audit_record(
        action="case.auto_decided",
        case=case,
        actor_label="policy",
        data={
            "verdict": decision.verdict,
            "reasons": list(decision.reasons),
            "codes": list(decision.codes),
            "status": case.status,
        },
    )
    if case.status == CaseStatus.DECIDED:
        case_verdict_final(case=case, event="case.decided")


def needs_four_eyes(*, auto_verdict: str, verdict: str) -> bool:
    """Configured as FOUR_EYES_RULES, "from:to" pairs of automatic -> operator verdict."""
    if not settings.FOUR_EYES_ENABLED:
        return False
    return f"{auto_verdict}:{verdict}" in settings.FOUR_EYES_RULES


def _lock_case(case_id: int) -> Case:
    return Case.objects.select_for_update().get(pk=case_id)


def decision_record(*, case: Case, actor: User, verdict: str, reason: str = "") -> Decision:
    """An operator decides a case: live, spoof or resubmit, with a reason where the rules want one.

    Overriding an automatic live/spoof needs a reason; an override matching FOUR_EYES_RULES waits for
    a different supervisor's approval (the case goes to pending_approval).
    """
    if verdict not in OPERATOR_VERDICTS:
        raise DecisionError(
            f"verdict must be one of {', '.join(OPERATOR_VERDICTS)}", code="invalid_verdict", field="verdict"
        )
    if not actor.has_perm("liveness.decide_case"):
        raise DecisionError("you may not decide cases", code="permission_denied")
    reason = reason.strip()
    with transaction.atomic():
        locked = _lock_case(case.pk)
        if locked.status not in (CaseStatus.NEEDS_REVIEW, CaseStatus.DECIDED):
            raise DecisionError(
                f"a case in status {locked.get_status_display().lower()} cannot be decided", code="invalid_state"
            )
        # A claim (review queue) reserves the case: nobody else decides it, in the console or over the API.
        if (
            locked.claimed_by_id not in (None, actor.pk)
            and locked.claim_expires_at is not None
            and locked.claim_expires_at > timezone.now()
        ):
            raise DecisionError(
                "another operator has claimed this case; ask them or a supervisor to release it", code="claimed"
            )
        is_override = locked.auto_verdict in (Verdict.LIVE, Verdict.SPOOF) and verdict != locked.auto_verdict
        if locked.status == CaseStatus.DECIDED and locked.final_verdict == verdict:
            raise DecisionError("the case already has this verdict", code="no_change")
        if (is_override or verdict == Verdict.RESUBMIT) and not reason:
            raise DecisionError(
                "a reason is required when the verdict differs from the automatic one"
                if is_override
                else "a reason is required to request a resubmission",
                code="reason_required",
                field="reason",
            )
        if verdict == Verdict.RESUBMIT and locked.resubmission_count >= settings.MAX_RESUBMISSIONS:
            raise DecisionError(
                f"this case already had {locked.resubmission_count} resubmissions (the limit)",
                code="resubmission_limit",
            )
        four_eyes = is_override and needs_four_eyes(auto_verdict=locked.auto_verdict, verdict=verdict)
        decision = Decision.objects.create(
            case=locked,
            actor=actor,
            verdict=verdict,
            previous_verdict=locked.final_verdict or locked.auto_verdict,
            reason=reason,
            is_override=is_override,
            approval_status=ApprovalStatus.PENDING if four_eyes else ApprovalStatus.NOT_REQUIRED,
        )
        if four_eyes:
            locked.transition(CaseStatus.PENDING_APPROVAL)
            locked.save(update_fields=["status", "updated_at"])
            audit_record(
                action="decision.requested",
                case=locked,
                actor=actor,
                data={
                    "decision": decision.pk,
                    "verdict": verdict,
                    "reason": reason,
                    "auto_verdict": locked.auto_verdict,
                },
            )
        else:
            _apply_decision(case=locked, decision=decision, actor=actor)
    case.refresh_from_db()
    return decision


def _apply_decision(*, case: Case, decision: Decision, actor: User) -> None:
    before = {"status": case.status, "final_verdict": case.final_verdict}
    now = timezone.now()
    if decision.verdict == Verdict.RESUBMIT:
        case.transition(CaseStatus.RESUBMISSION_REQUESTED)
        case.resubmission_count += 1
        case.final_verdict = Verdict.RESUBMIT
    else:
        case.transition(CaseStatus.DECIDED)
        case.final_verdict = decision.verdict
    case.decided_by = decision.actor
    case.decided_at = now
    case.save(update_fields=["status", "final_verdict", "decided_by", "decided_at", "resubmission_count", "updated_at"])
    decision.decided_at = now
    decision.save(update_fields=["decided_at"])
    audit_record(
        action="decision.applied",
        case=case,
        actor=actor,
        data={
            "decision": decision.pk,
            "verdict": decision.verdict,
            "reason": decision.reason,
            "override": decision.is_override,
            "before": before,
            "after": {"status": case.status, "final_verdict": case.final_verdict},
        },
    )
    case_verdict_final(
        case=case, event="case.resubmission_requested" if decision.verdict == Verdict.RESUBMIT else "case.decided"
    )


def decision_approve(*, decision: Decision, approver: User, note: str = "") -> Decision:
    """A second supervisor approves a pending override; never the one who asked for it."""
    return _decision_review(decision=decision, approver=approver, approve=True, note=note)


def decision_refuse(*, decision: Decision, approver: User, note: str = "") -> Decision:
    """A second supervisor refuses a pending override: the case returns to the review queue."""
    return _decision_review(decision=decision, approver=approver, approve=False, note=note)


def _decision_review(*, decision: Decision, approver: User, approve: bool, note: str) -> Decision:
    if not approver.has_perm("liveness.approve_override"):
        raise DecisionError("only a supervisor may approve or refuse an override", code="permission_denied")
    if decision.actor_id == approver.pk:
        raise DecisionError("you cannot approve or refuse your own override", code="own_override")
    if not approve and not note.strip():
        raise DecisionError("say why the override is refused", code="reason_required", field="note")
    with transaction.atomic():
        case = _lock_case(decision.case_id)
        locked = Decision.objects.select_for_update().get(pk=decision.pk)
        if locked.approval_status != ApprovalStatus.PENDING:
            raise DecisionError("this override is not awaiting approval", code="invalid_state")
        locked.approver = approver
        locked.approval_note = note.strip()
        locked.approval_status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REFUSED
        locked.save(update_fields=["approver", "approval_note", "approval_status"])
        audit_record(
            action="decision.approved" if approve else "decision.refused",
            case=case,
            actor=approver,
            data={
                "decision": locked.pk,
                "requested_by": locked.actor_id,
                "verdict": locked.verdict,
                "note": locked.approval_note,
            },
        )
        if approve:
            _apply_decision(case=case, decision=locked, actor=approver)
        else:
            case.transition(CaseStatus.NEEDS_REVIEW)
            case.save(update_fields=["status", "updated_at"])
    decision.refresh_from_db()
    return decision


def case_close(*, case: Case, actor: User, reason: str) -> Case:
    """Close a case for good (e.g. a resubmission never came). Closed cases change no more."""
    if not reason.strip():
        raise DecisionError("a reason is required to close a case", code="reason_required", field="reason")
    with transaction.atomic():
        locked = _lock_case(case.pk)
        before = locked.status
        if not locked.can_transition(CaseStatus.CLOSED):
            raise DecisionError(f"a case in status {before} cannot be closed", code="invalid_state")
        locked.transition(CaseStatus.CLOSED)
        locked.save(update_fields=["status", "updated_at"])
        audit_record(action="case.closed", case=locked, actor=actor, data={"reason": reason.strip(), "before": before})
    case.refresh_from_db()
    return case
