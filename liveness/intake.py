"""Image intake: decide by content whether bytes are an image we accept, and normalise them.

Accepted: JPEG and PNG — the formats every provider's contract takes (Riset names them explicitly,
Accura and Kairos document photo uploads; all of them handle JPEG/PNG). WebP, HEIC, GIF, TIFF and the
rest are refused with a clear reason rather than silently converted: a vendor could not receive them
as-is, and every decoder we add is attack surface for files from strangers.

Each accepted image is decoded once in full (the proof that it is an image), stripped of all metadata (EXIF
GPS, device serials, ICC/XMP, comments) and hashed (sha256 of the stored bytes). A JPEG is decoded by
libjpeg-turbo in strict mode (simplejpeg), where a libjpeg warning is an error; a PNG by Pillow. A colour JPEG
that needs no rotation is stripped **losslessly**: its metadata segments are cut out and its coded image data
kept byte for byte (no second encode, no generation loss, a third of the intake's time saved). Any other image
(PNG, a JPEG with an EXIF orientation to apply, grey or CMYK) is EXIF-oriented and re-encoded with no metadata,
from the pixels of that one decode. A phone's MPO (a JPEG followed by more images in an MPF index: depth and
gain maps) is a JPEG: its primary image is kept, the rest dropped.

Bounded decoding. Every bound is checked from the header, before any pixel is decoded:
- INTAKE_MAX_PIXELS per image, INTAKE_MAX_REQUEST_PIXELS over all images of one request;
- a decode budget per byte: an image may decode to at most max(INTAKE_FREE_PIXELS,
  bytes x INTAKE_MAX_PIXELS_PER_BYTE) pixels. Photographs carry well under 10 pixels per byte; a 4 KB PNG
  that claims 36 megapixels (8,000 per byte) is a decompression amplifier, refused before it costs memory;
- a baseline JPEG must carry at least the entropy-coded data its header's dimensions need (2 bits per 8x8
  block, the least any Huffman table can spend on a block): a header that claims 6000x6000 over 640x480
  of data is refused before its pixels are allocated.
The data must then fill the header: a JPEG scan that ends before it has covered every block the header declares
(libjpeg's "premature end of data segment", which Pillow pads with grey and does not report) is refused as
`incomplete_image` by the strict decode, baseline or progressive, however small the lie (1600x1600 over 640x480
of data); a file that ends inside its scans or stray bytes between segments are `corrupt`.
Padding between the last scan and EOI, which some encoders write, is accepted. (A truncated PNG fails its decoder.)
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import warnings
from dataclasses import dataclass

import numpy as np
import simplejpeg
from django.conf import settings
from PIL import Image, ImageFile, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "MPO": "image/jpeg"}
JPEG_QUALITY = 95
#: The least entropy-coded data a baseline JPEG spends on one 8x8 block (a 1-bit DC code and a 1-bit EOB).
MIN_JPEG_BITS_PER_BLOCK = 2
EXIF_ORIENTATION = 0x0112
#: The only APPn segment the lossless strip keeps: Adobe's APP14 (version, flags and the colour transform the
#: decoder needs; nothing about the picture or its taker). APP0 (JFIF, may hold a thumbnail), APP1 (EXIF, XMP),
#: APP2 (ICC, MPF), APP13 (IPTC), every other APPn and COM go.
_JPEG_ADOBE = 0xEE


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

    def stored_fields(self) -> dict[str, object]:
        """The columns every stored image row keeps about its bytes (Evidence, VerificationFrame)."""
        return {
            "content_type": self.content_type,
            "width": self.width,
            "height": self.height,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class ImageHeader:
    """What the header says, read without decoding a pixel."""

    image_format: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def decode_budget(size_bytes: int) -> int:
    """The most pixels an image of ``size_bytes`` may decode to (see the module docstring)."""
    return max(settings.INTAKE_FREE_PIXELS, size_bytes * settings.INTAKE_MAX_PIXELS_PER_BYTE)


def read_header(data: bytes, *, label: str = "image") -> ImageHeader:
    """Check the bytes' size and header against every bound that needs no decoding; ImageRejected if not."""
    max_bytes: int = settings.INTAKE_MAX_BYTES
    max_pixels: int = settings.INTAKE_MAX_PIXELS
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
    if image_format != "MPO" and getattr(probe, "n_frames", 1) > 1:
        raise ImageRejected("animated", f"{label}: animated images are not accepted")
    budget = decode_budget(len(data))
    if width * height > budget:
        raise ImageRejected(
            "decompression_amplification",
            f"{label}: {width}x{height} pixels from {len(data)} bytes is more than "
            f"{settings.INTAKE_MAX_PIXELS_PER_BYTE} pixels per byte (at most {budget} pixels for this file size)",
        )
    if image_format in ("JPEG", "MPO"):
        _check_jpeg_fills_header(data, label=label)
    if image_format == "PNG":
        _check_png_chunks(data, label=label)
    return ImageHeader(image_format, width, height)


