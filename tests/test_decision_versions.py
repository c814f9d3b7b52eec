"""Decisions name the case version they were made on; changing a human verdict is an override of it;
one webhook per change of final verdict; no decided case keeps a claim (every path); one error base."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from liveness.api.exceptions import service_problem
from liveness.models import ApprovalStatus, Case, CaseStatus, Decision, Verdict, WebhookDelivery
from liveness.services import (
    CaseStateConflict,
    ClaimConflict,
    DecisionError,
    DecisionStale,
    IdempotencyConflict,
    ServiceError,
    claims,
    decision_approve,
    decision_record,
)
from liveness.services.errors import NotFound, PermissionDenied
from tests.api_helpers import PROBLEM, client_for, make_partner, user_key
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def review_case(**fields) -> Case:
    partner = make_partner(webhook_url="https://hooks.example.com/kyc")
    case: Case = CaseFactory.create(
        status=CaseStatus.NEEDS_REVIEW, auto_verdict=Verdict.NEEDS_REVIEW, partner=partner, **fields
    )
    return case


def version(case: Case) -> int:
    return Case.objects.get(pk=case.pk).version


def decide_url(case: Case) -> str:
    return f"/api/v1/operator/cases/{case.public_id}/decisions/"


@pytest.fixture
def op(operator):
    return client_for(user_key(operator))


@pytest.fixture
def sup(supervisor):
    return client_for(user_key(supervisor))


@pytest.fixture
def sup2(supervisor2):
    return client_for(user_key(supervisor2))


# --- the version ---------------------------------------------------------------------------------------


def test_the_version_moves_with_status_verdict_and_claim_holder_but_not_a_renewal(operator, supervisor) -> None:
    case = review_case()
    start = version(case)
    claims.case_claim(case=case, user=operator)
    assert version(case) == start + 1  # a new holder
    claims.case_claim(case=case, user=operator)
    assert version(case) == start + 1  # renewing one's own claim changes only the expiry
    claims.case_release(case=case, user=operator)
    assert version(case) == start + 2
    decision_record(case=case, actor=operator, verdict=Verdict.LIVE, expected_version=start + 2)
    assert version(case) == start + 3  # status, final verdict and decider in one save: one bump
    Case.objects.filter(pk=case.pk).update(external_ref="x")  # not something a decision depends on
    assert version(case) == start + 3


def test_assigning_bumps_the_version_only_when_the_holder_changes(operator, role_user) -> None:
    sam = role_user("supervisor", "sam")
    case = review_case()
    start = version(case)
    claims.cases_assign(cases=[case], assignee=operator, actor=sam)
    assert version(case) == start + 1
    claims.cases_assign(cases=[case], assignee=operator, actor=sam)  # same holder, new expiry
    assert version(case) == start + 1


def test_get_of_the_operator_case_carries_the_version_and_its_etag(op) -> None:
    case = review_case()
    response = op.get(f"/api/v1/operator/cases/{case.public_id}/")
    assert response.json()["version"] == version(case)
    assert response["ETag"] == f'"v{version(case)}"'


# --- stale decisions -----------------------------------------------------------------------------------


def test_a_decision_on_a_stale_version_is_409_saying_what_changed(op, supervisor) -> None:
    case = review_case()
    seen = version(case)
    decision_record(case=case, actor=supervisor, verdict=Verdict.SPOOF, expected_version=seen)

    response = op.post(decide_url(case), {"verdict": "live", "reason": "r", "expected_version": seen}, format="json")

    assert response.status_code == 409
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == "conflict"
    case.refresh_from_db()
    for text in ("status decided", "final verdict spoof", f"decided by {supervisor.username}", f"now {case.version}"):
        assert text in body["detail"]
    assert body["expected_version"] == seen
    assert body["current"]["version"] == case.version
    assert (body["current"]["status"], body["current"]["final_verdict"]) == ("decided", "spoof")
    assert body["current"]["decided_by"] == supervisor.username
    assert case.decided_at is not None
    assert body["current"]["decided_at"] == case.decided_at.isoformat()
    assert Decision.objects.filter(case=case).count() == 1
    assert case.final_verdict == Verdict.SPOOF


def test_a_claim_taken_since_is_named_in_the_conflict(op, supervisor) -> None:
    case = review_case()
    seen = version(case)
    claims.case_claim(case=case, user=supervisor)
    body = op.post(decide_url(case), {"verdict": "live", "expected_version": seen}, format="json").json()
    assert body["code"] == "conflict"
    assert f"claimed by {supervisor.username}" in body["detail"]
    assert body["current"]["claimed_by"] == supervisor.username


def test_without_a_version_the_api_answers_428(op) -> None:
    case = review_case()
    response = op.post(decide_url(case), {"verdict": "live"}, format="json")
    assert response.status_code == 428
    assert response.json()["code"] == "precondition_required"
    assert "expected_version" in response.json()["errors"]
    assert Case.objects.get(pk=case.pk).status == CaseStatus.NEEDS_REVIEW


def test_if_match_with_the_etag_works_like_expected_version(op) -> None:
    case = review_case()
    etag = op.get(f"/api/v1/operator/cases/{case.public_id}/")["ETag"]
    decided = op.post(decide_url(case), {"verdict": "live"}, format="json", HTTP_IF_MATCH=etag)
    assert decided.status_code == 201
    stale = op.post(decide_url(case), {"verdict": "spoof", "reason": "r"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 409
    assert stale.json()["code"] == "conflict"


@pytest.mark.parametrize("header", ["*", 'W/"v1"', "v1", '"v1", "v2"'])
def test_an_if_match_that_names_no_single_version_is_400(op, header) -> None:
    case = review_case()
    response = op.post(decide_url(case), {"verdict": "live"}, format="json", HTTP_IF_MATCH=header)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_if_match"


def test_a_body_version_and_an_if_match_that_disagree_are_400(op) -> None:
    case = review_case()
    v = version(case)
    response = op.post(
        decide_url(case), {"verdict": "live", "expected_version": v}, format="json", HTTP_IF_MATCH=f'"v{v + 1}"'
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["expected_version"]


# --- changing a human verdict ------------------------------------------------------------------------------


def test_flipping_a_human_verdict_without_a_reason_is_400(op, supervisor) -> None:
    case = review_case()
    decision_record(case=case, actor=supervisor, verdict=Verdict.SPOOF, expected_version=version(case))
    response = op.post(decide_url(case), {"verdict": "live", "expected_version": version(case)}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "reason_required"
    assert list(response.json()["errors"]) == ["reason"]
    assert f"spoof, decided by {supervisor.username}" in response.json()["detail"]
    assert Case.objects.get(pk=case.pk).final_verdict == Verdict.SPOOF


def test_flipping_a_human_verdict_with_a_reason_is_an_override(op, supervisor, settings) -> None:
    settings.FOUR_EYES_RULES = ["spoof:live"]
    case = review_case()
    decision_record(case=case, actor=supervisor, verdict=Verdict.LIVE, expected_version=version(case))
    body = op.post(
        decide_url(case), {"verdict": "spoof", "reason": "mask edge", "expected_version": version(case)}, format="json"
    ).json()
    assert (body["is_override"], body["previous_verdict"], body["approval_status"]) == (True, "live", "not_required")
    assert Case.objects.get(pk=case.pk).final_verdict == Verdict.SPOOF


def test_four_eyes_rules_apply_against_the_human_verdict(op, sup2, supervisor, settings) -> None:
    settings.FOUR_EYES_RULES = ["spoof:live"]
    case = review_case()  # automatic verdict: needs_review; spoof is an operator's
    decision_record(case=case, actor=supervisor, verdict=Verdict.SPOOF, expected_version=version(case))
    asked = op.post(
        decide_url(case), {"verdict": "live", "reason": "verified", "expected_version": version(case)}, format="json"
    )
    assert asked.status_code == 201
    body = asked.json()
    assert (body["is_override"], body["approval_status"], body["case_status"]) == (True, "pending", "pending_approval")
    case.refresh_from_db()
    assert (case.status, case.final_verdict) == (CaseStatus.PENDING_APPROVAL, Verdict.SPOOF)
    approved = sup2.post(f"/api/v1/operator/decisions/{body['id']}/approve/", {"note": "ok"}, format="json")
    assert approved.status_code == 200
    assert Case.objects.get(pk=case.pk).final_verdict == Verdict.LIVE


# --- one webhook per change of final verdict -----------------------------------------------------------------


def test_one_decided_webhook_per_change_of_final_verdict(operator, supervisor, supervisor2) -> None:
    case = review_case()
    decision_record(case=case, actor=operator, verdict=Verdict.LIVE, expected_version=version(case))
    assert WebhookDelivery.objects.filter(case=case, event="case.decided").count() == 1
    with pytest.raises(DecisionError) as same:
        decision_record(case=case, actor=supervisor, verdict=Verdict.LIVE, expected_version=version(case))
    assert same.value.code == "no_change"
    assert WebhookDelivery.objects.filter(case=case, event="case.decided").count() == 1
    decision_record(case=case, actor=supervisor, verdict=Verdict.SPOOF, reason="r", expected_version=version(case))
    assert WebhookDelivery.objects.filter(case=case, event="case.decided").count() == 2


def test_confirming_the_standing_verdict_after_a_refused_override_sends_nothing(
    operator, supervisor, supervisor2, settings
) -> None:
    settings.FOUR_EYES_RULES = ["spoof:live"]
    case = review_case()
    decision_record(case=case, actor=operator, verdict=Verdict.SPOOF, expected_version=version(case))
    pending = decision_record(
        case=case, actor=supervisor, verdict=Verdict.LIVE, reason="r", expected_version=version(case)
    )
    from liveness.services import decision_refuse

    decision_refuse(decision=pending, approver=supervisor2, note="no")
    assert Case.objects.get(pk=case.pk).status == CaseStatus.NEEDS_REVIEW
    before = WebhookDelivery.objects.filter(case=case, event="case.decided").count()
    decision_record(case=case, actor=operator, verdict=Verdict.SPOOF, expected_version=version(case))
    case.refresh_from_db()
    assert (case.status, case.final_verdict) == (CaseStatus.DECIDED, Verdict.SPOOF)
    assert WebhookDelivery.objects.filter(case=case, event="case.decided").count() == before


# --- claims: one place, cleared by every deciding path, 409 over the API -------------------------------------


def test_a_case_claimed_by_someone_else_is_409_over_the_api(op, supervisor) -> None:
    case = review_case()
    claims.case_claim(case=case, user=supervisor)
    response = op.post(decide_url(case), {"verdict": "live", "expected_version": version(case)}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "claimed"
    assert supervisor.username in response.json()["detail"]


def test_an_api_decision_leaves_no_claim(op, operator) -> None:
    case = review_case()
    claims.case_claim(case=case, user=operator)
    assert (
        op.post(decide_url(case), {"verdict": "live", "expected_version": version(case)}, format="json").status_code
        == 201
    )
    case.refresh_from_db()
    assert (case.claimed_by, case.claim_expires_at) == (None, None)


def test_a_console_decision_leaves_no_claim(client: Client, role_user) -> None:
    olga = role_user("operator", "olga")
    case = review_case()
    claims.case_claim(case=case, user=olga)
    client.force_login(olga)
    client.post(reverse("case_decide", args=[case.public_id]), {"verdict": "live", "expected_version": version(case)})
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    assert case.claimed_by is None


def test_the_approvals_page_leaves_no_claim(client: Client, role_user, settings) -> None:
    settings.FOUR_EYES_RULES = ["spoof:live"]
    sam, sue = role_user("supervisor", "sam"), role_user("supervisor", "sue")
    case = review_case()
    decision_record(case=case, actor=sam, verdict=Verdict.SPOOF, expected_version=version(case))
    pending = decision_record(case=case, actor=sam, verdict=Verdict.LIVE, reason="r", expected_version=version(case))
    claims.case_claim(case=case, user=sue)  # a supervisor takes the pending override to look at it
    assert Case.objects.get(pk=case.pk).claimed_by == sue
    client.force_login(sue)
    response = client.post(reverse("approval_approve", args=[pending.pk]), {"note": "fine"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.final_verdict, case.claimed_by) == (CaseStatus.DECIDED, Verdict.LIVE, None)


def test_a_refused_override_and_a_close_leave_no_claim(supervisor, supervisor2, operator, settings) -> None:
    from liveness.services import case_close, decision_refuse

    settings.FOUR_EYES_RULES = ["needs_review:live", "spoof:live"]
    case = review_case()
    decision_record(case=case, actor=operator, verdict=Verdict.SPOOF, expected_version=version(case))
    pending = decision_record(
        case=case, actor=supervisor, verdict=Verdict.LIVE, reason="r", expected_version=version(case)
    )
    claims.case_claim(case=case, user=supervisor2)
    decision_refuse(decision=pending, approver=supervisor2, note="no")
    assert Case.objects.get(pk=case.pk).claimed_by is None
    claims.case_claim(case=case, user=operator)
    case_close(case=case, actor=operator, reason="duplicate")
    assert Case.objects.get(pk=case.pk).claimed_by is None


def test_free_and_claimed_by_agree_with_the_claim_holder(operator, supervisor) -> None:
    mine, theirs, expired, free = review_case(), review_case(), review_case(), review_case()
    claims.case_claim(case=mine, user=operator)
    claims.case_claim(case=theirs, user=supervisor)
    claims.case_claim(case=expired, user=supervisor)
    Case.objects.filter(pk=expired.pk).update(claim_expires_at=timezone.now() - timedelta(seconds=1))
    assert set(Case.objects.claimed_by(operator)) == {mine}
    assert set(Case.objects.free()) == {expired, free}
    assert set(Case.objects.claim_active()) == {mine, theirs}
    assert Case.objects.get(pk=expired.pk).claim_holder_id() is None


# --- the console form -----------------------------------------------------------------------------------------


def test_a_stale_console_form_shows_a_message_and_changes_nothing(client: Client, role_user) -> None:
    olga, omar = role_user("operator", "olga"), role_user("operator", "omar")
    case = review_case()
    client.force_login(olga)
    page = client.get(reverse("case_detail", args=[case.public_id])).content.decode()
    seen = version(case)
    assert f'name="expected_version" value="{seen}"' in page  # the form carries the version it was drawn on
    decision_record(case=case, actor=omar, verdict=Verdict.SPOOF, expected_version=seen)

    response = client.post(
        reverse("case_decide", args=[case.public_id]), {"verdict": "live", "reason": "x", "expected_version": seen}
    )

    assert response.status_code == 302
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(shown) == 1
    assert "the case changed since you looked at it" in shown[0]
    assert "final verdict spoof (decided by omar" in shown[0]
    case.refresh_from_db()
    assert (case.final_verdict, case.decided_by) == (Verdict.SPOOF, omar)
    assert Decision.objects.filter(case=case).count() == 1


def test_a_console_form_without_the_version_is_refused(client: Client, role_user) -> None:
    olga = role_user("operator", "olga")
    case = review_case()
    client.force_login(olga)
    response = client.post(reverse("case_decide", args=[case.public_id]), {"verdict": "live"})
    assert response.status_code == 400
    assert "the page is out of date" in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.NEEDS_REVIEW


# --- one service error base -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DecisionError("bad", "reason_required", "reason"), 400),
        (DecisionStale("moved", "conflict", extra={"current": {"version": 3}}), 409),
        (ClaimConflict("held", "claimed"), 409),
        (CaseStateConflict("case", "not waiting", code="invalid_state"), 409),
        (IdempotencyConflict(case=None), 422),  # type: ignore[arg-type]
        (PermissionDenied("no", "permission_denied"), 403),
        (NotFound("gone", "not_found"), 404),
        (ServiceError("plain", "invalid"), 400),
    ],
)
def test_the_api_translates_each_kind_of_service_error_once(error: ServiceError, status: int) -> None:
    problem = service_problem(error)
    assert (problem.status_code, problem.problem_code, str(problem.detail)) == (status, error.code, error.message)
    assert problem.errors == ({error.field: [error.message]} if error.field else {})
    assert problem.extra == error.extra


def test_a_pending_override_approved_after_the_claim_moved_still_decides_once(supervisor, supervisor2) -> None:
    case = review_case()
    decision_record(case=case, actor=supervisor, verdict=Verdict.SPOOF, expected_version=version(case))
    pending = decision_record(
        case=case, actor=supervisor, verdict=Verdict.LIVE, reason="r", expected_version=version(case)
    )
    assert pending.approval_status == ApprovalStatus.PENDING
    decision_approve(decision=pending, approver=supervisor2)
    assert WebhookDelivery.objects.filter(case=case, event="case.decided").count() == 2  # spoof, then live
