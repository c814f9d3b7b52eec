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


@pytest.mark.parametrize("path", ["/api/v1/cases/%0A/", "/api/v1/cases/i%0A%C3%88/", "/api/v1/%0D%0A"])
def test_a_path_with_a_newline_is_a_problem_404_not_html(client, path):
    problem(client.get(path), 404, "not_found")


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


# --- requests Django itself calls suspicious, and bodies built to break the parser -----------------


def test_it_answers_too_many_query_parameters_with_a_400_not_a_500(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    query = "&".join(["status=decided"] * 11)
    body = problem(client.get(f"{CASES_URL}?{query}"), 400, "too_many_fields")
    assert "10" in body["detail"]


def test_it_answers_too_many_files_with_a_400_and_stores_nothing(client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from liveness.models import Case
    from tests.api_helpers import jpeg

    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    frames = [SimpleUploadedFile(f"f{i}.jpg", jpeg(i), content_type="image/jpeg") for i in range(4)]
    data = {"kind": "active", "frames": frames, "face_parameters": ["front"] * 4}
    body = problem(client.post(CASES_URL, data, format="multipart"), 400, "too_many_files")
    assert "3 files" in body["detail"]
    assert not Case.objects.exists()


def test_it_answers_deeply_nested_json_with_a_400_not_a_500(client):
    nested = '{"kind": "selfie", "external_ref": ' + "[" * 100_000 + "]" * 100_000 + "}"
    body = problem(client.generic("POST", CASES_URL, nested, content_type="application/json"), 400, "parse_error")
    assert "nested too deeply" in body["detail"]


def test_it_bounds_json_bodies_on_operator_endpoints_too(operator, settings):
    from liveness.models import Decision
    from tests.api_helpers import user_key
    from tests.factories import CaseFactory

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    case = CaseFactory.create(status="needs_review", auto_verdict="needs_review")
    url = f"/api/v1/operator/cases/{case.public_id}/decisions/"
    operator_client = client_for(user_key(operator))
    big = operator_client.post(url, {"verdict": "live", "reason": "x" * 2000}, format="json")
    problem(big, 413, "payload_too_large")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000_000
    deep = '{"verdict": ' + "[" * 100_000 + "]" * 100_000 + "}"
    problem(operator_client.generic("POST", url, deep, content_type="application/json"), 400, "parse_error")
    assert not Decision.objects.exists()


def test_it_stops_reading_a_json_body_without_content_length_at_the_limit(settings):
    import io

    from django.test import RequestFactory

    from liveness.api.exceptions import PayloadTooLarge
    from liveness.api.parsers import LimitedJSONParser

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    request = RequestFactory().post("/", content_type="application/json")
    del request.META["CONTENT_LENGTH"]  # chunked: nothing declared, so the parser counts while reading
    stream = io.BytesIO(b'{"external_ref": "' + b"x" * 5000 + b'"}')
    with pytest.raises(PayloadTooLarge):
        LimitedJSONParser().parse(stream, "application/json", {"request": request})
    assert stream.tell() <= 1001  # it read one byte past the limit, not the whole body


@pytest.mark.parametrize(
    ("name", "value"),
    [("created_after", "0321-04-03T15:12:18-23:13"), ("created_before", "0001-01-01T00:00:00+23:59")],
)
def test_extreme_utc_offsets_in_date_filters_are_handled_not_500(name, value):
    """PostgreSQL refuses offsets beyond ±15:59 and year-1 dates can overflow when converted: either the
    value is normalised to UTC and answered, or refused as a 400 naming the field — never a 500."""
    key = partner_key(make_partner(slug=f"tz-{name}"))
    response = client_for(key).get("/api/v1/cases/", {name: value})
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert name in response.json()["errors"]


@pytest.mark.parametrize("value", ["null", "0", "201", "-1", "1.5", "ten", "\u0661"])
def test_a_bad_page_size_is_a_400_naming_it(client, value):
    body = problem(client.get("/api/v1/cases/", {"page_size": value}), 400, "validation_error")
    assert list(body["errors"]) == ["page_size"]


def test_a_good_page_size_is_used(client):
    assert client.get("/api/v1/cases/", {"page_size": "200"}).status_code == 200
