"""MediaPipe's face models as the engine runs them: anchors, decoding, weighted NMS, the letterbox, the mesh
region, the detection policy (both detectors, mesh confirmation, tiles) and one interpreter set per thread."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from liveness.engine import mediapipe
from liveness.engine.mediapipe import (
    FULL_RANGE,
    KP_LEFT_EYE,
    KP_RIGHT_EYE,
    MESH_SIZE,
    SHORT_RANGE,
    Detection,
    crop_points_to_image,
    decode,
    face_roi,
    find_faces,
    letterbox,
    roi_to_crop_matrix,
    ssd_anchor_centres,
    tiles,
    weighted_nms,
)
from liveness.engine.models import load_models
from tests.engine_support import OBAMA_TURNED_TO_HIS_LEFT, analysis_of, decoded
from tests.helpers import LIVE_SAMPLE

# --- anchors and decoding (no model) -------------------------------------------------------------------


def test_short_range_anchors_follow_the_graph_options():
    anchors = ssd_anchor_centres(SHORT_RANGE)
    assert anchors.shape == (896, 2)  # 16x16 cells x 2 anchors + 8x8 cells x 6 anchors
    # Stride 8: the first cell's two anchors sit at its centre, 1/32 of the input from the corner.
    assert anchors[0] == pytest.approx((0.5 / 16, 0.5 / 16))
    assert anchors[1] == pytest.approx(anchors[0])
    assert anchors[2] == pytest.approx((1.5 / 16, 0.5 / 16))
    # The three stride-16 layers share one 8x8 map: six anchors per cell from index 512 on.
    assert anchors[512:518] == pytest.approx(np.tile([0.5 / 8, 0.5 / 8], (6, 1)))
    assert anchors[-1] == pytest.approx((7.5 / 8, 7.5 / 8))


def test_full_range_anchors_are_one_per_cell_of_a_48_grid():
    anchors = ssd_anchor_centres(FULL_RANGE)
    assert anchors.shape == (2304, 2)
    assert anchors[0] == pytest.approx((0.5 / 48, 0.5 / 48))
    assert anchors[1] == pytest.approx((1.5 / 48, 0.5 / 48))
    assert anchors[48] == pytest.approx((0.5 / 48, 1.5 / 48))


def test_decoding_offsets_boxes_and_keypoints_from_their_anchor_and_applies_the_sigmoid():
    anchors = ssd_anchor_centres(SHORT_RANGE)
    raw = np.zeros((896, 16), dtype=np.float32)
    scores = np.full((896, 1), -10.0, dtype=np.float32)
    k = 600
    # Centre 6.4 px right and 12.8 px below the anchor, 32x64 px, right eye 3.2 px left of the anchor.
    raw[k, :4] = (6.4, 12.8, 32.0, 64.0)
    raw[k, 4:6] = (-3.2, 0.0)
    scores[k] = 2.0
    boxes, keypoints, probabilities = decode(raw, scores, anchors, SHORT_RANGE)
    assert len(boxes) == 1
    cx, cy = anchors[k] + np.array([6.4, 12.8]) / 128
    assert boxes[0] == pytest.approx([cx - 0.125, cy - 0.25, cx + 0.125, cy + 0.25], abs=1e-6)
    assert keypoints[0, 0] == pytest.approx(anchors[k] + np.array([-3.2 / 128, 0.0]), abs=1e-6)
    assert probabilities[0] == pytest.approx(1 / (1 + math.exp(-2.0)))
    # A logit below the model's bound (0.5 after the sigmoid) is dropped; a huge one does not overflow.
    scores[k] = -0.01
    assert len(decode(raw, scores, anchors, SHORT_RANGE)[0]) == 0
    scores[k] = 1e6
    assert decode(raw, scores, anchors, SHORT_RANGE)[2][0] == pytest.approx(1.0)


def test_weighted_nms_averages_overlapping_detections_by_score_and_keeps_separate_ones():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [3.0, 3.0, 4.0, 4.0]])
    keypoints = np.zeros((3, 6, 2))
    keypoints[1] += 1.0
    scores = np.array([0.9, 0.3, 0.6])
    kept = weighted_nms(boxes, keypoints, scores)
    assert len(kept) == 2
    box, points, score = kept[0]
    assert score == 0.9  # the best one's score
    assert box == pytest.approx([0.025, 0.0, 1.025, 1.0])  # (0.9 * 0 + 0.3 * 0.1) / 1.2
    assert points[0] == pytest.approx([0.25, 0.25])
    assert kept[1][0] == pytest.approx(boxes[2])


def test_the_letterbox_keeps_the_aspect_ratio_and_centres_the_picture():
    tensor, scale, pad_x, pad_y = letterbox(np.full((100, 400, 3), 200, dtype=np.uint8), 128)
    assert tensor.shape == (128, 128, 3)
    assert scale == pytest.approx(128 / 400)
    assert (pad_x, pad_y) == (0, 48)
    assert tensor[0, 0, 0] == 0  # black bars
    assert tensor[64, 64, 0] == 200  # the picture in the middle


def test_shrink_averages_on_exact_multiples_and_keeps_the_geometry(monkeypatch):
    # 2333x1434 -> 1024x629 (a factor of 2.28): averaged by 2 on 2332x1434, then warped onto the whole width.
    width, height, size = 2333, 1434, (1024, 629)
    ramp = (np.arange(width, dtype=np.float64) * 255 / (width - 1)).round().astype(np.uint8)
    rgb = np.repeat(np.repeat(ramp[np.newaxis, :, np.newaxis], height, axis=0), 3, axis=2)
    area_sources = []
    resize = mediapipe.cv2.resize

    def spy(src, dsize, *args, **kwargs):
        if kwargs.get("interpolation") == mediapipe.cv2.INTER_AREA:
            area_sources.append(((src.shape[1], src.shape[0]), dsize))
        return resize(src, dsize, *args, **kwargs)

    monkeypatch.setattr(mediapipe.cv2, "resize", spy)
    small = mediapipe.shrink(rgb, size)
    assert small.shape == (629, 1024, 3)
    # OpenCV's fast area path: the source sides are exact multiples of the output's.
    assert area_sources == [((2332, 1434), (1166, 717))]
    # Neither shifted nor stretched by the dropped column: each output pixel shows the ramp at its centre's
    # place in the whole original (the last column, beside the dropped one, excepted).
    centres = (np.arange(size[0]) + 0.5) * width / size[0] - 0.5
    expected = centres * 255 / (width - 1)
    assert np.abs(small[314, :-1, 0] - expected[:-1]).max() <= 1.0


def test_the_mesh_region_is_square_scaled_rotated_by_the_eyes_and_round_trips():
    keypoints = np.zeros((6, 2))
    # The subject's right eye on the image's left, the left eye up and to the right: a face tilted 30°.
    keypoints[KP_RIGHT_EYE] = (100.0, 200.0)
    keypoints[KP_LEFT_EYE] = (100.0 + 50 * math.cos(math.radians(30)), 200.0 - 50 * math.sin(math.radians(30)))
    detection = Detection((80.0, 150.0, 200.0, 250.0), keypoints, 0.9, "short_range")
    roi = face_roi(detection)
    assert roi.centre == (140.0, 200.0)
    assert roi.size == pytest.approx(120 * 1.5)  # the longer side, x1.5
    assert math.degrees(roi.rotation) == pytest.approx(-30.0)
    matrix = roi_to_crop_matrix(roi, 1.0)
    # The region's centre lands in the crop's centre, and crop points map back to where they came from.
    assert matrix @ np.array([140.0, 200.0, 1.0]) == pytest.approx([MESH_SIZE / 2, MESH_SIZE / 2])
    image_point = np.array([170.0, 180.0])
    crop_point = matrix @ np.append(image_point, 1.0)
    back = crop_points_to_image(np.array([[*crop_point, 0.0]]), roi)
    assert back[0, :2] == pytest.approx(image_point, abs=1e-3)


def test_tiles_cover_the_picture_with_overlap():
    covered = np.zeros((341, 500), dtype=int)
    parts = tiles(500, 341)
    for x, y, side in parts:
        assert side == 250
        covered[y : y + side, x : x + side] += 1
    assert covered.min() >= 1
    assert len(parts) == 6


# --- on the shared photos ------------------------------------------------------------------------------


def _paste(face_rgb: np.ndarray, canvas_size: tuple[int, int], at: tuple[int, int]) -> np.ndarray:
    canvas = np.full((canvas_size[1], canvas_size[0], 3), 118, dtype=np.uint8)
    x, y = at
    canvas[y : y + face_rgb.shape[0], x : x + face_rgb.shape[1]] = face_rgb
    return canvas


@pytest.mark.parametrize(
    ("face_width", "at"),
    [(60, (40, 30)), (110, (800, 60)), (160, (300, 500)), (260, (20, 180)), (420, (400, 40))],
)
def test_a_pasted_face_is_found_where_it_was_put_at_any_size(face_width: int, at: tuple[int, int]):
    from PIL import Image

    live = analysis_of(LIVE_SAMPLE)
    assert live.main_face is not None
    left, top, right, bottom = live.main_face.box
    margin = (right - left) // 2
    crop = decoded(LIVE_SAMPLE)[max(0, top - margin) : bottom + margin, max(0, left - margin) : right + margin]
    origin = (max(0, left - margin), max(0, top - margin))
    scale = face_width / (right - left)
    size = (round(crop.shape[1] * scale), round(crop.shape[0] * scale))
    small = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS))
    canvas = _paste(small, (1280, 960), at)
    expected = np.array(
        [
            (left - origin[0]) * scale + at[0],
            (top - origin[1]) * scale + at[1],
            (right - origin[0]) * scale + at[0],
            (bottom - origin[1]) * scale + at[1],
        ]
    )
    found = find_faces(load_models().faces, canvas, max_side=1024)
    assert len(found) == 1
    box = np.array(found[0].detection.box)
    # The same place (centre within a fifth of the face's width) and the same size (within a quarter).
    centre, expected_centre = (box[:2] + box[2:]) / 2, (expected[:2] + expected[2:]) / 2
    assert centre == pytest.approx(expected_centre, abs=face_width / 5)
    assert 0.75 < (box[2] - box[0]) / (expected[2] - expected[0]) < 1.25
    assert found[0].mesh.presence >= 0.5


def test_a_false_detection_is_dropped_by_the_mesh_and_the_real_face_kept():
    # Behind Obama hangs a picture of the White House: the short-range model scores it 0.71 as a face,
    # the mesh hardly believes it (presence 0.50, below the 0.75 bound), so one face remains.
    models = load_models().faces
    rgb = decoded(OBAMA_TURNED_TO_HIS_LEFT)
    from liveness.engine.mediapipe import working_image

    work, scale = working_image(rgb, 1024)
    raw = models.detect(work, SHORT_RANGE, scale=scale)
    assert len(raw) == 2
    found = find_faces(models, rgb, max_side=1024)
    assert len(found) == 1
    assert found[0].mesh.presence > 0.99


def test_a_small_passport_portrait_is_found_on_a_tile():
    chinese_passport = "id-documents/PassportEye__passporteye_mrz_testdata_100_pass-chn.jpg"
    models = load_models().faces
    rgb = decoded(chinese_passport)
    assert models.detect(rgb, SHORT_RANGE) == []  # a 60-px portrait on a 500-px page: too small whole
    assert models.detect(rgb, FULL_RANGE) == []
    found = find_faces(models, rgb, max_side=1024)
    assert len(found) == 1
    assert found[0].detection.detector == "full_range_tiled"
    left, top, right, _ = found[0].detection.box
    assert 40 < left < 90  # the portrait, on the left
    assert 90 < top < 140
    assert 45 < right - left < 75


def test_concurrent_calls_never_share_an_interpreter_and_get_the_same_answer(monkeypatch: pytest.MonkeyPatch):
    models = load_models().faces
    rgb = decoded(LIVE_SAMPLE)
    expected = [f.detection.box for f in find_faces(models, rgb, max_side=1024)]
    before = models.sets_built
    real_run = mediapipe._Model.run
    guard = threading.Lock()
    inside: dict[int, int] = {}
    most_inside = [0]
    models_in_use: set[int] = set()

    def recording_run(self: mediapipe._Model, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with guard:
            inside[id(self)] = inside.get(id(self), 0) + 1
            most_inside[0] = max(most_inside[0], inside[id(self)])
            models_in_use.add(id(self))
        time.sleep(0.005)  # long enough for another thread to walk in, were it allowed to
        try:
            return real_run(self, tensor)
        finally:
            with guard:
                inside[id(self)] -= 1

    monkeypatch.setattr(mediapipe._Model, "run", recording_run)
    results: list[list[tuple[float, ...]]] = []
    start = threading.Barrier(4)

    def work() -> None:
        start.wait()
        for _ in range(3):
            results.append([f.detection.box for f in find_faces(models, rgb, max_side=1024)])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 12
    assert most_inside[0] == 1  # no interpreter ever ran in two threads at once
    assert len(models_in_use) > 3  # ... yet several sets ran side by side (3 models per set)
    assert models.sets_built <= before + 4  # at most one new set per thread running at the same moment


def test_sets_are_reused_not_rebuilt_per_call():
    models = load_models().faces
    rgb = decoded(LIVE_SAMPLE)
    find_faces(models, rgb, max_side=1024)
    built = models.sets_built
    for _ in range(3):
        other = threading.Thread(target=find_faces, args=(models, rgb), kwargs={"max_side": 1024})
        other.start()
        find_faces(models, rgb, max_side=1024)
        other.join()
    # Two calls at a time need at most one set more than were ever needed, however many threads come and go.
    assert models.sets_built <= max(built, 2)
