"""Each simulator answers like its vendor: auth, required fields, limits, response shapes, determinism,
and it exists only where SANDBOX_ENABLED is set."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
import requests
from django.conf import settings as django_settings

from tests.helpers import image_bytes
from tests.vendor_fixtures import FRONTAL_FACE, OBAMA_FRONT, face_bytes, jpeg, noisy_large_jpeg, open_image

pytestmark = pytest.mark.usefixtures("fresh_judge")

ACCURA_FACE = "/v2/api/liveness"
ACCURA_ID = "/v2/api/id-liveness"
KAIROS = "/v0.2/liveness-verification"
RISET = "/liveness-api/verify-face-liveness"


def post(url: str, **kwargs) -> requests.Response:
    return requests.post(url, timeout=60, **kwargs)


def selfie_file(content: bytes | None = None, name: str = "selfie.jpg") -> tuple[str, bytes, str]:
    return (name, content if content is not None else face_bytes(OBAMA_FRONT), "image/jpeg")


# --- Accura -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Api-Key": ""}, {"X-Api-Key": "misnamed"}])
def test_accura_refuses_a_missing_api_key_as_the_vendor_would(sandbox, headers):
    response = post(sandbox.url("accura", ACCURA_FACE), headers=headers, files={"liveness_image": selfie_file()})
    assert response.status_code == 401
    assert response.json() == {"status": False, "message": "Api-Key header is required"}


def test_accura_accepts_any_non_empty_key_and_answers_the_documented_shape(sandbox):
    response = post(
        sandbox.url("accura", ACCURA_FACE), headers={"Api-Key": "anything"}, files={"liveness_image": selfie_file()}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "message", "data"}
    assert body["status"] is True
    assert set(body["data"]) == {"score", "quality"}
    assert 0 <= body["data"]["score"] <= 100
    assert response.headers["X-Sandbox-Basis"] == "passive-model"


@pytest.mark.parametrize(
    ("data", "files", "message"),
    [
        ({}, {}, "liveness_image is required"),
        (
            {"liveness_image": "aGVsbG8="},
            {},
            "liveness_image must be sent as a file (multipart/form-data), not as text",
        ),
        ({}, {"image": ("s.jpg", b"x", "image/jpeg")}, "liveness_image is required"),
    ],
)
def test_accura_refuses_a_request_without_the_image_file(sandbox, data, files, message):
    response = post(sandbox.url("accura", ACCURA_FACE), headers={"Api-Key": "k"}, data=data, files=files or None)
    assert response.status_code == 400
    assert response.json() == {"status": False, "message": message}


def test_accura_refuses_an_upload_over_one_megabyte(sandbox):
    big = noisy_large_jpeg(1200, 900)
    assert len(big) > 1_000_000
    response = post(
        sandbox.url("accura", ACCURA_FACE), headers={"Api-Key": "k"}, files={"liveness_image": selfie_file(big)}
    )
    assert response.status_code == 413
    assert response.json()["message"].endswith("the maximum upload size is 1 MB")


@pytest.mark.parametrize("missing", ["country_code", "card_code"])
def test_accura_id_requires_country_and_card_codes(sandbox, missing):
    data = {"country_code": "ROU", "card_code": "ID"}
    data.pop(missing)
    response = post(
        sandbox.url("accura", ACCURA_ID), headers={"Api-Key": "k"}, data=data, files={"liveness_image": selfie_file()}
    )
    assert response.status_code == 400
    assert response.json() == {"status": False, "message": f"{missing} is required"}


def test_accura_answers_status_false_when_there_is_no_face(sandbox):
    response = post(
        sandbox.url("accura", ACCURA_FACE),
        headers={"Api-Key": "k"},
        files={"liveness_image": selfie_file(image_bytes(640, 480))},
    )
    assert response.status_code == 200
    assert response.json() == {"status": False, "message": "Face not detected"}


def test_only_post_is_allowed(sandbox):
    response = requests.get(sandbox.url("accura", ACCURA_FACE), timeout=30)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["status"] is False


# --- Kairos -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"app_id": "id-only"}, {"app_key": "key-only"}, {"app-id": "id", "app-key": ""}],
)
def test_kairos_refuses_missing_credentials_with_an_authentication_error(sandbox, headers):
    response = post(
        sandbox.url("kairos", KAIROS), headers=headers, data={"threshold": "0.6"}, files={"selfie": selfie_file()}
    )
    assert response.status_code == 401
    assert "app_id and app_key" in response.json()["error"]


@pytest.mark.parametrize(
    "headers", [{"app_id": "a", "app_key": "b"}, {"app-id": "a", "app-key": "b"}, {"App-Id": "a", "App-Key": "b"}]
)
def test_kairos_accepts_both_spellings_of_its_headers(sandbox, headers):
    response = post(
        sandbox.url("kairos", KAIROS), headers=headers, data={"threshold": "0.6"}, files={"selfie": selfie_file()}
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Strict-Transport-Security"] == "max-age=86400; includeSubDomains"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "threshold is required (a number between 0 and 1)"),
        ({"threshold": "abc"}, "threshold must be a number between 0 and 1"),
        ({"threshold": "1.5"}, "threshold must be a number between 0 and 1"),
        ({"threshold": "-0.1"}, "threshold must be a number between 0 and 1"),
    ],
)
def test_kairos_validates_the_threshold(sandbox, data, message):
    response = post(
        sandbox.url("kairos", KAIROS),
        headers={"app_id": "a", "app_key": "b"},
        data=data,
        files={"selfie": selfie_file()},
    )
    assert response.status_code == 400
    assert response.json() == {"error": message, "status": 400}


@pytest.mark.parametrize(("size", "bound"), [((299, 600), "minimum is 300 px"), ((5001, 320), "maximum is 5000 px")])
def test_kairos_enforces_its_documented_image_size_bounds(sandbox, size, bound):
    response = post(
        sandbox.url("kairos", KAIROS),
        headers={"app_id": "a", "app_key": "b"},
        data={"threshold": "0.6"},
        files={"selfie": selfie_file(image_bytes(*size))},
    )
    assert response.status_code == 400
    assert bound in response.json()["error"]


def test_the_same_image_always_gets_the_same_answer(sandbox):
    def ask() -> dict:
        return post(
            sandbox.url("kairos", KAIROS),
            headers={"app_id": "a", "app_key": "b"},
            data={"threshold": "0.6"},
            files={"selfie": selfie_file(face_bytes(FRONTAL_FACE))},
        ).json()

    first, second = ask(), ask()
    assert first["response_data"] == second["response_data"]
    assert first["api_req_uid"] != second["api_req_uid"]  # a new request id every time, as a vendor's


# --- Riset ------------------------------------------------------------------------------------------------


def riset_body(**overrides: object) -> dict:
    frame = base64.b64encode(face_bytes(OBAMA_FRONT)).decode()
    body: dict = {"trx_id": "trx1", "images": [frame], "face_parameters": ["front"]}
    body.update(overrides)
    return body


def test_riset_refuses_a_missing_access_token(sandbox):
    response = post(sandbox.url("riset", RISET), json=riset_body())
    assert response.status_code == 401
    assert response.json() == {"status": "401", "status_message": "Accesstoken header is required"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"trx_id": None}, "trx_id is required"),
        ({"trx_id": ""}, "trx_id must be a non-empty string"),
        ({"face_parameters": ["front", "left"]}, "number of images (1) must be the same as face_parameters (2)"),
        ({"images": []}, "images is required: a non-empty list of base64 JPEG or PNG images"),
        ({"face_parameters": ["smile"]}, "unknown face_parameters ['smile']"),
        ({"success_threshold": 2}, "success_threshold must be an integer between 1 and 1"),
        ({"success_threshold": 0}, "success_threshold must be an integer between 1 and 1"),
        ({"success_threshold": True}, "success_threshold must be an integer between 1 and 1"),
        ({"success_threshold": "1"}, "success_threshold must be an integer between 1 and 1"),
        ({"spoof_detection": "yes"}, "spoof_detection must be true or false"),
        ({"user_id": 12}, "user_id must be a non-empty string"),
    ],
)
def test_riset_validates_the_documented_body(sandbox, overrides, message):
    body = {k: v for k, v in riset_body(**overrides).items() if v is not None}
    response = post(sandbox.url("riset", RISET), headers={"Accesstoken": "t"}, json=body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["status"] == "400"
    assert answer["status_message"].startswith(message)


def test_riset_without_spoof_detection_leaves_the_spoof_fields_empty(sandbox):
    response = post(sandbox.url("riset", RISET), headers={"Accesstoken": "t"}, json=riset_body(spoof_detection=False))
    result = response.json()["results"]["image1"]
    assert (result["spoof"], result["spoof_score"]) == (None, None)
    assert result["match"] is True  # the frontal photo answers "front"
    assert response.json()["liveness"] == "passed"


def test_riset_answers_a_frame_without_a_face_with_no_measurements(sandbox):
    blank = base64.b64encode(image_bytes(640, 480)).decode()
    response = post(sandbox.url("riset", RISET), headers={"Accesstoken": "t"}, json=riset_body(images=[blank]))
    result = response.json()["results"]["image1"]
    assert (result["match"], result["verified"], result["yaw"], result["spoof"]) == (False, False, None, None)
    assert response.json()["liveness"] == "failed"


def test_riset_verifies_every_frame_against_the_first_face(sandbox):
    other_person = base64.b64encode(jpeg(open_image(face_bytes(FRONTAL_FACE)))).decode()
    body = riset_body(images=[riset_body()["images"][0], other_person], face_parameters=["front", "front"])
    results = post(sandbox.url("riset", RISET), headers={"Accesstoken": "t"}, json=body).json()["results"]
    assert (results["image1"]["verified"], results["image1"]["similarity"]) == (True, 1.0)
    assert results["image2"]["verified"] is False
    assert results["image2"]["similarity"] < 0.5


# --- Mounting ---------------------------------------------------------------------------------------------


def test_production_settings_never_mount_the_simulators(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kyc_portal.settings.production",
        "SECRET_KEY": "x" * 60,
        "EVIDENCE_ENCRYPTION_KEYS": "hVMo8Xv8gTpwcrbGv3G6oqz8Ha0r2KySVgdqRDhYyJ8=",
        "KYC_VAR_DIR": str(tmp_path),
        "SANDBOX_ENABLED": "",
    }
    env.pop("SANDBOX_ENABLED")
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.urls import Resolver404, resolve\n"
        "assert settings.SANDBOX_ENABLED is False\n"
        "try:\n"
        "    resolve('/sandbox/accura/v2/api/liveness')\n"
        "except Resolver404:\n"
        "    print('not mounted')\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False,
        cwd=django_settings.BASE_DIR,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "not mounted"
