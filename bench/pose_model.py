"""How the 3-D face of liveness/engine/pose.py was derived, re-runnable on ../shared/testdata.

    python -m bench.pose_model

1. The main face of every genuine photo and document portrait, with its 468-point mesh (x, y and depth).
2. The near-frontal ones (|yaw| and |pitch| < 10° by PnP on the Coimbra points) aligned by generalised
   Procrustes (rotation + scale), and averaged: the mean face mesh.
3. Its 14 pose points placed onto the University of Coimbra anthropometric model's matching points (in cm)
   by a similarity transform, with the depth scaled by the factor that fits best, then made left-right
   symmetric (each pair averaged with its mirror, the centre points put on the symmetry plane).
4. Printed beside the constants in pose.py, with the median reprojection error of both 3-D faces.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc_portal.settings.test")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django

django.setup()

from django.conf import settings  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from liveness.engine import pose  # noqa: E402
from liveness.engine.analysis import detect_faces  # noqa: E402
from liveness.engine.evaluation import read_labels  # noqa: E402

TESTDATA = Path(settings.BASE_DIR).parent / "shared" / "testdata"
# The Coimbra model's 14 points (glAnthropometric3DModel.cpp, cm; x to the image's left, y up, z towards the
# viewer), in pose.LANDMARK_INDICES order; negated below into pose.py's frame (x right, y down, z away).
COIMBRA = -np.array(
    [
        (6.825897, 6.760612, 4.402142),
        (1.330353, 7.122144, 6.903745),
        (-1.330353, 7.122144, 6.903745),
        (-6.825897, 6.760612, 4.402142),
        (5.311432, 5.485328, 3.987654),
        (1.789930, 5.393625, 4.413414),
        (-1.789930, 5.393625, 4.413414),
        (-5.311432, 5.485328, 3.987654),
        (2.005628, 1.409845, 6.165652),
        (-2.005628, 1.409845, 6.165652),
        (2.774015, -2.080775, 5.048531),
        (-2.774015, -2.080775, 5.048531),
        (0.000000, -3.116408, 6.097667),
        (0.000000, -7.415691, 4.070434),
    ]
)
MIRROR_PAIRS = ((70, 300), (107, 336), (33, 263), (133, 362), (75, 305), (61, 291))
ON_THE_PLANE = (17, 152)


def normalised(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=0)
    return np.asarray(centred / np.sqrt((centred**2).sum(axis=1).mean()))


def rotation_onto(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Kabsch: the rotation R minimising |source @ R.T - target| (both centred)."""
    u, _, vt = np.linalg.svd(source.T @ target)
    flip = np.diag([1.0, 1.0, float(np.sign(np.linalg.det(vt.T @ u.T)))])
    return np.asarray(vt.T @ flip @ u.T)


def main() -> None:
    if not (TESTDATA / "labels.csv").is_file():
        sys.exit(f"needs the shared test images at {TESTDATA}")
    meshes, frontal, faces = [], [], []
    for item in read_labels(TESTDATA):
        if item.label not in ("genuine", "id-document"):
            continue
        with Image.open(TESTDATA / item.file) as opened:
            rgb = np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
        found = detect_faces(rgb, max_side=1024)
        if not found:
            continue
        face = max(found, key=lambda f: f.area)
        assert face.landmarks is not None
        assert face.depth is not None
        original = pose.MODEL_POINTS
        pose.MODEL_POINTS = COIMBRA  # frontal as the Coimbra face judges it (the mean mesh did not exist yet)
        head = pose.estimate_head_pose(face.landmarks, (rgb.shape[1], rgb.shape[0]))
        pose.MODEL_POINTS = original
        meshes.append(np.column_stack([face.landmarks, face.depth]))
        faces.append((face.landmarks, (rgb.shape[1], rgb.shape[0])))
        frontal.append(abs(head.yaw) < 10 and abs(head.pitch) < 10)
    chosen = [m for m, f in zip(meshes, frontal, strict=True) if f]
    mean = normalised(chosen[0])
    for _ in range(5):
        mean = normalised(np.mean([normalised(m) @ rotation_onto(normalised(m), mean).T for m in chosen], axis=0))
    indices = list(pose.LANDMARK_INDICES)
    target = COIMBRA - COIMBRA.mean(axis=0)
    best = None
    for depth_scale in np.arange(0.8, 2.55, 0.1):
        scaled = mean * np.array([1.0, 1.0, depth_scale])
        points = scaled[indices] - scaled[indices].mean(axis=0)
        rotation = rotation_onto(points, target)
        size = float(np.sum((points @ rotation.T) * target) / np.sum(points * points))
        error = float(np.sqrt((((points @ rotation.T) * size - target) ** 2).sum(axis=1).mean()))
        if best is None or error < best[0]:
            best = (error, depth_scale, (points @ rotation.T) * size + COIMBRA.mean(axis=0))
    assert best is not None
    _, depth_scale, model = best
    position = {index: i for i, index in enumerate(indices)}
    mirror = np.array([-1.0, 1.0, 1.0])
    for a, b in MIRROR_PAIRS:
        average = (model[position[a]] + model[position[b]] * mirror) / 2
        model[position[a]], model[position[b]] = average, average * mirror
    for index in ON_THE_PLANE:
        model[position[index]][0] = 0.0
    print(f"{len(chosen)} near-frontal faces of {len(meshes)}; depth scale {depth_scale:.2f}")
    for index, derived, shipped in zip(indices, model, pose.MODEL_POINTS, strict=True):
        print(f"{index:4d}: derived {np.round(derived, 3).tolist()}  in pose.py {shipped.tolist()}")
    for name, points in (("Coimbra", COIMBRA), ("mean mesh (pose.py)", pose.MODEL_POINTS)):
        original = pose.MODEL_POINTS
        pose.MODEL_POINTS = points
        errors = [pose.estimate_head_pose(landmarks, size).fit_error for landmarks, size in faces]
        pose.MODEL_POINTS = original
        print(f"median fit error with the {name} 3-D face: {np.median(errors):.3f} of the inter-ocular distance")


if __name__ == "__main__":
    main()
