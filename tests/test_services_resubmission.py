"""Resubmission: new evidence for a case an operator sent back, checked as a new round."""

from __future__ import annotations

import pytest

from liveness import enqueue, services
from liveness.intake import ImageRejected
from liveness.models import AuditEvent, Case, CaseStatus, Check, CheckStatus, Evidence, Verdict
from liveness.providers import ProviderResult
from liveness.services import CaseInputError, IncomingImage
from tests.helpers import enqueued, image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker():
    with enqueued(enqueue.RUN_CHECK) as apply_async:
        yield apply_async


def sent_back(scripted, operator, *, kind: str = "selfie") -> Case:
    """A case decided by the policy as needing review, then sent back for resubmission."""
    if kind == "active":
        images = [IncomingImage("frame", image_bytes(200 + i, 200), i) for i in range(2)]
        case = services.case_create(kind=kind, images=images, face_parameters=["left", "right"]).case
    else:
        case = services.case_create(kind=kind, images=[IncomingImage("selfie", image_bytes())]).case
    scripted.script.append(ProviderResult(score=0.5))  # borderline: review
    services.check_execute(check_id=Check.objects.get(case=case).pk)
    services.decision_record(
        case=case, actor=operator, verdict=Verdict.RESUBMIT, reason="too dark", resubmission_reasons=["blurry"]
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.RESUBMISSION_REQUESTED
    return case


def test_new_evidence_starts_a_new_round_that_is_decided_again(scripted, operator):
    case = sent_back(scripted, operator)
    services.case_resubmit(case=case, images=[IncomingImage("selfie", image_bytes(300, 300))], actor_label="partner")
    assert (case.status, case.round, case.final_verdict, case.auto_verdict) == (CaseStatus.PROCESSING, 2, "", "")
    assert Evidence.objects.filter(case=case, round=2).count() == 1
    assert Evidence.objects.filter(case=case, round=1).count() == 1  # the first round's evidence stays
    new_check = Check.objects.get(case=case, round=2)
    assert new_check.status == CheckStatus.QUEUED
    scripted.script.append(ProviderResult(score=0.95))
    services.check_execute(check_id=new_check.pk)
    case.refresh_from_db()
    assert (case.status, case.auto_verdict, case.final_verdict) == (CaseStatus.DECIDED, Verdict.LIVE, Verdict.LIVE)
    assert scripted.requests[-1].images[0].width == 300  # the provider saw the new image, not the old one
    assert AuditEvent.objects.filter(case=case, action="case.resubmitted").count() == 1


def test_a_case_not_sent_back_refuses_new_evidence(scripted):
    case = services.case_create(kind="selfie", images=[IncomingImage("selfie", image_bytes())]).case
    with pytest.raises(CaseInputError) as info:
        services.case_resubmit(case=case, images=[IncomingImage("selfie", image_bytes())])
    assert info.value.code == "invalid_state"
    assert Evidence.objects.filter(case=case).count() == 1


def test_bad_images_leave_the_case_waiting_and_write_nothing(scripted, operator):
    case = sent_back(scripted, operator)
    with pytest.raises(ImageRejected):
        services.case_resubmit(case=case, images=[IncomingImage("selfie", b"not an image")])
    with pytest.raises(CaseInputError):
        services.case_resubmit(case=case, images=[IncomingImage("id_front", image_bytes())])
    case.refresh_from_db()
    assert (case.status, case.round) == (CaseStatus.RESUBMISSION_REQUESTED, 1)
    assert Evidence.objects.filter(case=case).count() == 1


def test_an_active_resubmission_answers_the_same_parameters(scripted, operator):
    case = sent_back(scripted, operator, kind="active")
    wrong = [IncomingImage("frame", image_bytes(), i, p) for i, p in enumerate(["up", "down"])]
    with pytest.raises(CaseInputError) as info:
        services.case_resubmit(case=case, images=wrong)
    assert info.value.field == "face_parameters"
    right = [IncomingImage("frame", image_bytes(), i) for i in range(2)]
    services.case_resubmit(case=case, images=right)
    assert list(Evidence.objects.filter(case=case, round=2).values_list("face_parameter", flat=True)) == [
        "left",
        "right",
    ]
