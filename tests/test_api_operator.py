"""Operator endpoints: the review queue and decisions, with the console's rules (reason, four-eyes)."""

from __future__ import annotations

import pytest

from liveness.models import ApprovalStatus, Case, CaseStatus, Decision, Verdict
from tests.api_helpers import PROBLEM, client_for, make_partner, user_key
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

QUEUE = "/api/v1/operator/review-queue/"


def case_in(status: str, auto: str, final: str = "", **fields) -> Case:
    case: Case = CaseFactory.create(
        status=status, auto_verdict=auto, final_verdict=final, partner=make_partner(), **fields
    )
    return case


def decide_url(case: Case) -> str:
    return f"/api/v1/operator/cases/{case.public_id}/decisions/"


def on(case: Case, **body) -> dict:
    """A decision body naming the case's current version (as a client that just read it would)."""
    return {**body, "expected_version": Case.objects.get(pk=case.pk).version}


@pytest.fixture
def op(operator):
    return client_for(user_key(operator))


@pytest.fixture
def sup(supervisor):
    return client_for(user_key(supervisor))


@pytest.fixture
def sup2(supervisor2):
    return client_for(user_key(supervisor2))


def test_the_queue_lists_review_and_approval_cases_oldest_first(op):
    first = case_in(CaseStatus.NEEDS_REVIEW, Verdict.NEEDS_REVIEW)
    second = case_in(CaseStatus.PENDING_APPROVAL, Verdict.SPOOF)
    case_in(CaseStatus.DECIDED, Verdict.LIVE, Verdict.LIVE)
    case_in(CaseStatus.PROCESSING, "")

    body = op.get(QUEUE).json()

    assert [c["id"] for c in body["results"]] == [str(first.public_id), str(second.public_id)]
    item = body["results"][0]
    assert item["partner"] == {"slug": first.partner.slug, "name": first.partner.name}  # type: ignore[union-attr]
    assert item["pending_decision"] is None
    assert item["url"].endswith(f"/api/v1/operator/cases/{first.public_id}/")


def test_the_queue_filters_by_status_and_partner(op):
    review = case_in(CaseStatus.NEEDS_REVIEW, Verdict.NEEDS_REVIEW)
    case_in(CaseStatus.PENDING_APPROVAL, Verdict.SPOOF)
    assert [c["id"] for c in op.get(f"{QUEUE}?status=needs_review").json()["results"]] == [str(review.public_id)]
    assert review.partner is not None
    by_partner = op.get(f"{QUEUE}?partner={review.partner.slug}").json()["results"]
    assert [c["id"] for c in by_partner] == [str(review.public_id)]
    assert op.get(f"{QUEUE}?status=decided").status_code == 400


def test_an_operator_decides_a_review_case(op, operator):
    case = case_in(CaseStatus.NEEDS_REVIEW, Verdict.NEEDS_REVIEW)

    response = op.post(decide_url(case), on(case, verdict="live", reason="clear selfie"), format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["verdict"], body["case_status"], body["actor"]) == ("live", "decided", operator.username)
    assert body["approval_status"] == "not_required"
    assert body["is_override"] is False
    case.refresh_from_db()
    assert (case.status, case.final_verdict, case.decided_by) == (CaseStatus.DECIDED, Verdict.LIVE, operator)


