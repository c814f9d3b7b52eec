"""Head pose from the face mesh: the PnP solver on exact projections, and its sign conventions on real photos."""

from __future__ import annotations

import math

import numpy as np
import pytest

from liveness.engine.analysis import analyze_rgb
from liveness.engine.pose import (
    LANDMARK_INDICES,
    MODEL_POINTS,
    HeadPose,
    estimate_head_pose,
    euler_from_rotation,
    rotation_from_vector,
    vector_from_rotation,
)
from tests.engine_support import (
    OBAMA_CHIN_UP,
    OBAMA_FRONTAL,
    OBAMA_TURNED_TO_HIS_LEFT,
    OBAMA_TURNED_TO_HIS_RIGHT,
    analysis_of,
    crop_fraction,
    flip,
    rotate,
    transformed,
)

LIVE_SAMPLE = "genuine/Silent-Face-Anti-Spoofing__images_sample_image_T1.jpg"  # turned to her own left


def rotation(*, yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The head rotation with the module's conventions (degrees), built independently of the solver."""
    a, b, c = math.radians(-roll), math.radians(-yaw), math.radians(-pitch)
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rx = np.array([[1, 0, 0], [0, math.cos(c), -math.sin(c)], [0, math.sin(c), math.cos(c)]])
    return rz @ ry @ rx


def projected_landmarks(
    rot: np.ndarray, *, translation: tuple[float, float, float] = (0.0, 0.0, 60.0), size: tuple[int, int] = (640, 480)
) -> np.ndarray:
    """468x2 mesh landmarks whose PnP points are the exact pinhole projection of the generic face (the other
    mesh points play no part in the pose)."""
    width, height = size
    focal = float(max(width, height))
    camera = MODEL_POINTS @ rot.T + np.array(translation)
    points = focal * camera[:, :2] / camera[:, 2:3] + np.array([width / 2, height / 2])
    landmarks = np.zeros((468, 2))
    landmarks[list(LANDMARK_INDICES)] = points
    return landmarks


#: Left-right mirror pairs among the pose points (mesh indices); 17 and 152 lie on the symmetry plane.
MIRROR_PAIRS = ((70, 300), (107, 336), (33, 263), (133, 362), (75, 305), (61, 291))


def mirrored(landmarks: np.ndarray, width: int) -> np.ndarray:
    """The landmarks of the horizontally mirrored picture: x reflected, each point's role swapped with its twin."""
    out = landmarks.copy()
    out[:, 0] = width - landmarks[:, 0]
    for a, b in MIRROR_PAIRS:
        out[[a, b]] = out[[b, a]]
    return out


@pytest.mark.parametrize(
    ("yaw", "pitch", "roll"),
    [(0, 0, 0), (25, 0, 0), (-25, 0, 0), (0, 20, 0), (0, -20, 0), (0, 0, 30), (0, 0, -30), (-18, 12, 9)],
)
def test_it_recovers_a_known_pose_from_an_exact_projection(yaw: float, pitch: float, roll: float):
    pose = estimate_head_pose(projected_landmarks(rotation(yaw=yaw, pitch=pitch, roll=roll)), (640, 480))
    assert pose.yaw == pytest.approx(yaw, abs=0.1)
    assert pose.pitch == pytest.approx(pitch, abs=0.1)
    assert pose.roll == pytest.approx(roll, abs=0.1)
    assert pose.fit_error < 1e-3  # the pose points are reprojected exactly


def test_positive_yaw_means_the_nose_points_to_the_images_right():
    landmarks = projected_landmarks(rotation(yaw=20, pitch=0, roll=0))
    nose_wings_x = landmarks[[75, 305], 0].mean()
    eye_corners_x = landmarks[[33, 263], 0].mean()
    assert nose_wings_x > eye_corners_x  # the nose, nearer the camera, swings further to the right
    assert estimate_head_pose(landmarks, (640, 480)).yaw > 0


def test_a_frontal_face_off_centre_still_reads_as_frontal():
    # The face is 25 cm to the side of a camera at 60 cm, looking at the lens: pose is relative to the
    # line of sight, so the position in the frame does not read as a turn.
    offset = np.array([25.0, 0.0, 60.0])
    towards_camera = math.degrees(math.atan2(offset[0], offset[2]))
    rot = rotation(yaw=-towards_camera, pitch=0, roll=0)  # turned back towards the lens
    pose = estimate_head_pose(projected_landmarks(rot, translation=tuple(offset)), (640, 480))
    assert abs(pose.yaw) < 0.5
    assert abs(pose.pitch) < 0.5


def test_rodrigues_round_trips():
    rot = rotation(yaw=33, pitch=-21, roll=12)
    assert np.allclose(rotation_from_vector(vector_from_rotation(rot)), rot, atol=1e-9)
    assert euler_from_rotation(rot) == pytest.approx((33, -21, 12), abs=1e-9)


def test_it_refuses_landmarks_that_are_not_the_468_point_mesh():
    with pytest.raises(ValueError, match="468x2"):
        estimate_head_pose(np.zeros((68, 2)), (100, 100))


@pytest.mark.parametrize(("yaw", "pitch", "roll"), [(25, 5, 10), (-18, -8, -14), (8, 15, 3)])
def test_mirroring_the_landmarks_flips_the_sign_of_yaw_and_roll_and_keeps_pitch(yaw: float, pitch: float, roll: float):
    landmarks = projected_landmarks(rotation(yaw=yaw, pitch=pitch, roll=roll))
    original = estimate_head_pose(landmarks, (640, 480))
    flipped = estimate_head_pose(mirrored(landmarks, 640), (640, 480))
    assert flipped.yaw == pytest.approx(-original.yaw, abs=0.2)
    assert flipped.roll == pytest.approx(-original.roll, abs=0.2)
    assert flipped.pitch == pytest.approx(original.pitch, abs=0.2)


@pytest.mark.parametrize("degrees", [-30, 15, 40])
def test_rotating_the_landmarks_about_the_image_centre_adds_the_angle_to_roll(degrees: float):
    landmarks = projected_landmarks(rotation(yaw=10, pitch=-5, roll=0))
    theta = math.radians(degrees)
    # Counter-clockwise as displayed (y points down in the image).
    turn = np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    centre = np.array([320.0, 240.0])
    turned = (landmarks - centre) @ turn.T + centre
    base = estimate_head_pose(landmarks, (640, 480))
    rotated = estimate_head_pose(turned, (640, 480))
    assert rotated.roll - base.roll == pytest.approx(degrees, abs=1.0)


# --- On the shared photos (skip without ../shared) -------------------------------------------------


def _pose(rgb: np.ndarray) -> HeadPose:
    analysis = analyze_rgb(rgb, with_passive=False)
    assert analysis.pose is not None, "expected a face with a measurable pose"
    return analysis.pose


@pytest.mark.parametrize("relative", [LIVE_SAMPLE, OBAMA_TURNED_TO_HIS_LEFT, OBAMA_TURNED_TO_HIS_RIGHT])
def test_a_horizontal_flip_flips_the_sign_of_yaw_and_roll(relative: str):
    original = _pose(transformed(relative, max_side=640))
    mirrored = _pose(transformed(relative, flip, max_side=640))
    assert abs(original.yaw) > 15  # these subjects are clearly turned
    assert mirrored.yaw == pytest.approx(-original.yaw, abs=4)
    assert mirrored.roll == pytest.approx(-original.roll, abs=3)
    assert mirrored.pitch == pytest.approx(original.pitch, abs=3)


@pytest.mark.parametrize("degrees", [-20, 12, 25])
def test_rotating_the_picture_changes_roll_by_the_same_angle(degrees: float):
    base = _pose(transformed(OBAMA_FRONTAL, max_side=640))
    rotated = _pose(transformed(OBAMA_FRONTAL, rotate(degrees), max_side=640))
    assert rotated.roll - base.roll == pytest.approx(degrees, abs=2.5)
    assert rotated.yaw == pytest.approx(base.yaw, abs=5)


def test_cropping_around_the_face_keeps_the_pose():
    whole = _pose(transformed(OBAMA_TURNED_TO_HIS_LEFT, max_side=800))
    cropped = _pose(transformed(OBAMA_TURNED_TO_HIS_LEFT, crop_fraction(0.3, 0.0, 0.95, 0.8), max_side=800))
    assert cropped.yaw == pytest.approx(whole.yaw, abs=3)
    assert cropped.pitch == pytest.approx(whole.pitch, abs=3)
    assert cropped.roll == pytest.approx(whole.roll, abs=2)


def test_the_subjects_own_left_is_positive_yaw_and_answers_left():
    # Checked by eye: in the live sample the woman has turned her head to her own left (her nose points
    # to the picture's right); in obama2 Obama has turned to his own right.
    her_left = analysis_of(LIVE_SAMPLE)
    his_right = analysis_of(OBAMA_TURNED_TO_HIS_RIGHT)
    assert her_left.pose is not None
    assert his_right.pose is not None
    assert her_left.pose.yaw > 15
    assert his_right.pose.yaw < -15
    assert her_left.parameters is not None
    assert his_right.parameters is not None
    assert (her_left.parameters["left"].matched, her_left.parameters["right"].matched) == (True, False)
    assert (his_right.parameters["left"].matched, his_right.parameters["right"].matched) == (False, True)
    mirrored = analyze_rgb(transformed(LIVE_SAMPLE, flip), with_passive=False).parameters
    assert mirrored is not None
    assert mirrored["right"].matched
    assert not mirrored["left"].matched


def test_a_raised_chin_reads_as_up_and_a_straight_look_as_front():
    chin_up = analysis_of(OBAMA_CHIN_UP).parameters
    straight = analysis_of(OBAMA_FRONTAL).parameters
    assert chin_up is not None
    assert straight is not None
    assert chin_up["up"].matched
    assert not chin_up["front"].matched
    assert straight["front"].matched
    assert not any(straight[p].matched for p in ("left", "right", "up", "down"))


def test_every_answer_reports_its_measured_value_and_bound():
    answers = analysis_of(OBAMA_TURNED_TO_HIS_LEFT).parameters
    assert answers is not None
    left = answers["left"].as_dict()
    assert left["matched"] is True
    assert left["value"]["yaw"] > 15
    assert left["bound"].startswith("yaw >= 15")
    assert set(answers) == {"left", "right", "up", "down", "front", "eyes open", "eyes closed", "mouth open",
                            "mouth closed"}  # fmt: skip


def test_the_fit_uses_the_analytic_jacobian_of_the_projection():
    # The refinement's derivatives (OpenCV's projectPoints) agree with forward differences of the
    # numpy projection the pose is reported with.
    from liveness.engine.pose import _project, _projection_and_jacobian

    focal, centre = 1280.0, np.array([640.0, 360.0])
    camera = np.array([[focal, 0.0, centre[0]], [0.0, focal, centre[1]], [0.0, 0.0, 1.0]])
    params = np.array([0.1, 3.0, -0.05, 2.0, -1.0, 60.0])
    projected, jacobian = _projection_and_jacobian(params, camera)
    assert projected == pytest.approx(_project(params, focal, centre).ravel(), abs=1e-6)
    for j in range(6):
        shifted = params.copy()
        shifted[j] += 1e-6
        numeric = (_project(shifted, focal, centre).ravel() - projected) / 1e-6
        assert jacobian[:, j] == pytest.approx(numeric, rel=1e-3, abs=1e-3)
