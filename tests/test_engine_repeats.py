"""Repeated frames (liveness.engine.repeats): copies, mirrors, resizes and re-encodes are found; genuinely
different photos of one person are not. Real images from ../shared/testdata (skipped when absent)."""

from __future__ import annotations

import csv
import io
import itertools
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from liveness.engine.repeats import (
    IDENTICAL,
    MIRRORED,
    REPEAT_MAX_DISTANCE,
    find_repeats,
    frame_distance,
    repeated_frame_finding,
    thumbnail,
    thumbnail_distances,
)

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
# Files of the set that are themselves copies of another file (the same photo at other sizes, a mirror):
# the function is right to pair them, so they are left out of the "different photos" comparison.
KNOWN_COPIES = {
    "face_recognition__examples_obama-240p.jpg",
    "face_recognition__examples_obama-480p.jpg",
    "face_recognition__examples_obama-720p.jpg",
    "face_recognition__tests_test_images_32bit.png",
    "deepface__tests_unit_dataset_img11_reflection.jpg",
}

needs_testdata = pytest.mark.skipif(not (TESTDATA / "labels.csv").exists(), reason="needs ../shared/testdata")


def _load(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def _jpeg(image: Image.Image, quality: int, scale: float = 1.0) -> bytes:
    if scale != 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _genuine_by_person() -> dict[str, list[Path]]:
    people: dict[str, list[Path]] = defaultdict(list)
    with (TESTDATA / "labels.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row["label"] == "genuine" and Path(row["file"]).name not in KNOWN_COPIES:
                people[row["person_id"]].append(TESTDATA / row["file"])
    return people


@pytest.fixture(scope="module")
def portrait() -> Image.Image:
    path = TESTDATA / "genuine" / "deepface__tests_unit_dataset_img1.jpg"
    if not path.exists():
        pytest.skip("needs ../shared/testdata")
    return _load(path)


def test_thumbnail_is_normalised_and_flat_images_do_not_divide_by_zero() -> None:
    flat = thumbnail(np.full((100, 80, 3), 128, dtype=np.uint8))
    assert not flat.any()
    noisy = thumbnail(np.random.default_rng(1).integers(0, 255, (90, 120, 3), dtype=np.uint8))
    assert abs(float(noisy.mean())) < 1e-4
    assert abs(float(noisy.std()) - 1) < 1e-3


def test_decoded_pixels_and_the_picture_give_the_same_thumbnail(portrait: Image.Image) -> None:
    # RGB arrays take OpenCV's grey conversion (no full copy into Pillow), pictures Pillow's "L": the two
    # differ only in the rounding of the weighted sum.
    from_pixels = thumbnail(np.asarray(portrait))
    from_picture = thumbnail(portrait)
    assert thumbnail_distances(from_pixels, from_picture)[0] < 1e-3


@needs_testdata
@pytest.mark.parametrize(("quality", "scale"), [(95, 1.0), (50, 1.0), (20, 1.0), (85, 0.25), (70, 0.5), (90, 1.5)])
def test_a_re_encoded_or_resized_copy_is_identical(portrait: Image.Image, quality: int, scale: float) -> None:
    original = _jpeg(portrait, 92)
    copy = _jpeg(portrait, quality, scale)
    pairs = find_repeats([original, copy])
    assert [(p.first, p.second, p.kind) for p in pairs] == [(0, 1, IDENTICAL)]
    assert pairs[0].distance <= REPEAT_MAX_DISTANCE


@needs_testdata
@pytest.mark.parametrize(("quality", "scale"), [(92, 1.0), (40, 0.5)])
def test_a_mirror_image_is_found_as_mirrored(portrait: Image.Image, quality: int, scale: float) -> None:
    pairs = find_repeats([_jpeg(portrait, 92), _jpeg(ImageOps.mirror(portrait), quality, scale)])
    assert [(p.first, p.second, p.kind) for p in pairs] == [(0, 1, MIRRORED)]
    direct, mirrored = frame_distance(_jpeg(portrait, 92), _jpeg(ImageOps.mirror(portrait), quality, scale))
    assert mirrored <= REPEAT_MAX_DISTANCE < direct


@needs_testdata
def test_brightness_and_contrast_changes_do_not_hide_a_copy(portrait: Image.Image) -> None:
    brighter = ImageEnhance.Contrast(ImageEnhance.Brightness(portrait).enhance(1.3)).enhance(0.8)
    assert find_repeats([_jpeg(portrait, 90), _jpeg(brighter, 80)])[0].kind == IDENTICAL


@needs_testdata
def test_only_the_copied_frames_of_a_series_are_paired(portrait: Image.Image) -> None:
    others = [_load(p) for p in sorted(_genuine_by_person()["deepface-P03"])[:3]]
    series = [_jpeg(others[0], 90), _jpeg(portrait, 90), _jpeg(others[1], 90), _jpeg(ImageOps.mirror(portrait), 60)]
    series.append(_jpeg(others[2], 90))
    pairs = find_repeats(series)
    assert [(p.first, p.second, p.kind) for p in pairs] == [(1, 3, MIRRORED)]


@needs_testdata
def test_different_photos_of_the_same_person_are_not_repeats() -> None:
    """Every same-person pair in the set (169 pairs less the known copies), mirrored or not."""
    compared = 0
    closest = 1e9
    for paths in _genuine_by_person().values():
        thumbs = [thumbnail(_load(p)) for p in paths]
        for (i, a), (j, b) in itertools.combinations(enumerate(thumbs), 2):
            direct = float(np.abs(a - b).mean())
            mirrored = float(np.abs(a - b[:, ::-1]).mean())
            closest = min(closest, direct, mirrored)
            assert min(direct, mirrored) > REPEAT_MAX_DISTANCE, (paths[i].name, paths[j].name, direct, mirrored)
            compared += 1
    assert compared > 100
    assert closest > REPEAT_MAX_DISTANCE


@needs_testdata
def test_the_set_own_near_duplicates_are_found() -> None:
    """The test set itself holds one photo at 240p and 1080p, and a photo with its mirror: both pairs."""
    genuine = TESTDATA / "genuine"
    pairs = find_repeats(
        [
            (genuine / "face_recognition__examples_obama-240p.jpg").read_bytes(),
            (genuine / "face_recognition__examples_obama-1080p.jpg").read_bytes(),
            (genuine / "deepface__tests_unit_dataset_img11.jpg").read_bytes(),
            (genuine / "deepface__tests_unit_dataset_img11_reflection.jpg").read_bytes(),
        ]
    )
    assert [(p.first, p.second, p.kind) for p in pairs] == [(0, 1, IDENTICAL), (2, 3, MIRRORED)]


@needs_testdata
def test_the_finding_names_the_pairs_and_is_none_without_copies(portrait: Image.Image) -> None:
    other = _load(sorted(_genuine_by_person()["deepface-P03"])[0])
    finding = repeated_frame_finding([_jpeg(portrait, 90), _jpeg(other, 90), _jpeg(portrait, 50, 0.5)])
    assert finding is not None
    assert finding["code"] == "repeated_frame"
    assert finding["heuristic"] is True
    pairs = finding["pairs"]
    assert isinstance(pairs, list)
    assert [(p["first"], p["second"], p["kind"]) for p in pairs] == [(0, 2, IDENTICAL)]
    assert 0 <= pairs[0]["distance"] <= REPEAT_MAX_DISTANCE
    assert repeated_frame_finding([_jpeg(portrait, 90), _jpeg(other, 90)]) is None
