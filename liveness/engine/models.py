"""Model files of the local engine, loaded lazily once per process and shared between threads.

dlib's HOG detector, 68-point shape predictor and 128-d face descriptor come from the
``face-recognition-models`` package (or LOCAL_ENGINE_DLIB_MODEL_DIR); the passive attack models (ONNX,
shipped in ``weights/``) are loaded by :mod:`.passive`. A missing or corrupt file raises
EngineConfigurationError with the path and what to do, at first use and from the health check.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from .passive import PassiveModels

DLIB_FILES = {
    "shape_predictor": "shape_predictor_68_face_landmarks.dat",
    "face_recognition": "dlib_face_recognition_resnet_model_v1.dat",
}


class EngineConfigurationError(RuntimeError):
    """A model file the engine needs is missing, unreadable or corrupt."""


@dataclass(frozen=True)
class LoadedModels:
    detector: Any
    shape_predictor: Any
    face_recognition: Any

    @property
    def passive(self) -> PassiveModels:
        """The passive attack models (loaded and cached by :mod:`.passive`)."""
        from .passive import load_passive_models

        return load_passive_models()


_lock = threading.Lock()
_loaded: LoadedModels | None = None
# dlib's HOG detector keeps its image pyramid inside the detector object and releases the GIL while it
# scans, so two threads running the one detector at once corrupt the heap and abort the whole process
# (the threaded sandbox server, a threaded worker pool, the health probe beside a check). A detector per
# thread is no way out: building one takes ~0.75 s and the development server starts a thread per request.
# The shape predictor is documented thread-safe and so is an onnxruntime session; the descriptor network
# has its own lock in match.py.
_detector_lock = threading.Lock()


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


def _require_file(path: Path, what: str) -> str:
    if not path.is_file():
        raise EngineConfigurationError(f"{what} model file not found at {path}")
    return str(path)


def load_models() -> LoadedModels:
    """Return the process-wide models, loading them on first use (thread-safe)."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is None:
            import dlib

            model_dir = dlib_model_dir()
            try:
                shape = dlib.shape_predictor(
                    _require_file(model_dir / DLIB_FILES["shape_predictor"], "68-point landmark")
                )
                recog = dlib.face_recognition_model_v1(
                    _require_file(model_dir / DLIB_FILES["face_recognition"], "face descriptor")
                )
            except RuntimeError as exc:
                if isinstance(exc, EngineConfigurationError):
                    raise
                raise EngineConfigurationError(f"dlib model in {model_dir} could not be loaded: {exc}") from exc
            from .passive import load_passive_models

            load_passive_models()  # loaded with the others (worker warm-up, configuration check)
            _loaded = LoadedModels(dlib.get_frontal_face_detector(), shape, recog)
    return _loaded


def run_detector(image: Any, upsample: int) -> tuple[Any, Any, Any]:
    """dlib's HOG detector on ``image`` (HxWx3 uint8), one thread at a time: (rects, scores, sub-detector ids)."""
    detector = load_models().detector
    with _detector_lock:
        result: tuple[Any, Any, Any] = detector.run(image, upsample, 0.0)
    return result


def reset_models() -> None:
    """Forget loaded models (tests that change the configured paths)."""
    from .passive import reset_passive_models

    global _loaded
    with _lock:
        _loaded = None
    reset_passive_models()


def model_file_problems() -> list[str]:
    """Cheap start-up check, without loading anything: every configured model file exists and is non-empty,
    and a passive model file with a recorded sha256 has that digest.

    A corrupt file that exists is found by :func:`health` (which loads and runs the models) or at first use.
    """
    problems = []
    try:
        model_dir = dlib_model_dir()
    except EngineConfigurationError as exc:
        return [str(exc)]
    for what, name in (
        ("68-point landmark", DLIB_FILES["shape_predictor"]),
        ("face descriptor", DLIB_FILES["face_recognition"]),
    ):
        path = model_dir / name
        if not path.is_file():
            problems.append(f"{what} model file not found at {path}")
        elif path.stat().st_size == 0:
            problems.append(f"{what} model file {path} is empty")
    from .passive import passive_file_problems

    return problems + passive_file_problems()


def health() -> dict[str, Any]:
    """Load the models, run each once on a blank input, and report what is available.

    Raises EngineConfigurationError naming the file when one is missing, corrupt or not the expected model.
    """
    import numpy as np

    load_models()
    blank = np.zeros((64, 64, 3), dtype=np.uint8)
    run_detector(blank, 0)  # the HOG detector is compiled into dlib: this checks the binding only
    from .passive import passive_health

    return {"dlib_model_dir": str(dlib_model_dir()), **passive_health()}


def engine_health() -> dict[str, Any]:
    """The health probe of the local engine (for the health endpoint and ``check_image``): see :func:`health`."""
    return health()
