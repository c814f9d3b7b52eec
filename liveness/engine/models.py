"""Model files of the local engine, loaded lazily once per process and shared between threads.

Faces are found and landmarked by MediaPipe's BlazeFace detectors and 468-point face mesh (TFLite files
shipped in ``weights/mediapipe/``, sha256-checked, or LOCAL_ENGINE_MEDIAPIPE_DIR; see mediapipe.py). Face
match uses dlib's 128-d descriptor from the ``face-recognition-models`` package (or
LOCAL_ENGINE_DLIB_MODEL_DIR), aligned on mesh points; the optional MiniFASNet passive attack models are ONNX files at
the paths in LOCAL_ENGINE_PASSIVE_MODELS. A missing or corrupt file raises EngineConfigurationError with
the path and what to do, at first use and from the health check.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

#: dlib's files the engine loads: only the descriptor network (the face chip is aligned on mesh points,
#: match.py). HOG detection and the 68-point model were replaced by MediaPipe.
DLIB_FILES = {"face_recognition": "dlib_face_recognition_resnet_model_v1.dat"}
#: What each dlib file is, in messages.
DLIB_WHAT = {"face_recognition": "face descriptor"}
#: The crop scale each published MiniFASNet variant was trained with (shared/models/README.md).
PASSIVE_CROP_SCALES = {"MiniFASNetV2": 2.7, "MiniFASNetV1SE": 4.0}


class EngineConfigurationError(RuntimeError):
    """A model file the engine needs is missing, unreadable or corrupt."""


@dataclass(frozen=True)
class PassiveModel:
    name: str
    path: str
    crop_scale: float
    session: Any  # onnxruntime.InferenceSession
    input_name: str


@dataclass(frozen=True)
class LoadedModels:
    faces: Any  # mediapipe.FaceModels: detection and face mesh
    face_recognition: Any  # dlib's 128-d descriptor network
    passive: tuple[PassiveModel, ...]


_lock = threading.Lock()
_loaded: LoadedModels | None = None
# Thread safety: the MediaPipe interpreters are per thread (mediapipe.FaceModels); dlib's shape predictor
# is documented thread-safe and so is an onnxruntime session; the descriptor network has its own lock in
# match.py.


def dlib_model_dir() -> Path:
    configured = getattr(settings, "LOCAL_ENGINE_DLIB_MODEL_DIR", "")
    if configured:
        return Path(configured)
    # Locate the package's data without importing it: its __init__ needs pkg_resources, which
    # recent setuptools no longer ships.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise EngineConfigurationError(
            "the face-recognition-models package is not installed; pip install face-recognition-models "
            "or set LOCAL_ENGINE_DLIB_MODEL_DIR"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def mediapipe_dir() -> Path:
    """The folder of the three MediaPipe files: LOCAL_ENGINE_MEDIAPIPE_DIR, or the ones shipped here."""
    from .mediapipe import SHIPPED_DIR

    configured = getattr(settings, "LOCAL_ENGINE_MEDIAPIPE_DIR", "")
    return Path(configured) if configured else SHIPPED_DIR


def _require_file(path: Path, what: str) -> str:
    if not path.is_file():
        raise EngineConfigurationError(f"{what} model file not found at {path}")
    return str(path)


def _load_passive(path_str: str) -> PassiveModel:
    import onnxruntime

    path = Path(path_str)
    _require_file(path, "passive attack (ONNX)")
    name = path.stem
    scale = next((s for prefix, s in PASSIVE_CROP_SCALES.items() if name.startswith(prefix)), None)
    if scale is None:
        raise EngineConfigurationError(
            f"unknown passive model {path.name}: expected a MiniFASNetV2 or MiniFASNetV1SE export"
        )
    try:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for corrupt files
        raise EngineConfigurationError(f"passive model {path} could not be loaded: {exc}") from exc
    inputs = session.get_inputs()
    if len(inputs) != 1 or list(inputs[0].shape)[1:] != [3, 80, 80]:
        raise EngineConfigurationError(f"passive model {path} does not take a 1x3x80x80 input")
    return PassiveModel(name, str(path), scale, session, inputs[0].name)


def load_models() -> LoadedModels:
    """Return the process-wide models, loading them on first use (thread-safe)."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is None:
            import dlib

            from .mediapipe import FaceModels

            faces = FaceModels(mediapipe_dir())
            model_dir = dlib_model_dir()
            try:
                recog = dlib.face_recognition_model_v1(
                    _require_file(model_dir / DLIB_FILES["face_recognition"], DLIB_WHAT["face_recognition"])
                )
            except RuntimeError as exc:
                if isinstance(exc, EngineConfigurationError):
                    raise
                raise EngineConfigurationError(f"dlib model in {model_dir} could not be loaded: {exc}") from exc
            passive = tuple(_load_passive(p) for p in settings.LOCAL_ENGINE_PASSIVE_MODELS if p)
            _loaded = LoadedModels(faces, recog, passive)
    return _loaded


