"""Resubmission reason codes: required when asking, stored on the decision, sent to the partner (webhook and
GET of the case), documented in the OpenAPI schema."""

from __future__ import annotations

from unittest import mock

import pytest

from liveness import services
from liveness.models import AuditEvent, Case, CaseStatus, Decision, Verdict, WebhookDelivery
from liveness.services import DecisionError
from liveness.vocabulary import RESUBMISSION_REASONS
from tests.api_helpers import PROBLEM, client_for, make_partner, partner_key, user_key
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def review_case(**fields) -> Case:
    case: Case = CaseFactory.create(status=CaseStatus.NEEDS_REVIEW, auto_verdict=Verdict.NEEDS_REVIEW, **fields)
    return case


def refusal(**kwargs) -> DecisionError:
    with pytest.raises(DecisionError) as info:
        services.decision_record(**kwargs)
    return info.value


# --- the service ------------------------------------------------------------------------------------


def test_the_closed_list_is_the_documented_one():
    assert list(RESUBMISSION_REASONS) == [
        "blurry",
        "face_not_visible",
        "document_cut_off",
        "glare",
        "wrong_document",
        "other",
    ]
    assert all(words.strip() for words in RESUBMISSION_REASONS.values())


def test_a_resubmission_without_a_code_is_refused_and_changes_nothing(operator):
    case = review_case()
    error = refusal(case=case, actor=operator, verdict=Verdict.RESUBMIT, reason="too dark")
    assert (error.code, error.field) == ("required", "resubmission_reasons")
    assert "blurry, face_not_visible, document_cut_off, glare, wrong_document, other" in error.message
    assert Case.objects.get(pk=case.pk).status == CaseStatus.NEEDS_REVIEW
    assert not Decision.objects.exists()


def test_an_unknown_code_is_named_in_the_refusal(operator):
    case = review_case()
    error = refusal(
        case=case, actor=operator, verdict=Verdict.RESUBMIT, reason="x", resubmission_reasons=["blurry", "dark"]
    )
    assert (error.code, error.field) == ("invalid_choice", "resubmission_reasons")
    assert "'dark'" in error.message
    assert not Decision.objects.exists()


def test_codes_go_with_a_resubmission_only(operator):
    error = refusal(case=review_case(), actor=operator, verdict=Verdict.LIVE, resubmission_reasons=["blurry"])
    assert (error.code, error.field) == ("invalid", "resubmission_reasons")


def test_the_codes_are_stored_on_the_decision_deduplicated_in_order_and_audited(operator):
    case = review_case()
    decision = services.decision_record(
        case=case,
        actor=operator,
        verdict=Verdict.RESUBMIT,
        reason="the card's lower edge is missing",
        resubmission_reasons=["document_cut_off", "glare", "document_cut_off"],
    )
    assert Decision.objects.get(pk=decision.pk).resubmission_reasons == ["document_cut_off", "glare"]
    applied = AuditEvent.objects.get(case=case, action="decision.applied")
    assert applied.data["resubmission_reasons"] == ["document_cut_off", "glare"]


def test_the_bulk_action_needs_codes_too(role_user):
    supervisor = role_user("supervisor", "sam")
    case = review_case()
    with pytest.raises(DecisionError) as info:
        services.cases_request_resubmission(cases=[case], actor=supervisor, reason="dark", resubmission_reasons=[])
    assert info.value.field == "resubmission_reasons"
    result = services.cases_request_resubmission(
        cases=[case], actor=supervisor, reason="dark", resubmission_reasons=["blurry"]
    )
    assert result.done == [case]
    assert case.decisions.get().resubmission_reasons == ["blurry"]


# --- the operator API -------------------------------------------------------------------------------


def decide(client, case: Case, body: dict):
    version = Case.objects.get(pk=case.pk).version
    return client.post(
        f"/api/v1/operator/cases/{case.public_id}/decisions/", {**body, "expected_version": version}, format="json"
    )


def test_the_api_answers_400_naming_the_field_for_a_missing_code(operator):
    case = review_case(partner=make_partner())
    response = decide(client_for(user_key(operator)), case, {"verdict": "resubmit", "reason": "dark"})
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == "required"
    assert "resubmission_reasons" in body["errors"]
    assert "say why a resubmission is needed" in body["detail"]
    assert Case.objects.get(pk=case.pk).status == CaseStatus.NEEDS_REVIEW


def test_the_api_answers_400_listing_the_codes_for_an_unknown_one(operator):
    case = review_case(partner=make_partner())
    response = decide(
        client_for(user_key(operator)),
        case,
        {"verdict": "resubmit", "reason": "dark", "resubmission_reasons": ["too_dark"]},
    )
    assert response.status_code == 400
    message = " ".join(str(m) for m in response.json()["errors"]["resubmission_reasons[0]"])
    assert '"too_dark" is not a resubmission reason: use blurry, face_not_visible' in message
    assert not Decision.objects.exists()


def test_the_api_records_the_codes_and_the_partner_gets_them_by_webhook_and_get(operator):
    partner = make_partner(slug="acme", webhook_url="https://partner.example/hooks")
    case = review_case(partner=partner)
    with mock.patch("liveness.tasks.deliver_webhook.apply_async"):
        response = decide(
            client_for(user_key(operator)),
            case,
            {"verdict": "resubmit", "reason": "Please retake in daylight", "resubmission_reasons": ["blurry", "glare"]},
        )
    assert response.status_code == 201, response.content
    assert response.json()["resubmission_reasons"] == ["blurry", "glare"]

    delivery = WebhookDelivery.objects.get(case=case)
    assert delivery.event == "case.resubmission_requested"
    sent = delivery.payload["data"]["case"]["resubmission_request"]
    assert (sent["reasons"], sent["message"], sent["round"]) == (["blurry", "glare"], "Please retake in daylight", 1)

    got = client_for(partner_key(partner)).get(f"/api/v1/cases/{case.public_id}/").json()
    assert got["status"] == "resubmission_requested"
    assert got["resubmission_request"] == sent


def test_a_case_not_waiting_for_a_resubmission_has_no_request_in_its_get(operator):
    partner = make_partner(slug="acme")
    case = review_case(partner=partner)
    got = client_for(partner_key(partner)).get(f"/api/v1/cases/{case.public_id}/").json()
    assert got["resubmission_request"] is None


def test_the_schema_documents_the_codes(client):
    schema = client_for().get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]
    decision_input = components["DecisionInputRequest"]["properties"]["resubmission_reasons"]
    enum_ref = decision_input["items"]["$ref"].rsplit("/", 1)[-1]
    assert components[enum_ref]["enum"] == list(RESUBMISSION_REASONS)
    detail = components["CaseDetail"]["properties"]["resubmission_request"]
    request_ref = next(item["$ref"] for item in detail.get("oneOf", detail.get("allOf", [])) if "$ref" in item)
    request = components[request_ref.rsplit("/", 1)[-1]]
    assert set(request["properties"]) == {"reasons", "message", "requested_at", "round"}
    assert "glare" in decision_input["description"]
