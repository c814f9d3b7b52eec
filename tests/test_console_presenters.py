"""What the case page draws, from stored check details: no database needed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from liveness.console import presenters
from liveness.models import Check, Evidence


def _evidence(pk: int, role: str = "selfie", index: int = 0, *, width: int = 400, height: int = 200) -> Evidence:
    return Evidence(pk=pk, role=role, index=index, round=1, width=width, height=height, content_type="image/jpeg")


def _check(details: object, provider: str = "local") -> Check:
    return Check(pk=1, provider=provider, round=1, status="succeeded", details=details)


def test_score_bar_positions_score_threshold_and_margin() -> None:
    bar = presenters.score_bar(score=0.734, threshold=0.6, margin=0.05)
    assert (bar.score_pct, bar.threshold_pct, bar.band_left_pct, bar.band_width_pct) == (73.4, 60.0, 55.0, 10.0)


def test_score_bar_clamps_the_band_to_the_bar() -> None:
    bar = presenters.score_bar(score=None, threshold=0.98, margin=0.05)
    assert bar.score_pct is None
    assert (bar.band_left_pct, bar.band_width_pct) == (93.0, 7.0)


@pytest.mark.parametrize(
    "box",
    [
        {"left": 100, "top": 50, "right": 200, "bottom": 150},  # the local engine: edges in pixels
        {"x": 100, "y": 50, "width": 100, "height": 100},  # x/y/width/height in pixels
        [100, 50, 200, 150],  # a list of edges
        {"left": 0.25, "top": 0.25, "right": 0.5, "bottom": 0.75},  # fractions of the image
    ],
)
def test_boxes_in_any_normalised_shape_land_in_the_same_place(box: object) -> None:
    evidence = _evidence(1)
    views = presenters.evidence_views(
        evidence=[evidence],
        checks=[_check({"images": [{"role": "selfie", "index": 0, "faces": [{"box": box}]}]})],
        kind="selfie",
    )
    (drawn,) = views[0].boxes
    assert (drawn.left, drawn.top, drawn.width, drawn.height) == (25.0, 25.0, 25.0, 50.0)


def test_a_single_image_vendor_shape_applies_to_the_primary_image() -> None:
    document, selfie = _evidence(1, "id_front"), _evidence(2, "selfie")
    check = _check({"faces": [{"box": [0, 0, 200, 100]}]}, provider="accura_id")
    views = presenters.evidence_views(evidence=[selfie, document], checks=[check], kind="id_document")
    by_role = {v.evidence.role: v for v in views}
    assert len(by_role["id_front"].boxes) == 1
    assert by_role["selfie"].boxes == []


def test_boxes_use_the_size_the_provider_measured_when_given() -> None:
    details = {
        "images": [
            {"role": "selfie", "index": 0, "image": {"width": 800, "height": 400}, "faces": [{"box": [0, 0, 400, 200]}]}
        ]
    }
    (view,) = presenters.evidence_views(evidence=[_evidence(1)], checks=[_check(details)], kind="selfie")
    assert (view.boxes[0].width, view.boxes[0].height) == (50.0, 50.0)


def test_unusable_boxes_and_failed_checks_draw_nothing() -> None:
    details = {
        "images": [{"role": "selfie", "index": 0, "faces": [{"box": {"left": 5}}, {"box": [9, 9, 3, 3]}, "junk"]}]
    }
    failed = Check(pk=2, provider="kairos", round=1, status="failed", details=details)
    (view,) = presenters.evidence_views(evidence=[_evidence(1)], checks=[_check(details), failed], kind="selfie")
    assert view.boxes == []
    assert [o.provider for o in view.observations] == ["local"]


def test_each_provider_gets_its_own_box_colour() -> None:
    details = {"images": [{"role": "selfie", "index": 0, "faces": [{"box": [0, 0, 10, 10]}]}]}
    (view,) = presenters.evidence_views(
        evidence=[_evidence(1)], checks=[_check(details, "local"), _check(details, "kairos")], kind="selfie"
    )
    assert [b.colour for b in view.boxes] == [0, 1]


def test_frames_are_matched_to_details_by_role_and_index() -> None:
    frames = [_evidence(10, "frame", 0), _evidence(11, "frame", 1)]
    details = {
        "images": [
            {"role": "frame", "index": 1, "pose": {"yaw": -20.0, "pitch": 2.0, "roll": 0.0}, "parameter_match": False},
            {"role": "frame", "index": 0, "mouth": {"state": "open", "mar": 0.52}, "parameter": {"passed": True}},
        ]
    }
    views = presenters.evidence_views(evidence=frames, checks=[_check(details)], kind="active")
    first, second = (v.observations[0] for v in views)
    assert first.matched is True
    assert ("mouth", "open (mar 0.52)") in first.facts
    assert second.matched is False
    assert ("pose", "yaw -20.0°, pitch +2.0°, roll +0.0°") in second.facts


def test_observations_report_quality_and_passive_scores_as_given() -> None:
    entry = {
        "face_outcome": "one_face",
        "face_count": 1,
        "quality": {"usable": False, "reasons": ["too_dark", "blurred"]},
        "passive": {"available": False, "reason": "no model"},
    }
    obs = presenters.observation("local", entry)
    assert ("faces", "one face (1)") in obs.facts
    assert ("quality", "not usable: too dark, blurred") in obs.facts
    assert ("passive", "unavailable") in obs.facts


def test_heuristic_flag_in_details_is_honoured() -> None:
    assert presenters.is_heuristic(_check({"heuristic": True}, provider="unknown-vendor"))
    assert not presenters.is_heuristic(_check({}, provider="unknown-vendor"))


@pytest.mark.parametrize(
    ("age", "text"),
    [
        (timedelta(seconds=42), "42 s"),
        (timedelta(minutes=12), "12 min"),
        (timedelta(minutes=185), "3 h 05 min"),
        (timedelta(hours=52), "2 d 4 h"),
    ],
)
def test_ages_read_at_a_glance(age: timedelta, text: str) -> None:
    assert presenters.format_age(age) == text


@pytest.mark.parametrize(
    ("status", "minutes", "state"),
    [("needs_review", 10, "ok"), ("needs_review", 45, "warn"), ("pending_approval", 60, "over"), ("decided", 999, "")],
)
def test_sla_state(status: str, minutes: int, state: str) -> None:
    assert presenters.sla_state(status=status, age=timedelta(minutes=minutes), sla_minutes=60) == state


def test_event_summaries_skip_hashes_and_show_before_after() -> None:
    pairs = presenters.event_summary({"evidence": ["abc"], "before": {"status": "a"}, "after": {"status": "b"}})
    assert pairs == [("before", "status=a"), ("after", "status=b")]


def test_the_local_engines_eyes_show_each_eye_and_the_mouth_its_ratio() -> None:
    from liveness.engine.face_state import EyeState, MouthState

    entry = {"eyes": EyeState(0.31, 0.04).as_dict(), "mouth": MouthState(0.42).as_dict()}
    facts = dict(presenters.observation("local", entry).facts)
    assert facts["eyes"] == "uncertain (image left open (ratio 0.31), image right closed (ratio 0.04))"
    assert facts["mouth"].startswith("open (ratio 0.42, open_bound MAR >= 0.3")
