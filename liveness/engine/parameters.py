"""Answers to the active-liveness parameters (Riset's list) for one frame, each with its value and bound.

"left" and "right" are the **subject's own** left and right, the way a person understands "turn your
head to the left": in an un-mirrored camera image the nose then points to the image's right, which is
yaw > 0 in :mod:`liveness.engine.pose`. A client that stores its mirrored selfie preview instead of the
camera image sends frames whose left and right are swapped; the engine cannot tell, so such clients
must send the camera's own image.

Every bound leaves a gap between "front" and a turn or tilt, so a frame half-way answers neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..vocabulary import FACE_PARAMETERS
from .face_state import CLOSED, OPEN, EyeState, MouthState
from .pose import HeadPose

TURN_MIN_YAW_DEG = 15.0  # "left" / "right": |yaw| at least this, with the matching sign
TILT_MIN_PITCH_DEG = 15.0  # "up" / "down": |pitch| at least this, with the matching sign
FRONT_MAX_YAW_DEG = 12.0  # "front": |yaw| and |pitch| at most these
FRONT_MAX_PITCH_DEG = 12.0

#: Riset's documented parameter list, in its order.
PARAMETERS = FACE_PARAMETERS


@dataclass(frozen=True)
class ParameterAnswer:
    parameter: str
    matched: bool
    value: dict[str, float | str]
    bound: str

    def as_dict(self) -> dict[str, Any]:
        return {"parameter": self.parameter, "matched": self.matched, "value": self.value, "bound": self.bound}


def _r(value: float) -> float:
    return round(value, 1)


def answer_parameters(pose: HeadPose, eyes: EyeState, mouth: MouthState) -> dict[str, ParameterAnswer]:
    """Every parameter of :data:`PARAMETERS`, answered yes/no for one face."""
    yaw, pitch = pose.yaw, pose.pitch
    eye_value: dict[str, float | str] = {
        "state": eyes.state,
        "ear_image_left": round(eyes.ear_image_left, 3),
        "ear_image_right": round(eyes.ear_image_right, 3),
    }
    mouth_value: dict[str, float | str] = {"state": mouth.state, "mar": round(mouth.mar, 3)}
    eyes_open = eyes.as_dict()["open_bound"]
    eyes_closed = eyes.as_dict()["closed_bound"]
    answers = [
        ParameterAnswer(
            "left",
            yaw >= TURN_MIN_YAW_DEG,
            {"yaw": _r(yaw)},
            f"yaw >= {TURN_MIN_YAW_DEG:g}° (subject turned to their own left)",
        ),
        ParameterAnswer(
            "right",
            yaw <= -TURN_MIN_YAW_DEG,
            {"yaw": _r(yaw)},
            f"yaw <= -{TURN_MIN_YAW_DEG:g}° (subject turned to their own right)",
        ),
        ParameterAnswer("up", pitch >= TILT_MIN_PITCH_DEG, {"pitch": _r(pitch)}, f"pitch >= {TILT_MIN_PITCH_DEG:g}°"),
        ParameterAnswer(
            "down", pitch <= -TILT_MIN_PITCH_DEG, {"pitch": _r(pitch)}, f"pitch <= -{TILT_MIN_PITCH_DEG:g}°"
        ),
        ParameterAnswer(
            "front",
            abs(yaw) <= FRONT_MAX_YAW_DEG and abs(pitch) <= FRONT_MAX_PITCH_DEG,
            {"yaw": _r(yaw), "pitch": _r(pitch)},
            f"|yaw| <= {FRONT_MAX_YAW_DEG:g}° and |pitch| <= {FRONT_MAX_PITCH_DEG:g}°",
        ),
        ParameterAnswer("eyes open", eyes.state == OPEN, eye_value, eyes_open),
        ParameterAnswer("eyes closed", eyes.state == CLOSED, eye_value, eyes_closed),
        ParameterAnswer("mouth open", mouth.state == OPEN, mouth_value, mouth.as_dict()["open_bound"]),
        ParameterAnswer("mouth closed", mouth.state == CLOSED, mouth_value, mouth.as_dict()["closed_bound"]),
    ]
    return {answer.parameter: answer for answer in answers}
