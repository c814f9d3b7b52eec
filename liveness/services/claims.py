"""Review-queue claims in one place: who works on a case, until when.

Rules:

* A claim is ``Case.claimed_by`` + ``Case.claim_expires_at``; it is *active* until it expires. An expired
  claim is free for anyone (``CaseQuerySet.free()``), nothing has to clear it.
* Only cases someone works on can be claimed: ``needs_review`` and ``pending_approval``.
* Claiming a free case (or one's own) takes it until now + ``CLAIM_MINUTES``; claiming one's own again
  renews it. Two operators clicking at once: a conditional UPDATE decides, exactly one wins.
* An operator releases their own claim; a supervisor (``assign_case``) may release anyone's, or assign the
  case to an operator (who then holds the claim).
* A decision, approval, refusal or close clears the claim inside the deciding transaction
  (``claim_clear``, called by ``services.decisions``), so no decided case shows "claimed by".
* Taking, changing or clearing the holder bumps ``Case.version`` (a decision depends on who holds the
  claim); renewing one's own claim does not (it changes only the expiry).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Case as SqlCase
from django.db.models import F, When
from django.utils import timezone

from ..models import Case, CaseStatus
from .audit import audit_record
from .errors import Conflict, PermissionDenied, ServiceError

#: Statuses in which someone works on a case, so a claim means something.
CLAIMABLE_STATUSES = (CaseStatus.NEEDS_REVIEW, CaseStatus.PENDING_APPROVAL)


class ClaimError(ServiceError):
    """A claim the rules refuse; nothing was changed. ``holder``: who holds the case, when that is why."""

    def __init__(self, message: str, code: str, field: str = "", *, holder: User | None = None) -> None:
        super().__init__(message, code, field)
        self.holder = holder


class ClaimConflict(ClaimError, Conflict):
    """Someone else holds the case, or it is not waiting for review."""


class ClaimForbidden(ClaimError, PermissionDenied):
    """The user may not claim, assign or release."""


def claim_until(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(minutes=settings.CLAIM_MINUTES)


def claim_active_holder(case: Case, *, now: datetime | None = None) -> int | None:
    """The id of the user holding an unexpired claim on ``case``, or None."""
    return case.claim_holder_id(now)


def claim_describe(case: Case) -> str:
    """ "op1 is working on this case (claimed until 10:30)" for an active claim."""
    holder = User.objects.filter(pk=case.claimed_by_id).first() if case.claimed_by_id else None
    name = holder.get_username() if holder else "someone else"
    until = timezone.localtime(case.claim_expires_at).strftime("%H:%M") if case.claim_expires_at else "?"
    return f"{name} is working on this case (claimed until {until})"


def claim_blocker(*, case: Case, user: User, now: datetime | None = None) -> str:
    """Why ``user`` may not act on ``case`` because someone else holds an active claim ("" when free)."""
    holder_id = case.claim_holder_id(now)
    if holder_id is not None and holder_id != user.pk:
        return f"{claim_describe(case)}; ask them or a supervisor to release it"
    return ""


def claim_clear(*, case: Case) -> None:
    """Drop the claim on ``case`` in memory; the caller saves ``claimed_by`` (bumping the version)."""
    case.claimed_by = None
    case.claim_expires_at = None


def _holder_changes(user: User) -> SqlCase:
    """``version`` for an UPDATE that gives the claim to ``user``: unchanged when they already hold it."""
    return SqlCase(When(claimed_by=user, then=F("version")), default=F("version") + 1)


def case_claim(*, case: Case, user: User) -> Case:
    """Claim ``case`` for ``user`` until now + CLAIM_MINUTES (claiming again extends one's own claim)."""
    if not user.has_perm("liveness.decide_case"):
        raise ClaimForbidden("you may not work on cases", "permission_denied")
    now = timezone.now()
    until = claim_until(now)
    with transaction.atomic():
        taken = (
            Case.objects.filter(pk=case.pk, status__in=CLAIMABLE_STATUSES)
            .free_or_claimed_by(user, now)
            .update(claimed_by=user, claim_expires_at=until, version=_holder_changes(user), updated_at=now)
        )
        if taken:
            audit_record(action="case.claimed", case=case, actor=user, data={"until": until.isoformat()})
    case.refresh_from_db()
    if not taken:
        if case.status not in CLAIMABLE_STATUSES:
            raise ClaimConflict(
                f"a case in status {case.get_status_display().lower()} is not waiting for review", "not_claimable"
            )
        holder = User.objects.filter(pk=case.claimed_by_id).first() if case.claimed_by_id else None
        raise ClaimConflict(claim_describe(case), "claimed", holder=holder)
    return case


def case_release(*, case: Case, user: User) -> bool:
    """Give up one's own claim. A supervisor (assign_case) may release anyone's. False if nothing held."""
    may_release_others = user.has_perm("liveness.assign_case")
    with transaction.atomic():
        query = Case.objects.filter(pk=case.pk, claimed_by__isnull=False)
        if not may_release_others:
            query = query.filter(claimed_by=user)
        previous = query.values_list("claimed_by", flat=True).first()
        released = query.update(
            claimed_by=None, claim_expires_at=None, version=F("version") + 1, updated_at=timezone.now()
        )
        if released:
            audit_record(action="case.released", case=case, actor=user, data={"previous_holder": previous})
    case.refresh_from_db()
    return bool(released)


def queue_take_next(*, user: User, candidates: int = 20) -> Case | None:
    """Claim the oldest unclaimed case that needs review and return it (None when the queue is empty).

    The user's own claimed case comes first; otherwise the oldest few free ones are tried in order, and
    losing a race for one just moves on to the next.
    """
    if not user.has_perm("liveness.decide_case"):
        raise ClaimForbidden("you may not work on cases", "permission_denied")
    now = timezone.now()
    waiting = Case.objects.filter(status=CaseStatus.NEEDS_REVIEW).order_by("created_at", "id")
    mine = waiting.claimed_by(user, now).first()
    if mine is not None:
        return mine
    return claim_first(user=user, case_ids=list(waiting.free(now).values_list("pk", flat=True)[:candidates]))


def claim_first(*, user: User, case_ids: Sequence[int]) -> Case | None:
    """Claim the first of ``case_ids`` that ``user`` can have (free, or theirs already) and return it; a case
    lost to a faster colleague, or decided meanwhile, is skipped. None when none of them could be had."""
    for case_id in case_ids:
        try:
            return case_claim(case=Case.objects.get(pk=case_id), user=user)
        except (ClaimError, Case.DoesNotExist):
            continue
    return None


@dataclass
class BulkResult:
    done: list[Case] = field(default_factory=list)
    refused: list[tuple[Case, str]] = field(default_factory=list)


def cases_assign(*, cases: Sequence[Case], assignee: User, actor: User) -> BulkResult:
    """A supervisor hands open cases to an operator: the operator holds the claim for CLAIM_MINUTES."""
    if not actor.has_perm("liveness.assign_case"):
        raise ClaimForbidden("only a supervisor may assign cases", "permission_denied")
    if not assignee.is_active or not assignee.has_perm("liveness.decide_case"):
        raise ClaimError(f"{assignee.get_username()} may not work on cases", "invalid_assignee", "assignee")
    result = BulkResult()
    until = claim_until()
    for case in cases:
        with transaction.atomic():
            locked = Case.objects.select_for_update().get(pk=case.pk)
            if locked.status not in CLAIMABLE_STATUSES:
                result.refused.append((locked, f"status {locked.get_status_display().lower()}: nothing to assign"))
                continue
            previous = locked.claim_holder_id()
            fields = ["claim_expires_at", "updated_at"]
            if locked.claimed_by_id != assignee.pk:
                fields.append("claimed_by")  # a new holder: Case.save bumps the version
            locked.claimed_by = assignee
            locked.claim_expires_at = until
            locked.save(update_fields=fields)
            audit_record(
                action="case.assigned",
                case=locked,
                actor=actor,
                data={"assignee": assignee.get_username(), "previous_holder": previous, "until": until.isoformat()},
            )
        result.done.append(locked)
    return result
