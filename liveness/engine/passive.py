"""Passive presentation-attack detection: the MiniFASNet ensemble and the opt-in MiniFAS-128, each fed
exactly as its authors' reference code feeds it.

- **MiniFASNet** (MiniFASNetV2 at crop scale 2.7, MiniFASNetV1SE at 4.0; default): the authors' ``CropImage``
  rule (:func:`minifasnet_crop_box`), ``cv2.resize`` INTER_LINEAR to 80x80 (OpenCV itself, as the authors
  ran it: no antialiasing), BGR, raw 0-255 float32, NCHW; softmax of 3 logits, class 1 = real; the two models'
  real-probabilities averaged.
- **MiniFAS-128** (``LOCAL_ENGINE_MINIFAS128``, off by default: trained on CelebA-Spoof, non-commercial
  research terms): a square crop of side int(1.5 x the longer box side) centred on the box, reflected at the
  image border (BORDER_REFLECT_101), INTER_AREA to 128 when shrinking / INTER_LANCZOS4 when enlarging, RGB
  /255, NCHW; softmax of 2 logits, class 0 = real. When on, the result is :data:`FUSION_WITH_MINIFAS128`.

The model files ship with the project (``weights/``, each with its licence and SOURCE.md); a file whose
name is in :data:`RECORDED_SHA256` is refused unless its sha256 is the recorded one. A file the settings
point at whose name is not in the table (an operator's own export) is loaded if it answers the expected
input and output shapes, and is reported as unverified by the health check.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from django.conf import settings

from .models import EngineConfigurationError

logger = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
SHIPPED_MINIFASNET = (
    WEIGHTS_DIR / "minifasnet" / "MiniFASNetV2.onnx",
    WEIGHTS_DIR / "minifasnet" / "MiniFASNetV1SE.onnx",
)
SHIPPED_MINIFAS128 = WEIGHTS_DIR / "minifas128" / "best_model.onnx"

#: sha256 of every model file the project knows, by file name (provenance: weights/*/SOURCE.md).
RECORDED_SHA256 = {
    "MiniFASNetV2.onnx": "4eed38f0bde33c9b805942a5f25e42ce1161e2bda545254be622be957727794e",
    "MiniFASNetV1SE.onnx": "d819a69bac6b9ade2a0f4d9b60b618e1260f7bf3ba1fddff6c5d82131cb1083f",
    "best_model.onnx": "af2381b88f38769222ed93379e12444e2a50814575de1c46170de570c55a42b6",
}
#: The crop scale each published MiniFASNet variant was trained with (by file-name prefix).
PASSIVE_CROP_SCALES = {"MiniFASNetV2": 2.7, "MiniFASNetV1SE": 4.0}
MINIFASNET_SIDE = 80
MINIFAS128_NAME = "MiniFAS128"
MINIFAS128_EXPANSION = 1.5
MINIFAS128_SIDE = 128

FUSION_MINIFASNET = "mean(MiniFASNetV2, MiniFASNetV1SE)"
#: With MiniFAS-128 on: the mean of the MiniFASNet ensemble's value and MiniFAS-128's (README, engine section).
FUSION_WITH_MINIFAS128 = "mean(mean(MiniFASNetV2, MiniFASNetV1SE), MiniFAS128)"
UNAVAILABLE_MESSAGE = "passive attack detection unavailable (no model configured)"


@dataclass(frozen=True)
class PassiveModel:
    name: str  # MiniFASNetV2, MiniFASNetV1SE or MiniFAS128
    path: str
    crop_scale: float  # MiniFASNet: the box scale; MiniFAS-128: the square crop's expansion
    session: Any  # onnxruntime.InferenceSession (thread-safe)
    input_name: str
    sha256: str
    verified: bool  # the file's name is in RECORDED_SHA256 and its digest matched


@dataclass(frozen=True)
class PassiveModels:
    """The loaded passive models: the MiniFASNet ensemble and, when enabled, MiniFAS-128."""

    minifasnet: tuple[PassiveModel, ...] = ()
    minifas128: PassiveModel | None = None

    def __iter__(self) -> Iterator[PassiveModel]:
        yield from self.minifasnet
        if self.minifas128 is not None:
            yield self.minifas128

    def __len__(self) -> int:
        return len(self.minifasnet) + (self.minifas128 is not None)

    @property
    def fusion(self) -> str:
        if self.minifas128 is None:
            return FUSION_MINIFASNET if self.minifasnet else ""
        return FUSION_WITH_MINIFAS128 if self.minifasnet else MINIFAS128_NAME


# --- files, digests and loading --------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _minifasnet_scale(path: Path) -> float | None:
    matching = [prefix for prefix in PASSIVE_CROP_SCALES if path.stem.startswith(prefix)]
    return PASSIVE_CROP_SCALES[max(matching, key=len)] if matching else None


def configured_files() -> list[tuple[str, Path]]:
    """(kind, path) of every passive model file the settings ask for; kind is "minifasnet" or "minifas128"."""
    files = [("minifasnet", Path(p)) for p in settings.LOCAL_ENGINE_PASSIVE_MODELS if p]
    if getattr(settings, "LOCAL_ENGINE_MINIFAS128", False):
        files.append(("minifas128", Path(settings.LOCAL_ENGINE_MINIFAS128_MODEL or SHIPPED_MINIFAS128)))
    return files


def file_problem(kind: str, path: Path) -> str:
    """What is wrong with one configured file without loading it ("" when nothing is): missing, empty,
    not a known model, or a known name whose sha256 is not the recorded one."""
    if not path.is_file():
        return f"passive attack (ONNX) model file not found at {path}"
    if path.stat().st_size == 0:
        return f"passive attack (ONNX) model file {path} is empty"
    if kind == "minifasnet" and _minifasnet_scale(path) is None:
        return f"unknown passive model {path.name}: expected a MiniFASNetV2 or MiniFASNetV1SE export"
    recorded = RECORDED_SHA256.get(path.name)
    if recorded is not None:
        actual = file_sha256(path)
        if actual != recorded:
            return f"passive model {path} has sha256 {actual}, not the recorded {recorded}: refusing to load it"
    return ""


def passive_file_problems() -> list[str]:
    """Every configured passive model file's problem, for the start-up check (see :func:`file_problem`)."""
    return [problem for kind, path in configured_files() if (problem := file_problem(kind, path))]


