"""Contract tests: each adapter against its simulator over real HTTP (the live server), asserting the exact
request the adapter sent (path, headers, fields, image limits) and the result it parsed."""

from __future__ import annotations

import pytest

from liveness.providers import ProviderInputError, get_provider
from liveness.providers import details as details_contract
from liveness.providers.details import load as load_details
from liveness.sandbox.recorder import recording
from liveness.vendors.accura import ACCURA_MAX_UPLOAD_BYTES
from liveness.vendors.kairos import KAIROS_MAX_SIDE
from tests.helpers import PRINT_ATTACK, SCREEN_ATTACK, image_bytes
from tests.vendor_fixtures import (
    FRONTAL_FACE,
    ID_WITH_PORTRAIT,
    OBAMA_480,
    OBAMA_FRONT,
    OBAMA_TURNED,
    OBAMA_UP,
    check_request,
    evidence,
    face_bytes,
    jpeg,
    large_face_jpeg,
    mirrored,
    noisy_large_jpeg,
    open_image,
    png,
)

pytestmark = pytest.mark.usefixtures("sandbox", "fresh_judge")


def only(calls):
    assert len(calls) == 1, f"expected one vendor request, got {len(calls)}"
    return calls[0]


# --- Accura face ------------------------------------------------------------------------------------------


def test_accura_face_sends_the_documented_multipart_request_and_parses_the_score(settings):
    content = face_bytes()
    request = check_request("selfie", [evidence("selfie", content)], threshold=0.55)
    with recording() as calls:
        result = get_provider("accura_face").check(request)
    sent = only(calls)
    assert (sent.method, sent.path) == ("POST", "/sandbox/accura/v2/api/liveness")
    assert sent.content_type == "multipart/form-data"
    assert sent.header("Api-Key") == settings.ACCURA_API_KEY
    assert sent.form == {}
    [upload] = sent.files
    assert (upload.field, upload.filename, upload.content_type, upload.format) == (
        "liveness_image", "selfie.jpg", "image/jpeg", "JPEG",
    )  # fmt: skip
    assert upload.size == len(content) <= ACCURA_MAX_UPLOAD_BYTES  # fits: sent untouched
    # The simulator answered from the engine; the adapter turned the percentage into 0..1.
    percent = sent.response["data"]["score"]
    assert sent.response["status"] is True
    assert percent > 90
    assert result.score == pytest.approx(percent / 100)
    detail = load_details(result.details)
    assert detail.vendor_fields["score_percent"] == percent
    assert detail.images[0].quality is not None
    assert (detail.images[0].role, detail.images[0].quality.label) == ("selfie", "good")
    assert result.details["request"]["liveness_image"]["reencoded"] is False
    assert result.raw_response == sent.response
    assert result.latency_ms is not None


def test_accura_face_reencodes_an_image_over_one_megabyte_to_fit_instead_of_refusing_it():
    content = large_face_jpeg(3 * ACCURA_MAX_UPLOAD_BYTES)
    original = open_image(content)
    request = check_request("selfie", [evidence("selfie", content)])
    with recording() as calls:
        result = get_provider("accura_face").check(request)
    upload = only(calls).files[0]
    assert upload.size <= ACCURA_MAX_UPLOAD_BYTES < len(content)
    assert upload.content_type == "image/jpeg"
    assert upload.format == "JPEG"
    described = result.details["request"]["liveness_image"]
    assert described["reencoded"] is True
    assert described["bytes"] == upload.size
    assert described["original"] == {"bytes": len(content), "width": original.size[0], "height": original.size[1]}
    assert (upload.width, upload.height) == (described["width"], described["height"])
    # The face survived the re-encoding: the simulator still found and scored it.
    assert result.score is not None
    assert result.score > 0.5


def test_accura_face_reencodes_a_large_png_into_a_jpeg_under_the_limit():
    content = noisy_large_jpeg(1600, 1200)
    png_content = png(open_image(content))
    assert len(png_content) > ACCURA_MAX_UPLOAD_BYTES
    with recording() as calls:
        result = get_provider("accura_face").check(check_request("selfie", [evidence("selfie", png_content)]))
    upload = only(calls).files[0]
    assert upload.size <= ACCURA_MAX_UPLOAD_BYTES
    assert upload.format == "JPEG"
    assert upload.filename == "selfie.jpg"
    # Noise has no face: Accura's status false is a not-assessed result, not an error.
    assert (result.score, result.reason, load_details(result.details).images[0].face_found) == (None, "no_face", False)


def test_accura_face_no_face_is_a_not_assessed_result_the_policy_sends_to_review():
    request = check_request("selfie", [evidence("selfie", image_bytes(640, 480))])
    with recording() as calls:
        result = get_provider("accura_face").check(request)
    assert only(calls).response == {"status": False, "message": "Face not detected"}
    assert result.score is None
    assert result.reason == "no_face"
    assert result.vendor_label == "no face found"


@pytest.mark.parametrize("attack", [PRINT_ATTACK, SCREEN_ATTACK])
def test_accura_face_scores_the_attack_samples_below_its_threshold(attack):
    result = get_provider("accura_face").check(check_request("selfie", [evidence("selfie", face_bytes(attack))]))
    assert result.score is not None
    assert result.score < 0.55


