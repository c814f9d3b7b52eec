"""The vendors' own sample requests, taken from their documents as published and run against the
simulators with only the host changed (and the placeholder file path pointed at a real photo)."""

from __future__ import annotations

import base64
import json
import shlex
import shutil
import subprocess

import pytest
import requests

from tests.vendor_fixtures import (
    FRONTAL_FACE,
    ID_WITH_PORTRAIT,
    OBAMA_FRONT,
    code_blocks,
    face_bytes,
    vendor_doc,
    write_file,
)

pytestmark = pytest.mark.usefixtures("fresh_judge")

KAIROS_HOST = "https://idv-eu.kairos.com"
ACCURA_HOST = "https://api.accurascan.com"
PLACEHOLDER_PATH = "/path/to/selfie_image"
RISET_RESULT_KEYS = {
    "match", "verified", "similarity", "masker", "spoof", "spoof_score", "roll", "pitch", "yaw",
    "left_eye", "left_eye_score", "right_eye", "right_eye_score", "mouth", "mouth_score",
}  # fmt: skip


def run_curl(arguments: list[str]) -> tuple[int, dict]:
    """Run curl as given, plus output flags only (no request changes); return (status, JSON body)."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    completed = subprocess.run(
        [*arguments, "--silent", "--show-error", "--write-out", "\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    body, _, status = completed.stdout.rpartition("\n")
    return int(status), json.loads(body)


def test_the_kairos_curl_command_is_accepted_as_written(sandbox, tmp_path):
    [command] = code_blocks(vendor_doc("kairos-liveness.md"), "sh")
    selfie = write_file(tmp_path, "selfie_image", face_bytes(FRONTAL_FACE))
    arguments = shlex.split(command.replace("\\\n", " "))
    assert arguments[0] == "curl"
    assert f"{KAIROS_HOST}/v0.2/liveness-verification" in arguments
    assert "app_id: put_app_id_here" in arguments  # the documented underscore form, sent as written
    arguments = [
        a.replace(KAIROS_HOST, sandbox.url("kairos", "")).replace(PLACEHOLDER_PATH, str(selfie)) for a in arguments
    ]
    status, body = run_curl(arguments)
    assert status == 200
    assert set(body) == {"api_req_uid", "processed_at", "requested_at", "response_code", "response_data"}
    data = body["response_data"]
    assert set(data) == {"faces_liveness", "faces_predicted", "img"}
    assert data["faces_liveness"] >= 0.6  # a live face against the sample's threshold=0.6
    [face] = data["faces_predicted"]
    assert set(face) == {"confidence", "delta", "top_left"}
    assert data["img"] == {"height": 2048, "width": 1536}


def test_the_kairos_python_snippet_is_accepted_as_written(sandbox, tmp_path):
    [snippet] = code_blocks(vendor_doc("kairos-liveness.md"), "python")
    selfie = write_file(tmp_path, "selfie_image", face_bytes(OBAMA_FRONT))
    assert KAIROS_HOST in snippet
    assert PLACEHOLDER_PATH in snippet
    runnable = snippet.replace(KAIROS_HOST, sandbox.url("kairos", "")).replace(PLACEHOLDER_PATH, str(selfie))
    namespace: dict = {}
    exec(compile(runnable, "kairos-liveness.md", "exec"), namespace)  # the document's own code
    response = namespace["response"]
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Request-ID"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.json()["response_data"]["faces_liveness"] > 0.6


def postman_requests(document: str) -> list[dict]:
    [collection] = code_blocks(vendor_doc(document), "json")
    return [item["request"] for item in json.loads(collection)["collection"]["item"]]


def postman_as_curl(request: dict, *, url: str, image: str) -> list[str]:
    """The curl equivalent of one Postman request: its method, headers and form data as published."""
    arguments = ["curl", "-X", request["method"], url]
    for header in request["header"]:
        arguments += ["--header", f"{header['key']}: {header['value']}"]
    for field in request["body"]["formdata"]:
        if field["type"] == "file":
            arguments += ["--form", f"{field['key']}=@{image}"]
        else:
            arguments += ["--form", f"{field['key']}={field['value']}"]
    return arguments


@pytest.mark.parametrize(
    ("document", "path", "photo"),
    [
        ("accura-face-liveness.md", "/v2/api/liveness", FRONTAL_FACE),
        ("accura-id-liveness.md", "/v2/api/id-liveness", ID_WITH_PORTRAIT),
    ],
)
def test_the_accura_postman_request_is_accepted_as_curl(sandbox, tmp_path, document, path, photo):
    [request] = postman_requests(document)
    assert request["url"]["raw"] == f"{ACCURA_HOST}{path}"
    image = write_file(tmp_path, "liveness_image.jpg", face_bytes(photo))
    url = request["url"]["raw"].replace(ACCURA_HOST, sandbox.url("accura", ""))
    status, body = run_curl(postman_as_curl(request, url=url, image=str(image)))
    assert status == 200
    assert body["status"] is True
    assert 0 <= body["data"]["score"] <= 100
    assert "quality" in body["data"]


def test_the_riset_json_body_is_accepted_with_real_images(sandbox):
    [documented] = [block for block in code_blocks(vendor_doc("riset-liveness.md"), "json") if "trx_id" in block]
    # The published body ends its "images" list with a trailing comma and elides the base64 ("..."):
    # both are repaired, every other field is sent exactly as documented.
    body = json.loads(documented.replace('...",\n    ]', '..."\n    ]'))
    assert len(body["images"]) == len(body["face_parameters"]) == body["success_threshold"] == 8
    frame = base64.b64encode(face_bytes(OBAMA_FRONT)).decode()
    body["images"] = [frame] * 8
    response = requests.post(
        sandbox.url("riset", "/liveness-api/verify-face-liveness"),
        headers={"Accesstoken": "oauth-access-token"},
        json=body,
        timeout=60,
    )
    assert response.status_code == 200
    answer = response.json()
    assert (answer["status"], answer["status_message"]) == ("200", "Success")
    assert answer["liveness"] in ("passed", "failed")
    assert list(answer["results"]) == [f"image{i}" for i in range(1, 9)]
    for result in answer["results"].values():
        assert set(result) == RISET_RESULT_KEYS
    # One frontal photo answers "front", "eyes open" and "mouth closed" but cannot turn its head:
    # the documented series asks for left/right/up, so it fails its success_threshold of 8.
    matches = [answer["results"][f"image{i}"]["match"] for i in range(1, 9)]
    assert matches[:3] == [False, False, False]
    assert answer["liveness"] == "failed"
