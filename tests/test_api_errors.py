"""One error format (application/problem+json) for every 4xx and 5xx of the API."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.exceptions import ValidationError

from liveness.api.exceptions import _flatten
from tests.api_helpers import CASES_URL, PROBLEM, client_for, make_partner, partner_key

pytestmark = pytest.mark.django_db

REQUIRED = {"type", "title", "status", "detail", "code"}


@pytest.fixture
def client():
    return client_for(partner_key(make_partner(slug="acme")))


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert set(body) >= REQUIRED
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"] == f"urn:kyc-portal:problem:{code}"
    return body


@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "options"])
def test_an_unknown_api_path_is_a_problem_404_for_every_method(client, method):
    body = problem(getattr(client, method)("/api/v1/nothing/here/"), 404, "not_found")
    assert body["instance"] == "/api/v1/nothing/here/"


def test_a_missing_trailing_slash_gets_a_hint(client):
    body = problem(client.get("/api/v1/cases"), 404, "not_found")
    assert "did you mean /api/v1/cases/" in body["detail"]


def test_a_malformed_case_id_is_a_problem_404(client):
    problem(client.get("/api/v1/cases/not-a-uuid/"), 404, "not_found")


def test_a_wrong_method_is_405_with_allow(client):
    response = client.delete(CASES_URL)
    problem(response, 405, "method_not_allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_an_unacceptable_accept_header_is_406(client):
    problem(client.get(CASES_URL, HTTP_ACCEPT="text/csv"), 406, "not_acceptable")


def test_malformed_json_is_400(client):
    body = problem(client.generic("POST", CASES_URL, b"{not json", content_type="application/json"), 400, "parse_error")
    assert "JSON" in body["detail"]


def test_an_unexpected_error_is_a_logged_problem_500_without_internals(client, monkeypatch, caplog):
    from liveness.api import selectors

    def explode(**kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(selectors, "partner_cases", explode)
    body = problem(client.get(CASES_URL), 500, "internal_error")
    assert "secret internal detail" not in str(body)
    assert "secret internal detail" in caplog.text  # the operator finds it in the log


def test_validation_errors_are_flattened_to_field_paths():
    frames: Any = {1: ["not base64"]}  # ListField errors are keyed by position
    detail = ValidationError(
        {"kind": ["bad"], "frames": frames, "nested": {"inner": ["x"]}, "non_field_errors": ["y"]}
    ).detail
    assert _flatten(detail) == {
        "kind": ["bad"],
        "frames[1]": ["not base64"],
        "nested.inner": ["x"],
        "non_field_errors": ["y"],
    }