# --- Accura ID --------------------------------------------------------------------------------------------


def test_accura_id_sends_country_and_card_codes_with_the_document_image(settings):
    content = face_bytes(ID_WITH_PORTRAIT)
    request = check_request("id_document", [evidence("id_front", content)], country_code="ROU", card_code="P")
    with recording() as calls:
        result = get_provider("accura_id").check(request)
    sent = only(calls)
    assert (sent.method, sent.path) == ("POST", "/sandbox/accura/v2/api/id-liveness")
    assert sent.header("Api-Key") == settings.ACCURA_API_KEY
    assert sent.form == {"country_code": "ROU", "card_code": "P"}
    assert [(f.field, f.filename, f.size) for f in sent.files] == [("liveness_image", "id_front.jpg", len(content))]
    assert sent.response["status"] is True
    assert result.score == pytest.approx(sent.response["data"]["score"] / 100)
    assert result.details["request"]["fields"] == {"country_code": "ROU", "card_code": "P"}


@pytest.mark.parametrize(("country", "card", "missing"), [("", "P", "country_code"), ("ROU", " ", "card_code")])
def test_accura_id_refuses_a_case_without_its_codes_before_any_call(country, card, missing):
    request = check_request(
        "id_document", [evidence("id_front", face_bytes(ID_WITH_PORTRAIT))], country_code=country, card_code=card
    )
    with recording() as calls, pytest.raises(ProviderInputError, match=missing) as raised:
        get_provider("accura_id").check(request)
    assert raised.value.code == "missing_field"
    assert calls == []


# --- Kairos -----------------------------------------------------------------------------------------------


def test_kairos_sends_the_sample_headers_selfie_and_threshold_and_keeps_the_request_ids(settings):
    content = face_bytes()
    request = check_request("selfie", [evidence("selfie", content)], threshold=0.6)
    with recording() as calls:
        result = get_provider("kairos").check(request)
    sent = only(calls)
    assert (sent.method, sent.path) == ("POST", "/sandbox/kairos/v0.2/liveness-verification")
    # The form of every code sample, with underscores (the simulator also takes app-id / app-key).
    assert sent.headers["app_id"] == settings.KAIROS_APP_ID
    assert sent.headers["app_key"] == settings.KAIROS_APP_KEY
    assert sent.form == {"threshold": "0.6"}
    [upload] = sent.files
    assert (upload.field, upload.filename, upload.size) == ("selfie", "selfie.jpg", len(content))
    body = sent.response
    assert result.score == body["response_data"]["faces_liveness"]
    assert (result.score or 0) > 0.9
    assert result.vendor_request_id == body["api_req_uid"]
    detail = load_details(result.details)
    assert detail.vendor_fields["api_req_uid"] == body["api_req_uid"]
    assert detail.vendor_fields["x_request_id"]  # the X-Request-ID response header is kept too
    [image] = detail.images
    assert image.image is not None
    assert (image.image.width, image.image.height) == (upload.width, upload.height)
    assert image.faces is not None
    [face] = image.faces
    predicted = body["response_data"]["faces_predicted"][0]
    assert face.box is not None
    assert face.box.left == predicted["top_left"]["x"]
    assert face.width == predicted["delta"]["x"]
    assert face.detection_score == predicted["confidence"]


def test_kairos_refuses_a_selfie_under_300_px_before_any_call():
    small = image_bytes(299, 400)
    with recording() as calls, pytest.raises(ProviderInputError) as raised:
        get_provider("kairos").check(check_request("selfie", [evidence("selfie", small)]))
    assert raised.value.code == "image_too_small"
    assert "300" in raised.value.message
    assert calls == []


def test_kairos_downscales_a_selfie_over_5000_px():
    big = open_image(face_bytes()).resize((4500, 6000))
    content = jpeg(big, quality=85)
    with recording() as calls:
        result = get_provider("kairos").check(check_request("selfie", [evidence("selfie", content)]))
    upload = only(calls).files[0]
    assert max(upload.width, upload.height) == KAIROS_MAX_SIDE
    assert (upload.width, upload.height) == (3750, 5000)
    assert result.details["request"]["selfie"]["original"]["height"] == 6000
    assert result.score is not None


def test_kairos_reports_no_face_as_not_assessed():
    result = get_provider("kairos").check(check_request("selfie", [evidence("selfie", image_bytes(640, 480))]))
    [image] = load_details(result.details).images
    assert (result.score, result.reason, image.face_count, image.faces) == (None, "no_face", 0, [])


# --- Riset ------------------------------------------------------------------------------------------------

ACTIVE_PARAMETERS = ["left", "right", "up", "front", "eyes open", "mouth closed", "front", "eyes open"]


def obama_frames() -> list[bytes]:
    turned = face_bytes(OBAMA_TURNED)  # the subject turned to their own right
    front = face_bytes(OBAMA_FRONT)
    return [
        mirrored(turned),
        turned,
        face_bytes(OBAMA_UP),
        front,
        front,
        face_bytes(OBAMA_UP),
        face_bytes(OBAMA_480),
        front,
    ]


