"""Face templates, the repeat-face search and the blocklist (issue 12)."""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta
from unittest import mock

import numpy as np
import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.utils import timezone

from liveness import services
from liveness.models import (
    AuditEvent,
    BlocklistEntry,
    Case,
    CaseStatus,
    Evidence,
    FaceSearchState,
    FaceTemplate,
    Verdict,
    WebhookDelivery,
)
from liveness.services import faces
from liveness.services.retention import evidence_purge_expired
from tests import face_support
from tests.api_helpers import make_partner
from tests.face_support import decided, face_step, near, new_case, settle_checks, vector
from tests.helpers import image_bytes
from tests.helpers import testdata_bytes as read_testdata

pytestmark = pytest.mark.django_db

BIDEN_1 = "genuine/face_recognition__examples_biden.jpg"
BIDEN_2 = "genuine/face_recognition__examples_knn_examples_train_biden_biden2.jpg"
OBAMA = "genuine/face_recognition__examples_obama-480p.jpg"


face_search_on = face_support.face_search_on
fake_faces = face_support.fake_faces


# --- templates ---


def test_the_step_is_scheduled_with_the_checks_and_the_verdict_waits_for_it(scripted, fake_faces, face_search_on):
    case = new_case()
    assert case.face_search_state == FaceSearchState.PENDING
    face_search_on.assert_not_called()  # only after commit
    settle_checks(scripted, case)
    case.refresh_from_db()
    assert case.status == CaseStatus.PROCESSING  # the last check settled, but the face step has not run
    assert case.auto_verdict == ""
    fake_faces.append(vector(1))
    assert face_step(case) == "done"
    case.refresh_from_db()
    assert (case.status, case.final_verdict, case.face_search_state) == (
        CaseStatus.DECIDED, Verdict.LIVE, FaceSearchState.DONE,
    )  # fmt: skip


