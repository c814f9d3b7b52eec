"""The webhooks in the OpenAPI document (3.1 `webhooks`): one per event, with the headers, the signature
scheme the sender really uses, and body schemas the real payloads validate against."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import jsonschema
import pytest
from django.utils import timezone
from drf_spectacular.validation import validate_schema

from liveness.models import Case, CaseStatus, Check, CheckStatus, Decision, Verdict
from liveness.services.sessions import session_create
from liveness.services.webhooks import (
    EVENTS,
    SESSION_EVENTS,
    session_webhook_payload,
    webhook_payload,
    webhook_signature,
)
from tests.api_helpers import client_for, make_partner
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADERS = {"Kyc-Signature", "Kyc-Timestamp", "Kyc-Event-Id", "Kyc-Event", "Kyc-Delivery-Attempt"}


@pytest.fixture
def schema() -> dict:
    response = client_for().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def validator_for(schema: dict, component: str) -> jsonschema.protocols.Validator:
    """A JSON Schema 2020-12 validator (OpenAPI 3.1's dialect) for one component, refs resolved in the document."""
    root = {"$ref": f"#/components/schemas/{component}", "components": schema["components"]}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_every_event_is_a_documented_webhook_with_its_headers(schema):
    validate_schema(schema)  # the OpenAPI 3.1 meta-schema
    assert schema["openapi"].startswith("3.1")
    assert set(schema["webhooks"]) == set(EVENTS) | set(SESSION_EVENTS)
    for event, item in schema["webhooks"].items():
        operation = item["post"]
        assert {p["name"] for p in operation["parameters"] if p["in"] == "header"} == HEADERS, event
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert body.endswith("/CaseEvent" if event in EVENTS else "/SessionEvent")
        assert {"200", "410"} <= set(operation["responses"])
        assert "HMAC-SHA256" in operation["description"]
        assert "`<Kyc-Timestamp>.<raw body>`" in operation["description"]


def test_the_documented_signature_scheme_is_the_one_the_sender_uses(schema):
    """Follow the words of the document (HMAC-SHA256, key = secret, message = "<timestamp>.<raw body>")."""
    assert "v1=<new>,v1=<previous>" in schema["webhooks"]["case.decided"]["post"]["description"]
    body, timestamp, secret = b'{"id":"x"}', 1767607200, "whsec_test"
    by_the_document = "v1=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert webhook_signature(secret=secret, timestamp=timestamp, body=body) == by_the_document


def test_a_real_resubmission_payload_matches_the_case_event_schema(schema, operator):
    partner = make_partner(slug="acme")
    case: Case = CaseFactory.create(
        partner=partner, status=CaseStatus.RESUBMISSION_REQUESTED, final_verdict=Verdict.RESUBMIT, external_ref="u-1"
    )
    Check.objects.create(
        case=case, provider="local", status=CheckStatus.SUCCEEDED, score=0.4, threshold=0.5, passed=False
    )
    Decision.objects.create(
        case=case,
        actor=operator,
        verdict=Verdict.RESUBMIT,
        reason="too dark",
        resubmission_reasons=["blurry", "glare"],
        decided_at=timezone.now(),
    )
    payload = webhook_payload(
        case=case, event="case.resubmission_requested", event_id=uuid.uuid4(), occurred_at=timezone.now()
    )
    assert payload["data"]["case"]["resubmission_request"]["reasons"] == ["blurry", "glare"]
    validator_for(schema, "CaseEvent").validate(payload)
    # The schema is not vacuous: an unknown reason code or a missing field is refused.
    payload["data"]["case"]["resubmission_request"]["reasons"] = ["dark"]
    assert not validator_for(schema, "CaseEvent").is_valid(payload)
    del payload["data"]["case"]["checks"]
    assert not validator_for(schema, "CaseEvent").is_valid(payload)


def test_a_real_decided_payload_matches_the_case_event_schema(schema):
    case: Case = CaseFactory.create(partner=make_partner(slug="acme"), status=CaseStatus.DECIDED)
    Case.objects.filter(pk=case.pk).update(final_verdict=Verdict.LIVE, auto_verdict=Verdict.LIVE)
    case.refresh_from_db()
    payload = webhook_payload(case=case, event="case.decided", event_id=uuid.uuid4(), occurred_at=timezone.now())
    assert payload["data"]["case"]["resubmission_request"] is None
    validator_for(schema, "CaseEvent").validate(payload)


def test_a_real_session_payload_matches_the_session_event_schema(schema):
    created = session_create(kind="selfie", partner=make_partner(slug="acme"), created_by=UserFactory.create())
    payload = session_webhook_payload(
        session=created.session, event="verification_session.expired", event_id=uuid.uuid4(), occurred_at=timezone.now()
    )
    validator_for(schema, "SessionEvent").validate(payload)
