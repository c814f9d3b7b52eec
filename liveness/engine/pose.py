"""Head pose (yaw, pitch, roll in degrees) from the 468-point MediaPipe face mesh, by perspective-n-point.

14 mesh points (brows, eye corners, nostril wings, mouth corners, lower lip, chin: the 14-point subset
lincolnhard/head-pose-estimation popularised for dlib's 68 landmarks, each replaced by the mesh point
nearest to that dlib landmark on average over shared/testdata's 60 genuine photos) are matched to a rigid
3-D face, and the rotation that best reprojects it onto them is found by Levenberg-Marquardt from a
scaled-orthographic (POS) start. OpenCV's ``solvePnP`` does the same; the loop is here (its projections and their
analytic Jacobian come from OpenCV's ``projectPoints``).

The 3-D face: the University of Coimbra's anthropometric model (ISR, ``glAnthropometric3DModel.cpp``)
was defined on dlib's points, and the mesh's points sit a little elsewhere (brows, chin, nostrils), so
its coordinates fit them badly (median reprojection error 0.084 of the inter-ocular distance on 75 test
faces) and read a raised chin as 12° where dlib read 20°. The coordinates below are instead the **mean
face mesh** (x, y and the mesh's own depth) of the 45 near-frontal faces of shared/testdata, aligned by
generalised Procrustes, then scaled (depth x0.9, the best fit) and rigidly placed onto the Coimbra model's
points in centimetres, and made left-right symmetric: median error 0.049, the raised chin 18°, turned
faces within 3-8° of dlib's readings. ``python -m bench.pose_model`` re-derives them (to within 0.03 cm).

Camera: pinhole, principal point at the image centre, focal length = the longer image side (a ~53°
field of view, typical of phone cameras; the angles barely depend on it), no lens distortion.

Sign conventions (degrees, 0/0/0 = looking straight into the camera, as seen in the un-mirrored image):
- **yaw > 0**: the nose points towards the image's right, i.e. the subject turned to *their own left*;
- **pitch > 0**: the nose points up (chin raised);
- **roll > 0**: the face is rotated counter-clockwise in the image (rotating the picture
  counter-clockwise by θ adds θ to roll);
a horizontal mirror flips the signs of yaw and roll and keeps pitch.

The pose is reported relative to the line of sight from the camera to the face, not to the optical
axis, so a face looking at the lens reads as frontal wherever it sits in the frame (and cropping the
image does not change the pose).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

# Face-mesh index (the dlib 68-point landmark it stands for) -> (x, y, z) in cm, in a head frame with x
# towards the image's right for a frontal face, y down and z away from the camera.
_MODEL: dict[int, tuple[float, float, float]] = {
    70: (-6.357, -6.898, -4.197),  # (17) brow, outer end (image left)
    107: (-1.566, -7.596, -6.637),  # (21) brow, inner end (image left)
    336: (1.566, -7.596, -6.637),  # (22) brow, inner end (image right)
    300: (6.357, -6.898, -4.197),  # (26) brow, outer end (image right)
    33: (-5.097, -5.417, -4.191),  # (36) eye, outer corner (image left)
    133: (-1.961, -5.218, -4.718),  # (39) eye, inner corner (image left)
    362: (1.961, -5.218, -4.718),  # (42) eye, inner corner (image right)
    263: (5.097, -5.417, -4.191),  # (45) eye, outer corner (image right)
    75: (-1.520, -0.753, -6.532),  # (31) nostril wing (image left)
    305: (1.520, -0.753, -6.532),  # (35) nostril wing (image right)
    61: (-3.334, 1.712, -4.459),  # (48) mouth corner (image left)
    291: (3.334, 1.712, -4.459),  # (54) mouth corner (image right)
    17: (0.000, 3.526, -6.130),  # (57) lower lip, centre
    152: (0.000, 7.166, -4.411),  # (8) chin
}
LANDMARK_INDICES: tuple[int, ...] = tuple(_MODEL)
MODEL_POINTS: np.ndarray = np.array([_MODEL[i] for i in LANDMARK_INDICES], dtype=np.float64)
MESH_POINTS = 468
#: The eye-corner pairs whose centres give the inter-ocular distance (fit error scale).
_EYE_CORNERS = ((33, 133), (362, 263))

_MAX_ITERATIONS = 50


@dataclass(frozen=True)
class HeadPose:
    yaw: float
    pitch: float
    roll: float
    #: RMS distance between the landmarks and the fitted model, as a share of the inter-ocular distance:
    #: a large value means the generic face fits badly (an unusual face, or wrong landmarks).
    fit_error: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "yaw": round(self.yaw, 1),
            "pitch": round(self.pitch, 1),
            "roll": round(self.roll, 1),
            "fit_error": round(self.fit_error, 3),
            "convention": "degrees; yaw>0 subject turned to their left (nose to image right), "
            "pitch>0 chin up, roll>0 counter-clockwise in the image",
        }


def rotation_from_vector(rvec: np.ndarray) -> np.ndarray:
    """Rodrigues' formula: axis-angle vector -> 3x3 rotation matrix."""
    theta = float(np.linalg.norm(rvec))
    if theta < 1e-12:
        return np.eye(3)
    k = rvec / theta
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.asarray(np.eye(3) + math.sin(theta) * kx + (1.0 - math.cos(theta)) * (kx @ kx))