def test_the_task_is_enqueued_after_commit(scripted, face_search_on, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = new_case()
    face_search_on.assert_called_once_with(args=(case.pk, 1), countdown=0)


def test_templates_are_written_encrypted(scripted, fake_faces):
    face = vector(7)
    case = decided(scripted, fake_faces, face)
    template = FaceTemplate.objects.get(case=case)
    stored = bytes(template.ciphertext)
    assert template.role == "selfie"
    assert template.evidence == Evidence.objects.get(case=case)
    raw = face.astype(np.float32).tobytes()
    assert raw not in stored
    assert base64.b64encode(raw) not in stored
    assert np.allclose(faces.template_decrypt(stored), face.astype(np.float32))
    # Fernet under the evidence keys: undecryptable once the keys are gone.
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(stored)


def test_a_case_without_a_face_is_decided_with_no_template(scripted, fake_faces):
    case = decided(scripted, fake_faces, None)
    assert not FaceTemplate.objects.filter(case=case).exists()
    assert (case.status, case.final_verdict, case.findings) == (CaseStatus.DECIDED, Verdict.LIVE, [])


def test_templates_are_purged_with_the_images_except_while_blocklisted(scripted, fake_faces, supervisor_user):
    kept = decided(scripted, fake_faces, vector(1))
    gone = decided(scripted, fake_faces, vector(2))
    entry = faces.blocklist_add(case=kept, actor=supervisor_user, reason="fraud ring")
    Evidence.objects.update(purge_after=timezone.now() - timedelta(days=1))
    assert evidence_purge_expired() == 2
    assert faces.face_templates_purge_expired() == 1
    purged = FaceTemplate.objects.get(case=gone)
    assert purged.purged_at is not None
    assert bytes(purged.ciphertext) == b""
    assert FaceTemplate.objects.get(case=kept).purged_at is None  # legal basis: fraud prevention
    assert AuditEvent.objects.filter(action="face_template.purged", case=gone).exists()
    faces.blocklist_remove(entry=entry, actor=supervisor_user, reason="cleared by investigation")
    assert faces.face_templates_purge_expired() == 1
    assert FaceTemplate.objects.get(case=kept).purged_at is not None


def test_rotate_evidence_key_re_encrypts_templates(scripted, fake_faces, settings):
    face = vector(3)
    case = decided(scripted, fake_faces, face)
    old = bytes(FaceTemplate.objects.get(case=case).ciphertext)
    new_key = Fernet.generate_key().decode()
    settings.EVIDENCE_ENCRYPTION_KEYS = [new_key, *settings.EVIDENCE_ENCRYPTION_KEYS]
    assert faces.face_templates_rotate_keys() == (1, 0)
    token = bytes(FaceTemplate.objects.get(case=case).ciphertext)
    assert token != old
    assert np.allclose(np.frombuffer(Fernet(new_key.encode()).decrypt(token), dtype=np.float32), face)
    assert faces.face_templates_rotate_keys() == (0, 1)


# --- the repeat search ---


def test_a_repeat_under_another_external_ref_goes_to_review(scripted, fake_faces):
    first = decided(scripted, fake_faces, vector(1), external_ref="applicant-1")
    second = decided(scripted, fake_faces, near(vector(1)), external_ref="applicant-2")
    assert first.final_verdict == Verdict.LIVE
    assert (second.status, second.auto_verdict) == (CaseStatus.NEEDS_REVIEW, Verdict.NEEDS_REVIEW)
    assert second.reason_codes[0] == "repeat_face"
    (finding,) = second.findings
    assert finding["code"] == "repeat_face"
    assert finding["counts"] is True
    (match,) = finding["matches"]
    assert match["case"] == str(first.public_id)
    assert (match["external_ref"], match["status"], match["verdict"]) == ("applicant-1", "decided", "live")
    assert match["distance"] == pytest.approx(0.2, abs=1e-3)
    assert not match["same_external_ref"]


def test_a_repeat_under_the_same_external_ref_is_recorded_but_not_a_reason(scripted, fake_faces):
    first = decided(scripted, fake_faces, vector(1), external_ref="applicant-1")
    again = decided(scripted, fake_faces, near(vector(1)), external_ref="applicant-1")
    assert (again.status, again.final_verdict) == (CaseStatus.DECIDED, Verdict.LIVE)
    assert "repeat_face" not in again.reason_codes
    (finding,) = again.findings
    assert finding["counts"] is False
    assert finding["matches"][0]["case"] == str(first.public_id)
    assert finding["matches"][0]["same_external_ref"] is True


def test_two_different_faces_are_no_repeat(scripted, fake_faces):
    decided(scripted, fake_faces, vector(1), external_ref="a")
    other = decided(scripted, fake_faces, vector(2), external_ref="b")
    assert (other.final_verdict, other.findings) == (Verdict.LIVE, [])


def test_real_faces_repeat_for_one_person_and_not_for_two(scripted):
    """The engine's descriptors on shared/testdata: two photos of one man match, another man does not."""
    pytest.importorskip("dlib")
    first = new_case(external_ref="p-1", data=read_testdata(BIDEN_1))
    settle_checks(scripted, first)
    face_step(first)
    same = new_case(external_ref="p-2", data=read_testdata(BIDEN_2))
    settle_checks(scripted, same)
    face_step(same)
    other = new_case(external_ref="p-3", data=read_testdata(OBAMA))
    settle_checks(scripted, other)
    face_step(other)
    for case in (first, same, other):
        case.refresh_from_db()
        assert case.face_search_state == FaceSearchState.DONE
    assert FaceTemplate.objects.count() == 3
    assert [m["case"] for m in same.findings[0]["matches"]] == [str(first.public_id)]
    assert same.findings[0]["matches"][0]["distance"] < 0.6
    assert same.status == CaseStatus.NEEDS_REVIEW
    assert other.findings == []
    assert other.final_verdict == Verdict.LIVE


def test_the_search_stays_within_the_partner_by_default(scripted, fake_faces, settings):
    acme, globex = make_partner(slug="acme"), make_partner(slug="globex")
    decided(scripted, fake_faces, vector(1), partner=acme, external_ref="x")
    elsewhere = decided(scripted, fake_faces, near(vector(1)), partner=globex, external_ref="y")
    assert (elsewhere.final_verdict, elsewhere.findings) == (Verdict.LIVE, [])
    settings.FACE_SEARCH_ACROSS_PARTNERS = True
    across = decided(scripted, fake_faces, near(vector(1), seed=5), partner=globex, external_ref="z")
    assert across.status == CaseStatus.NEEDS_REVIEW
    assert {m["partner"] for m in across.findings[0]["matches"]} == {"Acme", "Globex"}


def test_the_index_picks_up_templates_written_by_another_worker(scripted, fake_faces):
    first = decided(scripted, fake_faces, vector(1), external_ref="a")
    faces.face_index()  # this process's index is loaded ...
    second = decided(scripted, fake_faces, near(vector(1)), external_ref="b")  # ... and synced, not reloaded
    assert second.findings[0]["matches"][0]["case"] == str(first.public_id)
    FaceTemplate.objects.filter(case=first).update(purged_at=timezone.now(), ciphertext=b"")
    third = decided(scripted, fake_faces, near(vector(1), seed=4), external_ref="c")
    assert [m["case"] for m in third.findings[0]["matches"]] == [str(second.public_id)]
    assert FaceTemplate.objects.get(case=first).pk not in faces.face_index()


# --- the blocklist ---


@pytest.fixture
def supervisor_user(role_user):
    return role_user("supervisor", "sam")


def test_blocklist_add_and_remove_are_audited_and_need_a_reason(scripted, fake_faces, supervisor_user, role_user):
    case = decided(scripted, fake_faces, vector(1))
    operator = role_user("operator", "olivia")
    with pytest.raises(faces.FaceListError) as denied:
        faces.blocklist_add(case=case, actor=operator, reason="x")
    assert denied.value.code == "permission_denied"
    with pytest.raises(faces.FaceListError) as blank:
        faces.blocklist_add(case=case, actor=supervisor_user, reason="  ")
    assert blank.value.code == "reason_required"
    entry = faces.blocklist_add(case=case, actor=supervisor_user, reason="known fraudster")
    with pytest.raises(faces.FaceListError) as twice:
        faces.blocklist_add(case=case, actor=supervisor_user, reason="again")
    assert twice.value.code == "already_listed"
    added = AuditEvent.objects.get(action="blocklist.added", case=case)
    assert (added.actor, added.data) == (supervisor_user, {"entry": entry.pk, "reason": "known fraudster"})
    with pytest.raises(faces.FaceListError):
        faces.blocklist_remove(entry=entry, actor=supervisor_user, reason="")
    faces.blocklist_remove(entry=entry, actor=supervisor_user, reason="mistaken identity")
    entry.refresh_from_db()
    assert (entry.removed_by, entry.removed_reason, entry.is_active) == (supervisor_user, "mistaken identity", False)
    assert AuditEvent.objects.filter(action="blocklist.removed", case=case, actor=supervisor_user).exists()
    with pytest.raises(faces.FaceListError) as again:
        faces.blocklist_remove(entry=entry, actor=supervisor_user, reason="again")
    assert again.value.code == "already_removed"


def test_a_case_without_a_template_cannot_be_blocklisted(scripted, fake_faces, supervisor_user):
    case = decided(scripted, fake_faces, None)
    with pytest.raises(faces.FaceListError) as error:
        faces.blocklist_add(case=case, actor=supervisor_user, reason="fraud")
    assert error.value.code == "no_template"
    assert not BlocklistEntry.objects.exists()


def test_a_blocklisted_face_goes_to_review_linking_the_entry(scripted, fake_faces, supervisor_user):
    listed = decided(scripted, fake_faces, vector(1), external_ref="a")
    entry = faces.blocklist_add(case=listed, actor=supervisor_user, reason="fraud ring")
    # Same external_ref: the repeat alone would not count, the blocklist does.
    case = decided(scripted, fake_faces, near(vector(1)), external_ref="a")
    assert case.status == CaseStatus.NEEDS_REVIEW
    assert "blocklisted_face" in case.reason_codes
    blocked = next(f for f in case.findings if f["code"] == "blocklisted_face")
    assert [(e["entry"], e["reason"]) for e in blocked["entries"]] == [(entry.pk, "fraud ring")]


def test_the_setting_refuses_a_blocklisted_face_automatically(scripted, fake_faces, supervisor_user, settings):
    settings.FINDING_VERDICTS = {**settings.FINDING_VERDICTS, "blocklisted_face": "spoof"}
    listed = decided(scripted, fake_faces, vector(1), external_ref="a")
    faces.blocklist_add(case=listed, actor=supervisor_user, reason="fraud ring")
    case = decided(scripted, fake_faces, near(vector(1)), external_ref="b")
    assert (case.status, case.final_verdict) == (CaseStatus.DECIDED, Verdict.SPOOF)
    assert case.reason_codes[:2] == ["repeat_face", "blocklisted_face"]


def test_a_removed_entry_no_longer_blocks(scripted, fake_faces, supervisor_user):
    listed = decided(scripted, fake_faces, vector(1), external_ref="a")
    entry = faces.blocklist_add(case=listed, actor=supervisor_user, reason="fraud ring")
    faces.blocklist_remove(entry=entry, actor=supervisor_user, reason="cleared")
    case = decided(scripted, fake_faces, near(vector(1)), external_ref="a")
    assert (case.final_verdict, [f["code"] for f in case.findings]) == (Verdict.LIVE, ["repeat_face"])


# --- evaluation: once, and never held ---


def test_whichever_finishes_last_decides_once_with_one_webhook(scripted, fake_faces):
    partner = make_partner(slug="acme", webhook_url="https://partner.example/hook")
    face_first = new_case(partner=partner)
    fake_faces.append(vector(1))
    face_step(face_first)
    face_first.refresh_from_db()
    assert face_first.status == CaseStatus.RECEIVED  # the checks have not run
    settle_checks(scripted, face_first)
    checks_first = new_case(partner=partner)
    settle_checks(scripted, checks_first)
    fake_faces.append(vector(2))
    face_step(checks_first)
    for case in (face_first, checks_first):
        case.refresh_from_db()
        assert (case.status, case.final_verdict) == (CaseStatus.DECIDED, Verdict.LIVE)
        assert WebhookDelivery.objects.filter(case=case, event="case.decided").count() == 1
        assert AuditEvent.objects.filter(case=case, action="case.auto_decided").count() == 1
    # A re-delivered face task finds nothing to claim and decides nothing again.
    assert face_step(checks_first) == "not_claimed"
    assert WebhookDelivery.objects.filter(case=checks_first).count() == 1


def test_a_failing_face_step_does_not_hold_the_case(scripted):
    case = new_case()
    settle_checks(scripted, case)
    with mock.patch("liveness.services.faces._analyze", side_effect=RuntimeError("model crashed")):
        assert face_step(case) == "failed"
    case.refresh_from_db()
    assert (case.status, case.final_verdict, case.face_search_state) == (
        CaseStatus.DECIDED, Verdict.LIVE, FaceSearchState.FAILED,
    )  # fmt: skip
    assert "face_search_failed" in case.reason_codes
    assert any("decided without it" in reason for reason in case.auto_reasons)


def test_a_lost_or_dead_face_step_is_retried_then_given_up(scripted, settings, face_search_on):
    case = new_case()
    settle_checks(scripted, case)
    # The message was lost: the sweeper sends it again.
    Case.objects.filter(pk=case.pk).update(face_search_queued_at=timezone.now() - timedelta(hours=1))
    face_search_on.reset_mock()
    with mock.patch("django.db.transaction.on_commit", side_effect=lambda f, robust=False: f()):
        assert faces.face_search_requeue_stale() == 1
    face_search_on.assert_called_once_with(args=(case.pk, 1), countdown=0)
    # Every attempt's worker died (the lease ran out): the step is given up and the case decided.
    for _ in range(settings.FACE_SEARCH_MAX_ATTEMPTS):
        assert faces.face_search_claim(case_id=case.pk, round_=1) is not None
        Case.objects.filter(pk=case.pk).update(face_search_lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert faces.face_search_requeue_stale() == 0
    case.refresh_from_db()
    assert (case.status, case.face_search_state) == (CaseStatus.DECIDED, FaceSearchState.FAILED)
    assert "face_search_failed" in case.reason_codes


def test_a_resubmission_runs_the_face_step_again(scripted, fake_faces, supervisor_user):
    first = decided(scripted, fake_faces, vector(1), external_ref="a")
    case = decided(scripted, fake_faces, near(vector(1)), external_ref="b")
    services.decision_record(
        case=case, actor=supervisor_user, verdict="resubmit", reason="new photo please", resubmission_reasons=["other"]
    )
    case = services.case_resubmit(case=case, images=[services.IncomingImage("selfie", image_bytes(200, 200))])
    assert (case.round, case.face_search_state, case.findings) == (2, FaceSearchState.PENDING, [])
    settle_checks(scripted, case)
    fake_faces.append(vector(9))
    face_step(case)
    case.refresh_from_db()
    assert (case.final_verdict, case.findings) == (Verdict.LIVE, [])  # round 1 of itself is no repeat
    assert first.pk != case.pk


# --- never over the partner API ---


def test_the_partner_api_and_webhooks_never_carry_templates(scripted, fake_faces, supervisor_user):
    from tests.api_helpers import client_for, partner_key

    partner = make_partner(slug="acme", webhook_url="https://partner.example/hook")
    decided(scripted, fake_faces, vector(1), partner=partner, external_ref="first-applicant-ref")
    case = decided(scripted, fake_faces, near(vector(1)), partner=partner, external_ref="b")
    assert case.findings  # there is something that could leak
    services.decision_record(case=case, actor=supervisor_user, verdict="live", reason="twins, checked by phone")
    client = client_for(partner_key(partner))
    detail = client.get(f"/api/v1/cases/{case.public_id}/")
    listing = client.get("/api/v1/cases/")
    assert detail.status_code == listing.status_code == 200
    (hook,) = WebhookDelivery.objects.filter(case=case)
    about_case = [detail.content.decode(), json.dumps(hook.payload)]
    tokens = [bytes(t.ciphertext).decode() for t in FaceTemplate.objects.all()]
    for body in [*about_case, listing.content.decode()]:
        for word in ("matches", "template", "ciphertext", "descriptor", "face_search", "similarity", "distance"):
            assert word not in body
        for token in tokens:
            assert token not in body
    for body in about_case:  # nothing about the other applicant either
        assert "first-applicant-ref" not in body
    assert "repeat_face" in detail.json()["reason_codes"]  # the code itself is the partner's to know


def test_face_templates_never_reach_the_logs(scripted, fake_faces, caplog):
    caplog.set_level(logging.DEBUG)
    face = vector(1)
    decided(scripted, fake_faces, face, external_ref="a")
    decided(scripted, fake_faces, near(face), external_ref="b")
    failing = new_case()
    with mock.patch("liveness.services.faces._analyze", side_effect=RuntimeError("model crashed")):
        face_step(failing)  # logs the traceback
    assert "face step of case" in caplog.text
    raw = face.astype(np.float32).tobytes()
    pieces = [base64.b64encode(raw).decode()[:24], repr(raw[16:32])[2:-1], f"{face[0]:.6f}", f"{face[1]:.6f}"]
    pieces += [bytes(t.ciphertext).decode()[20:50] for t in FaceTemplate.objects.all()]
    for piece in pieces:
        assert piece not in caplog.text


def test_the_task_runs_the_step_and_a_time_limit_fails_it_at_once(scripted, fake_faces):
    from celery.exceptions import SoftTimeLimitExceeded

    from liveness.tasks import build_face_templates

    case = new_case()
    settle_checks(scripted, case)
    fake_faces.append(vector(1))
    assert build_face_templates(case.pk, 1) == "done"
    slow = new_case()
    settle_checks(scripted, slow)
    with mock.patch("liveness.services.faces._analyze", side_effect=SoftTimeLimitExceeded()):
        assert build_face_templates(slow.pk, 1) == "time_limit"
    slow.refresh_from_db()
    assert (slow.status, slow.face_search_state, slow.face_search_error) == (
        CaseStatus.DECIDED, FaceSearchState.FAILED, "time limit exceeded",
    )  # fmt: skip