def test_an_override_without_a_reason_is_400_naming_the_field(op):
    case = case_in(CaseStatus.DECIDED, Verdict.LIVE, Verdict.LIVE)
    response = op.post(decide_url(case), on(case, verdict="spoof"), format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == "reason_required"
    assert list(body["errors"]) == ["reason"]
    assert not Decision.objects.exists()


def test_a_four_eyes_override_waits_for_another_supervisor(op, sup, sup2, supervisor):
    case = case_in(CaseStatus.DECIDED, Verdict.SPOOF, Verdict.SPOOF)
    asked = sup.post(decide_url(case), on(case, verdict="live", reason="twin, verified by phone"), format="json")
    assert asked.status_code == 201
    assert asked.json()["approval_status"] == "pending"
    assert asked.json()["case_status"] == "pending_approval"
    decision_id = asked.json()["id"]

    queued = op.get(QUEUE).json()["results"]
    assert queued[0]["pending_decision"]["id"] == decision_id

    own = sup.post(f"/api/v1/operator/decisions/{decision_id}/approve/", {}, format="json")
    assert own.status_code == 403
    assert own.json()["code"] == "own_override"

    approved = sup2.post(f"/api/v1/operator/decisions/{decision_id}/approve/", {"note": "ok"}, format="json")
    assert approved.status_code == 200
    assert (approved.json()["approval_status"], approved.json()["case_status"]) == ("approved", "decided")
    case.refresh_from_db()
    assert case.final_verdict == Verdict.LIVE

    again = sup2.post(f"/api/v1/operator/decisions/{decision_id}/approve/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_state"


def test_refusing_an_override_needs_a_note_and_returns_the_case_to_review(sup, sup2):
    case = case_in(CaseStatus.DECIDED, Verdict.SPOOF, Verdict.SPOOF)
    decision_id = sup.post(decide_url(case), on(case, verdict="live", reason="looks real"), format="json").json()["id"]
    url = f"/api/v1/operator/decisions/{decision_id}/refuse/"

    no_note = sup2.post(url, {}, format="json")
    assert no_note.status_code == 400
    assert list(no_note.json()["errors"]) == ["note"]  # the schema says it is required, and so it is
    blank = sup2.post(url, {"note": "  "}, format="json")
    assert blank.status_code == 400
    assert list(blank.json()["errors"]) == ["note"]

    refused = sup2.post(url, {"note": "paper mask visible"}, format="json")
    assert refused.status_code == 200
    assert refused.json()["approval_status"] == ApprovalStatus.REFUSED
    case.refresh_from_db()
    assert case.status == CaseStatus.NEEDS_REVIEW


def test_an_operator_without_approval_rights_cannot_approve(op, sup):
    case = case_in(CaseStatus.DECIDED, Verdict.SPOOF, Verdict.SPOOF)
    decision_id = sup.post(decide_url(case), on(case, verdict="live", reason="r"), format="json").json()["id"]
    response = op.post(f"/api/v1/operator/decisions/{decision_id}/approve/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "supervisor_required"


def test_deciding_a_case_still_processing_is_409(op):
    case = case_in(CaseStatus.PROCESSING, "")
    response = op.post(decide_url(case), on(case, verdict="live"), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"


def test_an_unknown_verdict_is_400(op):
    case = case_in(CaseStatus.NEEDS_REVIEW, Verdict.NEEDS_REVIEW)
    response = op.post(decide_url(case), on(case, verdict="needs_review"), format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["verdict"]


def test_unknown_cases_and_decisions_are_404(op, sup):
    missing = "00000000-0000-4000-8000-000000000000"
    assert (
        op.post(f"/api/v1/operator/cases/{missing}/decisions/", {"verdict": "live"}, format="json").status_code == 404
    )
    assert op.get(f"/api/v1/operator/cases/{missing}/").status_code == 404
    assert sup.post("/api/v1/operator/decisions/999999/approve/", {}, format="json").status_code == 404


def test_an_operator_sees_any_case_with_its_decisions_but_no_images(op, operator):
    case = case_in(CaseStatus.NEEDS_REVIEW, Verdict.NEEDS_REVIEW)
    op.post(
        decide_url(case), on(case, verdict="resubmit", reason="blurred", resubmission_reasons=["blurry"]), format="json"
    )
    body = op.get(f"/api/v1/operator/cases/{case.public_id}/").json()
    assert body["status"] == CaseStatus.RESUBMISSION_REQUESTED
    assert body["resubmission_count"] == 1
    assert "evidence" not in body
    assert "images" not in body
