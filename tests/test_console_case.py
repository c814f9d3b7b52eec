"""The case page: images behind an audited view, face boxes, score bars, frames, timeline, actions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from liveness import storage
from liveness.models import AuditEvent, Case, CaseStatus, Check, CheckStatus, Evidence, Verdict
from liveness.providers import PermanentProviderError
from liveness.services import IncomingImage, case_create
from tests.console_support import PASSWORD, frame_images, pipeline_case, scripted_result, selfie_details
from tests.helpers import image_bytes

pytestmark = pytest.mark.django_db


def _page(client: Client, case: Case) -> str:
    response = client.get(reverse("case_detail", args=[case.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_images_are_served_only_through_the_authenticated_view(operator_client: Client, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.9)])
    evidence = case.evidence.get()
    html = _page(operator_client, case)
    assert f'src="{reverse("evidence_image", args=[case.public_id, evidence.pk])}"' in html
    assert "/media/" not in html


def test_viewing_an_image_decrypts_it_and_writes_an_audit_event(operator_client: Client, olga, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.9)])
    evidence = case.evidence.get()
    response = operator_client.get(reverse("evidence_image", args=[case.public_id, evidence.pk]))
    assert response.status_code == 200
    assert response.content == storage.get(evidence.storage_key)
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "no-store, private"
    assert response["X-Content-Type-Options"] == "nosniff"
    event = AuditEvent.objects.get(action="evidence.viewed")
    assert (event.case_id, event.actor, event.data["evidence"]) == (case.pk, olga, evidence.pk)


def test_an_image_of_another_case_is_not_found(operator_client: Client, scripted) -> None:
    first = pipeline_case(scripted, results=[scripted_result(0.9)])
    second = pipeline_case(scripted, results=[scripted_result(0.9)])
    foreign = second.evidence.get()
    response = operator_client.get(reverse("evidence_image", args=[first.public_id, foreign.pk]))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="evidence.viewed").exists()


def test_a_user_without_view_evidence_sees_the_case_but_not_its_images(client: Client, scripted) -> None:
    viewer = User.objects.create_user("viewer", password=PASSWORD)
    viewer.user_permissions.add(Permission.objects.get(codename="view_case"))
    case = pipeline_case(scripted, results=[scripted_result(0.9)])
    client.force_login(viewer)
    html = _page(client, case)
    assert "Your role may not view this case's images." in html
    assert client.get(reverse("evidence_image", args=[case.public_id, case.evidence.get().pk])).status_code == 403


def test_a_purged_image_answers_gone(operator_client: Client, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.9)])
    evidence = case.evidence.get()
    Evidence.objects.filter(pk=evidence.pk).update(purged_at=timezone.now())
    assert operator_client.get(reverse("evidence_image", args=[case.public_id, evidence.pk])).status_code == 410
    assert "Deleted after the retention period" in _page(operator_client, case)


def test_face_boxes_are_drawn_where_the_provider_found_them(operator_client: Client, scripted) -> None:
    # 320x240 image, box left 100 top 60 right 200 bottom 180 (pixels).
    case = pipeline_case(scripted, results=[scripted_result(0.9)])
    html = _page(operator_client, case)
    assert "left: 31.25%; top: 25.0%; width: 31.25%; height: 50.0%" in html
    assert 'title="face found by scripted 1.25"' in html


def test_each_check_shows_score_against_threshold_with_the_margin_shaded(operator_client: Client, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.1)])  # scripted: threshold 0.5, margin 0.1
    html = _page(operator_client, case)
    assert 'class="band" style="left: 40.0%; width: 20.0%"' in html
    assert 'class="fill" style="width: 10.0%"' in html
    assert 'class="threshold" style="left: 50.0%"' in html
    assert "0.50 ± 0.10" in html
    assert "Fail (clear)" in html
    assert "scripted p=0.1" in html  # the vendor's own label
    assert "42 ms" in html
    assert "1 of 5" in html
    # The raw response is there, folded away, and secrets were removed before it was stored.
    assert "<summary>Raw response (secrets removed)</summary>" in html
    assert "[redacted]" in html


def test_heuristic_scores_are_labelled_as_such(operator_client: Client, scripted) -> None:
    plain = pipeline_case(scripted, results=[scripted_result(0.9)])
    heuristic = pipeline_case(scripted, results=[scripted_result(0.9, details={**selfie_details(), "heuristic": True})])
    assert "heuristic score</span>" not in _page(operator_client, plain)
    assert "heuristic score</span>" in _page(operator_client, heuristic)


def test_a_failed_check_shows_its_error(operator_client: Client, scripted) -> None:
    case = pipeline_case(scripted, results=[PermanentProviderError("bad request body", code="invalid_image")])
    html = _page(operator_client, case)
    assert "invalid_image: bad request body" in html
    assert "Provider error" in html


def test_an_active_case_shows_each_frame_beside_its_parameter_and_what_was_seen(
    operator_client: Client, scripted
) -> None:
    frames = frame_images("left", "eyes closed")
    details = {
        "images": [
            {
                "role": "frame",
                "index": 0,
                "face_parameter": "left",
                "image": {"width": 100, "height": 100},
                "faces": [{"box": {"left": 10, "top": 10, "right": 50, "bottom": 60}}],
                "pose": {"yaw": 24.5, "pitch": -3.0, "roll": 1.2},
                "parameter_check": {"parameter": "left", "matched": True, "value": {"yaw": 24.5}, "bound": "yaw >= 15"},
            },
            {
                "role": "frame",
                "index": 1,
                "face_parameter": "eyes closed",
                "eyes": {"state": "open", "image_left": {"ratio": 0.31, "state": "open"}, "measure": "EAR"},
                "mouth": {"state": "closed", "ratio": 0.04, "measure": "MAR"},
                "parameter_check": {"parameter": "eyes closed", "matched": False, "bound": "EAR <= 0.14"},
            },
        ]
    }
    case = pipeline_case(scripted, kind="active", images=frames, results=[scripted_result(0.5, details=details)])
    html = _page(operator_client, case)
    assert '<strong class="parameter">left</strong>' in html
    assert '<strong class="parameter">eyes closed</strong>' in html
    assert "yaw +24.5°, pitch -3.0°, roll +1.2°" in html
    assert "open (image left open EAR 0.31)" in html
    assert "closed (MAR 0.04)" in html
    assert html.count('class="badge oc-pass">matches</span>') == 1
    assert html.count('class="badge oc-fail">does not match</span>') == 1
    # Pixels of the size the provider measured in are placed as percent of the frame.
    assert "left: 10.0%; top: 10.0%; width: 40.0%; height: 50.0%" in html


def test_the_timeline_lists_the_audit_trail(operator_client: Client, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.1)])
    html = _page(operator_client, case)
    for action in ("case.created", "check.succeeded", "case.auto_decided"):
        assert f'<span class="action">{action}</span>' in html


# --- decisions -----------------------------------------------------------------------------------


def _decide(client: Client, case: Case, verdict: str, reason: str = "", version: int | None = None, codes: tuple = ()):
    """Post the decision form as the case page draws it: with the case's current version hidden in it."""
    version = Case.objects.get(pk=case.pk).version if version is None else version
    return client.post(
        reverse("case_decide", args=[case.public_id]),
        {"verdict": verdict, "reason": reason, "expected_version": version, "resubmission_reasons": list(codes)},
    )


