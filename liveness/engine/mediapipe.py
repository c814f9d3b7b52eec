"""MediaPipe's face models run with ``ai-edge-litert``: BlazeFace detection and the 468-point face mesh.

Only the TFLite files come from MediaPipe (liveness/engine/weights/mediapipe/, SOURCE.md); the code around
them follows MediaPipe's documented graph options (``mediapipe/modules/face_detection/*.pbtxt`` and
``mediapipe/modules/face_landmark/*.pbtxt``, release 0.10.21):

- **Detection** (``face_detection_short_range``: 128x128 input, 896 anchors;
  ``face_detection_full_range_sparse``: 192x192, 2304 anchors). The whole image is letterboxed into the
  square input (aspect ratio kept, black bars, ``ImageToTensorCalculator keep_aspect_ratio``), scaled to
  [-1, 1]. Anchors are the ``SsdAnchorsCalculator`` grid (fixed anchor size, offset 0.5; short range:
  strides 8,16,16,16, two anchors per cell and layer; full range: stride 4, one anchor per cell). Each of
  the 16 regressor values per anchor is decoded as ``TensorsToDetectionsCalculator`` does with
  ``reverse_output_order``: box centre x, y, width, height, then six keypoints (x, y) — the subject's right
  eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion — all divided by the input
  size and offset by the anchor centre; scores through a sigmoid after clipping to ±100, kept from 0.5
  (short range) or 0.6 (full range); then weighted non-max suppression (IoU 0.3: each kept detection is the
  score-weighted mean of the boxes and keypoints it suppresses). Boxes come back in original pixels with
  the letterbox removed.
- **Face mesh** (``face_landmark``: 192x192, [0, 1]). The region of interest is built from a detection as
  ``face_detection_front_detection_to_roi.pbtxt`` does: centre of the detection box, rotation that makes
  the line from the subject's right eye to their left eye horizontal, the longer side made square and
  scaled by 1.5. The region is cut out by an affine warp; the 468 (x, y, z) outputs are mapped back
  through the same rotation to original pixels (z in the same pixel scale, smaller = nearer the camera);
  the second output is the face-presence logit (sigmoid; MediaPipe's graph drops a face below 0.5, this
  engine below :data:`MESH_PRESENCE_MIN`).

Work happens on a copy of the image at most ``max_side`` pixels on its longer side (:func:`shrink`), so the
models' cost does not grow with the photo (only the one downscale does); every coordinate is returned in
original pixels.

Threading: a LiteRT interpreter holds its tensors and must not run in two threads at once. Interpreter
sets (one of each model) are leased from a pool for the length of one model run: a call takes a free set
or builds one (about 33 ms of CPU, from model bytes read and sha256-checked once per process) and gives it
back, so the pool grows to the number of calls that ever ran at the same moment and no call waits for
another. A set per thread (``threading.local``) would rebuild for every new thread — the development
and sandbox servers start one per request; one shared set behind a lock makes concurrent checks queue
(bench/engine.py measures the lock against the pool).
"""

from __future__ import annotations

import hashlib
import math
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .models import EngineConfigurationError

#: The shipped files and their sha256 (weights/mediapipe/SOURCE.md): checked before any interpreter is built.
MEDIAPIPE_FILES: dict[str, str] = {
    "face_detection_short_range.tflite": "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "face_detection_full_range_sparse.tflite": "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    "face_landmark.tflite": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
}
SHIPPED_DIR = Path(__file__).resolve().parent / "weights" / "mediapipe"

# BlazeFace keypoint order (the subject's own right / left).
KP_RIGHT_EYE, KP_LEFT_EYE, KP_NOSE, KP_MOUTH, KP_RIGHT_EAR, KP_LEFT_EAR = range(6)

NMS_IOU = 0.3  # min_suppression_threshold of both detection graphs
ROI_SCALE = 1.5  # RectTransformationCalculator scale_x / scale_y of the face-mesh ROI
MESH_SIZE = 192
MESH_POINTS = 468
#: A face counts when the mesh's face-presence probability reaches this. MediaPipe's own graph uses 0.5
#: (face_landmark_cpu.pbtxt), a tracking bound for a face already seen a frame earlier; on one still image
#: the detectors' false faces measure up to 0.50 here (the White House picture behind a speaker: 0.496 or
#: 0.503 depending on the resize) and every real face of shared/testdata at least 0.956, hence 0.75.
MESH_PRESENCE_MIN = 0.75


