"""Eye and mouth state from the face mesh: per-eye aspect ratios, their bounds and the gap between them, a
wink, on geometry and photos."""

from __future__ import annotations

import numpy as np
import pytest

from liveness.engine.analysis import analyze_rgb
from liveness.engine.face_state import (
    EYE_CLOSED_MAX_EAR,
    EYE_OPEN_MIN_EAR,
    IMAGE_LEFT_EYE,
    IMAGE_RIGHT_EYE,
    INNER_LIP_CORNERS,
    INNER_LIP_PAIRS,
    MOUTH_CLOSED_MAX_MAR,
    MOUTH_OPEN_MIN_MAR,
    EyeState,
    MouthState,
    eye_aspect_ratio,
    measure_eyes,
    measure_mouth,
    mouth_aspect_ratio,
)
from liveness.engine.parameters import answer_parameters
from liveness.engine.pose import HeadPose
from tests.engine_support import (
    OBAMA_CHIN_UP,
    OBAMA_FRONTAL,
    OBAMA_TURNED_TO_HIS_RIGHT,
    analysis_of,
    labelled,
    transformed,
)


def eye(height: float, width: float = 30.0) -> np.ndarray:
    """Six eye points: corner, two upper-lid points, corner, two lower-lid points (EAR order)."""
    half = height / 2
    return np.array([[0, 0], [10, -half], [20, -half], [width, 0], [20, half], [10, half]], dtype=float)


def test_the_eye_aspect_ratio_is_lid_opening_over_eye_width():
    assert eye_aspect_ratio(eye(9.0)) == pytest.approx(0.3)
    assert eye_aspect_ratio(eye(0.0)) == 0.0
    assert eye_aspect_ratio(np.zeros((6, 2))) == 0.0  # a degenerate eye is closed, not a division error


def test_the_mouth_aspect_ratio_is_inner_lip_gap_over_inner_width():
    landmarks = np.zeros((468, 2))
    landmarks[INNER_LIP_CORNERS[0]], landmarks[INNER_LIP_CORNERS[1]] = (0, 0), (40, 0)
    for (top, bottom), x in zip(INNER_LIP_PAIRS, (10, 20, 30), strict=True):
        landmarks[top], landmarks[bottom] = (x, -8), (x, 8)
    assert mouth_aspect_ratio(landmarks) == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("left", "right", "state"),
    [
        (0.30, 0.28, "open"),
        (EYE_OPEN_MIN_EAR, EYE_OPEN_MIN_EAR, "open"),
        (0.05, 0.10, "closed"),
        (EYE_CLOSED_MAX_EAR, EYE_CLOSED_MAX_EAR, "closed"),
        (0.165, 0.168, "uncertain"),  # between the bounds: half-closed
        (0.30, 0.05, "uncertain"),  # a wink is neither
        (0.05, 0.30, "uncertain"),  # the other wink
        (0.30, 0.165, "uncertain"),  # one eye half-closed
    ],
)
def test_eye_state_needs_both_eyes_beyond_a_bound(left: float, right: float, state: str):
    assert EyeState(ear_image_left=left, ear_image_right=right).state == state


@pytest.mark.parametrize(
    ("ear", "state"),
    [(0.30, "open"), (EYE_OPEN_MIN_EAR, "open"), (0.165, "uncertain"), (EYE_CLOSED_MAX_EAR, "closed"), (0.0, "closed")],
)
def test_each_eye_has_its_own_state(ear: float, state: str):
    assert EyeState(ear_image_left=ear, ear_image_right=0.3).state_image_left == state
    assert EyeState(ear_image_left=0.3, ear_image_right=ear).state_image_right == state


def test_the_eyes_details_name_each_eye_its_bounds_and_the_measure():
    details = EyeState(ear_image_left=0.31, ear_image_right=0.04).as_dict()
    assert set(details) == {"state", "image_left", "image_right", "open_bound", "closed_bound", "measure"}
    assert details["image_left"] == {"ratio": 0.31, "state": "open"}
    assert details["image_right"] == {"ratio": 0.04, "state": "closed"}
    assert details["state"] == "uncertain"
    assert "33,160,158,133,153,144" in details["measure"]
    mouth = MouthState(mar=0.42).as_dict()
    assert set(mouth) == {"state", "ratio", "open_bound", "closed_bound", "measure"}
    assert (mouth["state"], mouth["ratio"]) == ("open", 0.42)


@pytest.mark.parametrize(
    ("mar", "state"),
    [
        (0.0, "closed"),
        (MOUTH_CLOSED_MAX_MAR, "closed"),
        (0.2, "uncertain"),
        (MOUTH_OPEN_MIN_MAR, "open"),
        (0.8, "open"),
    ],
)
def test_mouth_state_follows_its_bounds(mar: float, state: str):
    assert MouthState(mar=mar).state == state


