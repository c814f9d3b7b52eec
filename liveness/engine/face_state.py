"""Eye and mouth state from dlib's 68 landmarks: aspect ratios against fixed bounds.

Eye aspect ratio (Soukupová & Čech, "Real-Time Eye Blink Detection using Facial Landmarks", 2016):
``EAR = (|p2-p6| + |p3-p5|) / (2·|p1-p4|)`` over the six points of one eye. Mouth aspect ratio, the same
idea on the inner lip contour: ``MAR = (|61-67| + |62-66| + |63-65|) / (3·|60-64|)``. Both are ratios, so
they do not depend on the image's resolution or the face's size.

Each state has two bounds with a gap between them: a value in the gap is reported as "uncertain" and
answers neither "open" nor "closed", so a half-closed eye or a grin never satisfies a requested state.
Where the bounds come from (README, engine section):
- eyes open at EAR >= 0.17: every open-eyed face in shared/testdata measures at least 0.179 (squinting
  smiles are the lowest); eyes closed at EAR <= 0.14: closed lids measure 0.05-0.15 with dlib landmarks in
  the blink-detection literature. The test images hold no closed-eye photograph, so that bound is taken,
  not measured here.
- mouth closed at MAR <= 0.10: relaxed closed lips in shared/testdata measure 0.00-0.08; mouth open at
  MAR >= 0.35: speaking with the jaw dropped measures 0.42-0.43, smiles showing teeth mostly fall between
  (0.12-0.32, "uncertain") though one broad grin reaches 0.37. dlib's inner-lip points under-read a
  rounded "o" (one such photo measures 0.16), so a "mouth open" request needs a clearly dropped jaw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

EYES_OPEN_MIN_EAR = 0.17
EYES_CLOSED_MAX_EAR = 0.14
MOUTH_OPEN_MIN_MAR = 0.35
MOUTH_CLOSED_MAX_MAR = 0.10

# dlib 68-point layout: 36-41 the eye on the image's left (the subject's right eye), 42-47 the other.
IMAGE_LEFT_EYE = slice(36, 42)
IMAGE_RIGHT_EYE = slice(42, 48)
INNER_LIPS = slice(60, 68)

OPEN = "open"
CLOSED = "closed"
UNCERTAIN = "uncertain"


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def eye_aspect_ratio(eye: np.ndarray) -> float:
    """EAR of one eye's six landmarks (corner, two upper-lid points, corner, two lower-lid points)."""
    width = _distance(eye[0], eye[3])
    if width <= 0:
        return 0.0
    return (_distance(eye[1], eye[5]) + _distance(eye[2], eye[4])) / (2.0 * width)


def mouth_aspect_ratio(landmarks: np.ndarray) -> float:
    """MAR of the inner lip contour (points 60-67 of the 68-point layout)."""
    inner = landmarks[INNER_LIPS]
    width = _distance(inner[0], inner[4])
    if width <= 0:
        return 0.0
    gaps = _distance(inner[1], inner[7]) + _distance(inner[2], inner[6]) + _distance(inner[3], inner[5])
    return gaps / (3.0 * width)


@dataclass(frozen=True)
class EyeState:
    #: EAR of the eye on the image's left (the subject's right eye) and the other one.
    ear_image_left: float
    ear_image_right: float

    @property
    def state(self) -> str:
        # Both eyes must agree: a wink is neither "eyes open" nor "eyes closed".
        if min(self.ear_image_left, self.ear_image_right) >= EYES_OPEN_MIN_EAR:
            return OPEN
        if max(self.ear_image_left, self.ear_image_right) <= EYES_CLOSED_MAX_EAR:
            return CLOSED
        return UNCERTAIN

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "ear_image_left": round(self.ear_image_left, 3),
            "ear_image_right": round(self.ear_image_right, 3),
            "open_bound": f"both EAR >= {EYES_OPEN_MIN_EAR}",
            "closed_bound": f"both EAR <= {EYES_CLOSED_MAX_EAR}",
        }


@dataclass(frozen=True)
class MouthState:
    mar: float

    @property
    def state(self) -> str:
        if self.mar >= MOUTH_OPEN_MIN_MAR:
            return OPEN
        if self.mar <= MOUTH_CLOSED_MAX_MAR:
            return CLOSED
        return UNCERTAIN

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "mar": round(self.mar, 3),
            "open_bound": f"MAR >= {MOUTH_OPEN_MIN_MAR}",
            "closed_bound": f"MAR <= {MOUTH_CLOSED_MAX_MAR}",
        }


def measure_eyes(landmarks: np.ndarray) -> EyeState:
    return EyeState(
        ear_image_left=eye_aspect_ratio(landmarks[IMAGE_LEFT_EYE]),
        ear_image_right=eye_aspect_ratio(landmarks[IMAGE_RIGHT_EYE]),
    )


def measure_mouth(landmarks: np.ndarray) -> MouthState:
    return MouthState(mar=mouth_aspect_ratio(landmarks))
