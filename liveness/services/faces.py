"""Face templates, the repeat-face search and the face blocklist (issue 12).

For every round of a case the worker runs one *face step* beside the checks (``face_search_execute``):

1. **templates**: the main face of the selfie, of the document portrait and of the best active frame
   (the largest sharp face) become 128-d descriptors (the local engine's, float32), stored as
   :class:`~liveness.models.FaceTemplate` rows encrypted with the evidence keys (Fernet);
2. **search**: each template is looked up in the worker's in-memory index (``liveness.engine.face_index``,
   exact L2) within the decision distance (``engine.match.DECISION_DISTANCE``), among the same partner's
   templates (every partner's with ``FACE_SEARCH_ACROSS_PARTNERS``). Every hit is re-read from the database
   and its distance recomputed from its decrypted vector, so a stale index can never invent a match;
3. **findings** on the case: ``repeat_face`` (earlier cases with this face: status, verdict, external_ref,
   when, distance) and ``blocklisted_face`` (the blocklist entries it matches).

The case's automatic verdict waits for the step (``Case.face_search_state`` pending/running); whichever of
the last check and the face step finishes last evaluates the case, under the case row lock. The step is
claimed like a check (conditional update, attempt number as fencing token, lease): a crash, a time limit or
a lost message never holds a case — past its attempts the step is marked failed and the case is decided
without the search, with that in its reasons (``face_search_failed``).

Policy inputs: a ``repeat_face`` finding counts (goes to the policy, by default "needs_review") only when
some matched case has a *different* external_ref — another partner's case, or a blank reference on either
side, is different. A repeat under the *same* external_ref (the same applicant coming back, e.g. a retry
after a refusal) is recorded and shown to operators but does not by itself send the case to review.
``blocklisted_face`` always counts; ``FINDING_VERDICTS=blocklisted_face=spoof`` refuses automatically.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from .. import enqueue, storage
from ..engine.face_index import FaceIndex
from ..engine.match import DECISION_DISTANCE, similarity_from_distance
from ..models import (
    FACE_SEARCH_WAITING,
    BlocklistEntry,
    Case,
    EvidenceRole,
    FaceSearchState,
    FaceTemplate,
)
from ..vocabulary import FINDINGS
from .audit import audit_record

logger = logging.getLogger(__name__)

#: The findings of the face step, as Case.findings codes.
REPEAT_FACE = "repeat_face"
BLOCKLISTED_FACE = "blocklisted_face"
#: The code added to the reasons when the step failed and the case was decided without it.
FACE_SEARCH_FAILED = "face_search_failed"
#: Roles a template is made for, in the order they are searched and shown.
TEMPLATE_ROLES = (EvidenceRole.SELFIE, EvidenceRole.ID_FRONT, EvidenceRole.FRAME)


class FaceListError(ValueError):
    """A blocklist action the rules refuse. ``code`` is machine-readable; nothing was changed."""

    def __init__(self, message: str, *, code: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


# --- encryption ---------------------------------------------------------------------------------------


def template_encrypt(vector: np.ndarray) -> bytes:
    """The descriptor as float32 bytes, encrypted with the newest evidence key."""
    raw = np.asarray(vector, dtype=np.float32).reshape(128).tobytes()
    return storage.fernet().encrypt(raw)


def template_decrypt(token: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(storage.fernet().decrypt(bytes(token)), dtype=np.float32).copy()


# --- scheduling ---------------------------------------------------------------------------------------


def face_search_fields() -> dict[str, Any]:
    """The face-step columns of a round about to be checked: waiting for the step, or "not applicable" with
    FACE_SEARCH_ENABLED off. A new case takes them in its INSERT (no UPDATE after it); a resubmitted round
    through :func:`face_search_schedule`."""
    fields: dict[str, Any] = {
        "findings": [],
        "face_search_attempts": 0,
        "face_search_lease_expires_at": None,
        "face_search_error": "",
    }
    if settings.FACE_SEARCH_ENABLED:
        fields.update(face_search_state=FaceSearchState.PENDING, face_search_queued_at=timezone.now())
    else:
        fields.update(face_search_state=FaceSearchState.NOT_APPLICABLE, face_search_queued_at=None)
    return fields


def face_search_schedule(*, case: Case) -> None:
    """Mark the case's current round as waiting for its face step and enqueue it after commit.

    Called inside the transaction that creates the round's checks, so no check can settle (and decide the
    case) before the case says it waits. With FACE_SEARCH_ENABLED off the step is "not applicable".
    """
    fields = face_search_fields()
    Case.objects.filter(pk=case.pk).update(**fields)
    for name, value in fields.items():
        setattr(case, name, value)
    face_search_enqueue(case=case)


def face_search_enqueue(*, case: Case) -> None:
    """Enqueue the face step of a case created with :func:`face_search_fields` (after commit), if it is on."""
    if settings.FACE_SEARCH_ENABLED:
        _enqueue(case.pk, case.round)


def _enqueue(case_id: int, round_: int) -> None:
    enqueue.after_commit(enqueue.BUILD_FACE_TEMPLATES, (case_id, round_))


# --- the step -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltTemplate:
    template: FaceTemplate
    vector: np.ndarray


def face_search_claim(*, case_id: int, round_: int) -> int | None:
    """Claim the step (pending, or running with an expired lease); the attempt number, or None."""
    now = timezone.now()
    claimed = (
        Case.objects.filter(pk=case_id, round=round_)
        .filter(
            Q(face_search_state=FaceSearchState.PENDING)
            | Q(face_search_state=FaceSearchState.RUNNING, face_search_lease_expires_at__lt=now)
        )
        .filter(face_search_attempts__lt=settings.FACE_SEARCH_MAX_ATTEMPTS)
        .update(
            face_search_state=FaceSearchState.RUNNING,
            face_search_attempts=F("face_search_attempts") + 1,
            face_search_lease_expires_at=now + timedelta(seconds=settings.FACE_SEARCH_LEASE_SECONDS),
        )
    )
    if not claimed:
        return None
    return int(Case.objects.values_list("face_search_attempts", flat=True).get(pk=case_id))


def face_search_execute(*, case_id: int, round_: int) -> str:
    """Build the round's templates, search them, record the findings, then evaluate the case."""
    token = face_search_claim(case_id=case_id, round_=round_)
    if token is None:
        return "not_claimed"
    case = Case.objects.select_related("partner").get(pk=case_id)
    try:
        built = templates_build(case=case, round_=round_)
        findings = repeat_search(case=case, built=built)
    except SoftTimeLimitExceeded:
        face_search_finish(case_id=case_id, round_=round_, token=token, error="time limit exceeded")
        raise
    except Exception as exc:
        # A bug or a missing model, not a transient fault: decide the case without the search, visibly.
        # The traceback holds no descriptor (vectors are locals, never formatted into messages).
        logger.exception("face step of case %s round %s failed", case_id, round_)
        face_search_finish(case_id=case_id, round_=round_, token=token, error=f"internal error: {type(exc).__name__}")
        return "failed"
    settled = face_search_finish(case_id=case_id, round_=round_, token=token, findings=findings, templates=len(built))
    return "done" if settled else "dropped"


