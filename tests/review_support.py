"""Cases for the review-loop tests (case page, approvals, decide-and-open-next): an ID document whose selfie
is a different person, an active series, needs-review cases made by factories."""

from __future__ import annotations

from typing import Any

from liveness.models import Case, CaseStatus, Verdict
from liveness.providers import ProviderResult
from liveness.providers.base import Finding
from liveness.services import IncomingImage
from tests.console_support import pipeline_case
from tests.factories import CaseFactory
from tests.helpers import ScriptedProvider, image_bytes


def _image_entry(role: str, box: dict[str, int], *, index: int = 0, **extra: Any) -> dict[str, Any]:
    face = {"box": box, "detection_score": 0.97}
    return {
        "role": role,
        "index": index,
        "image": {"width": 320, "height": 240},
        "face_outcome": "one_face",
        "face_count": 1,
        "faces": [face],
        "main_face": face,
        "eyes": {"state": "open", "measure": "EAR", "ratio": 0.254},
        **extra,
    }


def id_document_case(
    scripted: ScriptedProvider, *, similarity: float = 0.31, score: float = 0.93, **fields: Any
) -> Case:
    """An ID-document case through the real pipeline whose provider compared the selfie with the portrait:
    ``similarity`` below 0.5 is a face_mismatch finding (different people), at or above it the same person."""
    distance = round((1 - similarity) * 1.2, 4)
    same = similarity >= 0.5
    details = {
        "engine": "scripted",
        "images": [
            _image_entry("id_front", {"left": 30, "top": 40, "right": 110, "bottom": 140}),
            _image_entry("selfie", {"left": 100, "top": 50, "right": 220, "bottom": 200}),
        ],
        "components": {
            "face_match": {
                "distance": distance,
                "similarity": similarity,
                "same_person": same,
                "decision_distance": 0.6,
            }
        },
    }
    findings = () if same else (Finding("face_mismatch", f"distance {distance}", ("selfie", "id_front")),)
    if findings:
        details["findings"] = [f.as_dict() for f in findings]
    result = ProviderResult(
        score=score, vendor_label=f"match {similarity:.2f}", details=details, latency_ms=40, findings=findings
    )
    return pipeline_case(
        scripted,
        results=[result],
        kind="id_document",
        images=[
            IncomingImage(role="id_front", data=image_bytes(color=(200, 190, 150))),
            IncomingImage(role="selfie", data=image_bytes(color=(120, 140, 160))),
        ],
        country_code="NL",
        card_code="passport",
        **fields,
    )


def waiting_cases(count: int, **fields: Any) -> list[Case]:
    """``count`` cases waiting for review, made by the factory (no images or checks), oldest first."""
    return [
        CaseFactory.create(status=CaseStatus.NEEDS_REVIEW, auto_verdict=Verdict.NEEDS_REVIEW, **fields)
        for _ in range(count)
    ]
