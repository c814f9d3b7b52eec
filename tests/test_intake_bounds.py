"""Bounded decoding, MPO phone JPEGs and country codes (issue: decompression amplification within the bounds)."""

from __future__ import annotations

import io
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from liveness import services
from liveness.countries import UnknownCountry, normalise_country_code
from liveness.intake import ImageRejected, jpeg_entropy_bytes, validate_image
from liveness.models import Case, Evidence
from liveness.services import CaseInputError, IncomingImage
from tests.helpers import TESTDATA_DIR

DEMO_SELFIE = Path(__file__).resolve().parents[1] / "liveness" / "demo" / "demo_selfie.jpg"


def photo_jpeg(width: int = 640, height: int = 480, *, seed: int = 0, **save: object) -> bytes:
    rng = np.random.default_rng(seed)
    # Smooth noise: photograph-like density (a few pixels per byte), not white noise.
    small = (rng.random((height // 8 + 1, width // 8 + 1, 3)) * 255).astype(np.uint8)
    image = Image.fromarray(small).resize((width, height), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, **save)
    return out.getvalue()


def one_bit_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (side, side), 1).save(out, format="PNG", optimize=True)
    return out.getvalue()


def test_a_tiny_png_claiming_36_megapixels_is_refused_from_its_header_without_decoding():
    bomb = one_bit_png(6000)
    assert len(bomb) < 20_000  # 36 MP in about 11 KB: thousands of pixels per byte
    tracemalloc.start()
    with pytest.raises(ImageRejected) as refused:
        validate_image(bomb, label="frame 0")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert refused.value.code == "decompression_amplification"
    assert "pixels per byte" in refused.value.message
    assert peak < 5_000_000  # the 36 MP were never allocated (decoding them costs > 36 MB)


def test_a_jpeg_whose_header_claims_more_than_its_data_holds_is_refused():
    data = bytearray(photo_jpeg(640, 480))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 6000, 6000)
    with pytest.raises(ImageRejected) as refused:
        validate_image(bytes(data))
    assert refused.value.code in ("incomplete_image", "decompression_amplification")


def test_the_fill_check_alone_catches_a_header_lie_within_the_decode_budget(settings):
    settings.INTAKE_FREE_PIXELS = 50_000_000  # take the per-byte budget out of the way
    data = bytearray(photo_jpeg(640, 480))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 4000, 4000)
    with pytest.raises(ImageRejected) as refused:
        validate_image(bytes(data))
    assert refused.value.code == "incomplete_image"
    assert "4000x4000" in refused.value.message