def validate_image(data: bytes, *, label: str = "image", header: ImageHeader | None = None) -> ValidatedImage:
    """Validate and normalise one uploaded image, or raise ImageRejected naming the reason. ``header``: what
    ``read_header(data)`` returned, when the caller has read it already (it is not read twice)."""
    min_side: int = settings.INTAKE_MIN_SIDE
    header = header if header is not None else read_header(data, label=label)
    if min(header.width, header.height) < min_side:
        raise ImageRejected(
            "too_small", f"{label}: {header.width}x{header.height} is smaller than {min_side} px on a side"
        )
    image_format = "JPEG" if header.image_format in ("JPEG", "MPO") else header.image_format
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            orientation = opened.getexif().get(EXIF_ORIENTATION, 1)
            image: Image.Image = opened
            if image_format == "JPEG":
                # The one full decode, strict (the primary image of an MPO: its depth or gain maps are dropped).
                pixels = _decode_jpeg_strict(data, opened, header, label=label)
                if orientation == 1 and opened.mode == "RGB" and (stripped := strip_jpeg_metadata(data)) is not None:
                    return _validated(stripped, "image/jpeg", header.width, header.height)
                image = Image.frombuffer(opened.mode, opened.size, pixels, "raw", _jpeg_rawmode(opened), 0, 1)
                del pixels  # Pillow holds its own copy (or, for grey, this very buffer)
            else:
                opened.load()
    except ImageRejected:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("corrupt", f"{label}: the image is truncated or corrupt ({exc})") from exc
    if orientation in _TRANSPOSE:
        image = image.transpose(_TRANSPOSE[orientation])  # rebound: the unrotated pixels are freed
    content, content_type = _reencode(image, image_format)
    return _validated(content, content_type, image.size[0], image.size[1])


def _validated(content: bytes, content_type: str, width: int, height: int) -> ValidatedImage:
    return ValidatedImage(
        content=content,
        content_type=content_type,
        width=width,
        height=height,
        sha256=hashlib.sha256(content).hexdigest(),
    )


#: Pillow's JPEG mode -> the colour space libjpeg-turbo decodes to (the same output Pillow's decoder asks for).
_SIMPLEJPEG_COLORSPACE = {"RGB": "RGB", "L": "GRAY", "CMYK": "CMYK"}
#: libjpeg's warning for bytes between the last scan and the EOI marker (0xD9).
_AFTER_LAST_SCAN = re.compile(r"^Corrupt JPEG data: \d+ extraneous bytes before marker 0xd9$")
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _jpeg_rawmode(probe: ImageFile.ImageFile) -> str:
    """The raw layout Pillow's own decoder would read libjpeg's output as ("CMYK;I" for Adobe's inverted CMYK)."""
    args = probe.tile[0].args if probe.tile else None
    return str(args[0]) if isinstance(args, tuple) and args else probe.mode


def _decode_jpeg_strict(data: bytes, probe: Image.Image, header: ImageHeader, *, label: str) -> np.ndarray:
    """Decode the first JPEG image in ``data`` in full with libjpeg-turbo in strict mode (simplejpeg), where a libjpeg
    *warning* is an error: a scan that ends before it has covered every block the header declares ("premature end
    of data segment"), a file that ends inside its scans, extraneous bytes between segments.
    Pillow (the same libjpeg underneath) surfaces none of these and pads the missing rows with grey."""
    colorspace = _SIMPLEJPEG_COLORSPACE.get(probe.mode)
    if colorspace is None:
        raise ImageRejected("unsupported_format", f"{label}: {probe.mode} JPEGs are not accepted")
    try:
        pixels = simplejpeg.decode_jpeg(data, colorspace=colorspace, strict=True)
    except ValueError as exc:
        reason = str(exc)
        if _AFTER_LAST_SCAN.search(reason):
            # Padding between the last scan and EOI, which some encoders write: libjpeg only reads it once every
            # scan has covered every block, so nothing is missing. Decode again, tolerating that one warning.
            pixels = simplejpeg.decode_jpeg(data, colorspace=colorspace, strict=False)
            return _check_decoded_size(pixels, header, label=label)
        if "premature end of data segment" in reason.lower():
            raise ImageRejected(
                "incomplete_image",
                f"{label}: the header declares {header.width}x{header.height} pixels but the image data stops "
                f"before filling them ({reason})",
            ) from exc
        raise ImageRejected("corrupt", f"{label}: the image is truncated or corrupt ({reason})") from exc
    return _check_decoded_size(pixels, header, label=label)


def _check_decoded_size(pixels: np.ndarray, header: ImageHeader, *, label: str) -> np.ndarray:
    if pixels.shape[:2] != (header.height, header.width):  # never seen: Pillow reads the same SOF as libjpeg
        raise ImageRejected("corrupt", f"{label}: the JPEG decodes to another size than its header declares")
    return pixels


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


class _JpegStructureError(ValueError):
    pass


