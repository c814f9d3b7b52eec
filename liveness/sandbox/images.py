"""Reading an uploaded image in a simulator: any bytes in, a decoded image or a clear 400 out."""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = ("JPEG", "PNG")
#: What Pillow's decoders raise on hostile or damaged files (they are not uniform about it).
_DECODE_ERRORS = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    struct.error,
)


class UnreadableImage(ValueError):
    """The bytes are not a JPEG or PNG image the simulator can look at."""


@dataclass(frozen=True)
class DecodedImage:
    content: bytes
    format: str
    width: int  # after EXIF orientation, as the vendor's engine would see it
    height: int


def decode(content: bytes, *, label: str) -> DecodedImage:
    if not content:
        raise UnreadableImage(f"{label} is empty")
    max_pixels: int = settings.INTAKE_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow's bomb guard only raises at twice its limit; the pixel bound is checked from the header.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as probe:
                image_format = probe.format
                width, height = probe.size
                if image_format not in ACCEPTED_FORMATS:
                    raise UnreadableImage(f"{label} must be a JPEG or PNG image, not {image_format or 'unknown'}")
                if width * height > max_pixels:
                    raise UnreadableImage(f"{label} has {width}x{height} pixels, over the limit of {max_pixels}")
                probe.load()
                oriented = ImageOps.exif_transpose(probe)
                width, height = oriented.size
    except UnreadableImage:
        raise
    except _DECODE_ERRORS as exc:
        raise UnreadableImage(f"{label} is not a readable JPEG or PNG image") from exc
    return DecodedImage(content=content, format=str(image_format), width=width, height=height)