def test_an_uncertain_state_answers_neither_requested_state():
    pose = HeadPose(yaw=0.0, pitch=0.0, roll=0.0, fit_error=0.0)
    answers = answer_parameters(pose, EyeState(0.165, 0.165), MouthState(0.2))
    assert not answers["eyes open"].matched
    assert not answers["eyes closed"].matched
    assert not answers["mouth open"].matched
    assert not answers["mouth closed"].matched
    assert answers["eyes open"].value["state"] == "uncertain"


# --- On the shared photos (skip without ../shared) -------------------------------------------------


def test_every_genuine_photo_has_its_eyes_open():
    # No shared photo shows closed eyes; the lowest open eye measures 0.178 (a 58-px face).
    lowest = []
    for item in labelled("genuine"):
        eyes = analysis_of(item.file, max_side=640).eyes
        assert eyes is not None, item.file
        assert (eyes.state_image_left, eyes.state_image_right, eyes.state) == ("open", "open", "open"), item.file
        lowest.append(min(eyes.ear_image_left, eyes.ear_image_right))
    assert min(lowest) < 0.22  # the bound is not far below the narrowest open eyes: it is measured, not slack


def _close_lids(landmarks: np.ndarray, eye: tuple[int, ...]) -> np.ndarray:
    """The eye's lid points moved onto the line between its corners, a lash line's width apart."""
    closed = landmarks.copy()
    corner_a, corner_b = landmarks[eye[0]], landmarks[eye[3]]
    width = np.linalg.norm(corner_b - corner_a)
    for position, t, sign in ((1, 1 / 3, -1), (2, 2 / 3, -1), (5, 1 / 3, 1), (4, 2 / 3, 1)):
        closed[eye[position]] = corner_a + t * (corner_b - corner_a) + [0, sign * 0.02 * width]
    return closed


def test_closing_the_eyelids_of_real_landmarks_reads_closed():
    face = analysis_of(OBAMA_FRONTAL).main_face
    assert face is not None
    landmarks = face.landmarks
    assert landmarks is not None
    assert measure_eyes(landmarks).state == "open"
    closed = _close_lids(_close_lids(landmarks, IMAGE_LEFT_EYE), IMAGE_RIGHT_EYE)
    eyes = measure_eyes(closed)
    assert (eyes.state_image_left, eyes.state_image_right, eyes.state) == ("closed", "closed", "closed")
    assert answer_parameters(HeadPose(0, 0, 0, 0), eyes, measure_mouth(closed))["eyes closed"].matched


@pytest.mark.parametrize("eye", [IMAGE_LEFT_EYE, IMAGE_RIGHT_EYE])
def test_a_wink_answers_neither_eyes_open_nor_eyes_closed(eye: tuple[int, ...]):
    face = analysis_of(OBAMA_FRONTAL).main_face
    assert face is not None
    assert face.landmarks is not None
    eyes = measure_eyes(_close_lids(face.landmarks, eye))
    states = {"left": eyes.state_image_left, "right": eyes.state_image_right}
    winked = "left" if eye == IMAGE_LEFT_EYE else "right"
    assert states.pop(winked) == "closed"
    assert states.popitem()[1] == "open"
    assert eyes.state == "uncertain"
    answers = answer_parameters(HeadPose(0, 0, 0, 0), eyes, measure_mouth(face.landmarks))
    assert not answers["eyes open"].matched
    assert not answers["eyes closed"].matched


def test_a_speaking_mouth_reads_open_and_a_relaxed_one_closed():
    speaking = analysis_of(OBAMA_TURNED_TO_HIS_RIGHT).mouth
    relaxed = analysis_of(OBAMA_CHIN_UP).mouth
    assert speaking is not None
    assert relaxed is not None
    assert speaking.state == "open"
    assert relaxed.state == "closed"
    parameters = analysis_of(OBAMA_TURNED_TO_HIS_RIGHT).parameters
    assert parameters is not None
    assert parameters["mouth open"].matched
    assert not parameters["mouth closed"].matched


@pytest.mark.parametrize("relative", [OBAMA_TURNED_TO_HIS_RIGHT, OBAMA_FRONTAL])
def test_aspect_ratios_do_not_depend_on_the_resolution(relative: str):
    full = analysis_of(relative)
    small = analyze_rgb(transformed(relative, max_side=500), with_passive=False)
    assert full.eyes is not None
    assert small.eyes is not None
    assert full.mouth is not None
    assert small.mouth is not None
    assert small.mouth.mar == pytest.approx(full.mouth.mar, abs=0.06)
    assert small.eyes.ear_image_left == pytest.approx(full.eyes.ear_image_left, abs=0.05)
    assert small.mouth.state == full.mouth.state