def _load(kind: str, path: Path) -> PassiveModel:
    import onnxruntime

    problem = file_problem(kind, path)
    if problem:
        raise EngineConfigurationError(problem)
    digest = file_sha256(path)
    verified = RECORDED_SHA256.get(path.name) == digest
    if not verified:
        logger.warning("passive model %s is not in the recorded digest table: loaded unverified", path)
    try:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for corrupt files
        raise EngineConfigurationError(f"passive model {path} could not be loaded: {exc}") from exc
    inputs = session.get_inputs()
    side = MINIFASNET_SIDE if kind == "minifasnet" else MINIFAS128_SIDE
    if len(inputs) != 1 or list(inputs[0].shape)[1:] != [3, side, side]:
        raise EngineConfigurationError(f"passive model {path} does not take a 1x3x{side}x{side} input")
    if kind == "minifasnet":
        # file_problem refused other names. The longest matching prefix names the model.
        name = max((p for p in PASSIVE_CROP_SCALES if path.stem.startswith(p)), key=len)
        return PassiveModel(name, str(path), PASSIVE_CROP_SCALES[name], session, inputs[0].name, digest, verified)
    return PassiveModel(MINIFAS128_NAME, str(path), MINIFAS128_EXPANSION, session, inputs[0].name, digest, verified)


_lock = threading.Lock()
_loaded: PassiveModels | None = None