def face_search_finish(
    *,
    case_id: int,
    round_: int,
    token: int,
    findings: list[dict[str, Any]] | None = None,
    templates: int = 0,
    error: str = "",
) -> bool:
    """Settle the step (done, or failed with ``error``) if this run still holds it, then evaluate."""
    from .checks import case_evaluate

    state = FaceSearchState.FAILED if error else FaceSearchState.DONE
    with transaction.atomic():
        settled = Case.objects.filter(
            pk=case_id, round=round_, face_search_state=FaceSearchState.RUNNING, face_search_attempts=token
        ).update(
            face_search_state=state,
            face_search_lease_expires_at=None,
            face_search_error=error[:200],
            findings=findings or [],
        )
        if not settled:
            return False
        case = Case.objects.get(pk=case_id)
        audit_record(
            action="case.face_search",
            case=case,
            actor_label="worker",
            data={
                "round": round_,
                "state": state,
                "templates": templates,
                "findings": [f["code"] for f in findings or []],
                "matched_cases": [m["case"] for f in findings or [] for m in f.get("matches", [])],
                "blocklist_entries": [e["entry"] for f in findings or [] for e in f.get("entries", [])],
                **({"error": error[:200]} if error else {}),
            },
        )
        case_evaluate(case_id=case_id)
    return True


