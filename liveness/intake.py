"""Image intake: decide by content whether bytes are an image we accept, and normalise them.

Accepted: JPEG and PNG — the formats every provider's contract takes (Riset names them explicitly,
Accura and Kairos document photo uploads; all of them handle JPEG/PNG). WebP, HEIC, GIF, TIFF and the
rest are refused with a clear reason rather than silently converted: a vendor could not receive them
as-is, and every decoder we add is attack surface for files from strangers.

Each accepted image is EXIF-oriented, stripped of all metadata (EXIF GPS, device serials, ICC/XMP
comments) by re-encoding, and hashed (sha256 of the stored bytes).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
JPEG_QUALITY = 95


class ImageRejected(ValueError):
    """Bytes that are not an acceptable image. ``code`` is machine-readable, ``message`` for humans."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ValidatedImage:
    content: bytes
    content_type: str
    width: int
    height: int
    sha256: str

    @property
    def size_bytes(self) -> int:
        return len(self.content)


def validate_image(data: bytes, *, label: str = "image") -> ValidatedImage:
    """Validate and normalise one uploaded image, or raise ImageRejected naming the reason."""
    max_bytes: int = settings.INTAKE_MAX_BYTES
    max_pixels: int = settings.INTAKE_MAX_PIXELS
    min_side: int = settings.INTAKE_MIN_SIDE
    if not data:
        raise ImageRejected("empty", f"{label}: the file is empty")
    if len(data) > max_bytes:
        raise ImageRejected("too_large", f"{label}: {len(data)} bytes is over the limit of {max_bytes} bytes")
    try:
        # Pillow's own bomb guard raises only at twice its limit; we check our bound ourselves
        # before any pixel is decoded, from the header alone.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            image_format = probe.format
            width, height = probe.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, Image.DecompressionBombError):
            raise ImageRejected("too_many_pixels", f"{label}: the image has too many pixels") from exc
        raise ImageRejected("not_an_image", f"{label}: the content is not a readable image") from exc
    if image_format not in ACCEPTED_FORMATS:
        raise ImageRejected(
            "unsupported_format",
            f"{label}: {image_format or 'unknown'} images are not accepted; send JPEG or PNG",
        )
    if width * height > max_pixels:
        raise ImageRejected(
            "too_many_pixels",
            f"{label}: {width}x{height} is {width * height} pixels, over the limit of {max_pixels}",
        )
    if getattr(probe, "n_frames", 1) > 1:
        raise ImageRejected("animated", f"{label}: animated images are not accepted")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
            # In place: no second full-size copy of the pixels (see bench/run.py, intake memory).
            ImageOps.exif_transpose(image, in_place=True)
            oriented = image
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("corrupt", f"{label}: the image is truncated or corrupt ({exc})") from exc
    if min(oriented.size) < min_side:
        raise ImageRejected(
            "too_small",
            f"{label}: {oriented.size[0]}x{oriented.size[1]} is smaller than {min_side} px on a side",
        )
    content, content_type = _reencode(oriented, image_format)
    return ValidatedImage(
        content=content,
        content_type=content_type,
        width=oriented.size[0],
        height=oriented.size[1],
        sha256=hashlib.sha256(content).hexdigest(),
    )


def _reencode(image: Image.Image, image_format: str) -> tuple[bytes, str]:
    """Re-encode with no metadata at all (no EXIF, ICC, XMP, text chunks)."""
    out = io.BytesIO()
    if image_format == "PNG":
        mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB"
        clean = image if image.mode == mode else image.convert(mode)
        clean.info = {}
        clean.save(out, format="PNG", optimize=False)
        return out.getvalue(), "image/png"
    clean = image if image.mode == "RGB" else image.convert("RGB")
    clean.info = {}
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    return out.getvalue(), "image/jpeg"
