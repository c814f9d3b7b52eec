"""Riset.ai active + passive face liveness (vendor-docs/riset-liveness.md).

Contract: ``POST {RISET_BASE_URL}/liveness-api/verify-face-liveness`` with header ``Accesstoken`` and a JSON
body: base64 JPEG/PNG ``images`` and ``face_parameters`` of equal length (nine documented values),
``success_threshold`` (frames that must pass; the vendor defaults it to all), ``trx_id`` (our check id, so
the vendor's logs and ours meet), ``spoof_detection`` and the optional ``user_id`` / ``facegallery_id``.

Score: the share of frames that pass, where a frame passes when it matches its requested parameter, is not
refused by face verification, and (with spoof detection on) is labelled ``real``. The threshold in force is
``success_threshold / frames``, so the check passes exactly when the vendor's own counting rule does.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..providers import details as contract
from ..providers.base import (
    CheckRequest,
    EvidenceImage,
    PermanentProviderError,
    ProviderInputError,
    ProviderResult,
    RetryableProviderError,
)
from ..providers.http import HttpResponse, OutboundRequest
from ..providers.registry import register
from ..vocabulary import FACE_PARAMETERS  # the nine documented face_parameters values
from .common import VendorProvider, mapping, number
from .imaging import fit_max_side

#: Riset documents no size limit; frames are capped so an eight-frame series of phone photos stays a
#: request body a gateway accepts (base64 adds a third). Faces are still hundreds of pixels wide.
RISET_MAX_SIDE = 1920

_STATES = ("open", "closed")


def _optional(entry: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = entry.get(key)
    if value is None:
        return None
    if kind is float:
        parsed = number(value)
        if parsed is None:
            raise ValueError(f"{where}.{key} is not a number: {value!r}")
        return parsed
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{where}.{key} is not a {kind.__name__}: {value!r}")
    return value


def _state(entry: Mapping[str, Any], key: str, where: str) -> contract.Openness | None:
    state = _optional(entry, key, str, where)
    if state is not None and state not in _STATES:
        raise ValueError(f"{where}.{key} is neither 'open' nor 'closed': {state!r}")
    score = _optional(entry, f"{key}_score", float, where)
    if state is None and score is None:
        return None
    return contract.Openness(state=state or "", score=score)


def parse_frame(entry: Any, *, image: EvidenceImage, position: int, parameter: str, spoof_detection: bool) -> Frame:
    """One ``results.image<n>`` object as the frame's detail (ValueError on a malformed field)."""
    where = f"results.image{position + 1}"
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where} is not an object")
    match = entry.get("match")
    if not isinstance(match, bool):
        raise ValueError(f"{where}.match is not a boolean: {match!r}")
    verified = _optional(entry, "verified", bool, where)
    spoof = _optional(entry, "spoof", str, where)
    if spoof is not None and spoof not in ("spoof", "real"):
        raise ValueError(f"{where}.spoof is neither 'spoof' nor 'real': {spoof!r}")
    spoof_score = _optional(entry, "spoof_score", float, where)
    pose = contract.Pose(*(_optional(entry, axis, float, where) for axis in ("yaw", "pitch", "roll")))
    # Riset's left_eye / right_eye, as it names them.
    sides = {"left": _state(entry, "left_eye", where), "right": _state(entry, "right_eye", where)}
    mouth = _state(entry, "mouth", where)
    # The label's confidence, turned into the probability of "real" the console compares across providers.
    real_probability = None
    if spoof is not None and spoof_score is not None and 0.0 <= spoof_score <= 1.0:
        real_probability = spoof_score if spoof == "real" else 1.0 - spoof_score
    angles = (pose.yaw, pose.pitch, pose.roll)
    face_found = any(v is not None for v in (spoof, *angles, mouth, *sides.values()))
    passed = match and verified is not False and (not spoof_detection or spoof == "real")
    detail = contract.ImageDetail(
        role=image.role,
        index=image.index,
        face_parameter=parameter,
        face_found=face_found,
        pose=pose,
        eyes=contract.Openness(sides={side: state for side, state in sides.items() if state is not None}),
        mouth=mouth,
        parameter_check=contract.ParameterAnswer(parameter=parameter, matched=match),
        label=spoof or "",
        label_confidence=spoof_score,
        vendor_fields={
            "verified": verified,
            "similarity": _optional(entry, "similarity", float, where),
            "masker": _optional(entry, "masker", bool, where),
            "real_probability": real_probability,
            "passed": passed,
        },
    )
    return Frame(detail=detail, passed=passed)


@dataclass(frozen=True)
class Frame:
    detail: contract.ImageDetail
    passed: bool  # matched its parameter, not refused by verification, labelled real (spoof detection on)


def success_threshold_for(request: CheckRequest, frames: int) -> int:
    """The case's own success_threshold, else the provider threshold read as a share of the frames."""
    if request.success_threshold is not None:
        wanted = request.success_threshold
    else:
        # round() first: 0.7 * 10 is 7.000000000000001 in floating point, which ceil() would make 8.
        wanted = math.ceil(round(request.threshold * frames, 6))
    return max(1, min(frames, wanted))


