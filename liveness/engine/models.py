"""Model files of the local engine, loaded lazily once per process and shared between threads.

Faces are found and landmarked by MediaPipe's BlazeFace detectors and 468-point face mesh (TFLite files
shipped in ``weights/mediapipe/``, sha256-checked, or LOCAL_ENGINE_MEDIAPIPE_DIR; see mediapipe.py). Face
match uses dlib's 128-d descriptor network converted to ONNX (``weights/dlib_resnet/``, sha256-checked, or
LOCAL_ENGINE_DLIB_MODEL_DIR holding the same file), run by onnxruntime on the chip dlib aligns from mesh
points (match.py). The passive attack models (ONNX, shipped in ``weights/``) are loaded by :mod:`.passive`.
A missing or corrupt file raises EngineConfigurationError with the path and what to do, at first use and
from the health check.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from .passive import PassiveModels

#: dlib's files the engine loads: only the descriptor network, converted to ONNX from dlib's
#: ``dlib_face_recognition_resnet_model_v1.dat`` by ``bench/convert_dlib_descriptor.py`` (the face chip is
#: aligned on mesh points, match.py). HOG detection and the 68-point model were replaced by MediaPipe.
DLIB_FILES = {"face_recognition": "dlib_face_recognition_resnet_model_v1.onnx"}
#: What each dlib file is, in messages.
DLIB_WHAT = {"face_recognition": "face descriptor"}
#: The folder the descriptor ships in, and the converted file's sha256 (weights/dlib_resnet/SOURCE.md):
#: checked at every load, a different file is refused.
SHIPPED_DLIB_DIR = Path(__file__).resolve().parent / "weights" / "dlib_resnet"
DESCRIPTOR_SHA256 = "598f8353697bcf48b405efd0c7ff6abc434612cd462352dbd15a1690fa7a7f20"


class EngineConfigurationError(RuntimeError):
    """A model file the engine needs is missing, unreadable or corrupt."""


@dataclass(frozen=True)
class LoadedModels:
    faces: Any  # mediapipe.FaceModels: detection and face mesh
    descriptor: Any  # onnxruntime.InferenceSession of dlib's 128-d descriptor network (thread-safe)

    @property
    def passive(self) -> PassiveModels:
        """The passive attack models (loaded and cached by :mod:`.passive`)."""
        from .passive import load_passive_models

        return load_passive_models()


_lock = threading.Lock()
_loaded: LoadedModels | None = None
# Thread safety: the MediaPipe interpreters are pooled per call (mediapipe.FaceModels); an onnxruntime
# session (the passive models, the face descriptor) is thread-safe.


def dlib_model_dir() -> Path:
    """The folder of the face descriptor's ONNX file: LOCAL_ENGINE_DLIB_MODEL_DIR, or the one shipped here."""
    configured = getattr(settings, "LOCAL_ENGINE_DLIB_MODEL_DIR", "")
    return Path(configured) if configured else SHIPPED_DLIB_DIR


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
            from .mediapipe import FaceModels

            faces = FaceModels(mediapipe_dir())
            descriptor = _descriptor_session(dlib_model_dir() / DLIB_FILES["face_recognition"])
            from .passive import load_passive_models

            load_passive_models()  # loaded with the others (worker warm-up, configuration check)
            _loaded = LoadedModels(faces, descriptor)
    return _loaded


def _descriptor_session(path: Path) -> Any:
    """onnxruntime's session of the descriptor file at ``path``, refused unless its sha256 is the recorded one.

    One intra-op thread, like the passive models: a check is one core's work, parallelism comes from workers.
    """
    import hashlib

    import onnxruntime

    what = DLIB_WHAT["face_recognition"]
    try:
        data = Path(_require_file(path, what)).read_bytes()
    except OSError as exc:
        raise EngineConfigurationError(f"{what} model file {path} could not be read: {exc}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != DESCRIPTOR_SHA256:
        raise EngineConfigurationError(
            f"{what} model file {path} has sha256 {actual}, not the recorded {DESCRIPTOR_SHA256} "
            f"(see {SHIPPED_DLIB_DIR / 'SOURCE.md'}): refusing to load it"
        )
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise EngineConfigurationError(f"{what} model file {path} could not be loaded: {exc}") from exc


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
    for key, name in DLIB_FILES.items():
        what = DLIB_WHAT[key]
        path = dlib_model_dir() / name
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
    from .match import CHIP_SIDE, DESCRIPTOR_SIZE

    chip = np.zeros((1, 3, CHIP_SIDE, CHIP_SIDE), dtype=np.float32)
    output = np.asarray(models.descriptor.run(None, {models.descriptor.get_inputs()[0].name: chip})[0])
    if output.shape != (1, DESCRIPTOR_SIZE):
        raise EngineConfigurationError(f"the face descriptor returned shape {output.shape}, not (1, {DESCRIPTOR_SIZE})")
    return {
        "mediapipe_dir": str(models.faces.directory),
        "dlib_model_dir": str(dlib_model_dir()),
        **passive_health(),
    }


def engine_health() -> dict[str, Any]:
    """The health probe of the local engine (for the health endpoint and ``check_image``): see :func:`health`."""
    return health()
