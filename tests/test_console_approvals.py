"""Four-eyes in the console: a different supervisor approves or refuses an override, never its author."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from liveness.models import ApprovalStatus, Case, CaseStatus, Decision, Verdict
from liveness.services import decision_record
from tests.console_support import pipeline_case, scripted_result

pytestmark = pytest.mark.django_db


@pytest.fixture
def sue(role_user) -> User:
    return role_user("supervisor", "sue")


@pytest.fixture
def pending(scripted, role_user) -> Decision:
    """An operator's override of an automatic spoof to live, waiting for approval."""
    case = pipeline_case(scripted, results=[scripted_result(0.1)], external_ref="ref-77")
    olga = role_user("operator", "olga")
    decision = decision_record(case=case, actor=olga, verdict=Verdict.LIVE, reason="known customer, lighting")
    assert decision.approval_status == ApprovalStatus.PENDING
    return decision


def test_the_approvals_page_lists_pending_overrides(client: Client, sam, pending) -> None:
    client.force_login(sam)
    response = client.get(reverse("approval_list"))
    assert response.status_code == 200
    assert response.context["pending"] == [pending]
    html = response.content.decode()
    assert "known customer, lighting" in html
    assert "ref-77" in html
    assert reverse("approval_approve", args=[pending.pk]) in html


def test_another_supervisor_approves_and_the_case_shows_who_and_when(client: Client, sue, pending) -> None:
    client.force_login(sue)
    response = client.post(
        reverse("approval_approve", args=[pending.pk]), {"note": "checked the file", "next": "/"}, follow=True
    )
    assert "approved: the case is now live" in response.content.decode()
    case = Case.objects.get(pk=pending.case_id)
    assert (case.status, case.final_verdict) == (CaseStatus.DECIDED, Verdict.LIVE)
    html = client.get(reverse("case_detail", args=[case.public_id])).content.decode()
    assert "by <strong>olga</strong>" in html  # who asked
    assert '<span class="badge ap-approved">Approved</span>' in html
    assert "by <strong>sue</strong> on" in html  # who approved, and when
    assert "checked the file" in html


def test_nobody_approves_their_own_override(client: Client, sam, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.1)])
    decision = decision_record(case=case, actor=sam, verdict=Verdict.LIVE, reason="I know them")
    client.force_login(sam)
    page = client.get(reverse("approval_list")).content.decode()
    assert "your override: another supervisor answers" in page
    assert reverse("approval_approve", args=[decision.pk]) not in page
    response = client.post(reverse("approval_approve", args=[decision.pk]), follow=True)
    assert "you cannot approve or refuse your own override" in response.content.decode()
    decision.refresh_from_db()
    assert decision.approval_status == ApprovalStatus.PENDING
    assert Case.objects.get(pk=case.pk).status == CaseStatus.PENDING_APPROVAL


def test_an_operator_can_neither_see_nor_answer_approvals(client: Client, role_user, pending) -> None:
    client.force_login(role_user("operator", "omar"))
    assert client.get(reverse("approval_list")).status_code == 403
    assert client.post(reverse("approval_approve", args=[pending.pk])).status_code == 403
    assert client.post(reverse("approval_refuse", args=[pending.pk]), {"note": "no"}).status_code == 403
    pending.refresh_from_db()
    assert pending.approval_status == ApprovalStatus.PENDING


def test_refusing_needs_a_note_and_returns_the_case_to_review(client: Client, sue, pending) -> None:
    client.force_login(sue)
    url = reverse("approval_refuse", args=[pending.pk])
    response = client.post(url, {"note": ""}, follow=True)
    assert "say why the override is refused" in response.content.decode()
    assert Decision.objects.get(pk=pending.pk).approval_status == ApprovalStatus.PENDING
    client.post(url, {"note": "the print texture is visible"})
    case = Case.objects.get(pk=pending.case_id)
    assert case.status == CaseStatus.NEEDS_REVIEW
    assert case.final_verdict == Verdict.SPOOF
    assert Decision.objects.get(pk=pending.pk).approval_status == ApprovalStatus.REFUSED


def test_a_supervisor_approves_from_the_case_page(client: Client, sue, pending) -> None:
    client.force_login(sue)
    case_url = reverse("case_detail", args=[pending.case.public_id])
    html = client.get(case_url).content.decode()
    assert 'id="approve-button"' in html
    response = client.post(reverse("approval_approve", args=[pending.pk]), {"next": case_url})
    assert response["Location"] == case_url
    assert Case.objects.get(pk=pending.case_id).final_verdict == Verdict.LIVE


def test_an_answered_override_cannot_be_answered_again(client: Client, sue, pending) -> None:
    client.force_login(sue)
    client.post(reverse("approval_approve", args=[pending.pk]))
    again = client.post(reverse("approval_refuse", args=[pending.pk]), {"note": "changed my mind"}, follow=True)
    assert "this override is not awaiting approval" in again.content.decode()
    assert Decision.objects.get(pk=pending.pk).approval_status == ApprovalStatus.APPROVED


def test_an_offsite_next_url_is_not_followed(client: Client, sue, pending) -> None:
    client.force_login(sue)
    response = client.post(reverse("approval_approve", args=[pending.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("approval_list")