def vector_from_rotation(rotation: np.ndarray) -> np.ndarray:
    """Inverse Rodrigues: 3x3 rotation matrix -> axis-angle vector."""
    cos_theta = max(-1.0, min(1.0, (float(np.trace(rotation)) - 1.0) / 2.0))
    theta = math.acos(cos_theta)
    if theta < 1e-9:
        return np.zeros(3)
    if math.pi - theta < 1e-6:
        # Near 180° the antisymmetric part vanishes; take the axis from the symmetric part.
        axis = np.sqrt(np.maximum(np.diag(rotation) + 1.0, 0.0) / 2.0)
        return np.asarray(axis * theta)
    axis = np.array(
        [rotation[2, 1] - rotation[1, 2], rotation[0, 2] - rotation[2, 0], rotation[1, 0] - rotation[0, 1]]
    ) / (2.0 * math.sin(theta))
    return np.asarray(axis * theta)


def _project(params: np.ndarray, focal: float, centre: np.ndarray) -> np.ndarray:
    camera = MODEL_POINTS @ rotation_from_vector(params[:3]).T + params[3:]
    depth = np.maximum(camera[:, 2:3], 1e-6)
    return np.asarray(focal * camera[:, :2] / depth + centre)


def _initial_guess(points: np.ndarray, focal: float, centre: np.ndarray) -> np.ndarray:
    """Scaled-orthographic pose (the POS step of DeMenthon's POSIT) as the starting point."""
    model_mean = MODEL_POINTS.mean(axis=0)
    image_mean = points.mean(axis=0)
    model_c = MODEL_POINTS - model_mean
    image_c = points - image_mean
    affine, *_ = np.linalg.lstsq(model_c, image_c, rcond=None)  # 3x2: image ≈ model @ affine
    u, s, vt = np.linalg.svd(affine.T, full_matrices=False)  # rows r1, r2 scaled by s
    rows = u @ vt
    rotation = np.vstack([rows, np.cross(rows[0], rows[1])])
    scale = float(s.mean())
    depth = focal / max(scale, 1e-9)
    rotated_mean = rotation @ model_mean
    translation = np.array(
        [
            (image_mean[0] - centre[0]) * depth / focal - rotated_mean[0],
            (image_mean[1] - centre[1]) * depth / focal - rotated_mean[1],
            depth - rotated_mean[2],
        ]
    )
    return np.concatenate([vector_from_rotation(rotation), translation])


