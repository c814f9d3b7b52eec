"""Re-encoding to vendor limits: only ever shrinks, keeps what already fits, reports what it did."""

from __future__ import annotations

import pytest

from liveness.vendors.imaging import (
    JPEG_QUALITY_FLOOR,
    JPEG_QUALITY_MAX,
    ImageFitError,
    fit_max_bytes,
    fit_max_side,
    image_size,
)
from tests.helpers import image_bytes
from tests.vendor_fixtures import noisy_large_jpeg, open_image, png


def test_an_image_that_fits_is_sent_untouched():
    content = image_bytes(640, 480)
    prepared = fit_max_bytes(content, "image/jpeg", max_bytes=1_000_000)
    assert prepared.content is content
    assert prepared.reencoded is False
    assert prepared.jpeg_quality is None


def test_a_big_photo_first_loses_jpeg_quality_at_full_size():
    content = noisy_large_jpeg(1000, 800)  # ~1.3 MB at quality 95
    limit = len(content) * 3 // 4
    prepared = fit_max_bytes(content, "image/jpeg", max_bytes=limit)
    assert len(prepared.content) <= limit
    assert (prepared.width, prepared.height) == (1000, 800)
    assert JPEG_QUALITY_FLOOR <= (prepared.jpeg_quality or 0) <= JPEG_QUALITY_MAX
    assert prepared.describe()["original"] == {"bytes": len(content), "width": 1000, "height": 800}


def test_a_photo_too_big_for_any_quality_is_made_smaller_keeping_its_aspect():
    content = noisy_large_jpeg(3000, 2000)
    prepared = fit_max_bytes(content, "image/jpeg", max_bytes=1_000_000)
    assert len(prepared.content) <= 1_000_000
    assert prepared.width < 3000
    assert prepared.width / prepared.height == pytest.approx(1.5, abs=0.01)
    assert image_size(prepared.content) == (prepared.width, prepared.height)
    assert open_image(prepared.content).format == "JPEG"


def test_a_png_over_the_limit_becomes_a_jpeg():
    content = png(open_image(noisy_large_jpeg(900, 900)))
    prepared = fit_max_bytes(content, "image/png", max_bytes=500_000)
    assert prepared.content_type == "image/jpeg"
    assert prepared.extension == "jpg"
    assert len(prepared.content) <= 500_000


def test_a_limit_no_face_photo_can_meet_is_an_error_not_a_thumbnail():
    with pytest.raises(ImageFitError, match="320 px"):
        fit_max_bytes(noisy_large_jpeg(1200, 900), "image/jpeg", max_bytes=2_000)


def test_fit_max_side_downscales_only_the_oversized_and_keeps_the_format():
    small = image_bytes(800, 600)
    assert fit_max_side(small, "image/jpeg", max_side=1000).content is small
    big_png = png(open_image(image_bytes(3000, 1000)))
    prepared = fit_max_side(big_png, "image/png", max_side=1500)
    assert (prepared.width, prepared.height) == (1500, 500)
    assert prepared.content_type == "image/png"
    assert open_image(prepared.content).format == "PNG"
    assert prepared.reencoded is True
