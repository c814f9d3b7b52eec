"""A console-uploaded case that an operator sent back is answered in the console: the next round is uploaded
there (the same service as the partner API's resubmit/); a partner's case is not (its partner answers it)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from liveness import services
from liveness.models import AuditEvent, Case, CaseStatus, Evidence, Verdict
from tests.api_helpers import jpeg, make_partner

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga(role_user):
    return role_user("operator", "olga")


@pytest.fixture
def operator_client(client: Client, olga) -> Client:
    client.force_login(olga)
    return client


def sent_back(olga, *, partner=None) -> Case:
    """A selfie case created (console upload when no partner), found borderline, sent back with reason codes."""
    created = services.case_create(
        kind="selfie",
        images=[services.IncomingImage(role="selfie", data=jpeg(30))],
        created_by=olga if partner is None else None,
        partner=partner,
    )
    case = created.case
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.NEEDS_REVIEW, auto_verdict=Verdict.NEEDS_REVIEW)
    services.decision_record(
        case=case,
        actor=olga,
        verdict=Verdict.RESUBMIT,
        reason="Too dark: retake by the window",
        resubmission_reasons=["blurry", "face_not_visible"],
    )
    case.refresh_from_db()
    return case


def test_the_case_page_offers_the_next_round_and_the_page_shows_what_was_asked(operator_client: Client, olga):
    case = sent_back(olga)
    page = operator_client.get(reverse("case_detail", args=[case.public_id])).content.decode()
    assert 'id="next-round-link"' in page
    assert "What to fix: blurry, face_not_visible" in page
    form = operator_client.get(reverse("case_resubmit_upload", args=[case.public_id])).content.decode()
    assert "the image is blurred or out of focus" in form
    assert "Too dark: retake by the window" in form
    assert "Upload round 2" in form


def test_uploading_the_next_round_checks_it_as_round_two_of_the_same_case(operator_client: Client, olga):
    case = sent_back(olga)
    response = operator_client.post(
        reverse("case_resubmit_upload", args=[case.public_id]),
        {"selfie": SimpleUploadedFile("again.jpg", jpeg(90), "image/jpeg")},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("case_detail", args=[case.public_id])
    case.refresh_from_db()
    assert (case.status, case.round, case.final_verdict) == (CaseStatus.PROCESSING, 2, "")
    assert Evidence.objects.filter(case=case, round=2, role="selfie").count() == 1
    assert case.checks.filter(round=2).count() == 1
    resubmitted = AuditEvent.objects.get(case=case, action="case.resubmitted")
    assert resubmitted.actor_id == olga.pk


def test_a_missing_image_is_a_400_in_words_and_nothing_changes(operator_client: Client, olga):
    case = sent_back(olga)
    response = operator_client.post(reverse("case_resubmit_upload", args=[case.public_id]), {})
    assert response.status_code == 400
    assert "choose the selfie image" in response.content.decode()
    case.refresh_from_db()
    assert (case.status, case.round) == (CaseStatus.RESUBMISSION_REQUESTED, 1)
    assert not Evidence.objects.filter(case=case, round=2).exists()


def test_a_partners_case_is_answered_by_the_partner_not_here(operator_client: Client, olga):
    case = sent_back(olga, partner=make_partner(slug="acme"))
    page = operator_client.get(reverse("case_detail", args=[case.public_id])).content.decode()
    assert 'id="next-round-link"' not in page
    response = operator_client.post(
        reverse("case_resubmit_upload", args=[case.public_id]),
        {"selfie": SimpleUploadedFile("again.jpg", jpeg(90), "image/jpeg")},
    )
    assert response.status_code == 409
    assert "the partner&#x27;s system answers this case&#x27;s resubmission" in response.content.decode()
    assert Case.objects.get(pk=case.pk).round == 1


def test_a_case_not_waiting_for_a_resubmission_is_refused(operator_client: Client, olga):
    created = services.case_create(
        kind="selfie", images=[services.IncomingImage(role="selfie", data=jpeg(30))], created_by=olga
    )
    response = operator_client.get(reverse("case_resubmit_upload", args=[created.case.public_id]))
    assert response.status_code == 409
    assert "not waiting for a resubmission" in response.content.decode()