def header_lie(data: bytes, width: int, height: int) -> bytes:
    """``data`` with its SOF (baseline C0 or progressive C2) claiming ``width`` x ``height``."""
    lied = bytearray(data)
    sof = max(lied.find(b"\xff\xc0"), lied.find(b"\xff\xc2"))
    lied[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(lied)


def scan_cut_short(data: bytes, scan: int) -> bytes:
    """``data`` with its ``scan``-th scan (0-based) cut in the middle and the file closed with an EOI right there:
    every marker is well formed, only the scan's coded data stops before it has covered every block."""
    start = -1
    for _ in range(scan + 1):
        start = data.index(b"\xff\xda", start + 1)
    length = int.from_bytes(data[start + 2 : start + 4], "big")
    end = data.index(b"\xff\xda", start + 2 + length) if scan < data.count(b"\xff\xda") - 1 else len(data) - 2
    return data[: (start + 2 + length + end) // 2] + b"\xff\xd9"


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_a_header_larger_than_its_data_is_refused_even_within_the_lower_bound(progressive):
    # 1600x1600 over the coded data of 640x480: above the 2-bits-per-block lower bound (which progressive JPEGs
    # skip anyway), so only the strict decode sees libjpeg run out of data and pad the rest with grey.
    data = header_lie(photo_jpeg(640, 480, progressive=progressive), 1600, 1600)
    width, height, entropy, _, _ = jpeg_entropy_bytes(data)
    assert (width, height) == (1600, 1600)
    assert entropy * 8 > 2 * (1600 // 8) * (1600 // 8) * 1.5
    with pytest.raises(ImageRejected) as refused:
        validate_image(data, label="selfie")
    assert refused.value.code == "incomplete_image"
    assert refused.value.message.startswith("selfie: the header declares 1600x1600 pixels but the image data stops")


@pytest.mark.parametrize(
    ("progressive", "scan"), [(False, 0), (True, 0), (True, 3)], ids=["baseline", "progressive-dc", "progressive-ac"]
)
def test_a_scan_that_stops_short_is_refused(progressive, scan):
    data = photo_jpeg(640, 480, progressive=progressive)
    validate_image(data)  # the whole file is fine
    with pytest.raises(ImageRejected) as refused:
        validate_image(scan_cut_short(data, scan))
    assert refused.value.code == "incomplete_image"
    assert "premature end of data segment" in refused.value.message


def test_a_file_cut_inside_its_scans_is_refused_as_truncated():
    data = photo_jpeg(640, 480, progressive=True)
    with pytest.raises(ImageRejected) as refused:
        validate_image(data[: len(data) * 2 // 3])
    assert refused.value.code == "corrupt"
    assert "Premature end of JPEG file" in refused.value.message


def test_extraneous_bytes_between_segments_are_refused_but_not_after_the_last_scan():
    data = photo_jpeg(640, 480)
    sof = data.find(b"\xff\xc0")
    with pytest.raises(ImageRejected) as refused:
        validate_image(data[:sof] + b"\x00\x01\x02" + data[sof:])
    assert refused.value.code == "corrupt"

    # Padding between the last scan and EOI (libjpeg warns "N extraneous bytes before marker 0xd9", a quirk of
    # some encoders) and data after EOI (an MPO's next image, a trailer): accepted.
    def padded(image: bytes) -> bytes:
        return image[:-2] + b"\x00" * 16 + image[-2:]

    for image in (data, photo_jpeg(640, 480, progressive=True)):  # stripped losslessly: the padding is kept
        assert validate_image(padded(image)).size_bytes == validate_image(image).size_bytes + 16
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = photo_jpeg(640, 480, exif=exif)  # re-encoded from the same pixels
    assert validate_image(padded(rotated)).content == validate_image(rotated).content
    assert validate_image(data + b"trailer").width == 640


@pytest.mark.parametrize("variant", ["rotated", "rotated-progressive", "grey", "grey-rotated", "cmyk"])
def test_the_strict_decode_reencodes_exactly_what_pillow_would(variant):
    # Every JPEG is decoded once, by libjpeg-turbo through simplejpeg; the images that are re-encoded (an EXIF
    # orientation to apply, grey, CMYK) must come out byte for byte as a Pillow decode would have made them.
    exif = Image.Exif()
    exif[0x0112] = 6
    base = Image.open(io.BytesIO(photo_jpeg(640, 480)))
    mode = {"grey": "L", "grey-rotated": "L", "cmyk": "CMYK"}.get(variant, "RGB")
    out = io.BytesIO()
    save: dict[str, object] = {"exif": exif} if "rotated" in variant else {}
    base.convert(mode).save(out, format="JPEG", quality=90, progressive="progressive" in variant, **save)
    data = out.getvalue()
    reference = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    expected = io.BytesIO()
    reference.save(expected, format="JPEG", quality=95, subsampling=0)
    validated = validate_image(data)
    assert validated.content == expected.getvalue()
    assert (validated.width, validated.height) == reference.size


@pytest.mark.skipif(not TESTDATA_DIR.is_dir(), reason="needs ../shared/testdata")
def test_every_real_camera_and_phone_jpeg_passes_the_strict_decode():
    paths = [p for p in sorted(TESTDATA_DIR.rglob("*")) if p.is_file() and p.read_bytes()[:2] == b"\xff\xd8"]
    paths.append(DEMO_SELFIE)
    refused = {}
    for path in paths:
        try:
            validate_image(path.read_bytes(), label=path.name)
        except ImageRejected as exc:
            if exc.code != "too_small":
                refused[path.name] = exc.message
    assert len(paths) > 50
    assert refused == {}


@pytest.mark.parametrize("save", [{}, {"progressive": True}, {"subsampling": 0}, {"optimize": True}])
def test_real_jpegs_fill_their_headers(save):
    data = photo_jpeg(1280, 960, **save)
    validated = validate_image(data)
    assert (validated.width, validated.height) == (1280, 960)
    width, height, entropy, _, _ = jpeg_entropy_bytes(data)
    assert (width, height) == (1280, 960)
    assert 0 < entropy < len(data)


def test_a_flat_but_honest_jpeg_is_accepted():
    out = io.BytesIO()
    Image.new("RGB", (3000, 2000), (128, 128, 128)).save(out, format="JPEG", quality=75)
    assert validate_image(out.getvalue()).width == 3000


def test_a_phone_mpo_is_accepted_keeping_the_primary_image():
    primary = Image.open(io.BytesIO(photo_jpeg(640, 480)))
    depth = Image.new("RGB", (160, 120), (10, 10, 10))
    out = io.BytesIO()
    primary.save(out, format="MPO", save_all=True, append_images=[depth])
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).format == "MPO"
    validated = validate_image(data)
    assert (validated.content_type, validated.width, validated.height) == ("image/jpeg", 640, 480)
    stored = Image.open(io.BytesIO(validated.content))
    assert stored.format == "JPEG"
    assert getattr(stored, "n_frames", 1) == 1  # the depth map is gone


@pytest.mark.django_db
def test_a_request_over_the_total_pixel_bound_is_refused_before_anything_is_stored(settings):
    settings.INTAKE_MAX_REQUEST_PIXELS = 1_000_000
    frames = [IncomingImage("frame", photo_jpeg(800, 600, seed=i), index=i, face_parameter="front") for i in range(3)]
    with pytest.raises(ImageRejected) as refused:
        services.case_create(kind="active", images=frames, face_parameters=["front"] * 3)
    assert refused.value.code == "too_many_pixels"
    assert "per request" in refused.value.message
    assert (Case.objects.count(), Evidence.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("given", "stored"), [("de", "DEU"), ("DEU", "DEU"), ("276", "DEU"), (" uto ", "UTO"), ("D", "DEU")]
)
def test_country_codes_are_iso_or_icao_and_stored_as_alpha_3(given: str, stored: str):
    assert normalise_country_code(given) == stored


@pytest.mark.parametrize("bad", ["XX", "12", "\U0001f1e9\U0001f1ea", "Germany", "", "ZZZ"])
def test_unknown_country_codes_are_refused(bad: str):
    with pytest.raises(UnknownCountry, match="ISO 3166-1"):
        normalise_country_code(bad)


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["XX", "12", "\U0001f1e9\U0001f1ea"])
def test_an_id_case_with_an_unknown_country_is_refused_naming_the_field(bad: str):
    with pytest.raises(CaseInputError) as refused:
        services.case_create(
            kind="id_document", images=[IncomingImage("id_front", photo_jpeg())], country_code=bad, card_code="ID"
        )
    assert refused.value.field == "country_code"
    assert Case.objects.count() == 0