def load_passive_models() -> PassiveModels:
    """The process-wide passive models, loaded on first use (thread-safe); EngineConfigurationError names
    the file when one is missing, corrupt, unknown or not the recorded file."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is None:
            loaded = [(kind, _load(kind, path)) for kind, path in configured_files()]
            minifasnet = tuple(model for kind, model in loaded if kind == "minifasnet")
            minifas128 = next((model for kind, model in loaded if kind == "minifas128"), None)
            _loaded = PassiveModels(minifasnet, minifas128)
    return _loaded


def reset_passive_models() -> None:
    """Forget the loaded models (tests that change the configured paths)."""
    global _loaded
    with _lock:
        _loaded = None


def passive_health() -> dict[str, Any]:
    """Load the passive models and run each once on a blank input (EngineConfigurationError on failure)."""
    models = load_passive_models()
    for model in models:
        side, classes = (MINIFAS128_SIDE, 2) if model.name == MINIFAS128_NAME else (MINIFASNET_SIDE, 3)
        try:
            output = model.session.run(None, {model.input_name: np.zeros((1, 3, side, side), dtype=np.float32)})[0]
        except Exception as exc:  # onnxruntime's own error types
            raise EngineConfigurationError(f"passive model {model.path} failed on a test input: {exc}") from exc
        if np.asarray(output).shape != (1, classes):
            raise EngineConfigurationError(
                f"passive model {model.path} returned shape {np.asarray(output).shape}, expected (1, {classes}) logits"
            )
    return {
        "passive_models": [m.name for m in models],
        "passive_available": bool(models),
        "passive_fusion": models.fusion,
        "passive_unverified": [m.path for m in models if not m.verified],
    }


# --- MiniFASNet: the authors' crop and OpenCV's bilinear resize ------------------------------------


def minifasnet_crop_box(
    width: int, height: int, box: tuple[int, int, int, int], scale: float
) -> tuple[tuple[int, int, int, int], float]:
    """The authors' ``CropImage._get_new_box`` for a (left, top, right, bottom) face box.

    s' = min((H-1)/h, (W-1)/w, s); the box grown to w*s' x h*s' around its centre, shifted back inside
    the image, each edge truncated to an int. Returns ((left, top, right, bottom) inclusive pixel edges,
    s'). The crop is ``img[top:bottom+1, left:right+1]``.
    """
    box_w, box_h = max(1, box[2] - box[0]), max(1, box[3] - box[1])
    used = min((height - 1) / box_h, min((width - 1) / box_w, scale))
    new_w, new_h = box_w * used, box_h * used
    centre_x, centre_y = box_w / 2 + box[0], box_h / 2 + box[1]
    left, top = centre_x - new_w / 2, centre_y - new_h / 2
    right, bottom = centre_x + new_w / 2, centre_y + new_h / 2
    if left < 0:
        right -= left
        left = 0
    if top < 0:
        bottom -= top
        top = 0
    if right > width - 1:
        left -= right - width + 1
        right = width - 1
    if bottom > height - 1:
        top -= bottom - height + 1
        bottom = height - 1
    return (int(left), int(top), int(right), int(bottom)), used


def minifasnet_crop(rgb: np.ndarray, box: tuple[int, int, int, int], scale: float) -> np.ndarray:
    """The contract's crop resized to 80x80 by OpenCV's INTER_LINEAR (RGB, uint8)."""
    height, width = rgb.shape[:2]
    (left, top, right, bottom), _ = minifasnet_crop_box(width, height, box, scale)
    crop = rgb[max(0, top) : bottom + 1, max(0, left) : right + 1]
    return np.asarray(
        cv2.resize(np.ascontiguousarray(crop), (MINIFASNET_SIDE, MINIFASNET_SIDE), interpolation=cv2.INTER_LINEAR)
    )


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum())


def minifasnet_real_probability(rgb: np.ndarray, box: tuple[int, int, int, int], model: PassiveModel) -> float:
    crop = minifasnet_crop(rgb, box, model.crop_scale)
    bgr = crop[..., ::-1].astype(np.float32)  # the models take BGR, raw 0-255
    tensor = np.ascontiguousarray(bgr.transpose(2, 0, 1)[np.newaxis, ...])
    logits = model.session.run(None, {model.input_name: tensor})[0][0]
    return float(_softmax(np.asarray(logits, dtype=np.float64))[1])  # class 1 = real


# --- MiniFAS-128: square crop with reflection, area / Lanczos-4 resize -------------------------------


def minifas128_crop_geometry(
    width: int, height: int, box: tuple[int, int, int, int]
) -> tuple[tuple[int, int, int], tuple[int, int, int, int]]:
    """The repository's ``crop``: ((x, y, side) of the square in image pixels, (top, bottom, left, right)
    reflected padding where the square leaves the image)."""
    box_w, box_h = max(1, box[2] - box[0]), max(1, box[3] - box[1])
    longest = max(box_w, box_h)
    centre_x, centre_y = box[0] + box_w / 2, box[1] + box_h / 2
    x = int(centre_x - longest * MINIFAS128_EXPANSION / 2)
    y = int(centre_y - longest * MINIFAS128_EXPANSION / 2)
    side = int(longest * MINIFAS128_EXPANSION)
    padding = (max(0, -y), max(0, y + side - height), max(0, -x), max(0, x + side - width))
    return (x, y, side), padding


def minifas128_crop(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The MiniFAS-128 input picture: 128x128 RGB uint8."""
    height, width = rgb.shape[:2]
    (x, y, side), (pad_top, pad_bottom, pad_left, pad_right) = minifas128_crop_geometry(width, height, box)
    inside = rgb[max(0, y) : min(height, y + side), max(0, x) : min(width, x + side)]
    square = cv2.copyMakeBorder(
        np.ascontiguousarray(inside), pad_top, pad_bottom, pad_left, pad_right, cv2.BORDER_REFLECT_101
    )
    ratio = float(MINIFAS128_SIDE) / side
    scaled = int(side * ratio)
    interpolation = cv2.INTER_LANCZOS4 if ratio > 1.0 else cv2.INTER_AREA
    resized = cv2.resize(square, (scaled, scaled), interpolation=interpolation)
    short = MINIFAS128_SIDE - scaled  # float rounding can leave the side at 127: padded as the source does
    return np.asarray(
        cv2.copyMakeBorder(
            resized, short // 2, short - short // 2, short // 2, short - short // 2, cv2.BORDER_REFLECT_101
        )
    )


