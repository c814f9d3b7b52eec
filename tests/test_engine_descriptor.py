"""The face descriptor on onnxruntime gives dlib's descriptors: the converter, the chip, the network.

dlib's own network (``face-recognition-models``' ``.dat`` run by dlib) is the reference; the shipped ONNX
file must reproduce it. Measured here: at most ~3e-7 per component and ~1e-6 in Euclidean distance (float32
rounding), against a decision distance of 0.6. The bounds asserted (1e-4 per component, 1e-3 distance) leave
room for other CPUs' float rounding and are still a thousand times below anything a decision could notice.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.convert_dlib_descriptor import FormatError, architecture, convert, dat_path, dlib_network, parse
from liveness.engine.match import alignment_shape, face_chip, face_descriptor
from liveness.engine.models import DESCRIPTOR_SHA256, DLIB_FILES, SHIPPED_DLIB_DIR, load_models
from tests.engine_support import analysis_of, labelled, synthetic_face

MAX_COMPONENT = 1e-4
MAX_DISTANCE = 1e-3


@cache
def reference() -> Any:
    """dlib's network from the installed ``.dat`` (skips where face-recognition-models is absent)."""
    try:
        return dlib_network()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


def onnx_of_chip(chip: np.ndarray) -> np.ndarray:
    session = load_models().descriptor
    tensor = np.ascontiguousarray(chip.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)
    return np.asarray(session.run(None, {"chip": tensor})[0][0], dtype=np.float64)


def assert_same_descriptor(ours: np.ndarray, dlib_says: np.ndarray) -> None:
    assert ours.shape == (128,)
    assert float(np.abs(ours - dlib_says).max()) <= MAX_COMPONENT
    assert float(np.linalg.norm(ours - dlib_says)) <= MAX_DISTANCE


# --- the converter ---------------------------------------------------------------------------------------


def test_the_architecture_is_dlibs_29_convolution_resnet():
    layers = architecture()
    assert sum(layer.kind == "con" for layer in layers) == 29  # "a ResNet network with 29 conv layers"
    assert [layer.kind for layer in layers[-2:]] == ["gap", "fc"]


def test_the_converter_reproduces_the_shipped_file_byte_for_byte(tmp_path: Path):
    pytest.importorskip("onnx")  # a dev requirement: the product only reads the converted file
    reference()  # skips without the .dat
    out = tmp_path / "descriptor.onnx"
    assert convert(dat_path(), out) == DESCRIPTOR_SHA256
    assert hashlib.sha256((SHIPPED_DLIB_DIR / DLIB_FILES["face_recognition"]).read_bytes()).hexdigest() == (
        DESCRIPTOR_SHA256
    )


def test_the_shipped_file_is_documented_with_its_source_and_licence():
    source = (SHIPPED_DLIB_DIR / "SOURCE.md").read_text()
    assert DESCRIPTOR_SHA256 in source
    assert "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30" in source  # the .dat
    assert "python -m bench.convert_dlib_descriptor" in source
    assert (SHIPPED_DLIB_DIR / "LICENSE").read_text().startswith("CC0 1.0 Universal")


def test_the_parser_refuses_a_truncated_or_foreign_file():
    reference()
    data = dat_path().read_bytes()
    with pytest.raises(FormatError, match="ends inside"):
        parse(data[: len(data) // 3])
    with pytest.raises(FormatError):
        parse(b"\x01\x01\x01\x0dloss_mmod___2" + data[17:])
    with pytest.raises(FormatError, match="bytes left"):
        parse(data + b"\x00")


# --- equivalence with dlib, on images any checkout has ------------------------------------------------


def _synthetic_chips() -> list[np.ndarray]:
    rng = np.random.default_rng(9)
    ramp = np.linspace(0, 255, 150, dtype=np.float64)
    gradient = np.stack([np.add.outer(ramp, ramp) / 2, np.tile(ramp, (150, 1)), np.tile(ramp[:, None], (1, 150))], -1)
    disc = np.zeros((150, 150, 3))
    yy, xx = np.mgrid[:150, :150]
    disc[(yy - 75) ** 2 + (xx - 75) ** 2 < 50**2] = (200, 160, 130)
    return [
        rng.integers(0, 256, (150, 150, 3), dtype=np.uint8),
        rng.integers(90, 170, (150, 150, 3), dtype=np.uint8),
        gradient.astype(np.uint8),
        disc.astype(np.uint8),
        np.zeros((150, 150, 3), dtype=np.uint8),
        np.full((150, 150, 3), 255, dtype=np.uint8),
    ]


@pytest.mark.parametrize("index", range(6))
def test_the_network_gives_dlibs_descriptor_for_the_same_chip(index: int):
    chip = _synthetic_chips()[index]
    assert_same_descriptor(onnx_of_chip(chip), np.asarray(reference().compute_face_descriptor(chip, 0)))


@pytest.mark.parametrize("seed", range(4))
def test_the_product_path_gives_what_dlibs_compute_face_descriptor_gives(seed: int):
    image, face = synthetic_face(seed)
    assert face_chip(image, face).shape == (150, 150, 3)
    expected = np.asarray(reference().compute_face_descriptor(image, alignment_shape(face), 0))
    assert_same_descriptor(face_descriptor(image, face), expected)


# --- on the shared photos: every face ------------------------------------------------------------------


@pytest.mark.shared
def test_every_face_of_the_shared_photos_gets_dlibs_descriptor():
    net = reference()
    compared = 0
    worst_component = worst_distance = 0.0
    for item in labelled():
        analysis = analysis_of(item.file, max_side=640)
        face = analysis.main_face
        if face is None or face.landmarks is None:
            continue
        ours = face_descriptor(analysis.rgb, face)
        expected = np.asarray(net.compute_face_descriptor(analysis.rgb, alignment_shape(face), 0))
        worst_component = max(worst_component, float(np.abs(ours - expected).max()))
        worst_distance = max(worst_distance, float(np.linalg.norm(ours - expected)))
        compared += 1
    assert compared >= 70  # 86 labelled images; a few hold no findable face
    assert worst_component <= MAX_COMPONENT
    assert worst_distance <= MAX_DISTANCE
