"""Bounded decoding, MPO phone JPEGs and country codes (issue: decompression amplification within the bounds)."""

from __future__ import annotations

import io
import struct
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from liveness import services
from liveness.countries import UnknownCountry, normalise_country_code
from liveness.intake import ImageRejected, jpeg_entropy_bytes, validate_image
from liveness.models import Case, Evidence
from liveness.services import CaseInputError, IncomingImage


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
