"""What the case page shows of the hosted verification sessions that fed the case: the challenge the
server issued, and per prompt the frame used (which burst frame, why, and its timing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest

from ..models import Case, CaseStatus, Evidence, EvidenceRole, VerificationFrame, VerificationSession


@dataclass(frozen=True)
class PromptRow:
    index: int
    parameter: str
    issued_at: datetime | None
    completed_at: datetime | None
    frames: list[VerificationFrame]
    chosen: VerificationFrame | None
    evidence: Evidence | None

    @property
    def seconds_to_answer(self) -> float | None:
        if self.issued_at is None or self.completed_at is None:
            return None
        return round((self.completed_at - self.issued_at).total_seconds(), 2)

    @property
    def timings(self) -> list[tuple[VerificationFrame, float | None]]:
        """Each burst frame with the seconds from the prompt's issue to its arrival (server clock)."""
        return [
            (f, None if self.issued_at is None else round((f.received_at - self.issued_at).total_seconds(), 2))
            for f in self.frames
        ]


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def prompt_rows(session: VerificationSession, evidence: list[Evidence]) -> list[PromptRow]:
    frames = [f for f in session.frames.all() if f.role == EvidenceRole.FRAME]
    by_index = {e.index: e for e in evidence if e.round == session.round and e.role != EvidenceRole.ID_FRONT}
    rows = []
    for index, prompt in enumerate(session.prompts):
        burst = sorted((f for f in frames if f.prompt_index == index), key=lambda f: f.burst_index)
        chosen = next((f for f in burst if f.chosen), None)
        # Active cases keep one frame per prompt at the same index; a selfie is evidence index 0.
        rows.append(
            PromptRow(
                index=index,
                parameter=prompt["parameter"],
                issued_at=_when(prompt.get("issued_at")),
                completed_at=_when(prompt.get("completed_at")),
                frames=burst,
                chosen=chosen,
                evidence=by_index.get(index) if chosen else None,
            )
        )
    return rows


def session_panel_context(request: HttpRequest | None, case: Case) -> dict[str, Any]:
    user = getattr(request, "user", None)
    sessions = list(VerificationSession.objects.filter(case=case).prefetch_related("frames").order_by("created_at"))
    evidence = list(case.evidence.all())
    can_create = isinstance(user, User) and user.has_perm("liveness.approve_override")
    return {
        "case": case,
        "request": request,
        "sessions": [(s, prompt_rows(s, evidence)) for s in sessions],
        "can_view_evidence": isinstance(user, User) and user.has_perm("liveness.view_evidence"),
        "can_create_link": can_create and case.status == CaseStatus.RESUBMISSION_REQUESTED,
    }
