"""Verdicts: the automatic one from the policy, and operators' decisions with four-eyes approval.

One home for these rules: the console and the REST API both call these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from ..models import ApprovalStatus, Case, CaseStatus, Decision, Verdict
from ..policy import CaseDecision
from ..vocabulary import RESUBMISSION_REASONS
from .audit import audit_record
from .claims import BulkResult, claim_blocker, claim_clear
from .errors import Conflict, PermissionDenied, ServiceError, Stale
from .notify import case_verdict_final

OPERATOR_VERDICTS = (Verdict.LIVE, Verdict.SPOOF, Verdict.RESUBMIT)
#: Verdicts an override is measured against: changing one of them needs a reason (and maybe four eyes).
STANDING_VERDICTS = (Verdict.LIVE, Verdict.SPOOF)


class DecisionError(ServiceError):
    """An operator action the rules refuse (input: 400). ``code`` is machine-readable; nothing was changed."""


class DecisionConflict(DecisionError, Conflict):
    """The case (or decision) is not in a state that allows this, or moved on since the operator looked."""


class DecisionStale(DecisionConflict, Stale):
    """The case moved on since the version the decision named (code ``conflict``)."""


class DecisionForbidden(DecisionError, PermissionDenied):
    """The actor may not do this."""


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


def standing_verdict(case: Case) -> str:
    """The verdict a decision changes: the final one (an operator's or the policy's), else the automatic one."""
    return case.final_verdict or case.auto_verdict


def reason_required(*, current_verdict: str, verdict: str) -> bool:
    """A reason is required to change a standing live/spoof verdict (the final one, else the automatic one)
    and to ask for a resubmission. Deciding a case whose only verdict is "needs review" needs none."""
    return verdict == Verdict.RESUBMIT or (current_verdict in STANDING_VERDICTS and verdict != current_verdict)


def needs_four_eyes(*, current_verdict: str, verdict: str) -> bool:
    """Configured as FOUR_EYES_RULES, "from:to" pairs of current final verdict (human or automatic) -> new."""
    if not settings.FOUR_EYES_ENABLED:
        return False
    return f"{current_verdict}:{verdict}" in settings.FOUR_EYES_RULES


def _lock_case(case_id: int) -> Case:
    return Case.objects.select_for_update().get(pk=case_id)


def case_state(case: Case) -> dict[str, Any]:
    """What a decision depends on, as the API's conflict answer and the console's message show it."""
    holder_id = case.claim_holder_id()
    holder = User.objects.filter(pk=holder_id).first() if holder_id else None
    return {
        "version": case.version,
        "status": case.status,
        "final_verdict": case.final_verdict or None,
        "decided_by": case.decided_by.get_username() if case.decided_by else None,
        "decided_at": case.decided_at.isoformat() if case.decided_at else None,
        "claimed_by": holder.get_username() if holder else None,
        "claim_expires_at": case.claim_expires_at.isoformat() if holder and case.claim_expires_at else None,
        "updated_at": case.updated_at.isoformat() if case.updated_at else None,
    }


def _moved_on(case: Case, expected_version: int) -> DecisionStale:
    state = case_state(case)
    parts = [f"status {state['status']}"]
    if state["final_verdict"]:
        decided = f"final verdict {state['final_verdict']}"
        if state["final_verdict"] != Verdict.RESUBMIT or state["decided_by"]:
            decided += f" (decided by {state['decided_by'] or 'the policy'}"
            decided += f" at {state['decided_at']})" if state["decided_at"] else ")"
        parts.append(decided)
    else:
        parts.append("no final verdict")
    parts.append(
        f"claimed by {state['claimed_by']} until {state['claim_expires_at']}" if state["claimed_by"] else "not claimed"
    )
    message = (
        f"the case changed since you looked at it (your version {expected_version}, now {case.version}, "
        f"changed at {state['updated_at']}): {'; '.join(parts)}. Reload it and decide again."
    )
    return DecisionStale(message, "conflict", extra={"current": state, "expected_version": expected_version})


def resubmission_reasons_clean(*, verdict: str, codes: Iterable[str]) -> list[str]:
    """The resubmission reason codes of a decision, checked: at least one of RESUBMISSION_REASONS for a
    resubmission (order kept, repeats dropped), none for any other verdict. Raises DecisionError."""
    given = list(dict.fromkeys(str(code).strip() for code in codes))
    known = ", ".join(RESUBMISSION_REASONS)
    if verdict != Verdict.RESUBMIT:
        if given:
            raise DecisionError("resubmission reasons go with a resubmission only", "invalid", "resubmission_reasons")
        return []
    if not given:
        raise DecisionError(
            f"say why a resubmission is needed: one or more of {known}", "required", "resubmission_reasons"
        )
    unknown = [code for code in given if code not in RESUBMISSION_REASONS]
    if unknown:
        raise DecisionError(
            f"unknown resubmission reason {', '.join(repr(c) for c in unknown)}: use {known}",
            "invalid_choice",
            "resubmission_reasons",
        )
    return given


def decision_record(
    *,
    case: Case,
    actor: User,
    verdict: str,
    reason: str = "",
    expected_version: int | None = None,
    resubmission_reasons: Iterable[str] = (),
) -> Decision:
    """An operator decides a case: live, spoof or resubmit, with a reason where the rules want one.

    ``expected_version`` is the ``Case.version`` the operator looked at: if the case moved on since, the
    decision is refused (DecisionStale, a 409 ``conflict`` saying what changed) and nothing changes. The
    check runs with the case row locked, so of two decisions made on the same version exactly one is
    recorded. None decides on whatever the state is when the lock is taken: only for internal callers (the
    supervisors' bulk resubmission); the API and the console form always send one.

    Changing a standing live/spoof verdict (the policy's or an operator's) is an override: it needs a reason,
    and an override matching FOUR_EYES_RULES (from the current final verdict) waits for a different
    supervisor's approval (the case goes to pending_approval). The claim on the case is cleared.

    A resubmission names why with ``resubmission_reasons`` (codes of RESUBMISSION_REASONS, at least one) and
    the free text ``reason``; both go to the partner (webhook ``case.resubmission_requested``, the case's GET).
    """
    if verdict not in OPERATOR_VERDICTS:
        raise DecisionError(f"verdict must be one of {', '.join(OPERATOR_VERDICTS)}", "invalid_verdict", "verdict")
    if not actor.has_perm("liveness.decide_case"):
        raise DecisionForbidden("you may not decide cases", "permission_denied")
    codes = resubmission_reasons_clean(verdict=verdict, codes=resubmission_reasons)
    reason = reason.strip()
    with transaction.atomic():
        locked = _lock_case(case.pk)
        if expected_version is not None and locked.version != expected_version:
            raise _moved_on(locked, expected_version)
        if locked.status not in (CaseStatus.NEEDS_REVIEW, CaseStatus.DECIDED):
            raise DecisionConflict(
                f"a case in status {locked.get_status_display().lower()} cannot be decided", "invalid_state"
            )
        # A claim (review queue) reserves the case: nobody else decides it, in the console or over the API.
        blocker = claim_blocker(case=locked, user=actor)
        if blocker:
            raise DecisionConflict(blocker, "claimed")
        current = standing_verdict(locked)
        if locked.status == CaseStatus.DECIDED and locked.final_verdict == verdict:
            raise DecisionConflict("the case already has this verdict", "no_change")
        is_override = current in STANDING_VERDICTS and verdict != current
        if reason_required(current_verdict=current, verdict=verdict) and not reason:
            by = locked.decided_by.get_username() if locked.decided_by_id and locked.decided_by else "the policy"
            raise DecisionError(
                f"a reason is required to change the current verdict ({current}, decided by {by})"
                if is_override
                else "a reason is required to request a resubmission",
                "reason_required",
                "reason",
            )
        if verdict == Verdict.RESUBMIT and locked.resubmission_count >= settings.MAX_RESUBMISSIONS:
            raise DecisionConflict(
                f"this case already had {locked.resubmission_count} resubmissions (the limit)",
                "resubmission_limit",
            )
        four_eyes = is_override and needs_four_eyes(current_verdict=current, verdict=verdict)
        decision = Decision.objects.create(
            case=locked,
            actor=actor,
            verdict=verdict,
            previous_verdict=current,
            reason=reason,
            resubmission_reasons=codes,
            is_override=is_override,
            approval_status=ApprovalStatus.PENDING if four_eyes else ApprovalStatus.NOT_REQUIRED,
        )
        if four_eyes:
            locked.transition(CaseStatus.PENDING_APPROVAL)
            claim_clear(case=locked)  # the operator's part is done; a supervisor answers next
            locked.save(update_fields=["status", "claimed_by", "claim_expires_at", "updated_at"])
            audit_record(
                action="decision.requested",
                case=locked,
                actor=actor,
                data={
                    "decision": decision.pk,
                    "verdict": verdict,
                    "reason": reason,
                    "resubmission_reasons": codes,
                    "current_verdict": current,
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
    claim_clear(case=case)
    case.save(
        update_fields=[
            "status",
            "final_verdict",
            "decided_by",
            "decided_at",
            "resubmission_count",
            "claimed_by",
            "claim_expires_at",
            "updated_at",
        ]
    )
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
            "resubmission_reasons": list(decision.resubmission_reasons or []),
            "override": decision.is_override,
            "before": before,
            "after": {"status": case.status, "final_verdict": case.final_verdict},
        },
    )
    # One webhook per change of final verdict; a resubmission request is always news (a new round is asked).
    if decision.verdict == Verdict.RESUBMIT:
        case_verdict_final(case=case, event="case.resubmission_requested")
    elif before["final_verdict"] != case.final_verdict:
        case_verdict_final(case=case, event="case.decided")


def decision_approve(*, decision: Decision, approver: User, note: str = "") -> Decision:
    """A second supervisor approves a pending override; never the one who asked for it."""
    return _decision_review(decision=decision, approver=approver, approve=True, note=note)


def decision_refuse(*, decision: Decision, approver: User, note: str = "") -> Decision:
    """A second supervisor refuses a pending override: the case returns to the review queue."""
    return _decision_review(decision=decision, approver=approver, approve=False, note=note)


def _decision_review(*, decision: Decision, approver: User, approve: bool, note: str) -> Decision:
    if not approver.has_perm("liveness.approve_override"):
        raise DecisionForbidden("only a supervisor may approve or refuse an override", "permission_denied")
    if decision.actor_id == approver.pk:
        raise DecisionForbidden("you cannot approve or refuse your own override", "own_override")
    if not approve and not note.strip():
        raise DecisionError("say why the override is refused", "reason_required", "note")
    with transaction.atomic():
        case = _lock_case(decision.case_id)
        locked = Decision.objects.select_for_update().get(pk=decision.pk)
        if locked.approval_status != ApprovalStatus.PENDING:
            raise DecisionConflict("this override is not awaiting approval", "invalid_state")
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
            claim_clear(case=case)
            case.save(update_fields=["status", "claimed_by", "claim_expires_at", "updated_at"])
    decision.refresh_from_db()
    return decision


def case_close(*, case: Case, actor: User, reason: str) -> Case:
    """Close a case for good (e.g. a resubmission never came). Closed cases change no more."""
    if not reason.strip():
        raise DecisionError("a reason is required to close a case", "reason_required", "reason")
    with transaction.atomic():
        locked = _lock_case(case.pk)
        before = locked.status
        if not locked.can_transition(CaseStatus.CLOSED):
            raise DecisionConflict(f"a case in status {before} cannot be closed", "invalid_state")
        locked.transition(CaseStatus.CLOSED)
        claim_clear(case=locked)
        locked.save(update_fields=["status", "claimed_by", "claim_expires_at", "updated_at"])
        audit_record(action="case.closed", case=locked, actor=actor, data={"reason": reason.strip(), "before": before})
    case.refresh_from_db()
    return case


def cases_request_resubmission(
    *, cases: Sequence[Case], actor: User, reason: str, resubmission_reasons: Iterable[str]
) -> BulkResult:
    """A supervisor's bulk action: each case's review ends as "resubmission requested", through
    ``decision_record`` (same rules as the case page); a case the rules refuse is listed, not fatal."""
    if not actor.has_perm("liveness.assign_case"):
        raise DecisionForbidden("only a supervisor may run bulk actions", "permission_denied")
    if not reason.strip():
        raise DecisionError("a reason is required to request a resubmission", "reason_required", "reason")
    codes = resubmission_reasons_clean(verdict=Verdict.RESUBMIT, codes=resubmission_reasons)
    result = BulkResult()
    for case in cases:
        try:
            decision_record(case=case, actor=actor, verdict=Verdict.RESUBMIT, reason=reason, resubmission_reasons=codes)
        except DecisionError as exc:
            result.refused.append((case, exc.message))
            continue
        result.done.append(case)
    return result
