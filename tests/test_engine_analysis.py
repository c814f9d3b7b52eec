"""One image through the engine: faces and boxes (MediaPipe detection and mesh), quality bounds, the passive
attack model."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from liveness.engine import passive as engine_passive
from liveness.engine.analysis import analyze_image, analyze_rgb, load_rgb
from liveness.engine.passive import PassiveModels, assess_passive, minifasnet_crop, minifasnet_crop_box
from tests.engine_support import (
    HIGH_RESOLUTION,
    ID_USA_WITH_FRONT,
    analysis_of,
    blur,
    crop_fraction,
    darken,
    decoded,
    jpeg_bytes,
    labelled,
    png_bytes,
    require_passive_models,
    transformed,
)
from tests.helpers import LIVE_SAMPLE
from tests.helpers import testdata_bytes as shared_bytes


def test_a_face_is_found_on_every_genuine_image():
    missed = [item.file for item in labelled("genuine") if analysis_of(item.file).face_outcome != "one_face"]
    assert missed == []


MULTI_FACE_COUNTS = {  # counted by eye
    "multi-face/deepface__tests_unit_dataset_selfie-many-people.jpg": 4,
    "multi-face/face_recognition__examples_knn_examples_test_kit_with_rose.jpg": 2,
    "multi-face/face_recognition__examples_knn_examples_test_obama_and_biden.jpg": 2,
    "multi-face/face_recognition__examples_two_people.jpg": 2,
}


def test_the_multi_face_images_are_flagged_with_every_face():
    items = labelled("other-multiface")
    assert {item.file for item in items} == set(MULTI_FACE_COUNTS)
    for item in items:
        analysis = analysis_of(item.file)
        assert analysis.face_outcome == "multiple_faces", item.file
        assert len(analysis.faces) == MULTI_FACE_COUNTS[item.file], item.file
        # Every face carries its own mesh, inside its own box.
        for face in analysis.faces:
            assert face.landmarks is not None
            left, top, right, bottom = face.box
            nose = face.landmarks[1]
            assert left <= nose[0] <= right, item.file
            assert top <= nose[1] <= bottom, item.file


def test_the_portrait_on_each_id_document_is_found():
    documents = labelled("id-document")
    with_portrait = [d for d in documents if d.expects_face]
    without = [d for d in documents if not d.expects_face and d.file != ID_USA_WITH_FRONT]
    assert len(with_portrait) == 14
    assert [d.file for d in with_portrait if len(analysis_of(d.file).faces) != 1] == []
    # Back sides (MRZ only) hold no face, and the engine finds none.
    assert without
    assert [d.file for d in without if analysis_of(d.file).faces] == []


def test_a_blank_image_has_no_face_and_no_measurements():
    analysis = analyze_rgb(np.full((240, 320, 3), 128, dtype=np.uint8))
    assert analysis.face_outcome == "no_face"
    assert (analysis.quality, analysis.pose, analysis.eyes, analysis.passive) == (None, None, None, None)
    assert analysis.details()["face_count"] == 0


def test_boxes_from_the_downscaled_detection_are_in_original_pixels():
    big = analysis_of(HIGH_RESOLUTION)  # 4352x2903, detected on a 1024-px copy
    small = analyze_rgb(decoded(HIGH_RESOLUTION, 1088), with_passive=False)
    scale = big.width / small.width
    assert big.width == 4352
    assert big.main_face is not None
    assert small.main_face is not None
    for big_edge, small_edge in zip(big.main_face.box, small.main_face.box, strict=True):
        assert big_edge == pytest.approx(small_edge * scale, abs=0.06 * big.main_face.width)
    # The landmarks are measured on the original: they sit inside the original-pixel box.
    assert big.main_face.landmarks is not None
    left, top, right, bottom = big.main_face.box
    inside = (big.main_face.landmarks[:, 0] > left - 50) & (big.main_face.landmarks[:, 0] < right + 50)
    assert inside.all()
    assert top < big.main_face.landmarks[1, 1] < bottom  # the nose tip


def test_the_exif_orientation_is_applied_before_detection():
    # The live sample is stored 640x480 with an EXIF rotation: upright, it is 480x640.
    content = shared_bytes(LIVE_SAMPLE)
    with Image.open(io.BytesIO(content)) as stored:
        assert stored.size == (640, 480)
    analysis = analyze_image(content, with_passive=False)
    assert (analysis.width, analysis.height) == (480, 640)
    assert analysis.face_outcome == "one_face"


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P"])
@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_load_rgb_gives_the_oriented_rgb_pixels_whatever_the_mode_and_rotation(mode: str, orientation: int):
    pixels = np.random.default_rng(orientation).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, format="PNG", exif=exif)
    upright = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_270, 8: Image.Transpose.ROTATE_90}
    expected = image.transpose(upright[orientation]) if orientation in upright else image
    loaded = load_rgb(out.getvalue())
    assert loaded.dtype == np.uint8
    assert np.array_equal(loaded, np.asarray(expected.convert("RGB")))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_jpeg_is_decoded_by_opencv_to_the_same_oriented_pixels_as_pillow(monkeypatch, orientation: int):
    from liveness.engine import analysis as engine_analysis

    pixels = np.random.default_rng(orientation).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90, exif=exif)
    with Image.open(io.BytesIO(out.getvalue())) as opened:
        expected = np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
    decodes = []
    imdecode = engine_analysis.cv2.imdecode

    def counted(*args, **kwargs):
        decodes.append(1)
        return imdecode(*args, **kwargs)

    monkeypatch.setattr(engine_analysis.cv2, "imdecode", counted)
    loaded = load_rgb(out.getvalue())
    assert decodes == [1]  # OpenCV, not Pillow
    assert loaded.dtype == np.uint8
    assert np.array_equal(loaded, expected)


def test_a_truncated_jpeg_is_refused_as_pillow_refuses_it_not_padded_with_grey():
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(out, format="JPEG")
    with pytest.raises(OSError, match="truncated"):
        load_rgb(out.getvalue()[: len(out.getvalue()) * 2 // 3])


# --- quality ----------------------------------------------------------------------------------------


def test_a_sharp_well_lit_face_is_usable():
    quality = analysis_of(LIVE_SAMPLE).quality
    assert quality is not None
    assert quality.usable
    assert quality.reasons == []
    assert quality.checks["sharpness"]["bound"] == ">= 40.0"


def test_blur_lowers_sharpness_below_its_bound():
    sharp = analysis_of(LIVE_SAMPLE).quality
    blurred = analyze_rgb(transformed(LIVE_SAMPLE, blur(4)), with_passive=False).quality
    assert sharp is not None
    assert blurred is not None
    assert blurred.sharpness < sharp.sharpness / 3
    assert "blurred" in blurred.reasons
    assert not blurred.usable


def test_darkening_fails_exposure():
    dark = analyze_rgb(transformed(LIVE_SAMPLE, darken(0.3)), with_passive=False)
    assert dark.quality is not None
    assert "too_dark" in dark.quality.reasons
    assert dark.quality.checks["exposure_dark"]["passed"] is False


def test_overexposure_fails_exposure():
    bright = analyze_rgb(transformed(LIVE_SAMPLE, darken(2.2)), with_passive=False)
    if bright.quality is None:
        pytest.fail("the face should still be found when brightened")
    assert {"too_bright", "clipped"} & set(bright.quality.reasons)


def test_a_small_face_fails_the_size_bound():
    tiny = analyze_rgb(transformed(LIVE_SAMPLE, max_side=200), with_passive=False)
    assert tiny.quality is not None
    assert "face_too_small" in tiny.quality.reasons
    assert tiny.quality.checks["face_size"]["value"] < 80


def test_cropping_the_face_away_leaves_no_face():
    # Keep only the bottom fifth of the picture (shoulders): the face is gone.
    assert analyze_rgb(transformed(LIVE_SAMPLE, crop_fraction(0, 0.8, 1, 1)), with_passive=False).faces == []


def test_the_details_are_json_shaped_for_the_console():
    details = analysis_of(LIVE_SAMPLE).details()
    assert details["face_outcome"] == "one_face"
    assert set(details["main_face"]["box"]) == {"left", "top", "right", "bottom"}
    assert set(details["pose"]) >= {"yaw", "pitch", "roll"}
    assert details["eyes"]["state"] == "open"
    assert details["parameters"]["left"]["matched"] is True


def test_id_usa_front_side_portrait_is_found_although_its_label_says_none():
    # Both sides of the card are scanned; the labels' note only describes the back.
    assert analysis_of(ID_USA_WITH_FRONT).faces


# --- passive attack model ---------------------------------------------------------------------------


# The authors' own samples (live, print, screen) are in tests/test_engine_passive.py.


def test_the_configured_models_are_averaged():
    require_passive_models()
    passive = analysis_of(LIVE_SAMPLE, passive=True).passive
    assert passive is not None
    per_model = passive["models"]
    assert set(per_model) == {"MiniFASNetV2", "MiniFASNetV1SE"}
    assert passive["real_probability"] == pytest.approx(np.mean(list(per_model.values())), abs=1e-4)
    scales = passive["crop_scales"]
    assert (scales["MiniFASNetV2"]["nominal"], scales["MiniFASNetV1SE"]["nominal"]) == (2.7, 4.0)
    # The sample is 480 px wide and its face about 200 px: 4.0x (and 2.7x) does not fit across.
    face = analysis_of(LIVE_SAMPLE, passive=True).main_face
    assert face is not None
    assert 160 < face.width < 240
    assert scales["MiniFASNetV1SE"]["used"] == pytest.approx(min(639 / face.height, 479 / face.width), abs=0.01)


def test_a_very_high_resolution_photo_scores_like_its_downscaled_copy():
    require_passive_models()
    full = analysis_of(HIGH_RESOLUTION, passive=True).passive
    small = analyze_rgb(decoded(HIGH_RESOLUTION, 1024)).passive
    assert full is not None
    assert small is not None
    assert full["real_probability"] > 0.8  # a genuine photo, shrunk ~40x into the 80x80 input
    assert full["real_probability"] == pytest.approx(small["real_probability"], abs=0.1)


def test_an_image_too_small_for_the_full_crop_uses_the_largest_scale_that_fits():
    require_passive_models()
    live = analysis_of(LIVE_SAMPLE)
    assert live.main_face is not None
    left, top, right, bottom = live.main_face.box
    pad = (right - left) // 4
    tight = decoded(LIVE_SAMPLE)[top - pad : bottom + pad, left - pad : right + pad]
    analysis = analyze_rgb(np.ascontiguousarray(tight))
    assert analysis.passive is not None
    assert analysis.passive["reduced_crop_scale"] is True
    used = analysis.passive["crop_scales"]["MiniFASNetV1SE"]["used"]
    assert 1.0 < used < 2.0
    assert 0.0 <= analysis.passive["real_probability"] <= 1.0


def test_the_crop_box_never_leaves_the_image():
    (left, top, right, bottom), used = minifasnet_crop_box(100, 110, (5, 10, 95, 100), 4.0)
    assert used == pytest.approx(99 / 90)
    assert (left, top) >= (0, 0)
    assert right <= 99
    assert bottom <= 109
    crop = minifasnet_crop(np.zeros((110, 100, 3), dtype=np.uint8), (5, 10, 95, 100), 4.0)
    assert crop.shape == (80, 80, 3)


def test_without_a_configured_model_passive_detection_says_it_is_unavailable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(engine_passive, "_loaded", PassiveModels())
    live = analysis_of(LIVE_SAMPLE)
    assert live.main_face is not None
    passive = assess_passive(live.rgb, live.main_face.box)
    assert passive == {
        "available": False,
        "message": "passive attack detection unavailable (no model configured)",
        "real_probability": None,
    }


def test_png_with_alpha_and_jpeg_give_the_same_face():
    rgb = transformed(LIVE_SAMPLE, max_side=480)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, dtype=np.uint8)])
    as_png = analyze_image(png_bytes(rgba), with_passive=False)
    as_jpeg = analyze_image(jpeg_bytes(rgb), with_passive=False)
    assert as_png.main_face is not None
    assert as_jpeg.main_face is not None
    assert np.allclose(as_png.main_face.box, as_jpeg.main_face.box, atol=6)


def test_a_very_elongated_image_is_analysed_without_error() -> None:
    # Intake accepts 64 x 140000; downscaling it for detection must not round a side to zero.
    import io as _io

    from PIL import Image as _Image

    from liveness.engine.analysis import analyze_image

    out = _io.BytesIO()
    _Image.new("RGB", (64, 140_000), (128, 128, 128)).save(out, format="PNG")
    analysis = analyze_image(out.getvalue())
    assert analysis.faces == []
    assert analysis.face_outcome == "no_face"