def strip_jpeg_metadata(data: bytes) -> bytes | None:
    """The first image of ``data`` with every metadata segment removed and its coded data untouched, or None when
    its structure is not the plain one this expects (the caller then re-encodes). Nothing after its EOI is kept."""
    if data[:2] != b"\xff\xd8":
        return None
    out = bytearray(b"\xff\xd8")
    position, end = 2, len(data)
    scanned = False
    while position < end:
        if data[position] != 0xFF:
            return None
        while position < end and data[position] == 0xFF:
            position += 1
        if position >= end:
            return None
        marker = data[position]
        position += 1
        if marker == 0xD9:  # EOI
            out += b"\xff\xd9"
            return bytes(out) if scanned else None
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += bytes((0xFF, marker))
            continue
        if position + 2 > end:
            return None
        length = int.from_bytes(data[position : position + 2], "big")
        if length < 2 or position + length > end:
            return None
        segment = data[position - 2 : position + length]  # marker, length and payload
        position += length
        if marker == 0xFE or (0xE0 <= marker <= 0xEF and not (marker == _JPEG_ADOBE and segment[4:9] == b"Adobe")):
            continue  # metadata: dropped
        out += segment
        if marker == 0xDA:  # SOS: copy the entropy-coded data up to the next marker (not FF00, not RSTn)
            start = position
            while True:
                position = data.find(b"\xff", position)
                if position < 0 or position + 1 >= end:
                    return None
                following = data[position + 1]
                if following != 0x00 and not 0xD0 <= following <= 0xD7:
                    break
                position += 2
            out += data[start:position]
            scanned = True
    return None


def jpeg_entropy_bytes(data: bytes) -> tuple[int, int, int, list[tuple[int, int]], bool]:
    """(width, height, entropy-coded bytes, sampling factors, progressive) of the first JPEG image in ``data``."""
    if data[:2] != b"\xff\xd8":
        raise _JpegStructureError("no SOI marker")
    position, end = 2, len(data)
    width = height = 0
    sampling: list[tuple[int, int]] = []
    progressive = False
    entropy = 0
    while position < end:
        if data[position] != 0xFF:
            raise _JpegStructureError(f"expected a marker at byte {position}")
        while position < end and data[position] == 0xFF:  # fill bytes before a marker
            position += 1
        if position >= end:
            break
        marker = data[position]
        position += 1
        if marker == 0xD9:  # EOI: the end of the first image
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # standalone markers
            continue
        if position + 2 > end:
            raise _JpegStructureError("segment length past the end")
        length = int.from_bytes(data[position : position + 2], "big")
        if length < 2 or position + length > end:
            raise _JpegStructureError("segment runs past the end")
        segment = data[position + 2 : position + length]
        position += length
        if marker in (0xC0, 0xC1, 0xC2, 0xC3) and len(segment) >= 6:
            height = int.from_bytes(segment[1:3], "big")
            width = int.from_bytes(segment[3:5], "big")
            count = segment[5]
            sampling = [(segment[7 + 3 * i] >> 4, segment[7 + 3 * i] & 0x0F) for i in range(count)]
            progressive = marker == 0xC2
        elif marker == 0xDA:  # SOS: entropy-coded data follows until the next marker (not FF00, not RSTn)
            start = position
            while True:
                position = data.find(b"\xff", position)
                if position < 0 or position + 1 >= end:
                    position = end
                    break
                following = data[position + 1]
                if following != 0x00 and not 0xD0 <= following <= 0xD7:
                    break
                position += 2
            entropy += position - start
    return width, height, entropy, sampling, progressive


def _check_png_chunks(data: bytes, *, label: str) -> None:
    """Every PNG chunk's CRC must match: decoding alone checks only zlib's own checksum, so a file damaged
    in a chunk's bytes or its CRC would otherwise pass. Reads the chunks, decodes no pixels."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
    except (OSError, SyntaxError, ValueError, struct.error) as exc:
        raise ImageRejected("corrupt", f"{label}: the PNG is damaged ({exc})") from exc


def _check_jpeg_fills_header(data: bytes, *, label: str) -> None:
    """A baseline JPEG's entropy-coded data must be long enough for the blocks its header declares."""
    try:
        width, height, entropy, sampling, progressive = jpeg_entropy_bytes(data)
    except _JpegStructureError as exc:
        raise ImageRejected("corrupt", f"{label}: the JPEG structure is broken ({exc})") from exc
    if progressive or not sampling or not width or not height:
        return  # progressive scans code runs of empty blocks in a few bits: no useful lower bound
    h_max = max(h for h, _ in sampling) or 1
    v_max = max(v for _, v in sampling) or 1
    mcus = -(-width // (8 * h_max)) * -(-height // (8 * v_max))
    blocks = mcus * sum(h * v for h, v in sampling)
    needed = blocks * MIN_JPEG_BITS_PER_BLOCK // 8
    if entropy < needed:
        raise ImageRejected(
            "incomplete_image",
            f"{label}: the header declares {width}x{height} pixels but the file carries image data for only part "
            f"of them ({entropy} bytes, at least {needed} needed)",
        )
