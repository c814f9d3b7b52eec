"""Frames that are copies of one another: the same picture, its mirror image, a resize or a re-encode.

Pure functions (numpy, Pillow and OpenCV; no models, no Django). Each image is reduced to a small grey
thumbnail (``THUMB_SIDE`` square, area-averaged, which removes what JPEG re-encoding and resizing
change: block noise and high frequencies), normalised to zero mean and unit variance (so a brightness
or contrast shift does not hide a copy), and two thumbnails are compared by their mean absolute
difference. The comparison is made twice: directly (``identical``) and against the other image mirrored
left-right (``mirrored``). A pair at or under ``REPEAT_MAX_DISTANCE`` is a repeat.

This is a heuristic with a measured bound, not a trained model. On ``shared/testdata`` (see the
README, "Repeated frames"): copies (JPEG quality 95..20, resized to 25..200 %, mirrored) measure at
most 0.13; different photos of the same person at least 0.24 (two portraits of one man in the same pose
against the same white wall), all others at least 0.35. Two captures of a perfectly
still subject against a still background can come close to the bound: that is why the finding sends a
case to review and never fails it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps

#: Side of the square grey thumbnail the comparison runs on.
THUMB_SIDE = 48
#: Mean absolute difference of normalised thumbnails at or under which two frames are copies.
REPEAT_MAX_DISTANCE = 0.2

IDENTICAL = "identical"
MIRRORED = "mirrored"

ImageLike = bytes | np.ndarray | Image.Image


@dataclass(frozen=True)
class RepeatedPair:
    """Frames ``first`` < ``second`` (positions in the series) are copies; ``kind`` says how."""

    first: int
    second: int
    kind: str  # identical | mirrored
    distance: float

    def as_dict(self) -> dict[str, object]:
        return {"first": self.first, "second": self.second, "kind": self.kind, "distance": round(self.distance, 4)}


def _to_image(image: ImageLike) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, np.ndarray):
        return Image.fromarray(image)
    with Image.open(io.BytesIO(image)) as opened:
        return ImageOps.exif_transpose(opened).copy()


def _grey(image: ImageLike) -> Image.Image:
    """The image in grey levels. Decoded RGB pixels go through OpenCV (ITU-R 601 weights, as Pillow's "L",
    rounded in 14 bits instead of 16: thumbnails within 1e-4 of Pillow's on shared/testdata) without the full
    copy ``Image.fromarray`` makes of an RGB array, at half the cost of a 7-frame series' thumbnails."""
    if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8:
        return Image.fromarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
    return _to_image(image).convert("L")


def thumbnail(image: ImageLike, *, side: int = THUMB_SIDE) -> np.ndarray:
    """The normalised grey thumbnail (side x side float32, mean 0, std 1; all zeros for a flat image)."""
    grey = _grey(image)
    # Area averaging (Pillow's BOX filter after a reducing pass) is what makes resizes agree.
    small = np.asarray(grey.resize((side, side), Image.Resampling.BOX, reducing_gap=2.0), dtype=np.float32)
    centred = small - small.mean()
    spread = float(centred.std())
    return centred / spread if spread > 1e-6 else np.zeros_like(centred)


def thumbnail_distances(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(direct, mirrored) mean absolute difference between two thumbnails from :func:`thumbnail`."""
    direct = float(np.abs(a - b).mean())
    mirrored = float(np.abs(a - b[:, ::-1]).mean())
    return direct, mirrored


def frame_distance(a: ImageLike, b: ImageLike) -> tuple[float, float]:
    """(direct, mirrored) distance between two images."""
    return thumbnail_distances(thumbnail(a), thumbnail(b))


def find_repeats(images: Sequence[ImageLike], *, max_distance: float = REPEAT_MAX_DISTANCE) -> list[RepeatedPair]:
    """Every pair of images in the series that are copies of one another, in (first, second) order.

    A pair close both directly and mirrored (a symmetric picture) is reported once, as the closer kind.
    """
    thumbs = [thumbnail(image) for image in images]
    found: list[RepeatedPair] = []
    for i in range(len(thumbs)):
        for j in range(i + 1, len(thumbs)):
            direct, mirrored = thumbnail_distances(thumbs[i], thumbs[j])
            if min(direct, mirrored) > max_distance:
                continue
            if direct <= mirrored:
                found.append(RepeatedPair(i, j, IDENTICAL, direct))
            else:
                found.append(RepeatedPair(i, j, MIRRORED, mirrored))
    return found


def repeated_frame_finding(images: Sequence[ImageLike]) -> dict[str, object] | None:
    """The ``repeated_frame`` finding for a case's frames (in evidence order), or None when no two are copies.

    For the engine's scoring of active cases: a case with this finding goes to review.
    """
    pairs = find_repeats(images)
    if not pairs:
        return None
    return {
        "code": "repeated_frame",
        "pairs": [pair.as_dict() for pair in pairs],
        "max_distance": REPEAT_MAX_DISTANCE,
        "heuristic": True,
        "heuristic_label": "copies found by a thumbnail distance with a measured bound, not a trained model",
    }