def face_search_requeue_stale() -> int:
    """The sweeper: re-send steps whose message was lost; fail steps whose worker died on the last attempt."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.CHECK_STALE_QUEUED_SECONDS)
    stale = Case.objects.filter(
        Q(face_search_state=FaceSearchState.PENDING, face_search_queued_at__lt=stale_before)
        | Q(face_search_state=FaceSearchState.RUNNING, face_search_lease_expires_at__lt=now)
    ).values_list("pk", "round", "face_search_state", "face_search_attempts")
    count = 0
    for case_id, round_, state, attempts in stale:
        if state == FaceSearchState.RUNNING and attempts >= settings.FACE_SEARCH_MAX_ATTEMPTS:
            face_search_finish(
                case_id=case_id, round_=round_, token=attempts, error="the worker stopped before finishing"
            )
            continue
        with transaction.atomic():
            Case.objects.filter(pk=case_id, round=round_, face_search_state=state).update(face_search_queued_at=now)
            _enqueue(case_id, round_)
        count += 1
    return count


# --- templates ----------------------------------------------------------------------------------------


def _analyze(content: bytes, *, with_descriptor: bool) -> Any:
    from ..engine.analysis import analyze_image

    return analyze_image(
        content, max_side=settings.LOCAL_ENGINE_DETECT_MAX_SIDE, with_passive=False, with_descriptor=with_descriptor
    )


def _frame_rank(analysis: Any) -> tuple[bool, int]:
    """Best active frame: sharp enough first, then the largest main face."""
    from ..engine.analysis import MIN_SHARPNESS

    face = analysis.main_face
    quality = getattr(analysis, "quality", None)
    sharp = quality is not None and getattr(quality, "sharpness", 0.0) >= MIN_SHARPNESS
    return (sharp, face.area if face is not None else -1)


def templates_build(*, case: Case, round_: int) -> list[BuiltTemplate]:
    """The round's templates: built from its evidence, or read back if an earlier attempt stored them."""
    existing = list(FaceTemplate.objects.filter(case=case, round=round_, purged_at__isnull=True))
    if existing:
        return [BuiltTemplate(t, template_decrypt(t.ciphertext)) for t in existing]
    evidence = [e for e in case.evidence.filter(round=round_) if not e.is_purged]
    chosen: list[tuple[Any, Any]] = []  # (evidence, analysis with descriptor)
    for role in (EvidenceRole.SELFIE, EvidenceRole.ID_FRONT):
        for item in (e for e in evidence if e.role == role):
            chosen.append((item, _analyze(storage.get(item.storage_key), with_descriptor=True)))
    frames = sorted((e for e in evidence if e.role == EvidenceRole.FRAME), key=lambda e: e.index)
    if frames:
        ranked = [(item, _analyze(storage.get(item.storage_key), with_descriptor=False)) for item in frames]
        ranked = [(item, analysis) for item, analysis in ranked if analysis.main_face is not None]
        if ranked:
            best = max(ranked, key=lambda pair: _frame_rank(pair[1]))[0]
            chosen.append((best, _analyze(storage.get(best.storage_key), with_descriptor=True)))
    rows: list[tuple[FaceTemplate, np.ndarray]] = []
    for item, analysis in chosen:
        descriptor = analysis.descriptor
        face = analysis.main_face
        if descriptor is None or face is None:
            continue  # no face: nothing to search with (the checks report it)
        vector = np.asarray(descriptor, dtype=np.float32)
        row = FaceTemplate(
            case=case,
            round=round_,
            partner=case.partner,
            role=item.role,
            evidence=item,
            box=[int(v) for v in face.box],
            ciphertext=template_encrypt(vector),
        )
        rows.append((row, vector))
    with transaction.atomic():
        FaceTemplate.objects.bulk_create([row for row, _ in rows])
    # Committed before the search, so two cases of one face submitted together find at least each other once.
    stored = {t.role: t for t in FaceTemplate.objects.filter(case=case, round=round_)}
    return [BuiltTemplate(stored[row.role], vector) for row, vector in rows if row.role in stored]


# --- the index ----------------------------------------------------------------------------------------

#: Rows inserted this long before the last sync are fetched again: a transaction that took its id early
#: but committed late is still picked up (adding a present row is a no-op).
SYNC_OVERLAP = timedelta(minutes=5)


