"""The OpenAPI schema, its bundled UIs, and a schemathesis run against the served schema."""

from __future__ import annotations

import re

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from liveness.models import Case, CaseStatus, Verdict
from liveness.services import decision_record
from tests.api_helpers import client_for, live_result, make_partner, partner_key, submission, user_key
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

SCHEMA_URL = "/api/v1/schema/?format=json"
HEALTH_PATHS = ("/api/v1/health", "/api/v1/health/live")


@pytest.fixture
def served_schema() -> dict:
    response = client_for().get(SCHEMA_URL)
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_valid_openapi_3_and_public(served_schema):
    validate_schema(served_schema)  # raises on any violation of the OpenAPI 3.0 schema
    assert served_schema["openapi"].startswith("3.")
    assert set(served_schema["paths"]) == {
        "/api/v1/cases/",
        "/api/v1/cases/{public_id}/",
        "/api/v1/cases/{public_id}/resubmit/",
        "/api/v1/health",
        "/api/v1/health/live",
        "/api/v1/operator/review-queue/",
        "/api/v1/operator/cases/{public_id}/",
        "/api/v1/operator/cases/{public_id}/decisions/",
        "/api/v1/operator/decisions/{decision_id}/approve/",
        "/api/v1/operator/decisions/{decision_id}/refuse/",
        "/api/v1/supervisor/accuracy/",
        "/api/v1/verification-sessions/",
        "/api/v1/verification-sessions/{public_id}/",
        "/api/v1/verification-sessions/{public_id}/cancel/",
    }
    assert served_schema["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": served_schema["components"]["securitySchemes"]["ApiKeyAuth"]["description"],
    }


def test_every_error_response_is_documented_as_problem_json(served_schema):
    for path, operations in served_schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"404", "405", "500"} <= codes, (method, path)
            if path not in HEALTH_PATHS:
                assert {"400", "401", "403", "429"} <= codes, (method, path)
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")) and not (path in HEALTH_PATHS and code == "503"):
                    assert list(response["content"]) == ["application/problem+json"], (method, path, code)


def test_health_documents_its_throttle_and_liveness_has_none(served_schema):
    readiness = served_schema["paths"]["/api/v1/health"]["get"]
    liveness = served_schema["paths"]["/api/v1/health/live"]["get"]
    assert readiness["operationId"] == "health"
    assert liveness["operationId"] == "health_live"
    assert "Retry-After" in readiness["responses"]["429"]["headers"]
    assert set(readiness["responses"]) == {"200", "404", "405", "406", "429", "500", "503"}
    assert set(liveness["responses"]) == {"200", "404", "405", "406", "500"}
    assert "security" not in readiness  # no authentication: load balancers call them
    assert "security" not in liveness


def test_submit_documents_both_encodings(served_schema):
    body = served_schema["paths"]["/api/v1/cases/"]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "application/json"}
    schemas = served_schema["components"]["schemas"]
    assert schemas["CaseSubmitJsonRequest"]["properties"]["selfie"]["format"] == "byte"
    assert schemas["CaseSubmitMultipartRequest"]["properties"]["selfie"]["format"] == "binary"


@pytest.mark.parametrize(("url", "asset"), [("/api/v1/docs/", "swagger-ui"), ("/api/v1/redoc/", "redoc")])
def test_the_docs_pages_use_bundled_assets_not_a_cdn(url, asset):
    response = client_for().get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn.jsdelivr" not in html
    assert "unpkg.com" not in html
    assert "cdnjs" not in html
    sources = re.findall(r'(?:src|href)="(/static/drf_spectacular_sidecar/[^"]+)"', html)
    assert any(asset in s for s in sources), sources
    for source in sources:
        assert finders.find(source.removeprefix("/static/")) is not None, source


# --- schemathesis ---------------------------------------------------------------------------------

OPERATOR_PREFIX = "/api/v1/operator/"
SUPERVISOR_PREFIX = "/api/v1/supervisor/"
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]


@pytest.fixture
def fuzz_world(scripted, settings, operator, supervisor, role_user):
    """Keys, a few real cases and a pending override, so generated requests can also succeed."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "partner": "100000/minute",
            "partner_submit": "100000/minute",
            "operator": "100000/minute",
        },
    }
    cache.clear()
    partner = make_partner(slug="fuzz")
    key = partner_key(partner)
    scripted.script.extend([live_result()] * 5)
    submitted = client_for(key).post("/api/v1/cases/", *submission("selfie", "json")).json()["id"]
    review: Case = CaseFactory.create(partner=partner, status=CaseStatus.NEEDS_REVIEW, auto_verdict="needs_review")
    spoofed: Case = CaseFactory.create(
        partner=partner, status=CaseStatus.DECIDED, auto_verdict=Verdict.SPOOF, final_verdict=Verdict.SPOOF
    )
    pending = decision_record(case=spoofed, actor=supervisor, verdict=Verdict.LIVE, reason="verified")
    session = client_for(key).post("/api/v1/verification-sessions/", {"kind": "active"}, format="json").json()["id"]
    return {
        "session_ids": [session],
        "partner_key": key,
        "operator_key": user_key(operator),
        "supervisor_key": user_key(role_user("supervisor", "fuzz-supervisor")),
        "case_ids": [submitted, str(review.public_id)],
        "decision_id": pending.pk,
    }


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Calling the WSGI app directly (not through Django's test client) would close the database
    connection at the end of each request, and with it the test's transaction on PostgreSQL. Do what the
    test client does: keep the connection across requests for the duration of the test."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def reproducible_examples(max_examples: int):
    """Hypothesis settings of the fuzz tests: the same examples every run, so a failure is reproducible."""
    return hypothesis_settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def fuzz_plan(operation, world: dict) -> tuple[dict[str, str], list]:
    """The headers (the key of the role the operation's path needs) and the strategies to fuzz one operation
    with: positive and negative data (health takes no input: positive only), plus the world's real ids in
    its path parameters."""
    key = world["operator_key"] if operation.path.startswith(OPERATOR_PREFIX) else world["partner_key"]
    if operation.path.startswith(SUPERVISOR_PREFIX):
        key = world["supervisor_key"]
    modes = [GenerationMode.POSITIVE] if operation.path in HEALTH_PATHS else list(GenerationMode)
    strategies = [operation.as_strategy(mode) for mode in modes]
    if "{public_id}" in operation.path:
        ids = world["session_ids"] if "verification-sessions" in operation.path else world["case_ids"]
        strategies += [operation.as_strategy(path_parameters={"public_id": i}) for i in ids]
    if "{decision_id}" in operation.path:
        strategies.append(operation.as_strategy(path_parameters={"decision_id": world["decision_id"]}))
    return {"Authorization": f"Bearer {key}"}, strategies


def test_schemathesis_finds_no_server_error_and_no_response_outside_the_schema(
    fuzz_world, wsgi_keeps_the_test_connection
):
    app = get_wsgi_application()
    schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, app)
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) == 16
    hypothesis_config = reproducible_examples(25)
    for operation in operations:
        headers, strategies = fuzz_plan(operation, fuzz_world)
        for strategy in strategies:
            fuzz(strategy, headers, hypothesis_config)


def fuzz(strategy, headers: dict[str, str], config) -> None:
    @given(case=strategy)
    @config
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