def test_riset_sends_the_documented_json_body_and_parses_every_frame(settings):
    frames = obama_frames()
    images = [
        evidence("frame", content, index=i, face_parameter=p)
        for i, (content, p) in enumerate(zip(frames, ACTIVE_PARAMETERS, strict=True))
    ]
    request = check_request(
        "active", images, check_id=777, face_parameters=ACTIVE_PARAMETERS, success_threshold=7,
        subject_id="user-1", face_gallery_id="gallery-1",
    )  # fmt: skip
    with recording() as calls:
        result = get_provider("riset").check(request)
    sent = only(calls)
    assert (sent.method, sent.path) == ("POST", "/sandbox/riset/liveness-api/verify-face-liveness")
    assert sent.content_type == "application/json"
    assert sent.header("Accesstoken") == settings.RISET_ACCESS_TOKEN
    body = sent.json_body
    assert set(body) == {
        "trx_id", "spoof_detection", "success_threshold", "face_parameters", "images", "user_id", "facegallery_id",
    }  # fmt: skip
    assert (body["trx_id"], body["spoof_detection"], body["success_threshold"]) == ("777", True, 7)
    assert body["face_parameters"] == ACTIVE_PARAMETERS
    assert (body["user_id"], body["facegallery_id"]) == ("user-1", "gallery-1")
    for image, content in zip(body["images"], frames, strict=True):
        width, height = open_image(content).size
        assert image.format == "JPEG"
        if max(width, height) <= 1920:
            assert image.size == len(content)  # sent as stored
        else:
            assert max(image.width, image.height) == 1920  # obama3 is 1434x2333: downscaled

    detail = load_details(result.details)
    frames_out = detail.images
    assert [(f.role, f.index, f.face_parameter) for f in frames_out] == [
        ("frame", i, p) for i, p in enumerate(ACTIVE_PARAMETERS)
    ]
    for parsed, key in zip(frames_out, [f"image{i}" for i in range(1, 9)], strict=True):
        answered = sent.response["results"][key]
        assert parsed.parameter_check is not None
        assert parsed.parameter_check.matched == answered["match"]
        assert parsed.label == answered["spoof"]
        assert parsed.pose == details_contract.Pose(answered["yaw"], answered["pitch"], answered["roll"])
        assert parsed.eyes is not None
        assert parsed.eyes.sides["left"] == details_contract.Openness(
            state=answered["left_eye"], score=answered["left_eye_score"]
        )
        assert parsed.mouth == details_contract.Openness(state=answered["mouth"], score=answered["mouth_score"])
        assert parsed.vendor_fields["similarity"] == answered["similarity"]
        assert parsed.vendor_fields["masker"] is False
    # The engine saw the turns the frames were asked for, and the same person throughout.
    turned_left, turned_right = frames_out[0].pose, frames_out[1].pose
    assert turned_left is not None
    assert turned_right is not None
    assert (turned_left.yaw or 0) > 15
    assert (turned_right.yaw or 0) < -15
    assert all(f.vendor_fields["verified"] for f in frames_out)
    passed = sum(f.vendor_fields["passed"] for f in frames_out)
    assert result.score == pytest.approx(passed / 8)
    assert result.threshold == pytest.approx(7 / 8)
    assert detail.vendor_fields["frames_passed"] == passed
    assert detail.vendor_fields["success_threshold"] == 7
    assert detail.vendor_fields["liveness"] == sent.response["liveness"] == ("passed" if passed >= 7 else "failed")
    assert result.vendor_request_id == "777"


def test_riset_sends_a_selfie_as_one_front_frame_with_the_setting_as_success_threshold():
    content = face_bytes(FRONTAL_FACE)
    request = check_request("selfie", [evidence("selfie", content)], threshold=1.0)
    with recording() as calls:
        result = get_provider("riset").check(request)
    body = only(calls).json_body
    assert body["face_parameters"] == ["front"]
    assert body["success_threshold"] == 1
    assert "user_id" not in body
    assert "facegallery_id" not in body
    assert result.score == 1.0
    assert result.threshold == 1.0
    [image] = load_details(result.details).images
    assert (image.role, image.label) == ("selfie", "real")


def test_riset_downscales_frames_over_1920_px_and_sends_them_as_base64():
    big = jpeg(open_image(face_bytes(FRONTAL_FACE)).resize((2304, 3072)), quality=85)
    with recording() as calls:
        get_provider("riset").check(check_request("selfie", [evidence("selfie", big)]))
    [image] = only(calls).json_body["images"]
    assert (image.width, image.height) == (1440, 1920)


def test_riset_refuses_undocumented_face_parameters_before_any_call():
    frames = [evidence("frame", face_bytes(), index=0, face_parameter="smile")]
    with recording() as calls, pytest.raises(ProviderInputError) as raised:
        get_provider("riset").check(check_request("active", frames, face_parameters=["smile"]))
    assert raised.value.code == "invalid_face_parameters"
    assert calls == []