@dataclass(frozen=True)
class DetectorSpec:
    name: str
    file: str
    size: int
    strides: tuple[int, ...]
    #: SsdAnchorsCalculator's interpolated_scale_aspect_ratio: > 0 adds a second anchor per cell and layer.
    interpolated_scale_aspect_ratio: float
    min_score: float


SHORT_RANGE = DetectorSpec("short_range", "face_detection_short_range.tflite", 128, (8, 16, 16, 16), 1.0, 0.5)
FULL_RANGE = DetectorSpec("full_range", "face_detection_full_range_sparse.tflite", 192, (4,), 0.0, 0.6)
MESH_FILE = "face_landmark.tflite"


def ssd_anchor_centres(spec: DetectorSpec) -> np.ndarray:
    """(N, 2) anchor centres (x, y) in [0, 1], in the model's output order (SsdAnchorsCalculator with
    fixed_anchor_size, aspect ratio 1.0, anchor offset 0.5: every anchor is 1x1, only centres differ)."""
    centres: list[tuple[float, float]] = []
    layer = 0
    strides = spec.strides
    while layer < len(strides):
        per_cell = 0
        last = layer
        # Consecutive layers with the same stride share one feature map (their anchors interleave per cell).
        while last < len(strides) and strides[last] == strides[layer]:
            per_cell += 1 + (1 if spec.interpolated_scale_aspect_ratio > 0 else 0)
            last += 1
        cells = math.ceil(spec.size / strides[layer])
        for y in range(cells):
            for x in range(cells):
                centres.extend([((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell)
        layer = last
    return np.array(centres, dtype=np.float32)


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # left, top, right, bottom in original pixels
    keypoints: np.ndarray  # 6x2, original pixels (KP_* order)
    score: float
    detector: str


@dataclass(frozen=True)
class Roi:
    centre: tuple[float, float]  # original pixels
    size: float  # side of the square, original pixels
    rotation: float  # radians; the ROI is this much counter-clockwise... see face_roi()


@dataclass
class MeshResult:
    landmarks: np.ndarray  # 468x3 (x, y in original pixels; z in the same scale)
    presence: float
    roi: Roi = field(repr=False)


def shrink(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` resized to ``size`` (width, height): area-averaged by the whole factor first when it is 2 or
    more (no aliasing), then bilinear for the rest (a factor under 2, where bilinear does not alias).

    OpenCV averages by a whole factor quickly only when the sides are exact multiples of it (any other size
    takes its general area path, which cost a 2333x1434 photo 20 ms against 5 ms), so the area step runs on
    the image cut to multiples of the factor, and when that cut dropped rows or columns the bilinear step is
    an affine warp that maps the output onto the *whole* original (the same sample points as a plain resize
    of it, the dropped pixels repeated by the border rule where a sample falls among them): the image is
    neither shifted nor stretched by the cut.
    """
    width, height = size
    full_height, full_width = rgb.shape[:2]
    whole = math.floor(min(full_width / width, full_height / height))
    if whole < 2:
        if (full_width, full_height) == (width, height):
            return rgb
        return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
    cut_width, cut_height = full_width // whole * whole, full_height // whole * whole
    area = cv2.resize(
        rgb[:cut_height, :cut_width], (cut_width // whole, cut_height // whole), interpolation=cv2.INTER_AREA
    )
    if (cut_width, cut_height) == (full_width, full_height):
        if (area.shape[1], area.shape[0]) == (width, height):
            return area
        return cv2.resize(area, (width, height), interpolation=cv2.INTER_LINEAR)
    # Output pixel centre (x + 0.5) sits at original x' = (x + 0.5) * full_width / width, i.e. at area-image
    # pixel x' / whole - 0.5 (pixel-centre convention, as cv2.resize maps): an affine map from output to input.
    step_x, step_y = full_width / width / whole, full_height / height / whole
    inverse = np.array([[step_x, 0.0, 0.5 * step_x - 0.5], [0.0, step_y, 0.5 * step_y - 0.5]])
    return cv2.warpAffine(
        area,
        inverse,
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def letterbox(rgb: np.ndarray, size: int) -> tuple[np.ndarray, float, float, float]:
    """The image fitted into ``size`` x ``size`` with its aspect ratio kept and black bars, as float32 HxWx3
    RGB in 0..255; returns (tensor, scale, pad_x, pad_y) with input = original * scale + pad."""
    height, width = rgb.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = shrink(rgb, (new_w, new_h))
    canvas = np.zeros((size, size, 3), dtype=np.float32)
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    # The exact scale after rounding, so boxes map back without drift.
    return canvas, new_w / width, float(pad_x), float(pad_y)


def decode(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, spec: DetectorSpec
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TensorsToDetectionsCalculator: (boxes Nx4 [xmin, ymin, xmax, ymax], keypoints Nx6x2, scores N), in the
    model input's [0, 1] coordinates, for the anchors whose sigmoid score reaches ``spec.min_score``."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.reshape(-1).astype(np.float64), -100.0, 100.0)))
    keep = scores >= spec.min_score
    raw = raw_boxes.reshape(-1, 16)[keep] / spec.size
    centres = anchors[keep]
    cx = raw[:, 0] + centres[:, 0]
    cy = raw[:, 1] + centres[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    keypoints = raw[:, 4:16].reshape(-1, 6, 2) + centres[:, np.newaxis, :]
    return boxes, keypoints, scores[keep]


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    left = np.maximum(box[0], others[:, 0])
    top = np.maximum(box[1], others[:, 1])
    right = np.minimum(box[2], others[:, 2])
    bottom = np.minimum(box[3], others[:, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """NonMaxSuppressionCalculator, algorithm WEIGHTED: take the best remaining detection, average every
    remaining detection overlapping it by more than ``iou`` (weights = scores) into one, repeat."""
    order = np.argsort(-scores, kind="stable")
    remaining = order
    kept = []
    while remaining.size:
        best = remaining[0]
        in_cluster = _iou(boxes[best], boxes[remaining]) > iou
        in_cluster[0] = True  # a degenerate (empty) box overlaps nothing, not even itself
        cluster = remaining[in_cluster]
        weights = scores[cluster][:, np.newaxis]
        total = float(weights.sum())
        box = (boxes[cluster] * weights).sum(axis=0) / total
        points = (keypoints[cluster] * weights[:, :, np.newaxis]).sum(axis=0) / total
        kept.append((box, points, float(scores[best])))
        remaining = remaining[~in_cluster]
    return kept


def face_roi(detection: Detection) -> Roi:
    """The face-mesh region of a detection (DetectionsToRectsCalculator + RectTransformationCalculator)."""
    left, top, right, bottom = detection.box
    right_eye, left_eye = detection.keypoints[KP_RIGHT_EYE], detection.keypoints[KP_LEFT_EYE]
    # rotation = target angle (0) - atan2(-(y1 - y0), x1 - x0), from the subject's right eye to their left.
    rotation = -math.atan2(-(left_eye[1] - right_eye[1]), left_eye[0] - right_eye[0])
    rotation = (rotation + math.pi) % (2 * math.pi) - math.pi
    size = max(right - left, bottom - top) * ROI_SCALE
    return Roi(((left + right) / 2, (top + bottom) / 2), size, rotation)


def roi_to_crop_matrix(roi: Roi, scale: float) -> np.ndarray:
    """2x3 affine: working-image pixels (original * ``scale``) -> mesh input pixels (0..192)."""
    cos, sin = math.cos(roi.rotation), math.sin(roi.rotation)
    half = roi.size * scale / 2
    cx, cy = roi.centre[0] * scale, roi.centre[1] * scale

    def corner(u: float, v: float) -> tuple[float, float]:
        # (u, v) in [-1, 1] within the rotated square -> working-image pixels.
        return (cx + (u * cos - v * sin) * half, cy + (u * sin + v * cos) * half)

    source = np.array([corner(-1, -1), corner(1, -1), corner(-1, 1)], dtype=np.float32)
    target = np.array([[0, 0], [MESH_SIZE, 0], [0, MESH_SIZE]], dtype=np.float32)
    return cv2.getAffineTransform(source, target)


def crop_points_to_image(points: np.ndarray, roi: Roi) -> np.ndarray:
    """LandmarkProjectionCalculator: mesh-input pixels (x, y, z) -> original pixels (z scaled alike)."""
    cos, sin = math.cos(roi.rotation), math.sin(roi.rotation)
    u = points[:, 0] / MESH_SIZE - 0.5
    v = points[:, 1] / MESH_SIZE - 0.5
    x = roi.centre[0] + (u * cos - v * sin) * roi.size
    y = roi.centre[1] + (u * sin + v * cos) * roi.size
    z = points[:, 2] / MESH_SIZE * roi.size
    return np.stack([x, y, z], axis=1)


# --- model files and interpreters ---------------------------------------------------------------------


def read_checked(directory: Path) -> dict[str, bytes]:
    """Every MediaPipe file's bytes, each checked against its sha256; EngineConfigurationError naming the
    file when one is missing or differs."""
    contents = {}
    for name, expected in MEDIAPIPE_FILES.items():
        path = directory / name
        if not path.is_file():
            raise EngineConfigurationError(f"MediaPipe model file not found at {path}")
        data = path.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise EngineConfigurationError(
                f"MediaPipe model file {path} has sha256 {actual}, expected {expected} (see SOURCE.md beside "
                "the shipped files): refusing to run an unknown model"
            )
        contents[name] = data
    return contents


def file_problems(directory: Path) -> list[str]:
    """Cheap start-up check (no hashing): every MediaPipe file exists and is non-empty."""
    problems = []
    for name in MEDIAPIPE_FILES:
        path = directory / name
        if not path.is_file():
            problems.append(f"MediaPipe model file not found at {path}")
        elif path.stat().st_size == 0:
            problems.append(f"MediaPipe model file {path} is empty")
    return problems


class _Model:
    """One interpreter with its input and output tensor indices."""

    def __init__(self, content: bytes, name: str) -> None:
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interpreter = Interpreter(model_content=content, num_threads=1)
            self.interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            raise EngineConfigurationError(f"MediaPipe model {name} could not be loaded: {exc}") from exc
        self.input = self.interpreter.get_input_details()[0]["index"]
        # Outputs by their last dimension: 16 box values or 1404 mesh values, and 1 score.
        outputs = self.interpreter.get_output_details()
        self.outputs = sorted((int(o["shape"][-1]) for o in outputs), reverse=True)
        self.by_width = {int(o["shape"][-1]): o["index"] for o in outputs}

    def run(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.interpreter.set_tensor(self.input, tensor[np.newaxis, ...])
        self.interpreter.invoke()
        main = self.interpreter.get_tensor(self.by_width[self.outputs[0]])
        score = self.interpreter.get_tensor(self.by_width[1])
        return main, score


class FaceModels:
    """The three MediaPipe models, with a pool of interpreter sets (one set per concurrent call)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._contents = read_checked(directory)
        self._anchors = {spec.name: ssd_anchor_centres(spec) for spec in (SHORT_RANGE, FULL_RANGE)}
        self._pool: queue.SimpleQueue[dict[str, _Model]] = queue.SimpleQueue()
        self._sets_built = 0
        self._count_lock = threading.Lock()
        self._pool.put(self._build())  # the first set now, so a corrupt file fails at load

    def _build(self) -> dict[str, _Model]:
        models = {name: _Model(content, name) for name, content in self._contents.items()}
        with self._count_lock:
            self._sets_built += 1
        return models

    @contextmanager
    def _lease(self) -> Iterator[dict[str, _Model]]:
        """A set of interpreters no other thread uses until it is given back."""
        try:
            models = self._pool.get_nowait()
        except queue.Empty:
            models = self._build()
        try:
            yield models
        finally:
            self._pool.put(models)

    @property
    def sets_built(self) -> int:
        """How many interpreter sets exist: the most calls that ever ran at the same moment."""
        return self._sets_built

    def detect(self, rgb: np.ndarray, spec: DetectorSpec, *, scale: float = 1.0) -> list[Detection]:
        """Faces in ``rgb`` (the working image) by one BlazeFace model; coordinates divided by ``scale``
        (working / original) so they are in original pixels."""
        tensor, fit, pad_x, pad_y = letterbox(rgb, spec.size)
        tensor = tensor / 127.5 - 1.0
        with self._lease() as models:
            raw_boxes, raw_scores = models[spec.file].run(tensor.astype(np.float32))
        boxes, keypoints, scores = decode(raw_boxes[0], raw_scores[0], self._anchors[spec.name], spec)
        detections = []
        pad = np.array([pad_x, pad_y])
        for box, points, score in weighted_nms(boxes, keypoints, scores):
            corners = (box.reshape(2, 2) * spec.size - pad) / fit / scale
            points_px = (points * spec.size - pad) / fit / scale
            detections.append(Detection(tuple(float(v) for v in corners.ravel()), points_px, score, spec.name))  # type: ignore[arg-type]
        return detections

    def mesh(self, rgb: np.ndarray, detection: Detection, *, scale: float = 1.0) -> MeshResult:
        """The 468-point mesh of one detected face; ``rgb`` is the working image (original * ``scale``)."""
        roi = face_roi(detection)
        matrix = roi_to_crop_matrix(roi, scale)
        crop = cv2.warpAffine(
            rgb, matrix, (MESH_SIZE, MESH_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        tensor = crop.astype(np.float32) / 255.0
        with self._lease() as models:
            raw, logit = models[MESH_FILE].run(tensor)
        points = crop_points_to_image(raw.reshape(MESH_POINTS, 3).astype(np.float64), roi)
        presence = 1.0 / (1.0 + math.exp(-float(np.clip(logit.reshape(-1)[0], -100, 100))))
        return MeshResult(points, presence, roi)


@dataclass(frozen=True)
class FoundFace:
    detection: Detection
    mesh: MeshResult


def tiles(width: int, height: int) -> list[tuple[int, int, int]]:
    """Square tiles (x, y, side) covering the image, side = the shorter image side but at most half the
    longer one, overlapping by at least half a tile: a face too small for the whole-image pass is about
    twice as large, relative to the detector's input, in a tile."""
    side = max(1, round(min(width, height, max(width, height) / 2)))
    result = []
    count_x = max(1, math.ceil((width - side) / (side / 2)) + 1)
    count_y = max(1, math.ceil((height - side) / (side / 2)) + 1)
    for iy in range(count_y):
        for ix in range(count_x):
            x = 0 if count_x == 1 else round(ix * (width - side) / (count_x - 1))
            y = 0 if count_y == 1 else round(iy * (height - side) / (count_y - 1))
            result.append((x, y, side))
    return result


def _box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return float(_iou(np.array(a), np.array([b]))[0])


def find_faces(models: FaceModels, rgb: np.ndarray, *, max_side: int) -> list[FoundFace]:
    """Every face in ``rgb`` (original pixels), each with its mesh. The policy, chosen by measurement on
    shared/testdata (README, engine section):

    1. both detectors on the whole (working) image: the short-range model alone misses two faces there (a
       small passport portrait, one face of a two-person photo) and the full-range one alone misses two
       others (a selfie, a passport portrait);
    2. detections of the two that overlap (IoU > 0.3) are one face; the higher score's box is kept, and a
       face counts only when its mesh says a face is there (presence >= :data:`MESH_PRESENCE_MIN`) —
       trying the cluster's other boxes in score order when the first fails. This drops the detectors'
       false faces (a building on a wall behind a speaker: 0.50; a passport's guilloche: 0.00) and keeps
       every real one (lowest 0.956);
    3. when nothing is found, the full-range model on overlapping tiles (small portraits on documents:
       one shared passport's 60-px portrait is found only so).
    """
    work, scale = working_image(rgb, max_side)
    candidates = models.detect(work, SHORT_RANGE, scale=scale) + models.detect(work, FULL_RANGE, scale=scale)
    found = _confirmed(models, work, scale, candidates)
    if not found and min(work.shape[:2]) >= 32:
        candidates = []
        for x, y, side in tiles(work.shape[1], work.shape[0]):
            tile = np.ascontiguousarray(work[y : y + side, x : x + side])
            offset = np.array([x, y]) / scale
            for detection in models.detect(tile, FULL_RANGE, scale=scale):
                left, top, right, bottom = detection.box
                candidates.append(
                    Detection(
                        (left + offset[0], top + offset[1], right + offset[0], bottom + offset[1]),
                        detection.keypoints + offset,
                        detection.score,
                        "full_range_tiled",
                    )
                )
        found = _confirmed(models, work, scale, candidates)
    return found


def _confirmed(models: FaceModels, work: np.ndarray, scale: float, candidates: list[Detection]) -> list[FoundFace]:
    remaining = sorted(candidates, key=lambda d: -d.score)
    found = []
    while remaining:
        best = remaining[0]
        cluster = [d for d in remaining if d is best or _box_iou(best.box, d.box) > NMS_IOU]
        remaining = [d for d in remaining if all(d is not c for c in cluster)]
        for detection in cluster:
            mesh = models.mesh(work, detection, scale=scale)
            if mesh.presence >= MESH_PRESENCE_MIN:
                found.append(FoundFace(detection, mesh))
                break
    return found


def working_image(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """``rgb`` downscaled (:func:`shrink`) so its longer side is at most ``max_side``; (image, working / original)."""
    height, width = rgb.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale >= 1.0:
        return rgb, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.ascontiguousarray(shrink(rgb, size)), scale


def as_dict(detection: Detection) -> dict[str, Any]:
    return {"box": detection.box, "score": round(detection.score, 3), "detector": detection.detector}