class _IndexHolder:
    """The worker process's index, loaded lazily and brought up to date before every search."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: FaceIndex | None = None
        self.last_id = 0
        self.synced_at: datetime | None = None

    def reset(self) -> None:
        with self.lock:
            self.index, self.last_id, self.synced_at = None, 0, None

    def _load(self, queryset: Any, index: FaceIndex, *, full: bool = False) -> None:
        """Decrypt and add rows, flushing every few thousand so the load never holds a second copy."""
        if full:  # one GROUP BY: every partition's matrix is allocated once, at its final size
            sizes = queryset.order_by().values_list("partner_id").annotate(rows=Count("pk"))
            for partner_id, rows in sizes:
                index.reserve(partner_id or 0, rows)
        batch: dict[int, tuple[list[int], list[np.ndarray]]] = {}

        def flush() -> None:
            for partition, (keys, vectors) in batch.items():
                index.add(partition, keys, np.vstack(vectors))
            batch.clear()

        pending = 0
        for pk, partner_id, token in queryset.values_list("pk", "partner_id", "ciphertext").iterator(chunk_size=2000):
            try:
                vector = template_decrypt(token)
            except InvalidToken:
                logger.error("face template %s cannot be decrypted with the configured keys; not searched", pk)
                continue
            keys, vectors = batch.setdefault(partner_id or 0, ([], []))
            keys.append(pk)
            vectors.append(vector)
            self.last_id = max(self.last_id, pk)
            pending += 1
            if pending >= 5000:
                flush()
                pending = 0
        flush()

    def current(self) -> FaceIndex:
        with self.lock:
            now = timezone.now()
            live = FaceTemplate.objects.filter(purged_at__isnull=True)
            if self.index is None or self.synced_at is None:
                index = FaceIndex()
                self._load(live.order_by("pk"), index, full=True)
                self.index = index
            else:
                since = self.synced_at - SYNC_OVERLAP
                # Two indexed range scans (an OR of them would scan the table); only rows the index lacks are
                # fetched and decrypted (the overlap re-reads ids, not vectors).
                # (Not filtered on purged_at in SQL: SQLite would then walk the purged_at index instead.)
                # order_by(): no ORDER BY id, which would make SQLite walk the primary key instead of the index.
                rows = FaceTemplate.objects.order_by().values_list("pk", "purged_at")
                recent = dict(rows.filter(pk__gt=self.last_id))
                recent.update(rows.filter(created_at__gte=since))
                missing = sorted(pk for pk, purged in recent.items() if purged is None and pk not in self.index)
                for start in range(0, len(missing), 1000):
                    self._load(live.filter(pk__in=missing[start : start + 1000]).order_by("pk"), self.index)
                gone = FaceTemplate.objects.filter(purged_at__gte=since).order_by().values_list("pk", flat=True)
                self.index.remove(gone)
            self.synced_at = now
            return self.index


_holder = _IndexHolder()


def face_index() -> FaceIndex:
    """The worker's index of every live template, current as of now."""
    return _holder.current()


def face_index_reset() -> None:
    """Drop the in-process index (the next search reloads it from the database)."""
    _holder.reset()


# --- the search ---------------------------------------------------------------------------------------


def same_external_ref(case: Case, other: Case) -> bool:
    """The same applicant by the partner's own reference: same partner, both references given and equal."""
    return bool(case.external_ref) and case.partner_id == other.partner_id and case.external_ref == other.external_ref


