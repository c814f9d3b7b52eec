"""The ``local`` provider: the portal's own engine, in-process, no network.

How the score is made for each case kind is in :mod:`liveness.engine.scoring` and the README's engine
section; ``details["score_method"]`` repeats it on every result. The engine's own dicts are read into the
details contract (:mod:`liveness.providers.details`) and stored as its dump, like every vendor's.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from PIL import UnidentifiedImageError

from ..engine import system_checks as _engine_system_checks  # noqa: F401  (registers the model-file check)
from ..engine.analysis import analyze_image
from ..engine.models import EngineConfigurationError, load_models
from ..engine.scoring import ScoredImage, score_case
from . import details as contract
from .base import CheckRequest, EvidenceImage, Finding, PermanentProviderError, Provider, ProviderResult
from .registry import register


def _face_parameter(request: CheckRequest, image: EvidenceImage) -> str:
    if image.face_parameter:
        return image.face_parameter
    if request.kind == "active" and 0 <= image.index < len(request.face_parameters):
        return request.face_parameters[image.index]
    return ""


@register
class LocalEngineProvider(Provider):
    key = "local"
    label = "Local engine"
    kinds = frozenset({"selfie", "id_document", "active"})
    # From `manage.py evaluate_engine` on shared/testdata (README, engine section): 0.5 is where the
    # passive model calls "real" more likely than "attack" and where every cap of the scoring rules sits;
    # both attack samples score under 0.15, 55 of 59 genuine photos over 0.6.
    default_threshold = 0.5
    default_review_margin = 0.1
    score_meaning = (
        "the engine's liveness score: the passive model's probability that the photo shows a live person, "
        "capped by the engine's rules (face found, image quality, and for active cases each frame's answer)"
    )

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
            models = load_models()
        except EngineConfigurationError as exc:
            raise PermanentProviderError(str(exc), code="engine_not_configured") from exc
        if not request.images:
            raise PermanentProviderError("the case has no image to check", code="no_evidence")
        max_side = settings.LOCAL_ENGINE_DETECT_MAX_SIDE
        scored_images = []
        for image in request.images:
            try:
                analysis = analyze_image(image.content, max_side=max_side)
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                raise PermanentProviderError(
                    f"{image.role} #{image.index} could not be decoded as an image", code="undecodable_image"
                ) from exc
            scored_images.append(ScoredImage(image.role, image.index, _face_parameter(request, image), analysis))
        scored = score_case(request.kind, scored_images, success_threshold=request.success_threshold)
        per_image: list[dict[str, Any]] = []
        for item, extra in zip(scored_images, scored.image_details, strict=True):
            per_image.append(
                {
                    "role": item.role,
                    "index": item.index,
                    "face_parameter": item.face_parameter,
                    **item.analysis.details(),
                    **extra,
                }
            )
        detail = contract.load(
            {
                "engine": "local",
                "kind": request.kind,
                "images": per_image,
                "passive_available": bool(models.passive),
                **scored.details,
            }
        )
        findings = tuple(Finding(f["code"], f["message"], tuple(f["images"])) for f in scored.findings)
        reason = scored.reason
        if findings and not reason:
            reason = "; ".join(f"{f.code} ({f.message})" for f in findings)
        return ProviderResult(
            score=scored.score,
            findings=findings,
            vendor_label=scored.label,
            reason=reason,
            details=contract.dump(detail),
            latency_ms=int((time.monotonic() - started) * 1000),
        )
