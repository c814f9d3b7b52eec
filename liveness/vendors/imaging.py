"""Re-encoding evidence to fit a vendor's documented input limits, shared by every adapter.

Evidence arrives here already validated, EXIF-oriented and stripped by intake (``liveness.intake``), so
these helpers only ever shrink: they never upscale and never change an image that already fits, because
every re-encode loses detail a liveness model may need.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

#: JPEG qualities are searched in this range; below the floor the image is made smaller instead,
#: because heavy JPEG blocking looks like the recapture artefacts liveness models are trained to flag.
JPEG_QUALITY_MAX = 92
JPEG_QUALITY_FLOOR = 60
#: Never shrink a face photo below this shorter side while fitting a byte budget.
MIN_SIDE_WHEN_FITTING = 320


class ImageFitError(ValueError):
    """The image cannot be made to fit the limit without destroying it."""


@dataclass(frozen=True)
class PreparedImage:
    """The bytes an adapter sends, with what was done to them (kept in the check's details)."""

    content: bytes
    content_type: str
    width: int
    height: int
    original_bytes: int
    original_width: int
    original_height: int
    reencoded: bool = False
    jpeg_quality: int | None = None

    @property
    def extension(self) -> str:
        return "png" if self.content_type == "image/png" else "jpg"

    def describe(self) -> dict[str, Any]:
        return {
            "bytes": len(self.content),
            "width": self.width,
            "height": self.height,
            "content_type": self.content_type,
            "reencoded": self.reencoded,
            "jpeg_quality": self.jpeg_quality,
            "original": {"bytes": self.original_bytes, "width": self.original_width, "height": self.original_height},
        }


def _open(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def image_size(content: bytes) -> tuple[int, int]:
    """Width and height from the header alone."""
    with Image.open(io.BytesIO(content)) as image:
        return image.size


def _unchanged(content: bytes, content_type: str) -> PreparedImage:
    width, height = image_size(content)
    return PreparedImage(content, content_type, width, height, len(content), width, height)


def _encode_jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _encode_like(image: Image.Image, content_type: str) -> tuple[bytes, int | None]:
    out = io.BytesIO()
    if content_type == "image/png":
        image.save(out, format="PNG", optimize=True)
        return out.getvalue(), None
    image.convert("RGB").save(out, format="JPEG", quality=JPEG_QUALITY_MAX, optimize=True)
    return out.getvalue(), JPEG_QUALITY_MAX


def _resized(image: Image.Image, scale: float) -> Image.Image:
    width, height = image.size
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def fit_max_side(content: bytes, content_type: str, *, max_side: int) -> PreparedImage:
    """Downscale (keeping the aspect ratio and the format) so the longer side is at most ``max_side``."""
    original = _unchanged(content, content_type)
    longest = max(original.width, original.height)
    if longest <= max_side:
        return original
    image = _open(content)
    smaller = _resized(image, max_side / longest)
    if max(smaller.size) > max_side:  # rounding can overshoot by a pixel
        smaller = smaller.resize(
            (min(smaller.size[0], max_side), min(smaller.size[1], max_side)), Image.Resampling.LANCZOS
        )
    encoded, quality = _encode_like(smaller, content_type)
    return PreparedImage(
        encoded,
        content_type,
        smaller.size[0],
        smaller.size[1],
        original.original_bytes,
        original.width,
        original.height,
        reencoded=True,
        jpeg_quality=quality,
    )


def _best_quality_under(image: Image.Image, max_bytes: int) -> tuple[tuple[bytes, int] | None, int]:
    """The highest JPEG quality in [floor, max] whose encoding fits ``max_bytes`` (None if none does),
    and the size at the floor quality (what the caller scales from when nothing fits)."""
    # Most photos just over a limit fit at the top quality already: one encode instead of a search.
    encoded = _encode_jpeg(image, JPEG_QUALITY_MAX)
    if len(encoded) <= max_bytes:
        return (encoded, JPEG_QUALITY_MAX), len(encoded)
    # Nor is a search worth it when even the floor does not fit: the image must get smaller anyway.
    floor = _encode_jpeg(image, JPEG_QUALITY_FLOOR)
    if len(floor) > max_bytes:
        return None, len(floor)
    best, low, high = (floor, JPEG_QUALITY_FLOOR), JPEG_QUALITY_FLOOR + 1, JPEG_QUALITY_MAX - 1
    while low <= high:
        quality = (low + high) // 2
        encoded = _encode_jpeg(image, quality)
        if len(encoded) <= max_bytes:
            best = (encoded, quality)
            low = quality + 1
        else:
            high = quality - 1
    return best, len(floor)


def fit_max_bytes(content: bytes, content_type: str, *, max_bytes: int) -> PreparedImage:
    """Make the image at most ``max_bytes`` long: first the best JPEG quality that fits at full size,
    then progressively smaller copies. Images that already fit are sent untouched.
    """
    original = _unchanged(content, content_type)
    if len(content) <= max_bytes:
        return original
    image = _open(content).convert("RGB")
    scale = 1.0
    candidate = image
    for _ in range(12):
        found, at_floor = _best_quality_under(candidate, max_bytes)
        if found is not None:
            encoded, quality = found
            return PreparedImage(
                encoded,
                "image/jpeg",
                candidate.size[0],
                candidate.size[1],
                original.original_bytes,
                original.width,
                original.height,
                reencoded=True,
                jpeg_quality=quality,
            )
        # Encoded size grows roughly with the pixel count: aim just under the budget at the floor quality.
        scale *= min(0.9, (max_bytes / at_floor) ** 0.5 * 0.95)
        if min(image.size) * scale < MIN_SIDE_WHEN_FITTING:
            break
        candidate = _resized(image, scale)
    raise ImageFitError(
        f"a {original.width}x{original.height} image cannot be brought under {max_bytes} bytes "
        f"without going below {MIN_SIDE_WHEN_FITTING} px"
    )
