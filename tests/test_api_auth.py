"""Authentication and authorisation of the API: every way in, and every way of being refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from liveness.models import ApiKey
from liveness.services.api_keys import api_key_revoke, api_key_rotate
from tests.api_helpers import CASES_URL, PROBLEM, client_for, make_partner, partner_key, submission, user_key
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUE_URL = "/api/v1/operator/review-queue/"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"] == f"urn:kyc-portal:problem:{code}"
    assert body["title"]
    assert body["detail"]
    return body


def test_no_key_is_401_with_a_bearer_challenge():
    response = client_for().get(CASES_URL)
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="kyc-portal"'


@pytest.mark.parametrize(
    "header",
    ["Bearer kyc_00000000_" + "x" * 43, "Bearer not-a-key", "Bearer a b", "Bearer "],
)
def test_an_invalid_key_is_401(partner, header):
    partner_key(partner)
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_problem(client.get(CASES_URL), 401, "invalid_api_key")


def test_a_key_with_a_wrong_secret_but_a_real_prefix_is_401(partner):
    key = partner_key(partner)
    forged = key[: len("kyc_12345678_")] + ("A" if key[-1] != "A" else "B") * 43
    assert_problem(client_for(forged).get(CASES_URL), 401, "invalid_api_key")


def test_the_key_also_works_in_an_x_api_key_header(partner):
    client = client_for()
    client.credentials(HTTP_X_API_KEY=partner_key(partner))
    assert client.get(CASES_URL).status_code == 200


def test_a_revoked_key_is_refused_at_once(partner):
    key = partner_key(partner)
    client = client_for(key)
    assert client.get(CASES_URL).status_code == 200
    api_key_revoke(api_key=ApiKey.objects.get())
    assert_problem(client.get(CASES_URL), 401, "invalid_api_key")


def test_an_expired_key_is_refused(partner):
    key = partner_key(partner)
    ApiKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_problem(client_for(key).get(CASES_URL), 401, "invalid_api_key")


def test_after_rotation_both_keys_work_until_the_grace_period_ends(partner):
    old = partner_key(partner)
    new = api_key_rotate(api_key=ApiKey.objects.get(), grace=timedelta(hours=1)).secret
    assert client_for(old).get(CASES_URL).status_code == 200
    assert client_for(new).get(CASES_URL).status_code == 200
    ApiKey.objects.filter(replaced_by__isnull=False).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client_for(old).get(CASES_URL).status_code == 401
    assert client_for(new).get(CASES_URL).status_code == 200


def test_a_disabled_partner_is_refused(partner):
    key = partner_key(partner)
    partner.is_active = False
    partner.save()
    assert_problem(client_for(key).get(CASES_URL), 401, "partner_disabled")


def test_a_partner_key_cannot_use_operator_endpoints(partner):
    assert_problem(client_for(partner_key(partner)).get(QUEUE_URL), 403, "operator_required")


def test_an_operator_key_cannot_use_partner_endpoints(operator):
    client = client_for(user_key(operator))
    assert_problem(client.get(CASES_URL), 403, "partner_key_required")
    assert_problem(client.post(CASES_URL, *submission("selfie", "json")), 403, "partner_key_required")


def test_an_operator_key_of_a_user_without_the_role_is_403():
    plain = UserFactory.create(username="no-role")
    assert_problem(client_for(user_key(plain)).get(QUEUE_URL), 403, "operator_required")


def test_a_deactivated_operator_key_is_refused(operator):
    key = user_key(operator)
    operator.is_active = False
    operator.save()
    assert_problem(client_for(key).get(QUEUE_URL), 401, "user_disabled")


def test_partner_endpoints_ignore_a_console_session(operator, client):
    client.force_login(operator)
    assert_problem(client.get(CASES_URL), 401, "not_authenticated")


def test_operators_may_use_their_console_session(operator, client):
    client.force_login(operator)
    response = client.get(QUEUE_URL)
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_session_post_without_csrf_token_is_refused(operator):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post("/api/v1/operator/decisions/1/approve/", {}, format="json")
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM


def test_last_use_is_recorded_without_a_write_per_request(partner, django_assert_num_queries):
    client = client_for(partner_key(partner))
    client.get(CASES_URL)
    first = ApiKey.objects.get().last_used_at
    assert first is not None

    # Within the minute: the key lookup, the (empty) case list, and no UPDATE of the key.
    with django_assert_num_queries(2) as captured:
        client.get(CASES_URL)
    assert not any("UPDATE" in q["sql"] for q in captured.captured_queries)
    assert ApiKey.objects.get().last_used_at == first

    ApiKey.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    client.get(CASES_URL)
    later = ApiKey.objects.get().last_used_at
    assert later is not None
    assert later > first


OPERATOR_ENDPOINTS = [
    ("get", "/api/v1/operator/review-queue/"),
    ("get", "/api/v1/operator/cases/{case}/"),
    ("post", "/api/v1/operator/cases/{case}/decisions/"),
    ("post", "/api/v1/operator/decisions/{decision}/approve/"),
    ("post", "/api/v1/operator/decisions/{decision}/refuse/"),
]


@pytest.mark.parametrize(("method", "template"), OPERATOR_ENDPOINTS)
def test_it_refuses_partner_keys_and_role_less_users_on_every_operator_endpoint(partner, supervisor, method, template):
    from liveness.models import Case, CaseStatus, Decision
    from liveness.services import decision_record
    from tests.factories import CaseFactory

    # Another partner's real case with a real pending override: a refusal here is the permission's doing.
    case: Case = CaseFactory.create(
        partner=make_partner(slug="someone-else"), status="decided", auto_verdict="spoof", final_verdict="spoof"
    )
    pending = decision_record(case=case, actor=supervisor, verdict="live", reason="verified by phone")
    url = template.format(case=case.public_id, decision=pending.pk)
    expected = "supervisor_required" if "/decisions/" in template and "/cases/" not in template else "operator_required"
    plain = UserFactory.create(username="no-role")

    for client in (client_for(partner_key(partner)), client_for(user_key(plain))):
        if method == "get":
            response = client.get(url)
        else:
            response = client.post(url, {"verdict": "spoof", "reason": "r", "note": "n"}, format="json")
        body = assert_problem(response, 403, expected)
        assert "results" not in body
        assert "checks" not in body

    pending.refresh_from_db()
    case.refresh_from_db()
    assert (pending.approval_status, case.status) == ("pending", CaseStatus.PENDING_APPROVAL)
    assert Decision.objects.count() == 1
