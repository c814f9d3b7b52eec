"""A missing or corrupt model file is a clear error: at start-up (system check), health, and first use."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from liveness.engine import engine_health
from liveness.engine.mediapipe import MEDIAPIPE_FILES, SHIPPED_DIR
from liveness.engine.models import (
    DLIB_FILES,
    SHIPPED_DLIB_DIR,
    EngineConfigurationError,
    dlib_model_dir,
    load_models,
    model_file_problems,
    reset_models,
)
from liveness.engine.system_checks import engine_model_files_check
from liveness.providers import CheckRequest, EvidenceImage, PermanentProviderError, get_provider
from tests.engine_support import jpeg_bytes, require_passive_models


@pytest.fixture
def fresh_models() -> Iterator[None]:
    """Forget the loaded models before and after: these tests change the configured files."""
    reset_models()
    yield
    reset_models()


@pytest.fixture
def real_dlib_dir() -> Path:
    reset_models()
    return dlib_model_dir()


def garbage(path: Path, size: int = 4096) -> Path:
    path.write_bytes(np.random.default_rng(7).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def test_a_healthy_engine_reports_its_models():
    report = engine_health()
    assert Path(report["dlib_model_dir"]) == SHIPPED_DLIB_DIR  # the converted descriptor shipped here
    assert Path(report["mediapipe_dir"]) == SHIPPED_DIR  # the files shipped with the project, by default
    assert report["passive_available"] == bool(report["passive_models"])


def test_a_healthy_engine_lists_both_passive_models():
    require_passive_models()
    assert sorted(engine_health()["passive_models"]) == ["MiniFASNetV1SE", "MiniFASNetV2"]
    assert model_file_problems() == []
    assert engine_model_files_check() == []


def test_a_missing_dlib_model_is_named_at_start_up_and_in_health(settings, tmp_path: Path, fresh_models: None):
    settings.LOCAL_ENGINE_DLIB_MODEL_DIR = str(tmp_path)
    problems = model_file_problems()
    assert problems == [f"face descriptor model file not found at {tmp_path / DLIB_FILES['face_recognition']}"]
    warnings = engine_model_files_check()
    assert [w.id for w in warnings] == ["liveness.W101"]
    assert "face descriptor model file not found" in warnings[0].msg
    with pytest.raises(EngineConfigurationError, match="face descriptor model file not found"):
        engine_health()


def test_a_truncated_descriptor_model_is_refused_at_load(
    settings, tmp_path: Path, real_dlib_dir: Path, fresh_models: None
):
    real = (real_dlib_dir / DLIB_FILES["face_recognition"]).read_bytes()
    (tmp_path / DLIB_FILES["face_recognition"]).write_bytes(real[: len(real) // 20])
    settings.LOCAL_ENGINE_DLIB_MODEL_DIR = str(tmp_path)
    assert model_file_problems() == []  # present and non-empty: only loading finds the damage
    path = re.escape(str(tmp_path / DLIB_FILES["face_recognition"]))
    with pytest.raises(EngineConfigurationError, match=f"face descriptor model file {path} has sha256 .* refusing"):
        load_models()


def test_a_copy_of_the_descriptor_elsewhere_is_used(settings, tmp_path: Path, real_dlib_dir: Path, fresh_models: None):
    name = DLIB_FILES["face_recognition"]
    (tmp_path / name).write_bytes((real_dlib_dir / name).read_bytes())
    settings.LOCAL_ENGINE_DLIB_MODEL_DIR = str(tmp_path)
    assert Path(engine_health()["dlib_model_dir"]) == tmp_path


def test_an_empty_model_file_is_reported_at_start_up(settings, tmp_path: Path, fresh_models: None):
    (tmp_path / DLIB_FILES["face_recognition"]).write_bytes(b"")
    settings.LOCAL_ENGINE_DLIB_MODEL_DIR = str(tmp_path)
    assert f"face descriptor model file {tmp_path / DLIB_FILES['face_recognition']} is empty" in model_file_problems()


def _mediapipe_copy(folder: Path) -> Path:
    for name in MEDIAPIPE_FILES:
        (folder / name).write_bytes((SHIPPED_DIR / name).read_bytes())
    return folder


def test_the_shipped_mediapipe_files_are_the_documented_ones():
    source = (SHIPPED_DIR / "SOURCE.md").read_text()
    for name, sha256 in MEDIAPIPE_FILES.items():
        assert f"| {name} |" in source
        assert sha256 in source
    assert (SHIPPED_DIR / "LICENSE").read_text().lstrip().startswith("Apache License")


@pytest.mark.parametrize("name", sorted(MEDIAPIPE_FILES))
def test_a_mediapipe_file_whose_sha256_differs_is_refused_by_name(
    settings, tmp_path: Path, fresh_models: None, name: str
):
    folder = _mediapipe_copy(tmp_path)
    content = bytearray((folder / name).read_bytes())
    content[len(content) // 2] ^= 0x01  # one bit: the file still loads as a model, but is not the one we ship
    (folder / name).write_bytes(bytes(content))
    settings.LOCAL_ENGINE_MEDIAPIPE_DIR = str(folder)
    assert model_file_problems() == []  # present and non-empty: the hash is checked at load
    refused = f"MediaPipe model file {re.escape(str(folder / name))} has sha256 [0-9a-f]{{64}}"
    with pytest.raises(EngineConfigurationError, match=refused):
        load_models()
    with pytest.raises(EngineConfigurationError, match="refusing to run an unknown model"):
        engine_health()


def test_a_missing_mediapipe_file_is_named_at_start_up_and_at_load(settings, tmp_path: Path, fresh_models: None):
    folder = _mediapipe_copy(tmp_path)
    (folder / "face_landmark.tflite").unlink()
    settings.LOCAL_ENGINE_MEDIAPIPE_DIR = str(folder)
    assert model_file_problems() == [f"MediaPipe model file not found at {folder / 'face_landmark.tflite'}"]
    assert "MediaPipe model file not found" in engine_model_files_check()[0].msg
    with pytest.raises(EngineConfigurationError, match=r"MediaPipe model file not found at .*face_landmark\.tflite"):
        load_models()


def test_a_copy_of_the_mediapipe_files_elsewhere_is_used(settings, tmp_path: Path, fresh_models: None):
    settings.LOCAL_ENGINE_MEDIAPIPE_DIR = str(_mediapipe_copy(tmp_path))
    assert Path(engine_health()["mediapipe_dir"]) == tmp_path


def test_a_missing_passive_model_is_a_clear_error(settings, tmp_path: Path, fresh_models: None):
    missing = tmp_path / "MiniFASNetV2.onnx"
    settings.LOCAL_ENGINE_PASSIVE_MODELS = [str(missing)]
    assert model_file_problems() == [f"passive attack (ONNX) model file not found at {missing}"]
    with pytest.raises(EngineConfigurationError, match="passive attack \\(ONNX\\) model file not found"):
        engine_health()


def test_a_corrupt_passive_model_is_a_clear_error(settings, tmp_path: Path, fresh_models: None):
    # Under a shipped file's name the recorded digest catches it before loading (at start-up too) ...
    corrupt = garbage(tmp_path / "MiniFASNetV1SE.onnx")
    settings.LOCAL_ENGINE_PASSIVE_MODELS = [str(corrupt)]
    assert model_file_problems()[-1].startswith(f"passive model {corrupt} has sha256 ")
    with pytest.raises(EngineConfigurationError, match=f"passive model {corrupt} has sha256 .* refusing to load it"):
        engine_health()
    # ... under a name of its own (no recorded digest) loading it fails, naming the file.
    reset_models()
    own = garbage(tmp_path / "MiniFASNetV1SE-own.onnx")
    settings.LOCAL_ENGINE_PASSIVE_MODELS = [str(own)]
    with pytest.raises(EngineConfigurationError, match=f"passive model {own} could not be loaded"):
        engine_health()


def test_an_unknown_passive_model_is_refused(settings, tmp_path: Path, fresh_models: None):
    other = garbage(tmp_path / "SomeOtherNet.onnx")
    settings.LOCAL_ENGINE_PASSIVE_MODELS = [str(other)]
    assert model_file_problems() == [
        "unknown passive model SomeOtherNet.onnx: expected a MiniFASNetV2 or MiniFASNetV1SE export"
    ]
    with pytest.raises(EngineConfigurationError, match="unknown passive model"):
        load_models()


def test_no_passive_model_is_healthy_but_says_passive_detection_is_unavailable(settings, fresh_models: None):
    settings.LOCAL_ENGINE_PASSIVE_MODELS = []
    report = engine_health()
    assert (report["passive_available"], report["passive_models"]) == (False, [])


def test_a_check_with_a_broken_model_fails_permanently_with_the_reason(settings, tmp_path: Path, fresh_models: None):
    settings.LOCAL_ENGINE_PASSIVE_MODELS = [str(tmp_path / "MiniFASNetV2.onnx")]
    provider = get_provider("local")
    assert "model file not found" in provider.configuration_problem()
    image = EvidenceImage("selfie", 0, jpeg_bytes(np.zeros((64, 64, 3), dtype=np.uint8)), "image/jpeg", 64, 64)
    request = CheckRequest(check_id=1, case_id="x", kind="selfie", images=[image], threshold=0.5, timeout=5)
    with pytest.raises(PermanentProviderError, match="model file not found") as caught:
        provider.check(request)
    assert caught.value.code == "engine_not_configured"
