"""The case page's face-search panel (repeat faces, the blocklist), as one context function.

The panel is its own include (``console/_case_faces.html``); the case view adds ``"faces": face_context(...)``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User

from ..engine.match import DECISION_DISTANCE
from ..models import BlocklistEntry, Case, FaceSearchState, FaceTemplate
from ..services.faces import BLOCKLISTED_FACE, REPEAT_FACE


def distance_in_words(distance: float) -> str:
    """How close two faces are, for people. A rule of thumb over dlib's distance, labelled as one."""
    if distance <= 0.35:
        return "very close: almost certainly the same person (or the same photo)"
    if distance <= 0.5:
        return "close: probably the same person"
    if distance <= DECISION_DISTANCE:
        return f"within the same-person distance ({DECISION_DISTANCE}): possibly the same person, compare closely"
    return "apart: different people"


@dataclass(frozen=True)
class FaceRef:
    """One face crop: the template and the case it belongs to (for the crop URL)."""

    template_id: int
    case_public_id: uuid.UUID
    role: str
    purged: bool


@dataclass(frozen=True)
class RepeatMatch:
    case_public_id: str
    external_ref: str
    partner: str
    status: str
    verdict: str
    created_at: str
    distance: float
    similarity_pct: int
    words: str
    same_external_ref: bool
    ours: FaceRef | None
    theirs: FaceRef | None
    blocklist_entry: int | None


def _refs(ids: set[int]) -> dict[int, FaceRef]:
    rows = (
        FaceTemplate.objects.filter(pk__in=ids)
        .select_related("case")
        .only("pk", "role", "purged_at", "evidence_id", "case__public_id")
    )
    return {
        t.pk: FaceRef(t.pk, t.case.public_id, t.get_role_display(), t.purged_at is not None or t.evidence_id is None)
        for t in rows
    }


def face_context(user: User, case: Case) -> dict[str, Any]:
    """Everything the panel shows: the step's state, the findings with both faces, the blocklist entry."""
    findings = [f for f in case.findings or [] if isinstance(f, dict)]
    repeat = next((f for f in findings if f.get("code") == REPEAT_FACE), None)
    listed = next((f for f in findings if f.get("code") == BLOCKLISTED_FACE), None)
    entries_by_case = {e["case"]: e["entry"] for e in (listed or {}).get("entries", [])}
    raw_matches = (repeat or {}).get("matches", [])
    refs = _refs({m.get("template") for m in raw_matches} | {m.get("matched_template") for m in raw_matches})
    matches = [
        RepeatMatch(
            case_public_id=m["case"],
            external_ref=m.get("external_ref", ""),
            partner=m.get("partner", ""),
            status=m.get("status", ""),
            verdict=m.get("verdict", ""),
            created_at=m.get("created_at", ""),
            distance=m["distance"],
            similarity_pct=round(100 * m.get("similarity", 0)),
            words=distance_in_words(m["distance"]),
            same_external_ref=bool(m.get("same_external_ref")),
            ours=refs.get(m.get("template")),
            theirs=refs.get(m.get("matched_template")),
            blocklist_entry=entries_by_case.get(m["case"]),
        )
        for m in raw_matches
    ]
    templates = list(FaceTemplate.objects.filter(case=case).order_by("round", "role"))
    active = BlocklistEntry.objects.filter(case=case, removed_at__isnull=True).select_related("added_by").first()
    return {
        "state": case.face_search_state,
        "state_label": case.get_face_search_state_display(),
        "waiting": case.face_search_state in (FaceSearchState.PENDING, FaceSearchState.RUNNING),
        "error": case.face_search_error,
        "repeat": repeat,
        "repeat_counts": bool(repeat and repeat.get("counts")),
        "matches": matches,
        "blocklisted": listed,
        "templates": templates,
        "has_live_template": any(t.purged_at is None for t in templates),
        "entry": active,
        "history": list(BlocklistEntry.objects.filter(case=case, removed_at__isnull=False)),
        "can_view_faces": user.has_perm("liveness.view_evidence"),
        "can_add": user.has_perm("liveness.add_blocklistentry"),
        "can_remove": user.has_perm("liveness.change_blocklistentry"),
        "decision_distance": DECISION_DISTANCE,
    }
