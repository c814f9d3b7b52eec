"""Partner endpoints: submit (all kinds, both encodings), get, list with filters and cursor pagination."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from liveness import services
from liveness.models import AuditEvent, Case, CaseStatus, Evidence, Verdict
from tests.api_helpers import (
    CASES_URL,
    PROBLEM,
    b64,
    client_for,
    jpeg,
    live_result,
    make_partner,
    partner_key,
    spoof_result,
    submission,
)
from tests.helpers import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(partner):
    return client_for(partner_key(partner))


def run_checks(case: Case) -> None:
    for check in case.checks.all():
        services.check_execute(check_id=check.pk)
    case.refresh_from_db()


KINDS = ["selfie", "id_document", "active"]
ENCODINGS = ["multipart", "json"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_partner_submits_every_kind_in_both_encodings(client, partner, scripted, kind, encoding):
    data, fmt = submission(kind, encoding)
    response = client.post(CASES_URL, data, format=fmt)

    assert response.status_code == 202, response.content
    body = response.json()
    case = Case.objects.get(public_id=body["id"])
    assert (case.partner, case.kind, case.external_ref) == (partner, kind, f"{kind}-ref")
    assert body["status"] == CaseStatus.RECEIVED
    assert body["replayed"] is False
    assert body["status_url"] == f"http://testserver/api/v1/cases/{case.public_id}/"
    assert response["Location"] == body["status_url"]
    roles = list(case.evidence.order_by("role", "index").values_list("role", "index", "face_parameter"))
    if kind == "selfie":
        assert roles == [("selfie", 0, "")]
    elif kind == "id_document":
        assert roles == [("id_front", 0, ""), ("selfie", 0, "")]
        assert (case.country_code, case.card_code) == ("DEU", "ID")
    else:
        assert roles == [("frame", 0, "front"), ("frame", 1, "left"), ("frame", 2, "eyes closed")]
        assert case.face_parameters == ["front", "left", "eyes closed"]
    assert AuditEvent.objects.get(case=case, action="case.created").actor_label == "partner:acme"


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_both_encodings_store_the_same_image_bytes(client, scripted, encoding):
    raw = jpeg(7)
    if encoding == "json":
        response = client.post(CASES_URL, {"kind": "selfie", "selfie": b64(raw)}, format="json")
    else:
        upload = SimpleUploadedFile("s.jpg", raw, content_type="image/jpeg")
        response = client.post(CASES_URL, {"kind": "selfie", "selfie": upload}, format="multipart")
    assert response.status_code == 202
    stored = Evidence.objects.get(case__public_id=response.json()["id"])
    assert (stored.width, stored.height) == (320, 240)


def test_json_images_may_be_urlsafe_unpadded_or_a_data_uri(client, scripted):
    raw = jpeg(8)
    urlsafe = b64(raw).replace("+", "-").replace("/", "_").rstrip("=")
    for encoded in (urlsafe, f"data:image/jpeg;base64,{b64(raw)}"):
        response = client.post(CASES_URL, {"kind": "selfie", "selfie": encoded}, format="json")
        assert response.status_code == 202, response.json()


def test_the_case_shows_scores_and_thresholds_but_never_images(client, scripted):
    scripted.script.append(live_result(0.91))
    response = client.post(CASES_URL, *submission("selfie", "json"))
    case = Case.objects.get(public_id=response.json()["id"])
    run_checks(case)

    detail = client.get(f"/api/v1/cases/{case.public_id}/")

    assert detail.status_code == 200
    body = detail.json()
    assert (body["status"], body["auto_verdict"], body["final_verdict"]) == ("decided", "live", "live")
    [check] = body["checks"]
    assert check["provider"] == "scripted"
    assert check["score"] == pytest.approx(0.91)
    assert check["threshold"] == pytest.approx(0.5)
    assert check["passed"] is True
    assert check["outcome"] == "pass"
    assert body["decided_at"]
    assert body["created_at"]
    text = detail.content.decode()
    assert "storage_key" not in text
    assert "sha256" not in text
    assert b64(jpeg(1))[:40] not in text


def test_a_finding_reaches_the_partner_as_a_reason_code_not_a_spoof(client, scripted):
    from liveness.providers import Finding, ProviderResult

    mismatch = Finding("face_mismatch", "selfie and document portrait are different people", ("selfie", "id_front"))
    scripted.script.append(ProviderResult(score=0.97, findings=(mismatch,)))
    response = client.post(CASES_URL, *submission("id_document", "json"))
    case = Case.objects.get(public_id=response.json()["id"])
    run_checks(case)

    body = client.get(f"/api/v1/cases/{case.public_id}/").json()

    assert (body["status"], body["auto_verdict"], body["final_verdict"]) == ("needs_review", "needs_review", None)
    assert body["reason_codes"] == ["face_mismatch"]
    [check] = body["checks"]
    assert (check["outcome"], check["passed"]) == ("finding", False)
    assert check["findings"] == [
        {
            "code": "face_mismatch",
            "message": "selfie and document portrait are different people",
            "images": ["selfie", "id_front"],
        }
    ]


def test_an_undecided_case_has_null_verdicts(client, scripted):
    response = client.post(CASES_URL, *submission("selfie", "json"))
    body = client.get(response.json()["status_url"]).json()
    assert body["auto_verdict"] is None
    assert body["final_verdict"] is None
    assert body["checks"][0]["status"] == "queued"
    assert body["checks"][0]["score"] is None


def test_another_partners_case_is_404_not_403(client, scripted):
    other = make_partner(slug="other")
    theirs = client_for(partner_key(other)).post(CASES_URL, *submission("selfie", "json")).json()["id"]

    response = client.get(f"/api/v1/cases/{theirs}/")

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "not_found"
    unknown = client.get("/api/v1/cases/00000000-0000-4000-8000-000000000000/")
    assert unknown.json() == {**response.json(), "instance": unknown.json()["instance"]}


def test_a_partner_lists_only_its_own_cases(client, partner, scripted):
    mine = [client.post(CASES_URL, *submission("selfie", "json", external_ref=f"m{i}")).json()["id"] for i in range(3)]
    client_for(partner_key(make_partner(slug="other"))).post(CASES_URL, *submission("selfie", "json"))

    body = client.get(CASES_URL).json()

    assert [c["id"] for c in body["results"]] == list(reversed(mine))  # newest first
    assert set(body) == {"next", "previous", "results"}


def test_the_list_filters_by_status_verdict_reference_and_created_range(client, partner, scripted):
    scripted.script.extend([live_result(), spoof_result()])
    ids = [client.post(CASES_URL, *submission("selfie", "json", external_ref=r)).json()["id"] for r in "abc"]
    run_checks(Case.objects.get(public_id=ids[0]))  # live
    run_checks(Case.objects.get(public_id=ids[1]))  # spoof
    old = Case.objects.get(public_id=ids[2])
    Case.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))

    def listed(query: str) -> list[str]:
        response = client.get(f"{CASES_URL}?{query}")
        assert response.status_code == 200, response.json()
        return [c["id"] for c in response.json()["results"]]

    assert listed("verdict=live") == [ids[0]]
    assert listed("verdict=spoof") == [ids[1]]
    assert listed("status=received") == [ids[2]]
    assert sorted(listed("status=decided")) == sorted(ids[:2])
    assert sorted(listed("verdict=live&verdict=spoof")) == sorted(ids[:2])
    assert listed("external_ref=b") == [ids[1]]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert sorted(listed(f"created_after={since.replace('+', '%2B')}")) == sorted(ids[:2])
    assert listed(f"created_before={since.replace('+', '%2B')}") == [ids[2]]


def test_an_invalid_filter_value_is_a_400_naming_the_filter(client):
    response = client.get(f"{CASES_URL}?status=nonsense&created_after=yesterday")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["errors"]) == {"status", "created_after"}


def test_cursor_pagination_walks_every_case_once(client, partner, scripted):
    created = [
        client.post(CASES_URL, *submission("selfie", "json", external_ref=f"p{i}")).json()["id"] for i in range(5)
    ]
    seen: list[str] = []
    url = f"{CASES_URL}?page_size=2"
    pages = 0
    while url:
        body = client.get(url).json()
        seen += [c["id"] for c in body["results"]]
        url = body["next"]
        pages += 1
        if url:
            assert "cursor" in parse_qs(urlsplit(url).query)
    assert pages == 3
    assert seen == list(reversed(created))


def test_a_case_with_a_bad_image_is_refused_with_the_field_named(client, scripted):
    data = {"kind": "id_document", "id_front": b64(b"GIF89a not really"), "country_code": "DE", "card_code": "ID"}
    response = client.post(CASES_URL, data, format="json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "not_an_image"
    assert list(body["errors"]) == ["id_front"]
    assert not Case.objects.exists()


def test_a_bad_frame_is_named_by_its_position(client, scripted):
    tiny = image_bytes(32, 32)
    data = {"kind": "active", "frames": [b64(jpeg(1)), b64(tiny)], "face_parameters": ["left", "right"]}
    response = client.post(CASES_URL, data, format="json")
    assert response.status_code == 422
    assert response.json()["errors"].keys() == {"frames[1]"}
    assert response.json()["code"] == "too_small"


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"kind": "selfie"}, "selfie", "wrong_images"),
        ({"kind": "id_document", "id_front": "IMG"}, "country_code", "required"),
        ({"kind": "id_document", "id_front": "IMG", "country_code": "DE"}, "card_code", "required"),
        ({"kind": "active", "frames": ["IMG", "IMG"]}, "face_parameters", "required"),
        (
            {"kind": "active", "frames": ["IMG"], "face_parameters": ["left", "up"]},
            "face_parameters",
            "length_mismatch",
        ),
        ({"kind": "selfie", "selfie": "IMG", "providers": ["nope"]}, "providers", "unknown_provider"),
    ],
)
def test_a_case_the_services_refuse_is_a_400_naming_the_field(client, scripted, data, field, code):
    data = {
        k: ([b64(jpeg(i)) for i, _ in enumerate(v)] if k == "frames" else b64(jpeg()) if v == "IMG" else v)
        for k, v in data.items()
    }
    response = client.post(CASES_URL, data, format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert (body["code"], list(body["errors"])) == (code, [field])
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"kind": "portrait"}, {"kind"}),
        ({}, {"kind"}),
        ({"kind": "selfie", "selfie": "***not base64***"}, {"selfie"}),
        (
            {"kind": "active", "frames": ["AAAA", "%%%"], "face_parameters": ["left", "sideways"]},
            {"frames[1]", "face_parameters[1]"},
        ),
        ({"kind": "selfie", "external_ref": "x" * 201, "callback_url": "not a url"}, {"external_ref", "callback_url"}),
    ],
)
def test_malformed_input_is_a_400_listing_every_bad_field(client, data, fields):
    response = client.post(CASES_URL, data, format="json")
    assert response.status_code == 400
    body = response.json()
    assert response["Content-Type"] == PROBLEM
    assert body["code"] == "validation_error"
    assert set(body["errors"]) == fields
    assert all(isinstance(m, str) for messages in body["errors"].values() for m in messages)


def test_a_callback_url_needs_the_partners_permission(client, partner, scripted):
    data, fmt = submission("selfie", "json", callback_url="https://hooks.example.com/kyc")
    refused = client.post(CASES_URL, data, format=fmt)
    assert refused.status_code == 400
    assert refused.json()["code"] == "callback_override_not_allowed"

    partner.allow_callback_override = True
    partner.save()
    accepted = client.post(CASES_URL, *submission("selfie", "json", callback_url="https://hooks.example.com/kyc"))
    assert accepted.status_code == 202
    assert Case.objects.get(public_id=accepted.json()["id"]).callback_url == "https://hooks.example.com/kyc"


def test_a_callback_url_to_a_private_address_is_refused_in_production(client, partner, settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = False
    partner.allow_callback_override = True
    partner.save()
    for url, code in [
        ("http://hooks.example.com/x", "callback_url_not_allowed"),
        ("https://10.0.0.7/x", "callback_url_not_allowed"),
    ]:
        response = client.post(CASES_URL, *submission("selfie", "json", callback_url=url))
        assert response.status_code == 400
        assert response.json()["code"] == code


def test_requested_providers_are_used(client, scripted):
    response = client.post(CASES_URL, *submission("selfie", "json", providers=["scripted"]))
    assert Case.objects.get(public_id=response.json()["id"]).providers == ["scripted"]


def test_an_oversized_json_body_is_413_before_it_is_parsed(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post(CASES_URL, {"kind": "selfie", "selfie": b64(jpeg())}, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_an_oversized_multipart_body_is_413(client, settings):
    settings.INTAKE_MAX_BYTES = 1000
    settings.INTAKE_MAX_FRAMES = 1
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    data, fmt = submission("selfie", "multipart", selfie=SimpleUploadedFile("a.jpg", b"x" * 5000))
    response = client.post(CASES_URL, data, format=fmt)
    assert response.status_code == 413


def test_an_unsupported_media_type_is_415(client):
    response = client.generic("POST", CASES_URL, "kind=selfie", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_a_decided_case_reports_the_operator_verdict(client, scripted, operator):
    scripted.script.append(spoof_result(0.45))  # borderline -> review
    case = Case.objects.get(public_id=client.post(CASES_URL, *submission("selfie", "json")).json()["id"])
    run_checks(case)
    assert case.status == CaseStatus.NEEDS_REVIEW
    services.decision_record(case=case, actor=operator, verdict=Verdict.LIVE)
    body = client.get(f"/api/v1/cases/{case.public_id}/").json()
    assert (body["status"], body["auto_verdict"], body["final_verdict"]) == ("decided", "needs_review", "live")


@pytest.mark.parametrize("field", ["selfie", "kind", "external_ref"])
def test_it_refuses_a_single_valued_multipart_field_sent_twice(client, scripted, field):
    data, fmt = submission("selfie", "multipart")
    twice = {
        "selfie": [
            SimpleUploadedFile("a.jpg", jpeg(1), "image/jpeg"),
            SimpleUploadedFile("b.jpg", jpeg(2), "image/jpeg"),
        ],
        "kind": ["selfie", "active"],
        "external_ref": ["mine", "yours"],
    }[field]
    response = client.post(CASES_URL, {**data, field: twice}, format=fmt)
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert (body["code"], list(body["errors"])) == ("repeated_field", [field])
    assert not Case.objects.exists()
    assert not scripted.requests


@pytest.mark.parametrize("encoding", ["json", "multipart"])
def test_an_oversize_image_is_the_same_422_in_both_encodings(client, scripted, settings, encoding):
    settings.INTAKE_MAX_BYTES = 2000
    response = client.post(CASES_URL, *submission("selfie", encoding))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "too_large"
    assert "over the limit of 2000 bytes" in body["detail"]