def repeat_search(*, case: Case, built: Sequence[BuiltTemplate]) -> list[dict[str, Any]]:
    """The case's findings from its templates: repeat_face and blocklisted_face (may be empty)."""
    if not built:
        return []
    index = face_index()
    partitions = None if settings.FACE_SEARCH_ACROSS_PARTNERS else [case.partner_id or 0]
    own = {b.template.pk for b in built}
    # candidate template id -> (query template, distance by the index)
    candidates: dict[int, tuple[BuiltTemplate, float]] = {}
    for item in built:
        for hit in index.search(item.vector, radius=DECISION_DISTANCE, partitions=partitions, exclude=own, limit=200):
            if hit.key not in candidates or hit.distance < candidates[hit.key][1]:
                candidates[hit.key] = (item, hit.distance)
    if not candidates:
        return []
    # Re-read every hit: only live templates of other cases, in scope, at their exact distance.
    rows = FaceTemplate.objects.filter(pk__in=candidates, purged_at__isnull=True).exclude(case=case)
    if not settings.FACE_SEARCH_ACROSS_PARTNERS:
        # Console uploads (no partner) are one scope of their own.
        scope = Q(partner__isnull=True) if case.partner_id is None else Q(partner_id=case.partner_id)
        rows = rows.filter(scope)
    best: dict[int, tuple[float, BuiltTemplate, FaceTemplate]] = {}
    for row in rows.select_related("case", "case__partner"):
        query = candidates[row.pk][0]
        distance = float(np.linalg.norm(query.vector.astype(np.float64) - template_decrypt(row.ciphertext)))
        if distance > DECISION_DISTANCE:
            continue
        if row.case_id not in best or distance < best[row.case_id][0]:
            best[row.case_id] = (distance, query, row)
    if not best:
        return []
    ordered = sorted(best.values(), key=lambda item: item[0])
    matches = []
    for distance, query, row in ordered[: settings.FACE_SEARCH_MAX_MATCHES]:
        other = row.case
        matches.append(
            {
                "case": str(other.public_id),
                "case_id": other.pk,
                "partner": other.partner.name if other.partner else "",
                "external_ref": other.external_ref,
                "same_external_ref": same_external_ref(case, other),
                "status": other.status,
                "verdict": other.final_verdict or other.auto_verdict,
                "created_at": other.created_at.isoformat(),
                "distance": round(distance, 4),
                "similarity": round(similarity_from_distance(distance), 4),
                "template": query.template.pk,
                "role": query.template.role,
                "matched_template": row.pk,
                "matched_role": row.role,
            }
        )
    counts = any(not m["same_external_ref"] for m in matches)
    findings: list[dict[str, Any]] = [
        {
            "code": REPEAT_FACE,
            "message": (
                f"the face matches {len(best)} earlier case(s)"
                + ("" if counts else ", all under this case's own external_ref (recorded, not a reason for review)")
            ),
            "counts": counts,
            "matches": matches,
        }
    ]
    entries = BlocklistEntry.objects.filter(case_id__in=best, removed_at__isnull=True).order_by("added_at")
    listed = [
        {
            "entry": entry.pk,
            "case": str(best[entry.case_id][2].case.public_id),
            "reason": entry.reason,
            "distance": round(best[entry.case_id][0], 4),
            "template": best[entry.case_id][1].template.pk,
            "matched_template": best[entry.case_id][2].pk,
        }
        for entry in entries
    ]
    if listed:
        findings.append(
            {
                "code": BLOCKLISTED_FACE,
                "message": FINDINGS[BLOCKLISTED_FACE] + f" ({len(listed)} entr{'y' if len(listed) == 1 else 'ies'})",
                "counts": True,
                "entries": listed,
            }
        )
    return findings


@dataclass(frozen=True)
class PolicyInputs:
    """What the face step adds to a case's evaluation."""

    codes: tuple[str, ...]
    notes: tuple[str, ...] = ()
    note_codes: tuple[str, ...] = ()


def policy_inputs(case: Case) -> PolicyInputs:
    """Case-level finding codes that count for the policy, and a note when the step failed."""
    codes = tuple(
        f["code"] for f in case.findings or [] if isinstance(f, dict) and f.get("counts") and f.get("code") in FINDINGS
    )
    if case.face_search_state == FaceSearchState.FAILED:
        note = f"face search: not done ({case.face_search_error or 'failed'}); decided without it"
        return PolicyInputs(codes, (note,), (FACE_SEARCH_FAILED,))
    return PolicyInputs(codes)


def is_waiting(case: Case) -> bool:
    return case.face_search_state in FACE_SEARCH_WAITING


# --- the blocklist ------------------------------------------------------------------------------------


def blocklist_add(*, case: Case, actor: User, reason: str) -> BlocklistEntry:
    """Put the case's face on the blocklist (supervisors). Its templates are kept past retention while listed."""
    if not actor.has_perm("liveness.add_blocklistentry"):
        raise FaceListError("you may not add faces to the blocklist", code="permission_denied")
    reason = reason.strip()
    if not reason:
        raise FaceListError("a reason is required", code="reason_required", field="reason")
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if not FaceTemplate.objects.filter(case=locked, purged_at__isnull=True).exists():
            raise FaceListError("this case has no face template to put on the blocklist", code="no_template")
        try:
            with transaction.atomic():
                entry = BlocklistEntry.objects.create(case=locked, reason=reason, added_by=actor)
        except IntegrityError:
            raise FaceListError("this case's face is already on the blocklist", code="already_listed") from None
        audit_record(
            action="blocklist.added", case=locked, actor=actor, data={"entry": entry.pk, "reason": reason[:500]}
        )
    return entry