def minifas128_real_probability(rgb: np.ndarray, box: tuple[int, int, int, int], model: PassiveModel) -> float:
    crop = minifas128_crop(rgb, box)
    tensor = np.ascontiguousarray((crop.astype(np.float32) / 255.0).transpose(2, 0, 1)[np.newaxis, ...])
    logits = model.session.run(None, {model.input_name: tensor})[0][0]
    return float(_softmax(np.asarray(logits, dtype=np.float64))[0])  # class 0 = real


# --- the result ----------------------------------------------------------------------------------------


def assess_passive(rgb: np.ndarray, box: tuple[int, int, int, int]) -> dict[str, Any]:
    """The passive attack assessment of the face at ``box`` (left, top, right, bottom, original pixels) in
    ``rgb`` (HxWx3 uint8, EXIF-oriented)."""
    models = load_passive_models()
    if not models:
        return {"available": False, "message": UNAVAILABLE_MESSAGE, "real_probability": None}
    height, width = rgb.shape[:2]
    per_model = {m.name: minifasnet_real_probability(rgb, box, m) for m in models.minifasnet}
    scales: dict[str, dict[str, Any]] = {}
    for m in models.minifasnet:
        used = minifasnet_crop_box(width, height, box, m.crop_scale)[1]
        scales[m.name] = {"nominal": m.crop_scale, "used": round(used, 3)}
    values = []
    if per_model:
        values.append(float(np.mean(list(per_model.values()))))
    if models.minifas128 is not None:
        per_model[MINIFAS128_NAME] = minifas128_real_probability(rgb, box, models.minifas128)
        padding = minifas128_crop_geometry(width, height, box)[1]
        scales[MINIFAS128_NAME] = {"nominal": MINIFAS128_EXPANSION, "used": MINIFAS128_EXPANSION}
        scales[MINIFAS128_NAME]["reflected_border"] = any(padding)
        values.append(per_model[MINIFAS128_NAME])
    return {
        "available": True,
        "models": {name: round(p, 4) for name, p in per_model.items()},
        "real_probability": float(np.mean(values)),
        "fusion": models.fusion,
        "crop_scales": scales,
        # The face fills so much of the picture that a MiniFASNet model saw less context than it was trained on.
        "reduced_crop_scale": any(
            s["used"] < s["nominal"] - 1e-6 for name, s in scales.items() if name != MINIFAS128_NAME
        ),
    }
