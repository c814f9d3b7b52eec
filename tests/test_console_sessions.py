"""Console side of hosted verification: a supervisor creates a link by hand (new case or resubmission),
and the case page shows the session's challenge, the frame used per prompt and the timing."""

from __future__ import annotations

import pytest
from django.test import Client

from liveness.models import Case, CaseStatus, VerificationSession
from liveness.services import case_create
from liveness.services.cases import IncomingImage
from tests.api_helpers import jpeg
from tests.hosted_support import Applicant

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_supervisor_creates_a_link_for_a_new_case_and_it_is_shown_once(role_user, settings):
    settings.HOSTED_FIXED_CHALLENGE = ["front", "up", "down"]
    settings.HOSTED_BURST_FRAMES = 1
    supervisor = role_user("supervisor", "sam")
    client = _client(supervisor)
    assert client.get("/sessions/new/").status_code == 200
    response = client.post("/sessions/new/", {"kind": "active", "external_ref": "walk-in-3", "expires_minutes": 15})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    link = response.context["link"]
    assert "/v/" in link
    session = VerificationSession.objects.get()
    assert session.created_by == supervisor
    assert session.partner is None
    assert link.rsplit("/v/", 1)[1].strip("/") not in str(VerificationSession.objects.values().get())
    # The applicant follows it; the case page then shows the challenge and the frame used per prompt.
    applicant = Applicant(link)
    applicant.open()
    applicant.consent()
    applicant.start()
    applicant.answer_all(3, 1)
    assert applicant.submit().status_code == 200
    case = Case.objects.get(verification_sessions=session)
    page = client.get(f"/cases/{case.public_id}/").content.decode()
    assert 'id="verification-sessions"' in page
    for parameter in ("front", "up", "down"):
        assert f'<strong class="parameter">{parameter}</strong>' in page
    assert "frame 1 of 1" in page
    assert "issued by the server" in page


def test_an_operator_may_not_create_links(role_user):
    operator = role_user("operator", "olga")
    assert _client(operator).post("/sessions/new/", {"kind": "selfie", "expires_minutes": 30}).status_code == 403
    assert not VerificationSession.objects.exists()


def test_a_supervisor_creates_a_resubmission_link_from_the_case_page(role_user):
    supervisor = role_user("supervisor", "sue")
    case = case_create(kind="selfie", images=[IncomingImage(role="selfie", data=jpeg(3))]).case
    client = _client(supervisor)
    assert "session-link-button" not in client.get(f"/cases/{case.public_id}/").content.decode()
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.RESUBMISSION_REQUESTED)
    assert "session-link-button" in client.get(f"/cases/{case.public_id}/").content.decode()
    response = client.post("/sessions/new/", {"case_id": str(case.public_id)})
    assert response.status_code == 200
    session = VerificationSession.objects.get()
    assert session.case == case
    assert session.is_resubmission
    again = client.post("/sessions/new/", {"case_id": str(case.public_id)})
    assert again.status_code == 400
    assert "already has an open session" in again.content.decode()