@register
class RisetProvider(VendorProvider):
    key = "riset"
    label = "Riset active liveness"
    kinds = frozenset({"active", "selfie"})
    #: As a share of frames: all of them, the vendor's own default for success_threshold.
    default_threshold = 1.0
    #: A count of frames has no "nearly": exactly success_threshold frames is a pass, one fewer a fail.
    default_review_margin = 0.0
    base_url_setting = "RISET_BASE_URL"
    credential_settings = ("RISET_ACCESS_TOKEN",)
    path = "/liveness-api/verify-face-liveness"
    score_meaning = (
        "the share of frames that answered their parameter (and were labelled real): the threshold is the "
        "share that must pass, sent to Riset as success_threshold = ceil(threshold * frames)"
    )
    secret_headers = ("Accesstoken",)
    spoof_detection = True

    def frames(self, request: CheckRequest) -> list[tuple[EvidenceImage, str]]:
        if request.kind == "selfie":
            selfies = request.images_with_role("selfie")
            if not selfies:
                raise ProviderInputError("the case has no selfie", code="no_evidence")
            # A selfie is one frame asked to look straight at the camera.
            return [(selfies[0], "front")]
        frames = sorted(request.images_with_role("frame"), key=lambda image: image.index)
        if not frames:
            raise ProviderInputError("an active case needs frames", code="no_evidence")
        parameters: Sequence[str] = [image.face_parameter for image in frames]
        if not all(parameters) and len(request.face_parameters) == len(frames):
            parameters = list(request.face_parameters)
        bad = [p for p in parameters if p not in FACE_PARAMETERS]
        if bad or len(parameters) != len(frames):
            raise ProviderInputError(
                f"Riset takes one of {', '.join(FACE_PARAMETERS)} per frame; got {list(parameters)}",
                code="invalid_face_parameters",
            )
        return list(zip(frames, parameters, strict=True))

    def build(self, request: CheckRequest) -> OutboundRequest:
        frames = self.frames(request)
        images, described = [], []
        for image, _ in frames:
            prepared = fit_max_side(image.content, image.content_type, max_side=RISET_MAX_SIDE)
            images.append(base64.b64encode(prepared.content).decode("ascii"))
            described.append(prepared.describe())
        body: dict[str, Any] = {
            "trx_id": str(request.check_id),
            "spoof_detection": self.spoof_detection,
            "success_threshold": success_threshold_for(request, len(frames)),
            "face_parameters": [parameter for _, parameter in frames],
            "images": images,
        }
        if request.subject_id:
            body["user_id"] = request.subject_id
        if request.face_gallery_id:
            body["facegallery_id"] = request.face_gallery_id
        notes = {key: value for key, value in body.items() if key != "images"}
        notes.update({"endpoint": self.path, "images": described})
        return OutboundRequest(
            method="POST",
            url=self.url(),
            headers={"Accesstoken": self.credential("RISET_ACCESS_TOKEN"), "Accept": "application/json"},
            json_body=body,
            notes=notes,
        )

    def parse(self, response: HttpResponse, request: CheckRequest) -> ProviderResult:
        payload = self.json_object(response)
        if payload.get("status") is None:
            raise self.unparseable(response, "the 'status' envelope is missing")
        status = str(payload["status"])
        if not status.startswith("2"):
            # The envelope's own status: an error answered with HTTP 200 is still an error.
            message = f"Riset answered status {status or '(none)'}: {payload.get('status_message', '')}"
            common: dict[str, Any] = {
                "raw_body": self.redacted_text(response),
                "status_code": response.status_code,
                "vendor_request_id": str(request.check_id),
            }
            if status.startswith("5") or status == "429":
                raise RetryableProviderError(
                    message, code="vendor_5xx" if status.startswith("5") else "rate_limited", **common
                )
            # As over HTTP: a refused token is the provider's problem (it counts for the circuit breaker).
            raise PermanentProviderError(message, code="auth" if status in ("401", "403") else "vendor_4xx", **common)
        frames = self.frames(request)
        results = mapping(payload.get("results"))
        if results is None:
            raise self.unparseable(response, "'results' object missing")
        parsed = []
        for position, (image, parameter) in enumerate(frames):
            key = f"image{position + 1}"
            if key not in results:
                raise self.unparseable(response, f"'results.{key}' missing for frame {position + 1} of {len(frames)}")
            try:
                parsed.append(
                    parse_frame(
                        results[key],
                        image=image,
                        position=position,
                        parameter=parameter,
                        spoof_detection=self.spoof_detection,
                    )
                )
            except ValueError as exc:
                raise self.unparseable(response, str(exc)) from exc
        total = len(frames)
        needed = success_threshold_for(request, total)
        passed = sum(1 for frame in parsed if frame.passed)
        liveness = payload.get("liveness")
        ours = "passed" if passed >= needed else "failed"
        detail = contract.CheckDetail(
            vendor="riset",
            kind=request.kind,
            images=[frame.detail for frame in parsed],
            score_method="frames passed / frames; a frame passes when it matches its parameter, is not "
            "refused by verification and (spoof detection on) is labelled real",
            vendor_fields={
                "trx_id": str(request.check_id),
                "status": status,
                "status_message": payload.get("status_message", ""),
                "liveness": liveness,
                "frames_total": total,
                "frames_passed": passed,
                "success_threshold": needed,
                "spoof_detection": self.spoof_detection,
            },
        )
        if liveness in ("passed", "failed") and liveness != ours:
            detail.vendor_fields["vendor_disagrees"] = f"vendor says {liveness}, the frame count says {ours}"
        details = contract.dump(detail)
        raw = self.redacted_json(payload)
        if not any(frame.detail.face_found for frame in parsed):
            return ProviderResult(
                score=None,
                reason="no_face",
                vendor_label="no face in any frame",
                details=details,
                raw_response=raw,
                vendor_request_id=str(request.check_id),
            )
        return ProviderResult(
            score=passed / total,
            threshold=needed / total,
            vendor_label=f"{liveness if liveness in ('passed', 'failed') else ours}: {passed}/{total} frames "
            f"(needs {needed})",
            details=details,
            raw_response=raw,
            vendor_request_id=str(request.check_id),
        )
