"""The Riset simulator's logic: validate the documented JSON body, look at every frame, answer per frame.

Per frame (``results.image<n>``, 1-based, in request order), from the local engine:
  * ``match``: the engine's yes/no for the requested parameter (pose, eye and mouth bounds in the engine);
  * ``verified`` / ``similarity``: the frame's face against the series' first face (dlib descriptors,
    same person at distance <= 0.6, similarity 0.5 there). The sandbox keeps no face gallery, so
    ``user_id`` / ``facegallery_id`` are accepted and echoed into nothing;
  * ``spoof`` / ``spoof_score``: ``real`` when the live probability (see ``judge``) is >= 0.5, with the
    label's confidence as the score; both null when ``spoof_detection`` is false;
  * ``roll`` / ``pitch`` / ``yaw`` in degrees; ``left_eye`` / ``right_eye`` (the subject's own eyes) and
    ``mouth`` as open/closed with a 0.5..1 confidence growing with the distance of the aspect ratio from
    the middle of the engine's open/closed bounds;
  * ``masker`` is always false: nothing in the engine detects masks;
  * a frame without a face answers ``match`` / ``verified`` false and null measurements.
``liveness`` is ``passed`` when at least ``success_threshold`` frames match, are verified and (spoof
detection on) are real.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from typing import Any

from ..engine.face_state import EYES_CLOSED_MAX_EAR, EYES_OPEN_MIN_EAR, MOUTH_CLOSED_MAX_MAR, MOUTH_OPEN_MIN_MAR
from ..engine.match import DECISION_DISTANCE, similarity_from_distance
from ..vocabulary import FACE_PARAMETERS
from .errors import Reject
from .images import UnreadableImage, decode
from .judge import Look, look
from .recorder import RecordedImage

#: Not documented by Riset; bounds the sandbox's CPU per request.
MAX_IMAGES = 20
_DATA_URI = re.compile(r"^data:image/[a-z+.-]+;base64,", re.IGNORECASE)
_EYE_MID, _EYE_SPREAD = (EYES_OPEN_MIN_EAR + EYES_CLOSED_MAX_EAR) / 2, 0.10
_MOUTH_MID, _MOUTH_SPREAD = (MOUTH_OPEN_MIN_MAR + MOUTH_CLOSED_MAX_MAR) / 2, 0.25
FORCED_CONFIDENCE = 0.97
#: The pose a forced outcome reports for each parameter (the frame is not looked at).
_FORCED_POSE = {"left": (25.0, 0.0), "right": (-25.0, 0.0), "up": (0.0, 20.0), "down": (0.0, -20.0)}


@dataclass(frozen=True)
class RisetCall:
    trx_id: str
    images: list[bytes]
    face_parameters: list[str]
    success_threshold: int
    spoof_detection: bool
    recorded: list[RecordedImage]


def _string(payload: dict[str, Any], key: str, *, required: bool) -> str:
    value = payload.get(key)
    if value is None:
        if required:
            raise Reject(400, f"{key} is required")
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Reject(400, f"{key} must be a non-empty string")
    return value


def _image_bytes(value: Any, position: int) -> bytes:
    if not isinstance(value, str):
        raise Reject(400, f"images[{position}] must be a base64 string")
    text = _DATA_URI.sub("", value.strip())
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Reject(400, f"images[{position}] is not valid base64") from exc


def parse_call(payload: dict[str, Any]) -> RisetCall:
    """Validate the body as the document specifies it; Reject(400) naming the first problem."""
    trx_id = _string(payload, "trx_id", required=True)
    for optional in ("user_id", "facegallery_id"):
        _string(payload, optional, required=False)
    images, parameters = payload.get("images"), payload.get("face_parameters")
    if not isinstance(images, list) or not images:
        raise Reject(400, "images is required: a non-empty list of base64 JPEG or PNG images")
    if not isinstance(parameters, list) or not parameters:
        raise Reject(400, "face_parameters is required: a non-empty list")
    if len(images) != len(parameters):
        raise Reject(
            400,
            f"number of images ({len(images)}) must be the same as face_parameters ({len(parameters)})",
        )
    if len(images) > MAX_IMAGES:
        raise Reject(400, f"at most {MAX_IMAGES} images per request")
    bad = [p for p in parameters if not isinstance(p, str) or p not in FACE_PARAMETERS]
    if bad:
        raise Reject(400, f"unknown face_parameters {bad}; possible: {', '.join(FACE_PARAMETERS)}")
    threshold = payload.get("success_threshold", len(images))
    if threshold is None:
        threshold = len(images)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= len(images):
        raise Reject(400, f"success_threshold must be an integer between 1 and {len(images)}")
    spoof_detection = payload.get("spoof_detection", True)
    if spoof_detection is None:
        spoof_detection = True
    if not isinstance(spoof_detection, bool):
        raise Reject(400, "spoof_detection must be true or false")
    decoded: list[bytes] = []
    recorded: list[RecordedImage] = []
    for position, value in enumerate(images):
        content = _image_bytes(value, position)
        try:
            image = decode(content, label=f"images[{position}]")
        except UnreadableImage as exc:
            raise Reject(400, str(exc)) from exc
        decoded.append(content)
        recorded.append(
            RecordedImage(
                f"images[{position}]",
                "",
                f"image/{image.format.lower()}",
                len(content),
                image.width,
                image.height,
                image.format,
            )
        )
    return RisetCall(trx_id, decoded, list(parameters), threshold, spoof_detection, recorded)


def _state(ratio: float | None, *, mid: float, spread: float) -> tuple[str | None, float | None]:
    if ratio is None:
        return None, None
    confidence = min(1.0, 0.5 + abs(ratio - mid) / (2 * spread))
    return ("open" if ratio >= mid else "closed"), round(confidence, 4)


def _distance(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))


def _no_face() -> dict[str, Any]:
    return {
        "match": False,
        "verified": False,
        "similarity": 0.0,
        "masker": False,
        "spoof": None,
        "spoof_score": None,
        "roll": None,
        "pitch": None,
        "yaw": None,
        "left_eye": None,
        "left_eye_score": None,
        "right_eye": None,
        "right_eye_score": None,
        "mouth": None,
        "mouth_score": None,
    }


def _looked(seen: Look, parameter: str, reference: tuple[float, ...] | None, spoof_detection: bool) -> dict[str, Any]:
    probability = seen.live_probability
    if probability is None:
        return _no_face()
    if reference is None or seen.descriptor is None:
        similarity, verified = (1.0, True) if seen.descriptor is not None else (0.0, False)
    else:
        distance = _distance(seen.descriptor, reference)
        similarity, verified = similarity_from_distance(distance), distance <= DECISION_DISTANCE
    left_eye, left_score = _state(seen.ear_subject_left, mid=_EYE_MID, spread=_EYE_SPREAD)
    right_eye, right_score = _state(seen.ear_subject_right, mid=_EYE_MID, spread=_EYE_SPREAD)
    mouth, mouth_score = _state(seen.mar, mid=_MOUTH_MID, spread=_MOUTH_SPREAD)
    yaw, pitch, roll = seen.pose if seen.pose is not None else (None, None, None)
    real = probability >= 0.5
    return {
        "match": bool(seen.parameters and seen.parameters.get(parameter)),
        "verified": verified,
        "similarity": round(similarity, 4),
        "masker": False,
        "spoof": ("real" if real else "spoof") if spoof_detection else None,
        "spoof_score": round(probability if real else 1.0 - probability, 4) if spoof_detection else None,
        "roll": round(roll, 2) if roll is not None else None,
        "pitch": round(pitch, 2) if pitch is not None else None,
        "yaw": round(yaw, 2) if yaw is not None else None,
        "left_eye": left_eye,
        "left_eye_score": left_score,
        "right_eye": right_eye,
        "right_eye_score": right_score,
        "mouth": mouth,
        "mouth_score": mouth_score,
    }


def _forced(outcome: str, parameter: str, spoof_detection: bool) -> dict[str, Any]:
    if outcome == "noface":
        return _no_face()
    yaw, pitch = _FORCED_POSE.get(parameter, (0.0, 0.0))
    eyes = "closed" if parameter == "eyes closed" else "open"
    mouth = "open" if parameter == "mouth open" else "closed"
    return {
        "match": True,
        "verified": True,
        "similarity": 1.0,
        "masker": False,
        "spoof": ("real" if outcome == "live" else "spoof") if spoof_detection else None,
        "spoof_score": FORCED_CONFIDENCE if spoof_detection else None,
        "roll": 0.0,
        "pitch": pitch,
        "yaw": yaw,
        "left_eye": eyes,
        "left_eye_score": FORCED_CONFIDENCE,
        "right_eye": eyes,
        "right_eye_score": FORCED_CONFIDENCE,
        "mouth": mouth,
        "mouth_score": FORCED_CONFIDENCE,
    }


def _passes(frame: dict[str, Any], spoof_detection: bool) -> bool:
    return bool(frame["match"] and frame["verified"] and (not spoof_detection or frame["spoof"] == "real"))


def answer(call: RisetCall, *, forced: str | None) -> tuple[dict[str, Any], str]:
    """The response body and the basis it came from (forced, passive-model or quality-only)."""
    results: dict[str, Any] = {}
    basis = "forced" if forced else "passive-model"
    reference: tuple[float, ...] | None = None
    for position, (content, parameter) in enumerate(zip(call.images, call.face_parameters, strict=True)):
        if forced:
            frame = _forced(forced, parameter, call.spoof_detection)
        else:
            seen = look(content, identity=True)
            if seen.faces and seen.basis == "quality-only":
                basis = "quality-only"
            frame = _looked(seen, parameter, reference, call.spoof_detection)
            if reference is None and seen.faces and seen.descriptor is not None:
                reference = seen.descriptor
        results[f"image{position + 1}"] = frame
    passed = sum(1 for frame in results.values() if _passes(frame, call.spoof_detection))
    body = {
        "status": "200",
        "status_message": "Success",
        "liveness": "passed" if passed >= call.success_threshold else "failed",
        "results": results,
    }
    return body, basis
