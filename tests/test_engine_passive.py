"""Passive attack detection by the models' own contracts: OpenCV's resize without antialiasing, the authors'
crop rule, MiniFAS-128's reflected square crop, the shipped weights and their
digests, the authors' own samples, and the fusion with MiniFAS-128 on and off."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from liveness.engine import engine_health, passive
from liveness.engine.analysis import analyze_rgb, load_rgb
from liveness.engine.models import EngineConfigurationError, model_file_problems, reset_models
from tests.engine_support import analysis_of, decoded
from tests.helpers import LIVE_SAMPLE, PRINT_ATTACK, SCREEN_ATTACK, require_testdata
from tests.test_settings import ROOT


@pytest.fixture
def fresh_passive() -> Iterator[None]:
    """Forget the loaded models before and after: these tests change the configured files."""
    reset_models()
    yield
    reset_models()


# --- the resize: OpenCV's bilinear, as the authors ran it -------------------------------------------------


def test_minifasnet_crop_resizes_without_antialiasing():
    # Two taps per output pixel, whatever the shrink factor (OpenCV's INTER_LINEAR, as the authors' code):
    # a lone bright pixel between the sampling points vanishes, where Pillow's filtered resize would spread it.
    image = np.zeros((801, 801, 3), dtype=np.uint8)
    image[400, 400] = 255
    crop = passive.minifasnet_crop(image, (300, 300, 500, 500), 4.0)
    assert crop.shape == (passive.MINIFASNET_SIDE, passive.MINIFASNET_SIDE, 3)
    assert crop.max() == 0
    assert np.asarray(Image.fromarray(image).resize((80, 80), Image.Resampling.BILINEAR)).max() > 0


# --- the authors' crop rule --------------------------------------------------------------------------------


def reference_new_box(src_w: int, src_h: int, bbox: tuple[int, int, int, int], scale: float) -> tuple[int, ...]:
    """Silent-Face-Anti-Spoofing src/generate_patches.py CropImage._get_new_box, transcribed line by line
    (bbox = x, y, w, h)."""
    x, y, box_w, box_h = bbox
    scale = min((src_h - 1) / box_h, min((src_w - 1) / box_w, scale))
    new_width = box_w * scale
    new_height = box_h * scale
    center_x, center_y = box_w / 2 + x, box_h / 2 + y
    left_top_x = center_x - new_width / 2
    left_top_y = center_y - new_height / 2
    right_bottom_x = center_x + new_width / 2
    right_bottom_y = center_y + new_height / 2
    if left_top_x < 0:
        right_bottom_x -= left_top_x
        left_top_x = 0
    if left_top_y < 0:
        right_bottom_y -= left_top_y
        left_top_y = 0
    if right_bottom_x > src_w - 1:
        left_top_x -= right_bottom_x - src_w + 1
        right_bottom_x = src_w - 1
    if right_bottom_y > src_h - 1:
        left_top_y -= right_bottom_y - src_h + 1
        right_bottom_y = src_h - 1
    return int(left_top_x), int(left_top_y), int(right_bottom_x), int(right_bottom_y)


CROP_CASES = [
    # (image width, height, face box left, top, right, bottom, scale)
    (640, 480, 250, 150, 350, 270, 2.7),  # room all round
    (640, 480, 0, 0, 90, 110, 2.7),  # face at the top-left corner: shifted right and down
    (640, 480, 560, 380, 640, 480, 4.0),  # face at the bottom-right corner: shifted left and up
    (480, 640, 100, 150, 280, 330, 4.0),  # 4.0x does not fit across: the largest scale that does
    (100, 110, 5, 10, 95, 100, 4.0),  # face nearly the whole image
    (3, 3, 0, 0, 3, 3, 2.7),  # tiny image, face box the whole of it
    (2, 50, 0, 10, 2, 20, 2.7),  # a two-pixel-wide image
    (1000, 700, 333, 211, 517, 449, 2.7),  # odd sizes: truncation of the edges
]


@pytest.mark.parametrize(("width", "height", "left", "top", "right", "bottom", "scale"), CROP_CASES)
def test_the_crop_box_is_the_authors_rule(
    width: int, height: int, left: int, top: int, right: int, bottom: int, scale: float
):
    box = (left, top, right, bottom)
    ours, used = passive.minifasnet_crop_box(width, height, box, scale)
    assert ours == reference_new_box(width, height, (left, top, right - left, bottom - top), scale)
    assert used == pytest.approx(min(scale, (height - 1) / (bottom - top), (width - 1) / (right - left)))
    crop_left, crop_top, crop_right, crop_bottom = ours
    assert 0 <= crop_left <= crop_right <= width - 1
    assert 0 <= crop_top <= crop_bottom <= height - 1
    crop = passive.minifasnet_crop(np.zeros((height, width, 3), dtype=np.uint8), box, scale)
    assert crop.shape == (80, 80, 3)


def test_the_crop_box_matches_the_reference_on_random_boxes():
    rng = np.random.default_rng(11)
    for _ in range(500):
        width, height = (int(v) for v in rng.integers(2, 3000, 2))
        left, right = sorted(int(v) for v in rng.choice(width + 1, 2, replace=False))
        top, bottom = sorted(int(v) for v in rng.choice(height + 1, 2, replace=False))
        scale = float(rng.choice([2.7, 4.0, 1.0]))
        ours, _ = passive.minifasnet_crop_box(width, height, (left, top, right, bottom), scale)
        assert ours == reference_new_box(width, height, (left, top, right - left, bottom - top), scale)


def test_the_model_input_is_opencvs_resize_of_the_authors_crop():

    live = analysis_of(LIVE_SAMPLE)
    assert live.main_face is not None
    bgr = live.rgb[..., ::-1]  # as cv2.imread gives it
    height, width = bgr.shape[:2]
    for scale in (2.7, 4.0):
        left, top, right, bottom = reference_new_box(
            width,
            height,
            (live.main_face.box[0], live.main_face.box[1], live.main_face.width, live.main_face.height),
            scale,
        )
        reference = cv2.resize(np.ascontiguousarray(bgr[top : bottom + 1, left : right + 1]), (80, 80))
        ours = passive.minifasnet_crop(live.rgb, live.main_face.box, scale)[..., ::-1]
        assert np.array_equal(ours, reference)


# --- MiniFAS-128's crop ---------------------------------------------------------------------------------------


def reference_minifas128_input(cv2: Any, rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """face-antispoof-onnx src/inference/preprocess.py crop() then preprocess(), transcribed (uint8, HWC)."""
    original_height, original_width = rgb.shape[:2]
    x, y, w, h = box[0], box[1], box[2] - box[0], box[3] - box[1]
    max_dim = max(w, h)
    center_x, center_y = x + w / 2, y + h / 2
    x = int(center_x - max_dim * 1.5 / 2)
    y = int(center_y - max_dim * 1.5 / 2)
    crop_size = int(max_dim * 1.5)
    img = rgb[max(0, y) : min(original_height, y + crop_size), max(0, x) : min(original_width, x + crop_size)]
    img = cv2.copyMakeBorder(
        np.ascontiguousarray(img),
        int(max(0, -y)),
        int(max(0, (y + crop_size) - original_height)),
        int(max(0, -x)),
        int(max(0, (x + crop_size) - original_width)),
        cv2.BORDER_REFLECT_101,
    )
    ratio = 128.0 / max(img.shape[:2])
    scaled = tuple(int(v * ratio) for v in img.shape[:2])
    interpolation = cv2.INTER_LANCZOS4 if ratio > 1.0 else cv2.INTER_AREA
    img = cv2.resize(img, (scaled[1], scaled[0]), interpolation=interpolation)
    dh, dw = 128 - scaled[0], 128 - scaled[1]
    return cv2.copyMakeBorder(img, dh // 2, dh - dh // 2, dw // 2, dw - dw // 2, cv2.BORDER_REFLECT_101)


def test_minifas128_crop_reflects_at_the_border_as_the_reference_does():

    live = analysis_of(LIVE_SAMPLE)
    assert live.main_face is not None
    rgb = live.rgb
    height, width = rgb.shape[:2]
    cases = {
        "face in the middle, shrunk (INTER_AREA)": live.main_face.box,
        "face at the top-left corner": (0, 0, 200, 220),
        "face at the bottom-right corner": (width - 150, height - 170, width, height),
        "small face, enlarged (INTER_LANCZOS4)": (200, 300, 260, 370),
        "crop wider than the image": (0, 100, width, 100 + width),
    }
    for what, box in cases.items():
        (x, y, side), padding = passive.minifas128_crop_geometry(width, height, box)
        ours = passive.minifas128_crop(rgb, box)
        reference = reference_minifas128_input(cv2, rgb, box)
        assert ours.shape == reference.shape == (128, 128, 3), what
        assert int(np.abs(ours.astype(int) - reference).max()) <= 1, what
        if what.startswith(("face at", "crop wider")):
            assert any(padding), what
    # The reflected band mirrors the image without repeating the edge row (BORDER_REFLECT_101).
    (x, y, side), (pad_top, _, pad_left, _) = passive.minifas128_crop_geometry(width, height, (0, 0, 200, 220))
    assert (x, y, side) == (-65, -55, 330)  # the longer side 220 x 1.5, centred on (100, 110)
    assert (pad_top, pad_left) == (55, 65)
    square = cv2.copyMakeBorder(rgb[:275, :265], pad_top, 0, pad_left, 0, cv2.BORDER_REFLECT_101)
    assert np.array_equal(square[pad_top - 1], rgb[1, np.r_[65:0:-1, 0:265]])


def test_minifas128_crop_of_a_face_larger_than_the_image():
    rgb = np.random.default_rng(5).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    crop = passive.minifas128_crop(rgb, (0, 0, 30, 40))
    assert crop.shape == (128, 128, 3)


# --- shipped weights and digests ------------------------------------------------------------------------


def test_the_shipped_files_carry_their_recorded_digests_and_provenance():
    for path in (*passive.SHIPPED_MINIFASNET, passive.SHIPPED_MINIFAS128):
        assert passive.file_sha256(path) == passive.RECORDED_SHA256[path.name]
        source = (path.parent / "SOURCE.md").read_text()
        assert passive.RECORDED_SHA256[path.name] in source
        assert "Apache License" in (path.parent / "LICENSE").read_text()


def test_a_known_model_name_with_another_digest_is_refused(settings, tmp_path: Path, fresh_passive: None):
    impostor = tmp_path / "MiniFASNetV2.onnx"
    shutil.copyfile(passive.SHIPPED_MINIFASNET[1], impostor)  # a valid model, but V1SE's bytes
    settings.LOCAL_ENGINE_PASSIVE_MODELS = [str(impostor)]
    expected = f"passive model {impostor} has sha256 {passive.RECORDED_SHA256['MiniFASNetV1SE.onnx']}"
    assert [p for p in model_file_problems() if p.startswith("passive model")] == [
        f"{expected}, not the recorded {passive.RECORDED_SHA256['MiniFASNetV2.onnx']}: refusing to load it"
    ]
    with pytest.raises(EngineConfigurationError, match=str(impostor)):
        passive.load_passive_models()
    with pytest.raises(EngineConfigurationError, match="not the recorded"):
        engine_health()


def test_a_tampered_minifas128_is_refused_when_enabled(settings, tmp_path: Path, fresh_passive: None):
    tampered = tmp_path / "best_model.onnx"
    content = bytearray(passive.SHIPPED_MINIFAS128.read_bytes())
    content[-1] ^= 1
    tampered.write_bytes(bytes(content))
    settings.LOCAL_ENGINE_MINIFAS128 = True
    settings.LOCAL_ENGINE_MINIFAS128_MODEL = str(tampered)
    with pytest.raises(EngineConfigurationError, match=f"passive model {tampered} has sha256"):
        passive.load_passive_models()
    settings.LOCAL_ENGINE_MINIFAS128 = False  # off: the file is not even looked at
    reset_models()
    assert passive.load_passive_models().minifas128 is None


def test_a_model_under_another_name_loads_unverified_and_health_says_so(settings, tmp_path: Path, fresh_passive: None):
    own = tmp_path / "MiniFASNetV2-retrained.onnx"
    shutil.copyfile(passive.SHIPPED_MINIFASNET[0], own)
    settings.LOCAL_ENGINE_PASSIVE_MODELS = [str(own)]
    assert not [p for p in model_file_problems() if "passive" in p]
    models = passive.load_passive_models()
    assert [(m.name, m.crop_scale, m.verified) for m in models] == [("MiniFASNetV2", 2.7, False)]
    report = engine_health()
    assert report["passive_unverified"] == [str(own)]
    assert report["passive_models"] == ["MiniFASNetV2"]


def test_the_shipped_defaults_load_from_clean_settings(tmp_path: Path):
    code = (
        "from django.conf import settings; from liveness.engine import passive; "
        "m = passive.load_passive_models(); "
        "print(settings.LOCAL_ENGINE_PASSIVE_MODELS, settings.LOCAL_ENGINE_MINIFAS128); "
        "print([(x.name, x.verified) for x in m], passive.passive_health()['passive_fusion'])"
    )
    # No LOCAL_ENGINE_* variable and no ../shared on any path: what a fresh clone anywhere gets.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LOCAL_ENGINE_", "SECRET_KEY"))}
    env.update(KYC_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="kyc_portal.settings.dev")
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    configured, loaded = result.stdout.strip().splitlines()[-2:]
    shipped = [str(p) for p in passive.SHIPPED_MINIFASNET]
    assert configured == f"{shipped} False"
    assert all(Path(p).is_relative_to(ROOT / "liveness" / "engine" / "weights") for p in shipped)
    assert loaded == f"[('MiniFASNetV2', True), ('MiniFASNetV1SE', True)] {passive.FUSION_MINIFASNET}"


# --- the authors' samples, through the engine's own detection ------------------------------------------------


def test_the_authors_samples_are_scored_in_their_exif_orientation():
    # The samples are stored 640x480 with EXIF orientation 6. The reference test.py reads them with
    # cv2.imread (IMREAD_COLOR applies EXIF orientation since OpenCV 3.1) and refuses any picture whose
    # width/height is not 3/4: it scored them upright, 480 wide and 640 high, as the engine does.
    for relative in (LIVE_SAMPLE, PRINT_ATTACK, SCREEN_ATTACK):
        raw = Image.open(require_testdata() / relative)
        assert (raw.size, raw.getexif().get(0x0112)) == ((640, 480), 6)
        assert load_rgb((require_testdata() / relative).read_bytes()).shape == (640, 480, 3)
    read_by_opencv = cv2.imread(str(require_testdata() / LIVE_SAMPLE))
    assert read_by_opencv is not None
    assert read_by_opencv.shape == (640, 480, 3)


def test_the_authors_samples_come_out_as_their_reference_code_says():
    live = analysis_of(LIVE_SAMPLE, passive=True).passive
    printed = analysis_of(PRINT_ATTACK, passive=True).passive
    screen = analysis_of(SCREEN_ATTACK, passive=True).passive
    assert live is not None
    assert printed is not None
    assert screen is not None
    assert live["fusion"] == passive.FUSION_MINIFASNET
    assert live["real_probability"] > 0.95  # the reference calls it a real face at ~0.99
    for attack in (printed, screen):
        assert attack["real_probability"] < 0.45  # the reference: fake
        assert attack["real_probability"] < live["real_probability"] - 0.5


# --- fusion with MiniFAS-128 ----------------------------------------------------------------------------------


def test_minifas128_off_by_default_and_fused_by_the_mean_of_the_two_families_when_on(settings, fresh_passive: None):
    live = analysis_of(LIVE_SAMPLE)
    assert live.main_face is not None
    box = live.main_face.box
    off = passive.assess_passive(live.rgb, box)
    assert set(off["models"]) == {"MiniFASNetV2", "MiniFASNetV1SE"}
    assert off["fusion"] == passive.FUSION_MINIFASNET
    assert off["real_probability"] == pytest.approx(np.mean(list(off["models"].values())), abs=1e-4)

    settings.LOCAL_ENGINE_MINIFAS128 = True
    reset_models()
    on = passive.assess_passive(live.rgb, box)
    assert on["fusion"] == passive.FUSION_WITH_MINIFAS128
    models = on["models"]
    assert set(models) == {"MiniFASNetV2", "MiniFASNetV1SE", "MiniFAS128"}
    ensemble = (models["MiniFASNetV2"] + models["MiniFASNetV1SE"]) / 2
    assert on["real_probability"] == pytest.approx((ensemble + models["MiniFAS128"]) / 2, abs=1e-4)
    assert models["MiniFASNetV2"] == off["models"]["MiniFASNetV2"]
    assert on["crop_scales"]["MiniFAS128"]["nominal"] == 1.5
    assert engine_health()["passive_models"] == ["MiniFASNetV2", "MiniFASNetV1SE", "MiniFAS128"]

    # MiniFAS-128 on its own contract says the authors' attacks are attacks too.
    for relative in (PRINT_ATTACK, SCREEN_ATTACK):
        attack = analysis_of(relative)
        assert attack.main_face is not None
        assert passive.assess_passive(attack.rgb, attack.main_face.box)["models"]["MiniFAS128"] < 0.1


def test_without_any_model_passive_detection_says_it_is_unavailable(settings, fresh_passive: None):
    settings.LOCAL_ENGINE_PASSIVE_MODELS = []
    rgb = decoded(LIVE_SAMPLE)
    assert passive.assess_passive(rgb, (100, 100, 300, 300)) == {
        "available": False,
        "message": "passive attack detection unavailable (no model configured)",
        "real_probability": None,
    }
    assert analyze_rgb(rgb).passive == passive.assess_passive(rgb, (0, 0, 10, 10))