def test_an_operator_decides_a_case_waiting_for_review(operator_client: Client, olga, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.45)])  # borderline -> needs review
    assert case.status == CaseStatus.NEEDS_REVIEW
    response = _decide(operator_client, case, Verdict.LIVE)
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.final_verdict, case.decided_by) == (CaseStatus.DECIDED, Verdict.LIVE, olga)
    assert "Decision recorded: live." in operator_client.get(response["Location"]).content.decode()


def test_overriding_the_automatic_verdict_needs_a_reason(operator_client: Client, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.9)])  # auto live
    response = _decide(operator_client, case, Verdict.SPOOF)
    assert response.status_code == 400
    assert "a reason is required to change the current verdict (live, decided by the policy)" in (
        response.content.decode()
    )
    case.refresh_from_db()
    assert (case.status, case.final_verdict) == (CaseStatus.DECIDED, Verdict.LIVE)


def test_overriding_spoof_to_live_waits_for_four_eyes(operator_client: Client, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.1)])  # auto spoof
    response = _decide(operator_client, case, Verdict.LIVE, "same person as on file, good light")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING_APPROVAL
    assert case.final_verdict == Verdict.SPOOF
    html = operator_client.get(response["Location"]).content.decode()
    assert "waits for another supervisor&#x27;s approval" in html
    assert "Override awaiting approval" in html
    assert "Another supervisor must approve or refuse your override." in html
    assert 'id="approve-button"' not in html  # an operator gets no approve button


def test_resubmissions_are_bounded_per_case(operator_client: Client, scripted, settings) -> None:
    settings.MAX_RESUBMISSIONS = 2
    case = pipeline_case(scripted, results=[scripted_result(0.45)])
    Case.objects.filter(pk=case.pk).update(resubmission_count=2)
    response = _decide(operator_client, case, Verdict.RESUBMIT, "blurred", codes=("blurry",))
    assert response.status_code == 400
    assert "already had 2 resubmissions (the limit)" in response.content.decode()


