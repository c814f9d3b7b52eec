"""Eye and mouth state from the 468-point MediaPipe face mesh: aspect ratios against fixed bounds.

Eye aspect ratio (Soukupová & Čech, "Real-Time Eye Blink Detection using Facial Landmarks", 2016), per eye:
``EAR = (|p2-p6| + |p3-p5|) / (2·|p1-p4|)`` over six mesh points of one eye — the two corners and two points
on each lid (:data:`IMAGE_LEFT_EYE`, :data:`IMAGE_RIGHT_EYE`; the mesh points nearest dlib's 36-47, 0.02-0.05
of the inter-ocular distance away on average over shared/testdata). Mouth aspect ratio, the same idea on the
inner lips: ``MAR = (|82-87| + |13-14| + |312-317|) / (3·|78-308|)``. Both are ratios, so they do not depend
on the image's resolution or the face's size.

Each **eye** gets its own state; the eyes' combined state is "open" only when both are open and "closed"
only when both are closed, so a wink is neither. Each state has two bounds with a gap between them: a value
in the gap is "uncertain" and answers neither "open" nor "closed".

Where the bounds come from (README, engine section), measured with this module on shared/testdata
(88 faces: 60 genuine photos, 15 document portraits, 3 attack samples, 10 faces in the multi-face photos):
- eye **open** at EAR >= 0.17: the lowest open eye measures 0.178 (Obama's narrow eyes: 0.178-0.21 in his
  seven photos, the lowest in the 58-px face of obama-240p; Biden 0.20); the median is 0.29.
- eye **closed** at EAR <= 0.16: **not measured on a closed eye** — no shared photo shows one, and an
  honest synthetic variant (the eye opening painted over with the lid's own skin and a lash line) did not
  work: the mesh keeps such eyes at 0.21-0.29, so it tells nothing about real lids. What is known: the
  mesh reads closed lids higher than dlib's landmarks did (at dlib's 0.14 bound, 6 of 11 real closed eyes
  on held-out photos read as not closed), and blink detectors built on these six mesh points use "closed" at
  EAR <= 0.20 (community practice, e.g. WhissleAI/lie_detection_binary#1, which notes that the mesh's EAR
  runs higher than dlib's; not a MediaPipe publication). 0.20 would call Obama's open eyes closed here, so
  the bound is the highest these open eyes allow: 0.16, with the "uncertain" gap 0.16-0.17 below the
  open bound. It must be re-measured on real closed-eye photos.
- mouth **closed** at MAR <= 0.10: relaxed closed lips measure 0.00-0.08 (52 faces); four faces with the
  lips just parted measure 0.10-0.13 and read "uncertain".
- mouth **open** at MAR >= 0.30: speaking with the jaw dropped measures 0.36-0.44 (four faces); smiles
  showing teeth measure 0.16-0.27 (28 faces) and read "uncertain", so a grin does not answer "mouth open".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

EYE_OPEN_MIN_EAR = 0.17
EYE_CLOSED_MAX_EAR = 0.16
MOUTH_OPEN_MIN_MAR = 0.30
MOUTH_CLOSED_MAX_MAR = 0.10
# The former names (both eyes beyond the bound is the same as each eye beyond it).
EYES_OPEN_MIN_EAR = EYE_OPEN_MIN_EAR
EYES_CLOSED_MAX_EAR = EYE_CLOSED_MAX_EAR

# Mesh indices in EAR order (corner, upper lid, upper lid, corner, lower lid, lower lid): the eye on the
# image's left (the subject's right eye), and the other one.
IMAGE_LEFT_EYE = (33, 160, 158, 133, 153, 144)
IMAGE_RIGHT_EYE = (362, 385, 387, 263, 373, 380)
#: Inner lips: the corners, then (upper, lower) pairs.
INNER_LIP_CORNERS = (78, 308)
INNER_LIP_PAIRS = ((82, 87), (13, 14), (312, 317))

EYE_MEASURE = (
    "eye aspect ratio per eye over face-mesh points 33,160,158,133,153,144 (image left) and "
    "362,385,387,263,373,380 (image right)"
)
MOUTH_MEASURE = "inner-lip aspect ratio over face-mesh points 78-308 (width), 82-87, 13-14, 312-317 (gaps)"

OPEN = "open"
CLOSED = "closed"
UNCERTAIN = "uncertain"


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def eye_aspect_ratio(eye: np.ndarray) -> float:
    """EAR of one eye's six points (corner, two upper-lid points, corner, two lower-lid points)."""
    width = _distance(eye[0], eye[3])
    if width <= 0:
        return 0.0
    return (_distance(eye[1], eye[5]) + _distance(eye[2], eye[4])) / (2.0 * width)


def mouth_aspect_ratio(landmarks: np.ndarray) -> float:
    """MAR of the inner lips from the 468-point mesh."""
    width = _distance(landmarks[INNER_LIP_CORNERS[0]], landmarks[INNER_LIP_CORNERS[1]])
    if width <= 0:
        return 0.0
    gaps = sum(_distance(landmarks[top], landmarks[bottom]) for top, bottom in INNER_LIP_PAIRS)
    return gaps / (len(INNER_LIP_PAIRS) * width)


def eye_state(ear: float) -> str:
    """One eye's state from its EAR."""
    if ear >= EYE_OPEN_MIN_EAR:
        return OPEN
    if ear <= EYE_CLOSED_MAX_EAR:
        return CLOSED
    return UNCERTAIN


@dataclass(frozen=True)
class EyeState:
    #: EAR of the eye on the image's left (the subject's right eye) and the other one.
    ear_image_left: float
    ear_image_right: float

    @property
    def state_image_left(self) -> str:
        return eye_state(self.ear_image_left)

    @property
    def state_image_right(self) -> str:
        return eye_state(self.ear_image_right)

    @property
    def state(self) -> str:
        # Both eyes must agree: a wink is neither "eyes open" nor "eyes closed".
        left, right = self.state_image_left, self.state_image_right
        if left == right == OPEN:
            return OPEN
        if left == right == CLOSED:
            return CLOSED
        return UNCERTAIN

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "image_left": {"ratio": round(self.ear_image_left, 3), "state": self.state_image_left},
            "image_right": {"ratio": round(self.ear_image_right, 3), "state": self.state_image_right},
            "open_bound": f"each eye EAR >= {EYE_OPEN_MIN_EAR}",
            "closed_bound": f"each eye EAR <= {EYE_CLOSED_MAX_EAR}",
            "measure": EYE_MEASURE,
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
            "ratio": round(self.mar, 3),
            "open_bound": f"MAR >= {MOUTH_OPEN_MIN_MAR}",
            "closed_bound": f"MAR <= {MOUTH_CLOSED_MAX_MAR}",
            "measure": MOUTH_MEASURE,
        }


def measure_eyes(landmarks: np.ndarray) -> EyeState:
    """Both eyes' EAR from the 468x2 mesh."""
    return EyeState(
        ear_image_left=eye_aspect_ratio(landmarks[list(IMAGE_LEFT_EYE)]),
        ear_image_right=eye_aspect_ratio(landmarks[list(IMAGE_RIGHT_EYE)]),
    )


def measure_mouth(landmarks: np.ndarray) -> MouthState:
    return MouthState(mar=mouth_aspect_ratio(landmarks))
