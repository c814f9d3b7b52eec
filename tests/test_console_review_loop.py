"""The review loop on the server side (issue 11): face crops, decide-and-open-next, the reason rule in words,
face mismatch named as such, the grouped timeline, stacked box labels, approvals with evidence and scores."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from liveness.console import presenters
from liveness.console.views.cases import reason_rule
from liveness.models import AuditEvent, Case, CaseStatus, Evidence, Verdict
from liveness.services import claims, decision_record
from liveness.services.decisions import OPERATOR_VERDICTS, DecisionError, reason_required, standing_verdict
from tests.console_support import PASSWORD, frame_images, pipeline_case, scripted_result
from tests.review_support import id_document_case, waiting_cases

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga(role_user) -> User:
    return role_user("operator", "olga")


@pytest.fixture
def operator_client(client: Client, olga: User) -> Client:
    client.force_login(olga)
    return client


def _page(client: Client, case: Case) -> str:
    response = client.get(reverse("case_detail", args=[case.public_id]))
    assert response.status_code == 200
    return response.content.decode()


# --- faces side by side ---------------------------------------------------------------------------------


def test_an_id_case_shows_the_selfie_beside_the_portrait_with_the_match_in_words(operator_client, scripted) -> None:
    case = id_document_case(scripted, similarity=0.82)
    html = _page(operator_client, case)
    selfie, portrait = case.evidence.get(role="selfie"), case.evidence.get(role="id_front")
    assert reverse("evidence_face", args=[case.public_id, selfie.pk]) in html
    assert reverse("evidence_face", args=[case.public_id, portrait.pk]) in html
    assert "same person: 0.82, threshold 0.50" in html


def test_the_face_crop_is_the_providers_box_and_the_look_is_audited(operator_client, olga, scripted) -> None:
    case = id_document_case(scripted, similarity=0.31)
    selfie = case.evidence.get(role="selfie")
    response = operator_client.get(reverse("evidence_face", args=[case.public_id, selfie.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "no-store, private"
    with Image.open(io.BytesIO(response.content)) as crop:
        # Box 120 x 150 px with 35 % margin each side: 204 x 255, clipped to the 320 x 240 image (top 0, bottom
        # 240), then thumbnailed to at most 240 px.
        assert crop.size[1] <= 240
        assert crop.size[0] < crop.size[1]  # a face's portrait crop, not the landscape image
    event = AuditEvent.objects.get(action="evidence.viewed")
    assert (event.actor, event.data["evidence"], event.data["crop"]) == (olga, selfie.pk, "face")


def test_a_face_crop_needs_the_evidence_permission_and_the_right_case(client: Client, olga, scripted) -> None:
    case = id_document_case(scripted)
    other = id_document_case(scripted)
    viewer = User.objects.create_user("viewer", password=PASSWORD)
    viewer.user_permissions.add(Permission.objects.get(codename="view_case"))
    client.force_login(viewer)
    selfie = case.evidence.get(role="selfie")
    assert client.get(reverse("evidence_face", args=[case.public_id, selfie.pk])).status_code == 403
    client.force_login(olga)
    assert client.get(reverse("evidence_face", args=[other.public_id, selfie.pk])).status_code == 404
    Evidence.objects.filter(pk=selfie.pk).update(purged_at=timezone.now())
    assert client.get(reverse("evidence_face", args=[case.public_id, selfie.pk])).status_code == 410
    assert not AuditEvent.objects.filter(action="evidence.viewed").exists()


def test_an_active_case_shows_the_first_frame_beside_each_other_frame(scripted) -> None:
    details = {
        "engine": "scripted",
        "images": [],
        "identity": {
            "frames": ["frame 0", "frame 1", "frame 2"],
            "consistent": False,
            "worst_pair": None,
            "pairs": [
                {"frames": ["frame 0", "frame 1"], "distance": 0.3},
                {"frames": ["frame 0", "frame 2"], "distance": 0.9},
                {"frames": ["frame 1", "frame 2"], "distance": 0.8},
            ],
        },
    }
    case = pipeline_case(
        scripted,
        kind="active",
        images=frame_images("left", "right", "up"),
        results=[scripted_result(0.7, details=details)],
    )
    pairs = presenters.face_pairs(evidence=list(case.evidence.all()), checks=list(case.checks.all()), kind="active")
    assert [(p.left_label, p.right_label, p.words) for p in pairs] == [
        ("frame 1 (left)", "frame 2 (right)", "same person: 0.75, threshold 0.50"),
        ("frame 1 (left)", "frame 3 (up)", "different people: 0.25, threshold 0.50"),
    ]


def test_labels_of_boxes_starting_close_together_get_their_own_rows() -> None:
    near = [
        presenters.FaceBox("a", left=10, top=10, width=30, height=40, colour=0, label="a 0.99"),
        presenters.FaceBox("b", left=12, top=11, width=30, height=40, colour=1, label="b 0.97"),
        presenters.FaceBox("c", left=11, top=12, width=30, height=40, colour=2, label="c 0.5"),
        presenters.FaceBox("d", left=70, top=10, width=20, height=30, colour=3, label="d 0.9"),
    ]
    rows = {box.provider: box.label_row for box in presenters.stack_labels(near)}
    assert rows == {"a": 0, "b": 1, "c": 2, "d": 0}  # d is far enough to the right to share row 0


def test_engine_measurements_are_folded_behind_details(operator_client, scripted) -> None:
    html = _page(operator_client, id_document_case(scripted))
    assert '<details class="measures"><summary>details</summary><dl class="facts compact"><dt>faces</dt>' in html


# --- face mismatch is not a spoof -----------------------------------------------------------------------


def test_a_different_person_on_an_id_document_reads_face_mismatch_not_spoof(operator_client, scripted, settings):
    settings.FINDING_VERDICTS = {**settings.FINDING_VERDICTS, "face_mismatch": "spoof"}  # even when refused outright
    case = id_document_case(scripted, similarity=0.31)
    assert case.reason_codes == ["face_mismatch"]
    html = _page(operator_client, case)
    assert 'id="headline" data-code="face_mismatch"><strong>Face mismatch</strong>' in html
    assert "(a mismatch, not a spoof)" in html
    assert 'class="badge reasoncode mismatch" data-code="face_mismatch"' in html
    # The timeline's automatic decision carries the same words.
    assert 'title="the selfie and the document portrait show different people">face mismatch</span>' in html
    # The queue row too.
    queue = operator_client.get(reverse("case_list")).content.decode()
    assert 'class="badge reasoncode mismatch" data-code="face_mismatch"' in queue


# --- the reason rule in words ---------------------------------------------------------------------------


def _codes_for(verdict: str) -> list[str]:
    """A resubmission also names what to fix (its reason codes): given, so only the reason text is tested."""
    return ["blurry"] if verdict == Verdict.RESUBMIT else []


@pytest.mark.parametrize(
    ("score", "decided_by_operator", "needing"),
    [
        (0.45, False, ["resubmit"]),  # borderline: needs review, no standing verdict
        (0.9, False, ["spoof", "resubmit"]),  # the policy's live
        (0.1, False, ["live", "resubmit"]),  # the policy's spoof
        (0.45, True, ["spoof", "resubmit"]),  # an operator's live
    ],
)
def test_the_help_text_names_exactly_the_verdicts_the_service_wants_a_reason_for(
    operator_client, olga, scripted, score, decided_by_operator, needing
) -> None:
    case = pipeline_case(scripted, results=[scripted_result(score)])
    if decided_by_operator:
        decision_record(case=case, actor=olga, verdict=Verdict.LIVE, expected_version=case.version)
        case.refresh_from_db()
    verdicts, text = reason_rule(case)
    assert verdicts == needing
    # The same rule the service enforces: each verdict without a reason is refused exactly when listed.
    current = standing_verdict(case)
    assert [v for v in OPERATOR_VERDICTS if reason_required(current_verdict=current, verdict=v)] == needing
    labels = {"live": "approve — live", "spoof": "reject — spoof", "resubmit": "request resubmission"}
    assert text.endswith("required for: " + " and ".join(labels[v] for v in needing) + ".")
    html = _page(operator_client, case)
    assert f'data-reason-verdicts="{" ".join(needing)}"' in html
    for verdict in set(OPERATOR_VERDICTS) - set(needing) - {case.final_verdict}:
        # A verdict not listed goes through without a reason (checked on a copy of the state, then undone).
        fresh = Case.objects.get(pk=case.pk)
        if fresh.status not in (CaseStatus.NEEDS_REVIEW, CaseStatus.DECIDED):
            continue
        decision = decision_record(
            case=fresh,
            actor=olga,
            verdict=verdict,
            expected_version=fresh.version,
            resubmission_reasons=_codes_for(verdict),
        )
        assert decision.reason == ""
        break
    for verdict in needing:
        fresh = Case.objects.get(pk=case.pk)
        if fresh.status not in (CaseStatus.NEEDS_REVIEW, CaseStatus.DECIDED) or fresh.final_verdict == verdict:
            continue
        with pytest.raises(DecisionError) as refused:
            decision_record(
                case=fresh,
                actor=olga,
                verdict=verdict,
                expected_version=fresh.version,
                resubmission_reasons=_codes_for(verdict),
            )
        assert refused.value.code == "reason_required"


def test_a_case_claimed_by_someone_else_says_so_above_the_decision_form(operator_client, role_user, scripted) -> None:
    otto = role_user("operator", "otto")
    case = pipeline_case(scripted, results=[scripted_result(0.45)])
    claims.case_claim(case=case, user=otto)
    html = _page(operator_client, case)
    notice = html.index('id="claim-notice"')
    assert notice < html.index('id="decision-form"')
    assert "<strong>otto</strong> is working on this case until" in html[notice : notice + 200]


# --- decide-and-open-next -------------------------------------------------------------------------------


def _decide(client: Client, case: Case, verdict: str, *, open_next: bool = True, reason: str = "") -> str:
    data = {"verdict": verdict, "reason": reason, "expected_version": case.version}
    if open_next:
        data["open_next"] = "on"
    response = client.post(reverse("case_decide", args=[case.public_id]), data)
    assert response.status_code == 302
    return response["Location"]


def test_after_deciding_the_next_case_of_the_operators_queue_opens_and_is_claimed(operator_client, olga) -> None:
    first, second, _third = waiting_cases(3)
    operator_client.get(reverse("case_list"), {"status": "needs_review"})
    assert _decide(operator_client, first, Verdict.LIVE) == reverse("case_detail", args=[second.public_id])
    second.refresh_from_db()
    assert second.claim_holder_id() == olga.pk


def test_open_next_stays_in_the_queue_filter_the_operator_came_from(operator_client, role_user) -> None:
    acme, other = waiting_cases(1), waiting_cases(2)
    operator_client.get(reverse("case_list"), {"partner": str(acme[0].partner_id)})  # only acme's cases
    assert _decide(operator_client, acme[0], Verdict.SPOOF) == reverse("case_list")
    assert all(Case.objects.get(pk=c.pk).claimed_by_id is None for c in other)


def test_open_next_skips_cases_held_by_others_and_wraps_around(operator_client, role_user) -> None:
    otto = role_user("operator", "otto")
    first, _second, third, fourth = waiting_cases(4)
    claims.case_claim(case=fourth, user=otto)
    operator_client.get(reverse("case_list"))
    # Deciding the third: the fourth is otto's, so the queue wraps to the first.
    assert _decide(operator_client, third, Verdict.LIVE) == reverse("case_detail", args=[first.public_id])


def test_unticking_open_next_stays_on_the_case(operator_client) -> None:
    first, _ = waiting_cases(2)
    assert _decide(operator_client, first, Verdict.LIVE, open_next=False) == reverse(
        "case_detail", args=[first.public_id]
    )


def test_a_refused_decision_does_not_move_on(operator_client, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.9)])  # the policy's live: spoof needs a reason
    waiting_cases(1)
    response = operator_client.post(
        reverse("case_decide", args=[case.public_id]),
        {"verdict": Verdict.SPOOF, "expected_version": case.version, "open_next": "on"},
    )
    assert response.status_code == 400
    assert "a reason is required" in response.content.decode()


def test_next_skips_to_the_following_case_and_gives_up_ones_own_claim(operator_client, olga) -> None:
    first, second = waiting_cases(2)
    claims.case_claim(case=first, user=olga)
    response = operator_client.post(reverse("case_next", args=[first.public_id]))
    assert response["Location"] == reverse("case_detail", args=[second.public_id])
    first.refresh_from_db()
    assert first.claim_holder_id() is None
    assert Case.objects.get(pk=second.pk).claim_holder_id() == olga.pk


# --- the timeline ---------------------------------------------------------------------------------------


def test_looks_at_images_are_one_line_per_person_per_visit(scripted, role_user) -> None:
    olga, otto = role_user("operator", "olga"), role_user("operator", "otto")
    case = pipeline_case(scripted, results=[scripted_result(0.45)])
    start = timezone.now()

    def at(minutes: float, action: str, user: User, **data: object) -> AuditEvent:
        # Unsaved: the audit trail is append-only, its times are the database's; the presenter only reads.
        return AuditEvent(
            action=action, case=case, actor=user, data=data, created_at=start + timedelta(minutes=minutes)
        )

    def look(minutes: float, user: User, role: str = "selfie") -> AuditEvent:
        return at(minutes, "evidence.viewed", user, role=role, index=0, round=1)

    events = [
        look(0, olga),
        look(1, otto),
        look(2, olga, "id_front"),
        at(3, "case.claimed", olga),
        look(9, olga),  # within 10 minutes of olga's previous look: the same visit
        look(25, olga),  # a new visit
    ]
    entries = presenters.timeline(events)
    lines = [(e.event.action, str(e.event.actor), len(e.views)) for e in entries]
    assert lines == [
        ("evidence.viewed", "olga", 3),
        ("evidence.viewed", "otto", 1),
        ("case.claimed", "olga", 0),
        ("evidence.viewed", "olga", 1),
    ]
    assert entries[0].images == "selfie (2), id_front"


def test_the_case_page_draws_a_visit_as_one_expandable_line(operator_client, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.45)])
    evidence = case.evidence.get()
    for _ in range(5):
        operator_client.get(reverse("evidence_image", args=[case.public_id, evidence.pk]))
    html = _page(operator_client, case)
    assert html.count('class="ev-evidenceviewed visit" data-views="5"') == 1
    assert html.count("evidence.viewed · selfie") == 5  # each look, inside the <details>


# --- approvals ------------------------------------------------------------------------------------------


def test_the_approvals_page_shows_images_scores_and_the_verdict_overridden(client, role_user, scripted) -> None:
    olga = role_user("operator", "olga")
    sam = role_user("supervisor", "sam")
    case = id_document_case(scripted, similarity=0.82, score=0.12)
    decision_record(case=case, actor=olga, verdict=Verdict.LIVE, reason="video call", expected_version=case.version)
    client.force_login(sam)
    response = client.get(reverse("approval_list"))
    html = response.content.decode()
    for evidence in case.evidence.all():
        assert reverse("evidence_image", args=[case.public_id, evidence.pk]) in html
    assert 'class="threshold" style="left: 50.0%"' in html
    assert 'data-overridden="spoof">Spoof</span> <span class="muted small">(the policy)</span>' in html
    assert response["Cache-Control"] == "no-store, private"
    (row,) = response.context["rows"]
    assert [c.check.score for c in row.checks] == [0.12]