def test_requesting_a_resubmission_needs_a_reason_and_then_applies(operator_client: Client, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.45)])
    assert _decide(operator_client, case, Verdict.RESUBMIT, codes=("face_not_visible",)).status_code == 400
    refused = _decide(operator_client, case, Verdict.RESUBMIT, "face cut off")
    assert refused.status_code == 400
    assert "say why a resubmission is needed: one or more of blurry" in refused.content.decode()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.NEEDS_REVIEW
    ok = _decide(operator_client, case, Verdict.RESUBMIT, "face cut off", codes=("face_not_visible", "other"))
    assert ok.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.resubmission_count) == (CaseStatus.RESUBMISSION_REQUESTED, 1)
    assert case.decisions.get().resubmission_reasons == ["face_not_visible", "other"]


def test_a_decision_clears_the_deciders_claim(operator_client: Client, olga, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.45)])
    operator_client.post(reverse("case_claim", args=[case.public_id]))
    assert Case.objects.get(pk=case.pk).claimed_by == olga
    _decide(operator_client, case, Verdict.SPOOF)
    assert Case.objects.get(pk=case.pk).claimed_by is None


def test_a_user_who_may_only_look_cannot_decide(client: Client, scripted) -> None:
    viewer = User.objects.create_user("viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_case"))
    client.force_login(viewer)
    case = pipeline_case(scripted, results=[scripted_result(0.45)])
    assert 'id="decide-button"' not in _page(client, case)
    assert _decide(client, case, Verdict.LIVE).status_code == 403
    assert Case.objects.get(pk=case.pk).status == CaseStatus.NEEDS_REVIEW


def test_closing_a_case_needs_a_reason(operator_client: Client, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.45)])
    url = reverse("case_close", args=[case.public_id])
    refused = operator_client.post(url, {"reason": ""})
    assert refused.status_code == 400
    assert "a reason is required to close a case" in refused.content.decode()
    assert operator_client.post(url, {"reason": "duplicate of another case"}).status_code == 302
    assert Case.objects.get(pk=case.pk).status == CaseStatus.CLOSED


# --- the live panel -------------------------------------------------------------------------------


def test_the_panel_polls_while_checks_run_and_stops_when_they_settle(operator_client: Client, scripted) -> None:
    created = case_create(kind="selfie", images=[IncomingImage(role="selfie", data=image_bytes())])
    case = created.case
    url = reverse("case_live", args=[case.public_id])
    running = operator_client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in running
    assert "0 of 1 check finished" in running
    page = _page(operator_client, case)
    assert f'hx-get="{url}?shown=received"' in page

    from liveness.services import check_execute

    scripted.script.append(scripted_result(0.9))
    check_execute(check_id=case.checks.get().pk)
    settled = operator_client.get(url).content.decode()
    assert "hx-trigger" not in settled
    assert "Decided" in settled


def test_the_panel_asks_for_a_full_reload_once_the_status_moves_on(operator_client: Client, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.9)])
    url = reverse("case_live", args=[case.public_id])
    moved = operator_client.get(url, {"shown": "processing"}, HTTP_HX_REQUEST="true")
    assert moved.status_code == 204
    assert moved["HX-Refresh"] == "true"
    same = operator_client.get(url, {"shown": case.status}, HTTP_HX_REQUEST="true")
    assert same.status_code == 200
    assert "HX-Refresh" not in same


def test_a_running_check_shows_the_current_threshold_setting(operator_client: Client, scripted) -> None:
    created = case_create(kind="selfie", images=[IncomingImage(role="selfie", data=image_bytes())])
    Check.objects.filter(case=created.case).update(status=CheckStatus.RUNNING, attempts=1)
    html = operator_client.get(reverse("case_live", args=[created.case.public_id])).content.decode()
    assert '0.50 ± 0.10 <span class="muted">(current setting)</span>' in html
    assert "Running" in html


def test_an_unknown_case_is_not_found(operator_client: Client) -> None:
    import uuid

    assert operator_client.get(reverse("case_detail", args=[uuid.uuid4()])).status_code == 404


def test_the_case_page_query_count_does_not_grow_with_frames_or_events(operator_client: Client, scripted) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for frames in (1, 8):
        images = [
            IncomingImage(role="frame", data=image_bytes(color=(9 * i, 40, 50)), index=i, face_parameter="front")
            for i in range(frames)
        ]
        case = pipeline_case(scripted, kind="active", images=images, results=[scripted_result(0.5)])
        with CaptureQueriesContext(connection) as ctx:
            _page(operator_client, case)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