def blocklist_remove(*, entry: BlocklistEntry, actor: User, reason: str) -> BlocklistEntry:
    """Take a face off the blocklist, with a reason; the entry stays as history."""
    if not actor.has_perm("liveness.change_blocklistentry"):
        raise FaceListError("you may not remove faces from the blocklist", code="permission_denied")
    reason = reason.strip()
    if not reason:
        raise FaceListError("a reason is required", code="reason_required", field="reason")
    with transaction.atomic():
        updated = BlocklistEntry.objects.filter(pk=entry.pk, removed_at__isnull=True).update(
            removed_at=timezone.now(), removed_by=actor, removed_reason=reason
        )
        if not updated:
            raise FaceListError("this entry was already removed", code="already_removed")
        entry.refresh_from_db()
        audit_record(
            action="blocklist.removed",
            case=entry.case,
            actor=actor,
            data={"entry": entry.pk, "reason": reason[:500]},
        )
    return entry


# --- retention and key rotation -----------------------------------------------------------------------


def face_templates_purge_expired(*, batch: int = 500) -> int:
    """Purge templates whose image was purged, except while their case is on the blocklist.

    Legal basis for the exception: fraud prevention (the blocklist exists to recognise a face again); the
    template goes at the next run after the entry is removed.
    """
    due = (
        FaceTemplate.objects.filter(purged_at__isnull=True)
        .filter(Q(evidence__purged_at__isnull=False) | Q(evidence__isnull=True))
        .exclude(case_id__in=BlocklistEntry.objects.filter(removed_at__isnull=True).values("case_id"))
        .select_related("case")
        .order_by("pk")[:batch]
    )
    purged = 0
    now = timezone.now()
    for template in list(due):
        with transaction.atomic():
            if BlocklistEntry.objects.filter(case_id=template.case_id, removed_at__isnull=True).exists():
                continue
            updated = FaceTemplate.objects.filter(pk=template.pk, purged_at__isnull=True).update(
                purged_at=now, ciphertext=b""
            )
            if not updated:
                continue
            audit_record(
                action="face_template.purged",
                case=template.case,
                actor_label="retention",
                data={"template": template.pk, "role": template.role, "round": template.round},
            )
        purged += 1
    return purged


def face_templates_rotate_keys(*, batch: int = 500) -> tuple[int, int]:
    """Re-encrypt every live template with the newest evidence key. Returns (rotated, already current)."""
    newest = Fernet(settings.EVIDENCE_ENCRYPTION_KEYS[0].encode())
    rotated = current = 0
    last_pk = 0
    queryset = FaceTemplate.objects.filter(purged_at__isnull=True).order_by("pk")
    while True:
        chunk = list(queryset.filter(pk__gt=last_pk).values_list("pk", "ciphertext")[:batch])
        if not chunk:
            return rotated, current
        for pk, token in chunk:
            last_pk = pk
            token = bytes(token)
            try:
                newest.decrypt(token)
            except InvalidToken:
                fresh = storage.fernet().rotate(token)
                rotated += FaceTemplate.objects.filter(pk=pk, ciphertext=token).update(ciphertext=fresh)
                continue
            current += 1


def active_entries(case_ids: Iterable[int]) -> dict[int, BlocklistEntry]:
    """case id -> its active blocklist entry."""
    return {e.case_id: e for e in BlocklistEntry.objects.filter(case_id__in=list(case_ids), removed_at__isnull=True)}


__all__ = [
    "BLOCKLISTED_FACE",
    "FACE_SEARCH_FAILED",
    "REPEAT_FACE",
    "FaceListError",
    "blocklist_add",
    "blocklist_remove",
    "face_index",
    "face_index_reset",
    "face_search_enqueue",
    "face_search_execute",
    "face_search_fields",
    "face_search_schedule",
    "face_templates_purge_expired",
    "face_templates_rotate_keys",
    "policy_inputs",
    "repeat_search",
]
