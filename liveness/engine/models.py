"""Model files of the local engine, loaded lazily once per process and shared between threads.

Faces are found and landmarked by MediaPipe's BlazeFace detectors and 468-point face mesh (TFLite files
shipped in ``weights/mediapipe/``, sha256-checked, or LOCAL_ENGINE_MEDIAPIPE_DIR; see mediapipe.py). Face
match uses dlib's 128-d descriptor from the ``face-recognition-models`` package (or
LOCAL_ENGINE_DLIB_MODEL_DIR), aligned on mesh points. The passive attack models (ONNX, shipped in
``weights/``) are loaded by :mod:`.passive`. A missing or corrupt file raises EngineConfigurationError with
the path and what to do, at first use and from the health check.
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

#: dlib's files the engine loads: only the descriptor network (the face chip is aligned on mesh points,
#: match.py). HOG detection and the 68-point model were replaced by MediaPipe.
DLIB_FILES = {"face_recognition": "dlib_face_recognition_resnet_model_v1.dat"}
#: What each dlib file is, in messages.
DLIB_WHAT = {"face_recognition": "face descriptor"}


class EngineConfigurationError(RuntimeError):
    """A model file the engine needs is missing, unreadable or corrupt."""


@dataclass(frozen=True)
class LoadedModels:
    faces: Any  # mediapipe.FaceModels: detection and face mesh
    face_recognition: Any  # dlib's 128-d descriptor network

    @property
    def passive(self) -> PassiveModels:
        """The passive attack models (loaded and cached by :mod:`.passive`)."""
        from .passive import load_passive_models

        return load_passive_models()


_lock = threading.Lock()
_loaded: LoadedModels | None = None
# Thread safety: the MediaPipe interpreters are pooled per call (mediapipe.FaceModels); an onnxruntime
# session is thread-safe; the descriptor network has its own lock in match.py.


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
            from .passive import load_passive_models

            load_passive_models()  # loaded with the others (worker warm-up, configuration check)
            _loaded = LoadedModels(faces, recog)
    return _loaded


def reset_models() -> None:
    """Forget loaded models (tests that change the configured paths)."""
    from .passive import reset_passive_models

    global _loaded
    with _lock:
        _loaded = None
    reset_passive_models()


def model_file_problems() -> list[str]:
    """Cheap start-up check, without loading anything: every configured model file exists and is non-empty,
    and a shipped or recorded file has its sha256.

    A corrupt file that exists is found by :func:`health` (which loads and runs the models) or at first use.
    """
    from .mediapipe import file_problems
    from .passive import passive_file_problems

    problems = file_problems(mediapipe_dir())
    try:
        model_dir = dlib_model_dir()
    except EngineConfigurationError as exc:
        return [*problems, str(exc), *passive_file_problems()]
    for key, name in DLIB_FILES.items():
        what = DLIB_WHAT[key]
        path = model_dir / name
        if not path.is_file():
            problems.append(f"{what} model file not found at {path}")
        elif path.stat().st_size == 0:
            problems.append(f"{what} model file {path} is empty")
    return problems + passive_file_problems()


def health() -> dict[str, Any]:
    """Load the models, run each once on a blank input, and report what is available.

    Raises EngineConfigurationError naming the file when one is missing, corrupt or not the expected model.
    """
    import numpy as np

    from .mediapipe import FULL_RANGE, SHORT_RANGE
    from .passive import passive_health

    models = load_models()
    blank = np.zeros((64, 64, 3), dtype=np.uint8)
    for spec in (SHORT_RANGE, FULL_RANGE):  # the interpreters run: a blank image holds no face
        models.faces.detect(blank, spec)
    return {
        "mediapipe_dir": str(models.faces.directory),
        "dlib_model_dir": str(dlib_model_dir()),
        **passive_health(),
    }


def engine_health() -> dict[str, Any]:
    """The health probe of the local engine (for the health endpoint and ``check_image``): see :func:`health`."""
    return health()
