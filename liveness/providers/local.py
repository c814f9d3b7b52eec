"""The ``local`` provider: the portal's own engine, in-process, no network."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from ..engine.analysis import ImageAnalysis, analyze_image
from ..engine.models import EngineConfigurationError, load_models
from .base import CheckRequest, EvidenceImage, PermanentProviderError, Provider, ProviderResult
from .registry import register


def analysis_details(image: EvidenceImage, analysis: ImageAnalysis) -> dict[str, Any]:
    main = analysis.main_face
    return {
        "role": image.role,
        "index": image.index,
        "face_parameter": image.face_parameter,
        "image": {"width": analysis.width, "height": analysis.height},
        "face_outcome": analysis.face_outcome,
        "face_count": len(analysis.faces),
        "faces": [face.as_dict() for face in analysis.faces],
        "main_face": main.as_dict() if main else None,
        "quality": analysis.quality.as_dict() if analysis.quality else None,
        "passive": analysis.passive,
    }


@register
class LocalEngineProvider(Provider):
    key = "local"
    label = "Local engine"
    kinds = frozenset({"selfie", "id_document", "active"})
    # Chosen from `manage.py evaluate_engine` on shared/testdata (README, engine section).
    default_threshold = 0.5
    default_review_margin = 0.1

    def configuration_problem(self) -> str:
        try:
            load_models()
        except EngineConfigurationError as exc:
            return str(exc)
        return ""

    def is_configured(self) -> bool:
        return not self.configuration_problem()

    def check(self, request: CheckRequest) -> ProviderResult:
        started = time.monotonic()
        try:
            load_models()
        except EngineConfigurationError as exc:
            raise PermanentProviderError(str(exc), code="engine_not_configured") from exc
        if not request.images:
            raise PermanentProviderError("the case has no image to check", code="no_evidence")
        max_side = settings.LOCAL_ENGINE_DETECT_MAX_SIDE
        frames = []
        for image in request.images:
            analysis = analyze_image(image.content, max_side=max_side)
            frames.append((image, analysis))
        result = self._score(request, frames)
        result.latency_ms = int((time.monotonic() - started) * 1000)
        return result

    def _score(self, request: CheckRequest, frames: list[tuple[EvidenceImage, ImageAnalysis]]) -> ProviderResult:
        per_image = [analysis_details(image, analysis) for image, analysis in frames]
        details: dict[str, Any] = {"engine": "local", "images": per_image}
        reasons: list[str] = []
        probabilities: list[float] = []
        for image, analysis in frames:
            outcome = analysis.face_outcome
            # A document may show a second, smaller "ghost" portrait; only selfies and frames must hold one face.
            if outcome == "no_face" or (outcome == "multiple_faces" and image.role != "id_front"):
                reasons.append(outcome)
                continue
            if analysis.quality is not None and not analysis.quality.usable:
                reasons.append("poor_quality:" + ",".join(analysis.quality.reasons))
            if analysis.passive and analysis.passive.get("available"):
                probabilities.append(float(analysis.passive["real_probability"]))
            else:
                reasons.append("passive_unavailable")
        details["passive_available"] = bool(probabilities) or "passive_unavailable" not in reasons
        if reasons:
            unique = list(dict.fromkeys(reasons))
            details["not_assessed_reasons"] = unique
            return ProviderResult(score=None, reason="; ".join(unique), vendor_label="not assessed", details=details)
        score = min(probabilities)  # the weakest image decides: one attack frame is enough to fail
        details["score_method"] = "minimum over images of the passive real-probability (MiniFASNet ensemble)"
        return ProviderResult(score=score, vendor_label=f"real p={score:.3f}", details=details)
