"""Adapters read vendor answers defensively: an unknown shape is a permanent error with the body kept,
never a silent zero; failures are classified retryable or permanent; secrets never reach stored bodies."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest

from liveness.providers import (
    CheckRequest,
    PermanentProviderError,
    ProviderResult,
    RetryableProviderError,
    get_provider,
)
from liveness.providers.details import load as load_details
from liveness.providers.http import HttpProvider, HttpResponse
from liveness.vendors.riset import success_threshold_for
from tests.helpers import image_bytes
from tests.vendor_fixtures import check_request, evidence

JSON = {"Content-Type": "application/json"}


def vendor(key: str) -> HttpProvider:
    provider = get_provider(key)
    assert isinstance(provider, HttpProvider)
    return provider


def response(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {**JSON, **(headers or {})}, raw, latency_ms=12)


SELFIE = check_request("selfie", [evidence("selfie", image_bytes(640, 480))], threshold=0.55)


def frames_request(parameters: list[str], **fields: Any):
    images = [evidence("frame", image_bytes(400, 400), index=i, face_parameter=p) for i, p in enumerate(parameters)]
    return check_request("active", images, face_parameters=parameters, **fields)


# --- Accura ---------------------------------------------------------------------------------------------


def test_accura_reads_the_score_as_a_percentage():
    result = vendor("accura_face").parse(response({"status": True, "data": {"score": 73.5, "quality": 88}}), SELFIE)
    assert result.score == pytest.approx(0.735)
    assert load_details(result.details).images[0].vendor_fields["quality"] == 88  # not a word: kept as given
    assert result.vendor_label == "score 73.5%"


@pytest.mark.parametrize(
    "body",
    [
        {"status": True},
        {"status": True, "data": {"quality": 1}},
        {"status": True, "data": {"score": "73"}},
        {"status": True, "data": {"score": 130}},
        {"status": True, "data": {"score": -1}},
        {"status": True, "data": {"score": True}},
        {"status": "true", "data": {"score": 73}},
        {"data": {"score": 73}},
        [1, 2, 3],
    ],
)
def test_accura_refuses_an_unknown_shape_instead_of_reading_a_zero(body):
    with pytest.raises(PermanentProviderError) as raised:
        vendor("accura_face").parse(response(body), SELFIE)
    assert raised.value.code == "unparseable"
    assert raised.value.raw_body == json.dumps(body)


def test_accura_no_face_is_a_result_without_a_score():
    result = vendor("accura_face").parse(response({"status": False, "message": "Face not detected"}), SELFIE)
    assert (result.score, result.reason) == (None, "no_face")
    assert load_details(result.details).vendor_fields["message"] == "Face not detected"


def test_a_body_that_is_not_json_is_permanent_with_the_body_kept():
    with pytest.raises(PermanentProviderError) as raised:
        vendor("accura_face").parse(response(b"<html>oops</html>", headers={"Content-Type": ""}), SELFIE)
    assert raised.value.code == "unparseable"
    assert raised.value.raw_body == "<html>oops</html>"


def test_a_vendor_echoing_the_api_key_never_gets_it_stored(settings):
    settings.ACCURA_API_KEY = "secret-key-123"
    provider = vendor("accura_face")
    error = provider.classify(response({"status": False, "message": "bad key secret-key-123"}, status=401))
    assert isinstance(error, PermanentProviderError)
    assert error.code == "auth"
    assert "secret-key-123" not in error.raw_body
    assert "[redacted]" in error.raw_body
    result = provider.parse(response({"status": True, "data": {"score": 60, "quality": "secret-key-123"}}), SELFIE)
    assert result.raw_response["data"]["quality"] == "[redacted]"


# --- classification -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "status", "retryable", "code"),
    [
        ("kairos", 403, True, "usage_limit"),
        ("kairos", 401, False, "auth"),
        ("kairos", 429, True, "rate_limited"),
        ("kairos", 503, True, "vendor_5xx"),
        ("kairos", 400, False, "vendor_4xx"),
        ("accura_face", 403, False, "auth"),
        ("accura_face", 413, False, "vendor_4xx"),
        ("riset", 500, True, "vendor_5xx"),
        ("riset", 422, False, "vendor_4xx"),
    ],
)
def test_failures_are_classified_retryable_or_permanent(provider, status, retryable, code):
    error = vendor(provider).classify(response({"error": "x"}, status=status, headers={"X-Request-ID": "r-1"}))
    assert error is not None
    assert (error.retryable, error.code, error.status_code) == (retryable, code, status)
    if provider == "kairos":
        assert error.vendor_request_id == "r-1"


# --- Kairos ---------------------------------------------------------------------------------------------

KAIROS_DOC_BODY = {
    "api_req_uid": "c6bb825f-871c-4323-8c06-8e5fd3517747",
    "processed_at": "2024-04-01 20:05:17",
    "requested_at": "2024-04-01 20:05:17",
    "response_code": 2,
    "response_data": {
        "faces_liveness": 0.0,
        "faces_predicted": [
            {"confidence": 0.9885, "delta": {"x": 18.9982, "y": 25.3957}, "top_left": {"x": 38.0577, "y": 4.0824}}
        ],
        "img": {"height": 71, "width": 95},
    },
}


def test_kairos_parses_the_documented_response_body():
    result = vendor("kairos").parse(response(KAIROS_DOC_BODY), SELFIE)
    assert result.score == 0.0
    assert result.vendor_request_id == "c6bb825f-871c-4323-8c06-8e5fd3517747"
    detail = load_details(result.details)
    [image] = detail.images
    assert image.faces is not None
    [face] = image.faces
    assert face.box is not None
    assert face.box.dump() == pytest.approx({"left": 38.0577, "top": 4.0824, "right": 57.0559, "bottom": 29.4781})
    assert face.detection_score == 0.9885
    assert image.image is not None
    assert (image.image.width, image.image.height) == (95, 71)
    assert detail.vendor_fields["response_code"] == 2


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("response_data"),
        lambda b: b["response_data"].update(faces_liveness=1.2),
        lambda b: b["response_data"].update(faces_liveness=None),
        lambda b: b["response_data"].update(faces_predicted={"a": 1}),
        lambda b: b["response_data"]["faces_predicted"][0].pop("delta"),
    ],
)
def test_kairos_refuses_a_broken_body(mutate):
    body = json.loads(json.dumps(KAIROS_DOC_BODY))
    mutate(body)
    with pytest.raises(PermanentProviderError) as raised:
        vendor("kairos").parse(response(body), SELFIE)
    assert raised.value.code == "unparseable"


# --- Riset ----------------------------------------------------------------------------------------------


def frame(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "match": True, "verified": True, "similarity": 0.96, "masker": False, "spoof": "real",
        "spoof_score": 0.9, "roll": -0.4, "pitch": 19.32, "yaw": 6.13, "left_eye": "open",
        "left_eye_score": 0.9999, "right_eye": "open", "right_eye_score": 1.0, "mouth": "closed",
        "mouth_score": 0.9762,
    }  # fmt: skip
    values.update(overrides)
    return values


def riset_body(frames: list[dict[str, Any]], liveness: str = "passed") -> dict[str, Any]:
    return {
        "status": "200",
        "status_message": "Success",
        "liveness": liveness,
        "results": {f"image{i + 1}": f for i, f in enumerate(frames)},
    }


def test_riset_counts_frames_that_match_verify_and_are_real():
    request = frames_request(["left", "right", "front", "eyes open"], success_threshold=3)
    frames = [frame(), frame(spoof="spoof", spoof_score=0.77), frame(match=False), frame(verified=None)]
    result = vendor("riset").parse(response(riset_body(frames, "failed")), request)
    detail = load_details(result.details)
    assert [f.vendor_fields["passed"] for f in detail.images] == [True, False, False, True]
    assert (result.score, result.threshold) == (0.5, 0.75)
    assert detail.images[1].vendor_fields["real_probability"] == pytest.approx(0.23)
    assert result.details["images"][0]["pose"] == {"yaw": 6.13, "pitch": 19.32, "roll": -0.4}
    assert result.details["images"][0]["eyes"]["right"] == {"state": "open", "score": 1.0}
    assert "vendor_disagrees" not in detail.vendor_fields
    assert result.vendor_label == "failed: 2/4 frames (needs 3)"


def test_riset_flags_a_vendor_verdict_that_disagrees_with_the_count():
    request = frames_request(["front"])
    result = vendor("riset").parse(response(riset_body([frame(match=False)], "passed")), request)
    assert result.score == 0.0
    disagreement = load_details(result.details).vendor_fields["vendor_disagrees"]
    assert disagreement == "vendor says passed, the frame count says failed"


def test_riset_with_no_face_in_any_frame_is_not_assessed():
    empty = frame(
        match=False, verified=False, similarity=0.0, spoof=None, spoof_score=None, roll=None, pitch=None, yaw=None,
        left_eye=None, left_eye_score=None, right_eye=None, right_eye_score=None, mouth=None, mouth_score=None,
    )  # fmt: skip
    result = vendor("riset").parse(response(riset_body([empty, empty], "failed")), frames_request(["up", "down"]))
    assert (result.score, result.reason) == (None, "no_face")


@pytest.mark.parametrize(
    "results",
    [
        {"image1": frame()},  # image2 missing
        {"image1": frame(), "image2": frame(match="yes")},
        {"image1": frame(), "image2": frame(spoof="fake")},
        {"image1": frame(), "image2": frame(yaw="left")},
        {"image1": frame(), "image2": frame(mouth="ajar")},
        {"image1": frame(), "image2": "not an object"},
    ],
)
def test_riset_refuses_missing_or_mistyped_frame_results(results):
    body = {"status": "200", "status_message": "Success", "liveness": "passed", "results": results}
    with pytest.raises(PermanentProviderError) as raised:
        vendor("riset").parse(response(body), frames_request(["front", "front"]))
    assert raised.value.code == "unparseable"


@pytest.mark.parametrize(("status", "kind"), [("500", RetryableProviderError), ("400", PermanentProviderError)])
def test_riset_reads_an_error_in_the_envelope_of_an_http_200(status, kind):
    body = {"status": status, "status_message": "Image quality too low"}
    with pytest.raises(kind, match="Image quality too low"):
        vendor("riset").parse(response(body), frames_request(["front"]))


@pytest.mark.parametrize(
    ("threshold", "frames", "case_value", "expected"),
    [(1.0, 8, None, 8), (0.75, 8, None, 6), (0.7, 10, None, 7), (0.01, 8, None, 1), (1.0, 8, 5, 5), (0.5, 3, 9, 3)],
)
def test_the_success_threshold_comes_from_the_case_or_the_setting(threshold, frames, case_value, expected):
    request = check_request("active", [], threshold=threshold, success_threshold=case_value)
    assert success_threshold_for(request, frames) == expected


def answered(key: str, vendor_response: HttpResponse, request: CheckRequest) -> ProviderResult:
    """The whole adapter (build, send, classify, parse) with the vendor faked at the one HTTP seam."""
    with mock.patch("liveness.providers.http.send", return_value=vendor_response):
        return vendor(key).check(request)


def test_it_removes_an_echoed_credential_from_the_stored_details_and_label_too(settings):
    settings.ACCURA_API_KEY = "secret-key-123"
    body = {"status": True, "message": "ok for secret-key-123", "data": {"score": 60, "quality": "secret-key-123"}}
    result = answered("accura_face", response(body), SELFIE)
    assert "secret-key-123" not in json.dumps(result.details)
    assert "secret-key-123" not in result.vendor_label
    assert load_details(result.details).vendor_fields["message"] == "ok for [redacted]"


def test_it_removes_an_echoed_credential_from_the_error_message_shown_and_logged(settings):
    settings.RISET_ACCESS_TOKEN = "riset-token-xyz"
    body = {"status": "400", "status_message": "token riset-token-xyz is not valid for this gallery"}
    with pytest.raises(PermanentProviderError) as raised:
        answered("riset", response(body), frames_request(["front"]))
    assert "riset-token-xyz" not in raised.value.message
    assert "riset-token-xyz" not in str(raised.value)
    assert "riset-token-xyz" not in raised.value.raw_body


@pytest.mark.parametrize(("status", "code"), [("401", "auth"), ("403", "auth"), ("422", "vendor_4xx")])
def test_it_reads_a_refused_credential_in_a_riset_envelope_as_an_auth_failure(status, code):
    body = {"status": status, "status_message": "refused"}
    with pytest.raises(PermanentProviderError) as raised:
        answered("riset", response(body), frames_request(["front"]))
    assert raised.value.code == code


def test_it_treats_a_riset_answer_without_its_status_envelope_as_unparseable():
    body = {"results": {"image1": frame()}}
    with pytest.raises(PermanentProviderError) as raised:
        answered("riset", response(body), frames_request(["front"]))
    assert raised.value.code == "unparseable"


def test_it_labels_a_riset_result_with_the_frame_count_when_the_vendor_liveness_is_not_documented():
    body = riset_body([frame()], liveness={"nested": "x" * 200})  # type: ignore[arg-type]
    result = answered("riset", response(body), frames_request(["front"]))
    assert result.vendor_label == "passed: 1/1 frames (needs 1)"
