"""POST /api/v1/cases/{id}/resubmit/: new images for a case an operator sent back, checked as a new round."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from liveness import services
from liveness.models import Case, CaseStatus, Check, Evidence, Verdict
from liveness.providers import ProviderResult
from tests.api_helpers import (
    CASES_URL,
    PROBLEM,
    b64,
    client_for,
    jpeg,
    live_result,
    make_partner,
    partner_key,
    submission,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(partner):
    return client_for(partner_key(partner))


def sent_back(client, scripted, operator, kind: str = "selfie") -> Case:
    """A case submitted over the API, found borderline, and sent back by an operator."""
    case = Case.objects.get(public_id=client.post(CASES_URL, *submission(kind, "json")).json()["id"])
    scripted.script.append(ProviderResult(score=0.5))  # borderline: review
    for check in case.checks.all():
        services.check_execute(check_id=check.pk)
    services.decision_record(
        case=case, actor=operator, verdict=Verdict.RESUBMIT, reason="too dark", resubmission_reasons=["blurry"]
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.RESUBMISSION_REQUESTED
    return case


def resubmit_url(case: Case) -> str:
    return f"/api/v1/cases/{case.public_id}/resubmit/"


def selfie_upload(encoding: str, shade: int = 40) -> dict[str, Any]:
    raw = jpeg(shade)
    return {"selfie": SimpleUploadedFile("again.jpg", raw, "image/jpeg") if encoding == "multipart" else b64(raw)}


@pytest.mark.parametrize("encoding", ["json", "multipart"])
def test_it_checks_the_new_images_as_the_next_round_of_the_same_case(client, scripted, operator, encoding):
    case = sent_back(client, scripted, operator)

    response = client.post(resubmit_url(case), selfie_upload(encoding), format=encoding)

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["id"] == str(case.public_id)
    assert body["status"] == CaseStatus.PROCESSING
    assert response["Location"].endswith(f"/api/v1/cases/{case.public_id}/")
    case.refresh_from_db()
    assert (case.round, case.status, case.final_verdict) == (2, CaseStatus.PROCESSING, "")
    assert list(Evidence.objects.filter(case=case).values_list("round", flat=True).order_by("round")) == [1, 2]
    [new_check] = Check.objects.filter(case=case, round=2)

    scripted.script.append(live_result())
    services.check_execute(check_id=new_check.pk)
    detail = client.get(f"/api/v1/cases/{case.public_id}/").json()
    assert (detail["status"], detail["final_verdict"], detail["round"]) == ("decided", "live", 2)
    assert [c["round"] for c in detail["checks"]] == [1, 2]


def test_it_answers_409_for_a_case_not_waiting_for_a_resubmission(client, scripted, operator):
    case = sent_back(client, scripted, operator)
    assert client.post(resubmit_url(case), selfie_upload("json"), format="json").status_code == 202

    again = client.post(resubmit_url(case), selfie_upload("json", shade=41), format="json")

    assert again.status_code == 409
    assert again["Content-Type"] == PROBLEM
    assert again.json()["code"] == "invalid_state"
    assert Evidence.objects.filter(case=case).count() == 2  # the repeat stored nothing


def test_another_partners_case_is_404(client, scripted, operator):
    case = sent_back(client, scripted, operator)
    other = client_for(partner_key(make_partner(slug="other")))
    response = other.post(resubmit_url(case), selfie_upload("json"), format="json")
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == CaseStatus.RESUBMISSION_REQUESTED


@pytest.mark.parametrize(
    ("data", "status", "field", "code"),
    [
        ({"id_front": b64(jpeg(5))}, 400, "selfie", "wrong_images"),
        ({"selfie": b64(b"not an image at all")}, 422, "selfie", "not_an_image"),
        ({"selfie": "%%%"}, 400, "selfie", "validation_error"),
    ],
)
def test_it_refuses_wrong_images_naming_the_field_and_changes_nothing(
    client, scripted, operator, data, status, field, code
):
    case = sent_back(client, scripted, operator)

    response = client.post(resubmit_url(case), data, format="json")

    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert field in body["errors"]
    case.refresh_from_db()
    assert (case.status, case.round) == (CaseStatus.RESUBMISSION_REQUESTED, 1)
    assert Evidence.objects.filter(case=case).count() == 1


def test_an_active_case_is_resubmitted_with_its_own_parameters(client, scripted, operator):
    case = sent_back(client, scripted, operator, kind="active")
    frames = [b64(jpeg(60 + i)) for i in range(3)]

    other = client.post(
        resubmit_url(case), {"frames": frames, "face_parameters": ["up", "down", "front"]}, format="json"
    )
    assert other.status_code == 400
    assert list(other.json()["errors"]) == ["face_parameters"]

    same = client.post(resubmit_url(case), {"frames": frames, "face_parameters": case.face_parameters}, format="json")
    assert same.status_code == 202, same.content
    parameters = Evidence.objects.filter(case=case, round=2).order_by("index").values_list("face_parameter", flat=True)
    assert list(parameters) == case.face_parameters
