"""Console-only writes: claiming cases in the review queue, supervisors' assignments and bulk actions.

Verdicts themselves are never decided here: bulk actions call ``liveness.services.decision_record`` per
case, so every rule (reasons, resubmission limit, four-eyes) stays in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Case, CaseStatus, Verdict
from ..services import DecisionError, audit_record, decision_record

#: Statuses in which someone works on a case, so a claim means something.
CLAIMABLE_STATUSES = (CaseStatus.NEEDS_REVIEW, CaseStatus.PENDING_APPROVAL)


class ClaimError(Exception):
    """A claim the rules refuse; ``message`` is for the operator, nothing was changed."""

    def __init__(self, message: str, *, code: str, holder: User | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.holder = holder


def claim_until(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(minutes=settings.CLAIM_MINUTES)


def claim_active_holder(case: Case, *, now: datetime | None = None) -> int | None:
    """The id of the user holding an unexpired claim on ``case``, or None."""
    now = now or timezone.now()
    if case.claimed_by_id and case.claim_expires_at and case.claim_expires_at > now:
        return case.claimed_by_id
    return None


def _free_or_mine(user: User, now: datetime) -> Q:
    return Q(claimed_by__isnull=True) | Q(claim_expires_at__lte=now) | Q(claimed_by=user)


def case_claim(*, case: Case, user: User) -> Case:
    """Claim ``case`` for ``user`` until now + CLAIM_MINUTES (claiming again extends one's own claim).

    A conditional UPDATE takes the claim, so of two operators clicking at once exactly one wins.
    """
    if not user.has_perm("liveness.decide_case"):
        raise ClaimError("you may not work on cases", code="permission_denied")
    now = timezone.now()
    until = claim_until(now)
    with transaction.atomic():
        taken = (
            Case.objects.filter(pk=case.pk, status__in=CLAIMABLE_STATUSES)
            .filter(_free_or_mine(user, now))
            .update(claimed_by=user, claim_expires_at=until)
        )
        if taken:
            audit_record(action="case.claimed", case=case, actor=user, data={"until": until.isoformat()})
    case.refresh_from_db()
    if not taken:
        if case.status not in CLAIMABLE_STATUSES:
            raise ClaimError(
                f"a case in status {case.get_status_display().lower()} is not waiting for review",
                code="not_claimable",
            )
        holder = User.objects.filter(pk=case.claimed_by_id).first() if case.claimed_by_id else None
        name = holder.get_username() if holder else "someone else"
        until_text = timezone.localtime(case.claim_expires_at).strftime("%H:%M") if case.claim_expires_at else "?"
        raise ClaimError(f"{name} is working on this case (claimed until {until_text})", code="claimed", holder=holder)
    return case


def case_release(*, case: Case, user: User) -> bool:
    """Give up one's own claim. A supervisor (assign_case) may release anyone's. False if nothing held."""
    may_release_others = user.has_perm("liveness.assign_case")
    with transaction.atomic():
        query = Case.objects.filter(pk=case.pk, claimed_by__isnull=False)
        if not may_release_others:
            query = query.filter(claimed_by=user)
        previous = query.values_list("claimed_by", flat=True).first()
        released = query.update(claimed_by=None, claim_expires_at=None)
        if released:
            audit_record(action="case.released", case=case, actor=user, data={"previous_holder": previous})
    case.refresh_from_db()
    return bool(released)


def claim_clear_after_decision(*, case: Case) -> None:
    """A decided case needs no claim; clearing it keeps the queue's "claimed by" column honest."""
    Case.objects.filter(pk=case.pk, claimed_by__isnull=False).exclude(status__in=CLAIMABLE_STATUSES).update(
        claimed_by=None, claim_expires_at=None
    )


def queue_take_next(*, user: User, candidates: int = 20) -> Case | None:
    """Claim the oldest unclaimed case that needs review and return it (None when the queue is empty).

    Tries the oldest few in order; losing a race for one just moves on to the next.
    """
    if not user.has_perm("liveness.decide_case"):
        raise ClaimError("you may not work on cases", code="permission_denied")
    now = timezone.now()
    mine = (
        Case.objects.filter(status=CaseStatus.NEEDS_REVIEW, claimed_by=user, claim_expires_at__gt=now)
        .order_by("created_at", "id")
        .first()
    )
    if mine is not None:
        return mine
    ids = list(
        Case.objects.filter(status=CaseStatus.NEEDS_REVIEW)
        .filter(Q(claimed_by__isnull=True) | Q(claim_expires_at__lte=now))
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:candidates]
    )
    for case_id in ids:
        try:
            return case_claim(case=Case.objects.get(pk=case_id), user=user)
        except ClaimError:
            continue
    return None


@dataclass
class BulkResult:
    done: list[Case] = field(default_factory=list)
    refused: list[tuple[Case, str]] = field(default_factory=list)


def cases_assign(*, cases: Sequence[Case], assignee: User, actor: User) -> BulkResult:
    """A supervisor hands open cases to an operator: the operator holds the claim for CLAIM_MINUTES."""
    if not actor.has_perm("liveness.assign_case"):
        raise ClaimError("only a supervisor may assign cases", code="permission_denied")
    if not assignee.is_active or not assignee.has_perm("liveness.decide_case"):
        raise ClaimError(f"{assignee.get_username()} may not work on cases", code="invalid_assignee")
    result = BulkResult()
    until = claim_until()
    for case in cases:
        with transaction.atomic():
            locked = Case.objects.select_for_update().get(pk=case.pk)
            if locked.status not in CLAIMABLE_STATUSES:
                result.refused.append((locked, f"status {locked.get_status_display().lower()}: nothing to assign"))
                continue
            previous = claim_active_holder(locked)
            locked.claimed_by = assignee
            locked.claim_expires_at = until
            locked.save(update_fields=["claimed_by", "claim_expires_at", "updated_at"])
            audit_record(
                action="case.assigned",
                case=locked,
                actor=actor,
                data={"assignee": assignee.get_username(), "previous_holder": previous, "until": until.isoformat()},
            )
        result.done.append(locked)
    return result


def cases_request_resubmission(*, cases: Sequence[Case], actor: User, reason: str) -> BulkResult:
    """Close each case's review as "resubmission requested", through the same service as the case page."""
    if not actor.has_perm("liveness.assign_case"):
        raise ClaimError("only a supervisor may run bulk actions", code="permission_denied")
    if not reason.strip():
        raise DecisionError("a reason is required to request a resubmission", code="reason_required", field="reason")
    result = BulkResult()
    for case in cases:
        try:
            decision_record(case=case, actor=actor, verdict=Verdict.RESUBMIT, reason=reason)
        except DecisionError as exc:
            result.refused.append((case, exc.message))
            continue
        claim_clear_after_decision(case=case)
        result.done.append(case)
    return result