def _projection_and_jacobian(params: np.ndarray, camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The model points projected with ``params`` (flattened x, y) and the derivatives of those coordinates
    by the six parameters (2n x 6), analytic, from OpenCV's ``projectPoints``."""
    projected, jacobian = cv2.projectPoints(MODEL_POINTS, params[:3], params[3:], camera, None)
    return projected.reshape(-1), jacobian[:, :6]


def _refine(params: np.ndarray, points: np.ndarray, focal: float, centre: np.ndarray) -> np.ndarray:
    """Levenberg-Marquardt on the reprojection error, with OpenCV's analytic Jacobian (a forward-difference
    one in numpy took six projections an iteration and five times as long, to the same poses within 1e-4°)."""
    camera = np.array([[focal, 0.0, centre[0]], [0.0, focal, centre[1]], [0.0, 0.0, 1.0]])
    target = points.ravel()
    projected, jacobian = _projection_and_jacobian(params, camera)
    residual = projected - target
    cost = float(residual @ residual)
    damping = 1e-3
    for _ in range(_MAX_ITERATIONS):
        normal = jacobian.T @ jacobian
        gradient = jacobian.T @ residual
        improved = False
        while damping < 1e10:
            delta = np.linalg.solve(normal + damping * np.diag(np.diag(normal) + 1e-12), -gradient)
            candidate = params + delta
            candidate_projected, candidate_jacobian = _projection_and_jacobian(candidate, camera)
            candidate_residual = candidate_projected - target
            candidate_cost = float(candidate_residual @ candidate_residual)
            if candidate_cost < cost:
                params, residual, jacobian = candidate, candidate_residual, candidate_jacobian
                relative_gain = (cost - candidate_cost) / max(cost, 1e-12)
                cost = candidate_cost
                damping = max(damping / 10.0, 1e-9)
                improved = True
                break
            damping *= 10.0
        if not improved or relative_gain < 1e-10:
            break
    return params


def _line_of_sight(translation: np.ndarray) -> np.ndarray:
    """The smallest rotation taking the optical axis onto the direction from the camera to the face."""
    direction = translation / np.linalg.norm(translation)
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(z, direction)
    sin_angle = float(np.linalg.norm(axis))
    if sin_angle < 1e-12:
        return np.eye(3)
    angle = math.atan2(sin_angle, float(direction @ z))
    return rotation_from_vector(axis / sin_angle * angle)


def euler_from_rotation(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees, with the module's sign conventions.

    ``rotation`` = Rz(a) · Ry(b) · Rx(c) in the camera frame (x right, y down, z forward); with those
    axes a positive b turns the nose to the image's left, a positive c tips it down and a positive a
    turns the face clockwise on screen, hence the negations.
    """
    b = math.asin(max(-1.0, min(1.0, -float(rotation[2, 0]))))
    c = math.atan2(float(rotation[2, 1]), float(rotation[2, 2]))
    a = math.atan2(float(rotation[1, 0]), float(rotation[0, 0]))
    return -math.degrees(b), -math.degrees(c), -math.degrees(a)


def estimate_head_pose(landmarks: np.ndarray, image_size: tuple[int, int]) -> HeadPose:
    """Head pose from the 468x2 face-mesh landmarks (image pixels) of an image of ``image_size`` = (width,
    height)."""
    if landmarks.shape != (MESH_POINTS, 2):
        raise ValueError(f"expected {MESH_POINTS}x2 face-mesh landmarks, got {landmarks.shape}")
    width, height = image_size
    focal = float(max(width, height))
    centre = np.array([width / 2.0, height / 2.0])
    points = landmarks[list(LANDMARK_INDICES)].astype(np.float64)
    params = _refine(_initial_guess(points, focal, centre), points, focal, centre)
    if params[5] <= 0:  # a solution behind the camera is the mirror ambiguity: should not survive LM
        raise ValueError("head pose fit failed (solution behind the camera)")
    rotation = _line_of_sight(params[3:]).T @ rotation_from_vector(params[:3])
    yaw, pitch, roll = euler_from_rotation(rotation)
    residual = _project(params, focal, centre) - points
    (a, b), (c, d) = _EYE_CORNERS
    interocular = float(np.linalg.norm((landmarks[a] + landmarks[b]) / 2 - (landmarks[c] + landmarks[d]) / 2))
    fit_error = float(np.sqrt((residual**2).sum(axis=1).mean())) / max(interocular, 1e-6)
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll, fit_error=fit_error)