def reset_models() -> None:
    """Forget loaded models (tests that change the configured paths)."""
    global _loaded
    with _lock:
        _loaded = None


def model_file_problems() -> list[str]:
    """Cheap start-up check, without loading anything: every configured model file exists and is non-empty.

    A corrupt file that exists is found by :func:`health` (which loads and runs the models) or at first use;
    a MediaPipe file whose sha256 differs is refused there too.
    """
    from .mediapipe import file_problems

    problems = file_problems(mediapipe_dir())
    try:
        model_dir = dlib_model_dir()
    except EngineConfigurationError as exc:
        return [*problems, str(exc)]
    for key, name in DLIB_FILES.items():
        what = DLIB_WHAT[key]
        path = model_dir / name
        if not path.is_file():
            problems.append(f"{what} model file not found at {path}")
        elif path.stat().st_size == 0:
            problems.append(f"{what} model file {path} is empty")
    for configured in settings.LOCAL_ENGINE_PASSIVE_MODELS:
        if not configured:
            continue
        path = Path(configured)
        if not path.is_file():
            problems.append(f"passive attack (ONNX) model file not found at {path}")
        elif path.stat().st_size == 0:
            problems.append(f"passive attack (ONNX) model file {path} is empty")
        elif not any(path.stem.startswith(prefix) for prefix in PASSIVE_CROP_SCALES):
            problems.append(f"unknown passive model {path.name}: expected a MiniFASNetV2 or MiniFASNetV1SE export")
    return problems


def health() -> dict[str, Any]:
    """Load the models, run each once on a blank input, and report what is available.

    Raises EngineConfigurationError naming the file when one is missing, corrupt or not the expected model.
    """
    import numpy as np

    from .mediapipe import FULL_RANGE, SHORT_RANGE

    models = load_models()
    blank = np.zeros((64, 64, 3), dtype=np.uint8)
    for spec in (SHORT_RANGE, FULL_RANGE):  # the interpreters run: a blank image holds no face
        models.faces.detect(blank, spec)
    for model in models.passive:
        try:
            output = model.session.run(None, {model.input_name: np.zeros((1, 3, 80, 80), dtype=np.float32)})[0]
        except Exception as exc:  # onnxruntime's own error types
            raise EngineConfigurationError(f"passive model {model.path} failed on a test input: {exc}") from exc
        if np.asarray(output).shape != (1, 3):
            raise EngineConfigurationError(
                f"passive model {model.path} returned shape {np.asarray(output).shape}, expected (1, 3) logits"
            )
    return {
        "mediapipe_dir": str(models.faces.directory),
        "dlib_model_dir": str(dlib_model_dir()),
        "passive_models": [m.name for m in models.passive],
        "passive_available": bool(models.passive),
    }


def engine_health() -> dict[str, Any]:
    """The health probe of the local engine (for the health endpoint and ``check_image``): see :func:`health`."""
    return health()
