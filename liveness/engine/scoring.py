"""One score per case kind from the analysed images, and the findings: the rules the README's engine
section documents.

The score is the passive real-probability of the live face(s) (MiniFASNet, optionally fused with MiniFAS-128):
how much the pixels look like a live capture. What the evidence shows beyond that is a **finding**, never
folded into the score, so no threshold can turn it into a pass (liveness/policy.py):
- ``face_mismatch``: the selfie and the document portrait are different people (descriptor distance beyond
  the decision distance);
- ``identity_mismatch``: not the same person in every frame of an active series;
- ``challenge_failed``: fewer than ``success_threshold`` frames (default: all) answered their parameter.

Not assessed (score None, with the reason) when the evidence cannot carry a score: no face, several
faces, unusable quality, a portrait too small to match, passive detection unavailable (and no finding to
report), or a document without a selfie (the engine has no document-liveness model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from ..vocabulary import FINDINGS
from .analysis import ImageAnalysis
from .match import DECISION_DISTANCE, FaceComparison, compare_descriptors, series_consistency
from .repeats import repeated_frame_finding

#: Below this face size (px, shorter side) a document portrait is too small for the 150-px descriptor chip.
MIN_MATCH_FACE_PX = 40

SELFIE_METHOD = (
    "selfie: passive real-probability of the one face (MiniFASNet, mean of the configured models); "
    "not assessed when there is not exactly one face, its quality is not usable or no passive model is configured"
)
ID_METHOD = (
    "id_document with selfie: the selfie's passive real-probability; a finding face_mismatch when the "
    f"selfie-to-portrait descriptor distance exceeds {DECISION_DISTANCE}; the document's own liveness is not "
    "assessed (no trained document-attack model; the passive value on the printed portrait is informational). "
    "Without a selfie: not assessed"
)
ACTIVE_METHOD = (
    "active: the lowest passive real-probability over the frames; a finding challenge_failed when fewer than "
    "success_threshold frames (default: all) answered their parameter, identity_mismatch when any pair of "
    f"frames is farther apart than {DECISION_DISTANCE} (a swapped person), repeated_frame when two frames are "
    "copies of one picture (the same, mirrored or resized: a heuristic with a measured bound)"
)
ACTIVE_HEURISTIC = (
    "the active parameters are answered by fixed bounds on landmark geometry (head pose from a generic 3-D "
    "face, eye and mouth aspect ratios), not by a trained classifier"
)
DOCUMENT_PASSIVE_NOTE = (
    "informational only: a document portrait is printed, so a face anti-spoofing model sees a print whatever "
    "the document; this value says nothing about whether the document itself is genuine or present"
)
PASSIVE_UNAVAILABLE = "passive_unavailable (passive attack detection unavailable: no model configured)"


@dataclass(frozen=True)
class ScoredImage:
    role: str
    index: int
    face_parameter: str
    analysis: ImageAnalysis

    @property
    def name(self) -> str:
        return f"frame {self.index}" if self.role == "frame" else self.role


@dataclass
class CaseScore:
    score: float | None
    reason: str = ""
    label: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    #: Per image (same order as given): extra detail such as the frame's parameter answer.
    image_details: list[dict[str, Any]] = field(default_factory=list)
    #: Findings: {"code", "message", "images"} (codes of vocabulary.FINDINGS), never folded into the score.
    findings: list[dict[str, Any]] = field(default_factory=list)


def finding(code: str, message: str, images: Sequence[str] = ()) -> dict[str, Any]:
    if code not in FINDINGS:
        raise ValueError(f"unknown finding {code!r}")
    return {"code": code, "message": message, "images": list(images)}


def _with_findings(result: CaseScore, findings: list[dict[str, Any]]) -> CaseScore:
    """Attach findings; a result without a score then says why through them."""
    result.findings = findings
    result.details["findings"] = findings
    if findings and result.score is None:
        reasons = [f"{f['code']} ({f['message']})" for f in findings]
        result.reason = "; ".join([*reasons, *([result.reason] if result.reason else [])])
    return result


def _passive(analysis: ImageAnalysis) -> float | None:
    passive = analysis.passive or {}
    return float(passive["real_probability"]) if passive.get("available") else None


def _live_face_problems(image: ScoredImage) -> list[str]:
    """Why this image's face cannot be scored as a live face ([] when it can).

    Reasons start with a machine-readable code (``no_face``, ``multiple_faces``, ``poor_quality`` …), then
    the detail in brackets.
    """
    analysis = image.analysis
    if analysis.face_outcome == "no_face":
        return [f"no_face ({image.name})"]
    if analysis.face_outcome == "multiple_faces":
        return [f"multiple_faces ({image.name}: {len(analysis.faces)})"]
    if analysis.quality is not None and not analysis.quality.usable:
        return [f"poor_quality ({image.name}: {', '.join(analysis.quality.reasons)})"]
    return []


def _not_assessed(reasons: Sequence[str], details: dict[str, Any], images: int) -> CaseScore:
    unique = list(dict.fromkeys(reasons))
    details["not_assessed_reasons"] = unique
    return CaseScore(
        score=None,
        reason="; ".join(unique),
        label="not assessed",
        details=details,
        image_details=[{} for _ in range(images)],
    )


def score_selfie(images: Sequence[ScoredImage]) -> CaseScore:
    selfie = next((i for i in images if i.role == "selfie"), images[0])
    details: dict[str, Any] = {"score_method": SELFIE_METHOD, "heuristic": False}
    problems = _live_face_problems(selfie)
    passive = _passive(selfie.analysis)
    if passive is None and not problems:
        problems.append(PASSIVE_UNAVAILABLE)
    if problems:
        return _not_assessed(problems, details, len(images))
    assert passive is not None
    details["components"] = {"passive_real_probability": round(passive, 4)}
    return CaseScore(score=passive, label=f"real p={passive:.3f}", details=details, image_details=[{} for _ in images])


def _match(selfie: ImageAnalysis, document: ImageAnalysis) -> FaceComparison:
    selfie_descriptor, document_descriptor = selfie.face_descriptor(), document.face_descriptor()
    # Both images hold a face with landmarks here, so both descriptors exist.
    assert selfie_descriptor is not None
    assert document_descriptor is not None
    return compare_descriptors(selfie_descriptor, document_descriptor)


def score_id_document(images: Sequence[ScoredImage]) -> CaseScore:
    document = next((i for i in images if i.role == "id_front"), images[0])
    selfie = next((i for i in images if i.role == "selfie"), None)
    details: dict[str, Any] = {"score_method": ID_METHOD, "heuristic": False, "document_liveness": "not assessed"}
    portrait = document.analysis.main_face
    components: dict[str, Any] = {}
    details["components"] = components
    if portrait is None:
        return _not_assessed(["no_face (id_front: no portrait found on the document)"], details, len(images))
    document_passive = _passive(document.analysis)
    if document_passive is not None:
        components["document_portrait_passive"] = {"real_probability": round(document_passive, 4)}
        components["document_portrait_passive"]["note"] = DOCUMENT_PASSIVE_NOTE
    if selfie is None:
        return _not_assessed(
            ["document_not_assessable (no document-attack model in the local engine; add a selfie to match)"],
            details,
            len(images),
        )
    problems = _live_face_problems(selfie)
    if min(portrait.width, portrait.height) < MIN_MATCH_FACE_PX:
        size = min(portrait.width, portrait.height)
        problems.append(f"portrait_too_small (id_front: {size} px, at least {MIN_MATCH_FACE_PX} px needed to match)")
    if problems:
        return _not_assessed(problems, details, len(images))
    comparison = _match(selfie.analysis, document.analysis)
    components["face_match"] = comparison.as_dict()
    passive = _passive(selfie.analysis)
    findings = []
    if not comparison.same_person:
        findings.append(
            finding(
                "face_mismatch",
                f"selfie and document portrait are different people (distance {comparison.distance:.2f}, "
                f"same person up to {DECISION_DISTANCE})",
                ("selfie", "id_front"),
            )
        )
    label = f"match {comparison.similarity:.2f}" + ("" if passive is None else f", selfie real p={passive:.3f}")
    if passive is None:
        # A different person is a finding on its own: it stands without the passive model.
        result = _not_assessed([PASSIVE_UNAVAILABLE], details, len(images))
        result.label = label if findings else result.label
        return _with_findings(result, findings)
    components["selfie_passive_real_probability"] = round(passive, 4)
    result = CaseScore(score=passive, label=label, details=details, image_details=[{} for _ in images])
    return _with_findings(result, findings)


def score_active(images: Sequence[ScoredImage], *, success_threshold: int | None) -> CaseScore:
    details: dict[str, Any] = {
        "score_method": ACTIVE_METHOD,
        "heuristic": True,
        "heuristic_label": ACTIVE_HEURISTIC,
    }
    required = success_threshold or len(images)
    image_details: list[dict[str, Any]] = []
    unassessable: list[str] = []
    several: list[str] = []
    matched = 0
    passives: list[float] = []
    descriptors = []
    for image in images:
        problems = _live_face_problems(image)
        answers = image.analysis.parameters
        entry: dict[str, Any] = {}
        if image.analysis.face_outcome == "multiple_faces":
            several.extend(problems)
        elif problems:
            unassessable.extend(problems)
        elif answers is None:
            unassessable.append(f"pose_unmeasured ({image.name}: {image.analysis.pose_error or 'no landmarks'})")
        else:
            answer = answers.get(image.face_parameter)
            if answer is None:
                entry["parameter_check"] = {
                    "parameter": image.face_parameter,
                    "matched": False,
                    "bound": "not an active-liveness parameter",
                }
            else:
                entry["parameter_check"] = answer.as_dict()
                matched += int(answer.matched)
            passive = _passive(image.analysis)
            if passive is not None:
                passives.append(passive)
            descriptor = image.analysis.face_descriptor()
            if descriptor is not None:
                descriptors.append((image.name, descriptor))
        image_details.append(entry)
    if several:
        # Which of the faces answered the challenge cannot be told: nothing to score.
        result = _not_assessed(several, details, len(images))
        result.image_details = image_details
        return result

    challenge = {
        "matched": matched,
        "required": required,
        "frames": len(images),
        "unassessable": unassessable,
        "passed": matched >= required,
    }
    details["challenge"] = challenge
    findings: list[dict[str, Any]] = []
    if matched < required:
        if matched + len(unassessable) >= required:
            challenge["passed"] = None  # could still pass: the unassessable frames decide
        else:
            missed = [
                image.name
                for image, entry in zip(images, image_details, strict=True)
                if entry.get("parameter_check") and not entry["parameter_check"]["matched"]
            ]
            findings.append(
                finding(
                    "challenge_failed",
                    f"{matched} of {len(images)} frames answered their parameter, {required} required",
                    missed,
                )
            )
    repeats = repeated_frame_finding([image.analysis.rgb for image in images]) if len(images) > 1 else None
    if repeats is not None:
        details["repeated_frames"] = repeats
        repeated_pairs = cast(list[dict[str, Any]], repeats["pairs"])
        pairs = [(images[p["first"]].name, images[p["second"]].name, p["kind"]) for p in repeated_pairs]
        findings.append(
            finding(
                "repeated_frame",
                "; ".join(
                    f"{a} and {b} are {'mirror images' if kind == 'mirrored' else 'copies'} of one picture"
                    for a, b, kind in pairs
                )
                + " (a heuristic: thumbnail distance under a measured bound)",
                list(dict.fromkeys(name for a, b, _ in pairs for name in (a, b))),
            )
        )
    consistency = series_consistency(descriptors)
    details["identity"] = consistency.as_dict()
    if not consistency.consistent and consistency.similarity is not None:
        outliers = consistency.outliers()
        worst = consistency.worst
        assert worst is not None
        findings.append(
            finding(
                "identity_mismatch",
                f"not the same person in every frame (most different pair: {worst[0]} and {worst[1]}, "
                f"distance {worst[2].distance:.2f}, same person up to {DECISION_DISTANCE})",
                outliers or [worst[0], worst[1]],
            )
        )
    passive = min(passives) if passives else None
    details["components"] = {"passive_real_probability_min": round(passive, 4) if passive is not None else None}
    label = f"challenge {matched}/{len(images)} (need {required})" + (
        "" if passive is None else f", real p={passive:.3f}"
    )
    if passive is None:
        reasons = [PASSIVE_UNAVAILABLE] if findings else []
        if challenge["passed"] is None and not findings:
            reasons = [f"challenge_undecided ({matched} matched, {required} required)", *unassessable]
        result = _not_assessed(reasons or [PASSIVE_UNAVAILABLE], details, len(images))
        result.image_details = image_details
        if findings:
            result.label = label
        return _with_findings(result, findings)
    if challenge["passed"] is None and not findings:
        result = _not_assessed(
            [f"challenge_undecided ({matched} matched, {required} required)", *unassessable], details, len(images)
        )
        result.image_details = image_details
        return result
    result = CaseScore(score=passive, label=label, details=details, image_details=image_details)
    return _with_findings(result, findings)


def score_case(kind: str, images: Sequence[ScoredImage], *, success_threshold: int | None = None) -> CaseScore:
    if not images:
        raise ValueError("a case needs at least one image")
    if kind == "selfie":
        result = score_selfie(images)
    elif kind == "id_document":
        result = score_id_document(images)
    elif kind == "active":
        result = score_active(images, success_threshold=success_threshold)
    else:
        raise ValueError(f"unknown case kind {kind!r}")
    result.details.setdefault("findings", result.findings)
    return result
