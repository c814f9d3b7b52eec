"""Image intake: content-based acceptance, bounds, orientation, metadata stripping, hashing."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image

from liveness.intake import ImageRejected, validate_image
from tests.helpers import image_bytes


def rejected(data: bytes) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        validate_image(data, label="selfie")
    assert info.value.message.startswith("selfie: ")  # every rejection names the image
    return info.value


def test_it_accepts_jpeg_and_png_and_hashes_the_stored_bytes() -> None:
    for fmt, content_type in (("JPEG", "image/jpeg"), ("PNG", "image/png")):
        result = validate_image(image_bytes(200, 100, fmt=fmt))
        assert result.content_type == content_type
        assert (result.width, result.height) == (200, 100)
        assert result.sha256 == hashlib.sha256(result.content).hexdigest()


def test_it_decides_by_content_not_by_name() -> None:
    # A PNG is a PNG whatever it is called; the label is only used in messages.
    result = validate_image(image_bytes(100, 100, fmt="PNG"), label="photo.jpg")
    assert result.content_type == "image/png"


def test_it_rejects_empty_files() -> None:
    assert rejected(b"").code == "empty"


def test_it_rejects_text_pretending_to_be_an_image() -> None:
    assert rejected(b"GIF89a but really just text" * 10).code == "not_an_image"
    assert rejected(b"%PDF-1.4 not an image").code == "not_an_image"


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "BMP", "TIFF"])
def test_it_rejects_other_image_formats_by_name(fmt: str) -> None:
    error = rejected(image_bytes(100, 100, fmt=fmt))
    assert error.code == "unsupported_format"
    assert fmt in error.message
    assert "JPEG or PNG" in error.message


def test_it_rejects_files_over_the_byte_limit(settings) -> None:
    settings.INTAKE_MAX_BYTES = 1000
    error = rejected(image_bytes(400, 400))
    assert error.code == "too_large"
    assert "1000" in error.message


def test_it_rejects_too_many_pixels_before_decoding(settings) -> None:
    settings.INTAKE_MAX_PIXELS = 100 * 100
    assert rejected(image_bytes(101, 100)).code == "too_many_pixels"


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares huge dimensions with a tiny compressed body (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_it_refuses_a_decompression_bomb_from_its_header() -> None:
    error = rejected(_png_header_only(50_000, 50_000))
    assert error.code == "too_many_pixels"


def test_it_rejects_truncated_images() -> None:
    data = image_bytes(300, 300)
    assert rejected(data[: len(data) // 2]).code == "corrupt"


def test_it_rejects_images_too_small_to_check(settings) -> None:
    settings.INTAKE_MIN_SIDE = 64
    assert rejected(image_bytes(63, 200)).code == "too_small"


def test_it_applies_exif_orientation_and_strips_all_metadata() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "SecretCam Inc."  # camera make
    exif[0x8825] = {1: "N"}  # a GPS IFD
    data = image_bytes(300, 200, exif=exif)
    result = validate_image(data)
    assert (result.width, result.height) == (200, 300)  # rotated upright
    with Image.open(io.BytesIO(result.content)) as stored:
        assert not stored.getexif()
        assert "exif" not in stored.info
        assert "icc_profile" not in stored.info
    assert b"SecretCam" not in result.content


def test_it_strips_png_text_chunks() -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "home address 1 Main St")
    out = io.BytesIO()
    Image.new("RGB", (100, 100), (1, 2, 3)).save(out, format="PNG", pnginfo=info)
    result = validate_image(out.getvalue())
    assert b"Main St" not in result.content


def test_png_transparency_is_kept_and_palette_images_are_normalised() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (100, 100), (10, 20, 30, 128)).save(out, format="PNG")
    with Image.open(io.BytesIO(validate_image(out.getvalue()).content)) as stored:
        assert stored.mode == "RGBA"
    out = io.BytesIO()
    Image.new("P", (100, 100)).save(out, format="PNG")
    with Image.open(io.BytesIO(validate_image(out.getvalue()).content)) as stored:
        assert stored.mode == "RGB"


def test_cmyk_jpeg_becomes_rgb() -> None:
    out = io.BytesIO()
    Image.new("CMYK", (100, 100), (0, 50, 100, 0)).save(out, format="JPEG")
    with Image.open(io.BytesIO(validate_image(out.getvalue()).content)) as stored:
        assert stored.mode == "RGB"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_it_drops_embedded_icc_profiles(fmt: str) -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (100, 100), (9, 9, 9)).save(out, format=fmt, icc_profile=icc)
    with Image.open(io.BytesIO(out.getvalue())) as original:
        assert original.info.get("icc_profile")  # the input really carries one
    with Image.open(io.BytesIO(validate_image(out.getvalue()).content)) as stored:
        assert not stored.info.get("icc_profile")


def _scan_data(jpeg: bytes) -> bytes:
    """Everything from the first SOS marker on: the coded image data (and the EOI)."""
    return jpeg[jpeg.index(b"\xff\xda") :]


def test_an_upright_colour_jpeg_is_stripped_losslessly_of_all_metadata() -> None:
    from PIL import ImageCms

    exif = Image.Exif()
    exif[0x010F] = "SecretCam Inc."  # camera make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0)}  # a GPS IFD
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    source = Image.effect_noise((320, 240), 40).convert("RGB")
    source.save(out, format="JPEG", quality=80, exif=exif, icc_profile=icc, comment=b"home: 1 Main St")
    data = out.getvalue()
    assert b"SecretCam" in data  # the input really carries them
    assert b"Main St" in data

    result = validate_image(data)
    assert b"SecretCam" not in result.content
    assert b"Main St" not in result.content
    with Image.open(io.BytesIO(result.content)) as stored, Image.open(io.BytesIO(data)) as original:
        assert not stored.getexif()
        assert not stored.info.get("icc_profile")
        assert "comment" not in stored.info
        # Not re-encoded: the coded data is the original's byte for byte, so the pixels are the same.
        assert _scan_data(result.content) == _scan_data(data)
        assert stored.tobytes() == original.tobytes()
    assert result.sha256 == hashlib.sha256(result.content).hexdigest()
    assert len(result.content) < len(data)


def test_a_jpeg_to_rotate_is_still_re_encoded_upright() -> None:
    exif = Image.Exif()
    exif[0x0112] = 3  # orientation: rotate 180°
    data = image_bytes(300, 200, exif=exif)
    result = validate_image(data)
    assert _scan_data(result.content) != _scan_data(data)
    with Image.open(io.BytesIO(result.content)) as stored:
        assert not stored.getexif()
