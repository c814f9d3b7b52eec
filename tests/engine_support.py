"""Support for the local-engine tests: the shared images, synthetic variants made in code, cached analyses.

Images are read from ../shared/testdata (never copied into the project); tests that need them skip with a
reason when it is absent. Analyses are cached per process, so the many properties checked on one image
cost one analysis; variants are made from decoded pixels and re-encoded losslessly (PNG).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from liveness.engine.analysis import Face, ImageAnalysis, analyze_rgb
from liveness.engine.evaluation import LabelledImage, read_labels
from liveness.engine.match import MESH_FIVE_POINTS
from liveness.engine.models import load_models
from tests.helpers import require_testdata

OBAMA_TURNED_TO_HIS_RIGHT = "genuine/face_recognition__examples_knn_examples_train_obama_obama2.jpg"  # speaking
OBAMA_TURNED_TO_HIS_LEFT = "genuine/face_recognition__examples_knn_examples_test_obama1.jpg"
OBAMA_CHIN_UP = "genuine/face_recognition__tests_test_images_obama3.jpg"  # mouth closed
OBAMA_FRONTAL = "genuine/face_recognition__examples_obama-720p.jpg"
BIDEN = "genuine/face_recognition__examples_knn_examples_train_biden_biden2.jpg"
HIGH_RESOLUTION = "genuine/deepface__tests_unit_dataset_img49.jpg"  # 4352x2903
UTOPIA_SPECIMENS = (
    "id-documents/PassportEye__passporteye_mrz_testdata_100_pass2-uto.jpg",
    "id-documents/PassportEye__passporteye_mrz_testdata_25_pass-uto.jpg",
    "id-documents/PassportEye__tests_data_passport-td2.jpg",
    "id-documents/PassportEye__tests_data_passport-td3.jpg",
)
OTHER_DOCUMENT_PORTRAITS = (
    "id-documents/PassportEye__passporteye_mrz_testdata_100_pass-hrv.jpg",
    "id-documents/PassportEye__passporteye_mrz_testdata_79_pass-hun.png",
    "id-documents/PassportEye__passporteye_mrz_testdata_100_id-rou.jpg",
)
# Both sides scanned: the front, with its portrait, is in the picture although the labels say "portrait: no".
ID_USA_WITH_FRONT = "id-documents/PassportEye__passporteye_mrz_testdata_33_id-usa.jpg"


def labelled(label: str | None = None) -> list[LabelledImage]:
    items = read_labels(require_testdata())
    return [item for item in items if label is None or item.label == label]


def require_passive_models() -> None:
    """The shipped MiniFASNet models are the default: this skips only where the settings turned them off."""
    configured = [p for p in settings.LOCAL_ENGINE_PASSIVE_MODELS if p]
    if not configured or not all(Path(p).is_file() for p in configured):
        pytest.skip("passive models turned off or moved (LOCAL_ENGINE_PASSIVE_MODELS)")
    if not load_models().passive:
        pytest.skip("no passive model loaded")


@cache
def decoded(relative: str, max_side: int | None = None) -> np.ndarray:
    """The EXIF-oriented RGB pixels of a shared image, optionally downscaled (JPEG decodes at reduced size)."""
    with Image.open(require_testdata() / relative) as image:
        if max_side is not None and image.format == "JPEG":
            image.draft("RGB", (max_side, max_side))
        oriented = ImageOps.exif_transpose(image).convert("RGB")
        if max_side is not None:
            oriented.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return np.asarray(oriented)


Transform = Callable[[Image.Image], Image.Image]


def flip(image: Image.Image) -> Image.Image:
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def rotate(degrees: float) -> Transform:
    """Counter-clockwise by ``degrees`` as displayed, canvas grown so nothing is cut off."""

    def apply(image: Image.Image) -> Image.Image:
        return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128))

    return apply


def blur(radius: float) -> Transform:
    def apply(image: Image.Image) -> Image.Image:
        return image.filter(ImageFilter.GaussianBlur(radius))

    return apply


def darken(factor: float) -> Transform:
    def apply(image: Image.Image) -> Image.Image:
        return ImageEnhance.Brightness(image).enhance(factor)

    return apply


def crop_fraction(left: float, top: float, right: float, bottom: float) -> Transform:
    """Keep the given fractions of the picture."""

    def apply(image: Image.Image) -> Image.Image:
        w, h = image.size
        return image.crop((round(left * w), round(top * h), round(right * w), round(bottom * h)))

    return apply


def png_bytes(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(rgb: np.ndarray, quality: int = 92) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def transformed(relative: str, *transforms: Transform, max_side: int | None = None) -> np.ndarray:
    image = Image.fromarray(decoded(relative, max_side))
    for transform in transforms:
        image = transform(image)
    return np.asarray(image.convert("RGB"))


_analyses: dict[tuple[str, int | None, bool], ImageAnalysis] = {}


def analysis_of(relative: str, *, max_side: int | None = None, passive: bool = False) -> ImageAnalysis:
    """The engine's analysis of a shared image (cached; the descriptor is computed on first request)."""
    key = (relative, max_side, passive)
    if key not in _analyses:
        _analyses[key] = analyze_rgb(decoded(relative, max_side), with_passive=passive)
    return _analyses[key]


def synthetic_face(seed: int) -> tuple[np.ndarray, Face]:
    """A textured image and a face whose five alignment points sit at plausible places (any image will do:
    the chip is cut from the five points, whatever the pixels show)."""
    rng = np.random.default_rng(seed)
    height, width = 480, 640
    image = rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    left, top, side = int(rng.integers(100, 300)), int(rng.integers(60, 160)), int(rng.integers(120, 260))
    tilt = float(rng.uniform(-0.3, 0.3))
    eye_y = top + 0.4 * side
    points = {  # the image's right eye (outer, inner), left eye (outer, inner), nose base
        263: (left + 0.85 * side, eye_y + tilt * 0.35 * side),
        362: (left + 0.6 * side, eye_y + tilt * 0.1 * side),
        33: (left + 0.15 * side, eye_y - tilt * 0.35 * side),
        133: (left + 0.4 * side, eye_y - tilt * 0.1 * side),
        2: (left + 0.5 * side, top + 0.7 * side),
    }
    landmarks = np.zeros((468, 2))
    for index in MESH_FIVE_POINTS:
        landmarks[index] = points[index]
    face = Face(box=(left, top, left + side, top + side), detection_score=0.9, landmarks=landmarks)
    return image, face
