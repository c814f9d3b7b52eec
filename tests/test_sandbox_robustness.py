"""No input makes a simulator answer 500: malformed multipart, wrong JSON, huge uploads, bad base64, images
that are not images. Every refusal is a 4xx in the vendor's own error shape."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
import requests
from PIL import Image

from tests.vendor_fixtures import OBAMA_FRONT, face_bytes

VENDORS = {
    "accura_face": ("accura", "/v2/api/liveness", {"Api-Key": "k"}, "liveness_image"),
    "accura_id": ("accura", "/v2/api/id-liveness", {"Api-Key": "k"}, "liveness_image"),
    "kairos": ("kairos", "/v0.2/liveness-verification", {"app_id": "a", "app_key": "b"}, "selfie"),
}
RISET = "/liveness-api/verify-face-liveness"


def assert_vendor_error(vendor: str, response: requests.Response, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    body = response.json()
    if vendor == "accura":
        assert body["status"] is False
        assert body["message"]
    elif vendor == "riset":
        assert body["status"] == str(response.status_code)
        assert body["status_message"]
    else:
        assert body["error"]
        assert body["status"] == response.status_code


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels but holds almost no data (a pixel bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")
    )


def gif_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 400), (90, 90, 90)).save(out, format="GIF")
    return out.getvalue()


TRUNCATED_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb"
BAD_IMAGES = {
    "text": b"this is not an image at all",
    "empty": b"",
    "truncated_jpeg": TRUNCATED_JPEG,
    "pixel_bomb": png_claiming(100_000, 100_000),
    "gif": gif_bytes(),
}


@pytest.mark.parametrize("endpoint", sorted(VENDORS))
@pytest.mark.parametrize("image", sorted(BAD_IMAGES))
def test_an_unreadable_image_is_a_400_never_a_500(sandbox, endpoint, image):
    vendor, path, headers, field = VENDORS[endpoint]
    response = requests.post(
        sandbox.url(vendor, path),
        headers=headers,
        data={"threshold": "0.6", "country_code": "ROU", "card_code": "ID"},
        files={field: ("upload.jpg", BAD_IMAGES[image], "image/jpeg")},
        timeout=60,
    )
    assert_vendor_error(vendor, response, 400)


MALFORMED_MULTIPART = {
    "no_boundary": ("multipart/form-data", b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n'),
    "garbage": ("multipart/form-data; boundary=xyz", b"\x00\xff\xfe garbage without any boundary"),
    "truncated": (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="liveness_image"; filename="a.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0 partial",
    ),
    "bad_disposition": (
        "multipart/form-data; boundary=xyz",
        b"--xyz\r\nContent-Disposition: \xff\xfe\r\n\r\nx\r\n--xyz--",
    ),
    "json_instead": ("application/json", b'{"liveness_image": "abc", "selfie": "abc"}'),
    "urlencoded": ("application/x-www-form-urlencoded", b"liveness_image=abc&selfie=abc&threshold=0.6"),
}


@pytest.mark.parametrize("endpoint", sorted(VENDORS))
@pytest.mark.parametrize("body", sorted(MALFORMED_MULTIPART))
def test_a_malformed_multipart_body_is_a_400_never_a_500(sandbox, endpoint, body):
    vendor, path, headers, _ = VENDORS[endpoint]
    content_type, payload = MALFORMED_MULTIPART[body]
    response = requests.post(
        sandbox.url(vendor, path), headers={**headers, "Content-Type": content_type}, data=payload, timeout=60
    )
    assert_vendor_error(vendor, response, 400)


GOOD_FRAME = base64.b64encode(face_bytes(OBAMA_FRONT)).decode()
BAD_RISET_BODIES = {
    "not_json": b"{not json",
    "too_deep": b"[" * 100_000,
    "array": b"[]",
    "null": b"null",
    "string": b'"hello"',
    "not_utf8": b'{"trx_id": "\xff\xfe"}',
    "nan": b'{"trx_id": "t", "images": [NaN], "face_parameters": ["front"]}',
    "images_not_list": b'{"trx_id": "t", "images": "abc", "face_parameters": ["front"]}',
    "image_not_string": b'{"trx_id": "t", "images": [1], "face_parameters": ["front"]}',
    "bad_base64": b'{"trx_id": "t", "images": ["!!!not base64!!!"], "face_parameters": ["front"]}',
    "base64_of_text": b'{"trx_id": "t", "images": ["aGVsbG8gd29ybGQ="], "face_parameters": ["front"]}',
    "base64_of_bomb": (
        b'{"trx_id": "t", "images": ["' + base64.b64encode(png_claiming(90_000, 90_000)) + b'"], '
        b'"face_parameters": ["front"]}'
    ),
    "parameter_not_string": b'{"trx_id": "t", "images": ["' + GOOD_FRAME.encode() + b'"], "face_parameters": [5]}',
    "huge_threshold": b'{"trx_id": "t", "images": ["' + GOOD_FRAME.encode() + b'"], "face_parameters": ["front"], '
    b'"success_threshold": 1e400}',
}


@pytest.mark.parametrize("body", sorted(BAD_RISET_BODIES))
def test_wrong_json_for_riset_is_a_400_never_a_500(sandbox, body):
    response = requests.post(
        sandbox.url("riset", RISET),
        headers={"Accesstoken": "t", "Content-Type": "application/json"},
        data=BAD_RISET_BODIES[body],
        timeout=60,
    )
    assert_vendor_error("riset", response, 400)


@pytest.mark.parametrize("vendor", ["accura", "kairos", "riset"])
def test_an_upload_over_the_sandbox_body_cap_is_refused_unread(sandbox, settings, vendor):
    settings.SANDBOX_MAX_BODY_BYTES = 2_000_000
    path = {"accura": "/v2/api/liveness", "kairos": "/v0.2/liveness-verification", "riset": RISET}[vendor]
    response = requests.post(
        sandbox.url(vendor, path),
        headers={"Api-Key": "k", "app_id": "a", "app_key": "b", "Accesstoken": "t"},
        files={"liveness_image": ("big.jpg", b"\xff" * 3_000_000, "image/jpeg")},
        timeout=60,
    )
    assert_vendor_error(vendor, response, 413)


def test_a_riset_body_over_djangos_memory_limit_is_a_413(sandbox, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000_000
    response = requests.post(
        sandbox.url("riset", RISET),
        headers={"Accesstoken": "t"},
        json={"trx_id": "t", "images": [GOOD_FRAME] * 4, "face_parameters": ["front"] * 4},
        timeout=60,
    )
    assert_vendor_error("riset", response, 413)


@pytest.mark.parametrize(
    ("header", "value"),
    [("X-Sandbox-Fault", "explode"), ("X-Sandbox-Fault", "5xx=404"), ("X-Sandbox-Outcome", "maybe")],
)
def test_an_unreadable_sandbox_header_is_a_400(sandbox, header, value):
    response = requests.post(
        sandbox.url("kairos", "/v0.2/liveness-verification"),
        headers={"app_id": "a", "app_key": "b", header: value},
        data={"threshold": "0.6"},
        files={"selfie": ("s.jpg", face_bytes(OBAMA_FRONT), "image/jpeg")},
        timeout=60,
    )
    assert_vendor_error("kairos", response, 400)
    assert "sandbox" in response.json()["error"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_a_405(sandbox, method):
    response = requests.request(method, sandbox.url("riset", RISET), timeout=30)
    assert_vendor_error("riset", response, 405)


def test_a_sliver_of_an_image_is_answered_as_no_face(sandbox):
    sliver = io.BytesIO()
    Image.new("RGB", (2, 5000), (128, 128, 128)).save(sliver, format="PNG")
    accura = requests.post(
        sandbox.url("accura", "/v2/api/liveness"),
        headers={"Api-Key": "k"},
        files={"liveness_image": ("s.png", sliver.getvalue(), "image/png")},
        timeout=60,
    )
    assert accura.status_code == 200
    assert accura.json() == {"status": False, "message": "Face not detected"}
    riset = requests.post(
        sandbox.url("riset", RISET),
        headers={"Accesstoken": "t"},
        json={"trx_id": "t", "images": [base64.b64encode(sliver.getvalue()).decode()], "face_parameters": ["front"]},
        timeout=60,
    )
    assert riset.status_code == 200
    assert riset.json()["results"]["image1"]["match"] is False
