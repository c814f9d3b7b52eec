"""What the case page draws, from stored check details: no database needed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from liveness.console import presenters
from liveness.models import Check, Evidence
from liveness.providers.details import load
from tests.test_provider_details import NEW_EYES, NEW_MOUTH, OLD_EYES, OLD_MOUTH


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


def _local(*images: dict) -> dict:
    return {"engine": "local", "images": list(images)}


def test_a_box_in_pixel_edges_lands_in_percent_of_the_image() -> None:
    box = {"left": 100, "top": 50, "right": 200, "bottom": 150}
    (view,) = presenters.evidence_views(
        evidence=[_evidence(1)],
        checks=[_check(_local({"role": "selfie", "index": 0, "faces": [{"box": box}]}))],
        kind="selfie",
    )
    (drawn,) = view.boxes
    assert (drawn.left, drawn.top, drawn.width, drawn.height) == (25.0, 25.0, 25.0, 50.0)


@pytest.mark.parametrize(
    "box", [{"x": 100, "y": 50, "width": 100, "height": 100}, [100, 50, 200, 150], {"left": 5}, [9, 9, 3, 3], "junk"]
)
def test_a_box_outside_the_contract_is_not_guessed_at_and_not_drawn(box: object) -> None:
    details = _local({"role": "selfie", "index": 0, "faces": [{"box": box}]})
    (view,) = presenters.evidence_views(evidence=[_evidence(1)], checks=[_check(details)], kind="selfie")
    assert view.boxes == []
    assert [o.provider for o in view.observations] == ["local"]  # the rest of the image still shows


def test_a_single_image_row_from_before_the_contract_applies_to_the_primary_image() -> None:
    document, selfie = _evidence(1, "id_front"), _evidence(2, "selfie")
    accura_id = _check({"vendor": "accura", "message": "", "face_found": True, "quality": "good"}, "accura_id")
    views = presenters.evidence_views(evidence=[selfie, document], checks=[accura_id], kind="id_document")
    by_role = {v.evidence.role: v for v in views}
    assert [dict(o.facts) for o in by_role["id_front"].observations] == [{"faces": "found", "quality": "good"}]
    assert by_role["selfie"].observations == []


def test_a_kairos_row_from_before_the_contract_still_draws_its_boxes() -> None:
    stored = {
        "vendor": "kairos",
        "img": {"width": 800, "height": 400},
        "faces_predicted": [
            {"box": {"left": 0, "top": 0, "right": 400, "bottom": 200}, "width": 400, "height": 200, "confidence": 0.9}
        ],
        "face_count": 1,
        "api_req_uid": "abc",
    }
    (view,) = presenters.evidence_views(evidence=[_evidence(1)], checks=[_check(stored, "kairos")], kind="selfie")
    (drawn,) = view.boxes
    assert (drawn.width, drawn.height, drawn.label) == (50.0, 50.0, "kairos 0.90")
    assert dict(view.observations[0].facts) == {"faces": "1"}


def test_boxes_use_the_size_the_provider_measured_when_given() -> None:
    box = {"left": 0, "top": 0, "right": 400, "bottom": 200}
    details = _local({"role": "selfie", "index": 0, "image": {"width": 800, "height": 400}, "faces": [{"box": box}]})
    (view,) = presenters.evidence_views(evidence=[_evidence(1)], checks=[_check(details)], kind="selfie")
    assert (view.boxes[0].width, view.boxes[0].height) == (50.0, 50.0)


def test_failed_checks_draw_nothing() -> None:
    details = _local({"role": "selfie", "index": 0, "faces": [{"box": {"left": 0, "top": 0, "right": 9, "bottom": 9}}]})
    failed = Check(pk=2, provider="kairos", round=1, status="failed", details=details)
    (view,) = presenters.evidence_views(evidence=[_evidence(1)], checks=[failed], kind="selfie")
    assert (view.boxes, view.observations) == ([], [])


def test_each_provider_gets_its_own_box_colour() -> None:
    details = _local(
        {"role": "selfie", "index": 0, "faces": [{"box": {"left": 0, "top": 0, "right": 10, "bottom": 10}}]}
    )
    (view,) = presenters.evidence_views(
        evidence=[_evidence(1)], checks=[_check(details, "local"), _check(details, "kairos")], kind="selfie"
    )
    assert [b.colour for b in view.boxes] == [0, 1]


def test_frames_are_matched_to_details_by_role_and_index() -> None:
    frames = [_evidence(10, "frame", 0), _evidence(11, "frame", 1)]
    details = _local(
        {
            "role": "frame",
            "index": 1,
            "pose": {"yaw": -20.0, "pitch": 2.0, "roll": 0.0},
            "parameter_check": {"parameter": "left", "matched": False, "value": {"yaw": -20.0}, "bound": "yaw >= 15°"},
        },
        {
            "role": "frame",
            "index": 0,
            "mouth": {"state": "open", "mar": 0.52, "open_bound": "MAR >= 0.35", "closed_bound": "MAR <= 0.1"},
            "parameter_check": {"parameter": "mouth open", "matched": True, "value": {"state": "open"}, "bound": ""},
        },
    )
    views = presenters.evidence_views(evidence=frames, checks=[_check(details)], kind="active")
    first, second = (v.observations[0] for v in views)
    assert first.matched is True
    assert ("mouth", "open (MAR 0.52)") in first.facts
    assert second.matched is False
    assert ("pose", "yaw -20.0°, pitch +2.0°, roll +0.0°") in second.facts
    assert ("parameter", "yaw -20.0, yaw >= 15°") in second.facts


@pytest.mark.parametrize(
    ("eyes", "mouth", "eyes_text"),
    [
        (OLD_EYES, OLD_MOUTH, "open (image left EAR 0.254, image right EAR 0.176)"),
        (NEW_EYES, NEW_MOUTH, "open (image left open EAR 0.254, image right open EAR 0.176)"),
    ],
)
def test_old_and_new_engine_eyes_and_mouth_read_the_same_way(eyes: dict, mouth: dict, eyes_text: str) -> None:
    obs = presenters.observation("local", load({"images": [{"eyes": eyes, "mouth": mouth}]}).images[0])
    assert dict(obs.facts) == {"eyes": eyes_text, "mouth": "closed (MAR 0.05)"}


def test_observations_report_quality_and_passive_scores_as_given() -> None:
    entry = {
        "face_outcome": "one_face",
        "face_count": 1,
        "quality": {"usable": False, "reasons": ["too_dark", "blurred"]},
        "passive": {"available": False, "reason": "no model"},
    }
    obs = presenters.observation("local", load({"images": [entry]}).images[0])
    assert ("faces", "one face (1)") in obs.facts
    assert ("quality", "not usable: too dark, blurred") in obs.facts
    assert ("passive", "unavailable") in obs.facts


@pytest.mark.parametrize(
    "models",
    [
        {"minifasnet": 0.95, "minifas128": 0.85},
        {"minifasnet": {"real_probability": 0.95, "crop": 2.7}, "minifas128": {"real_probability": 0.85}},
    ],
)
def test_several_passive_models_show_each_and_the_fusion(models: dict) -> None:
    passive = {"available": True, "real_probability": 0.9, "models": models, "fusion": "mean"}
    obs = presenters.observation("local", load({"images": [{"passive": passive}]}).images[0])
    assert dict(obs.facts)["passive"] == "real p=0.900 (mean: minifasnet 0.950, minifas128 0.850)"


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
    from liveness.providers.details import ImageDetail

    entry = {"eyes": EyeState(0.31, 0.04).as_dict(), "mouth": MouthState(0.42).as_dict()}
    facts = dict(presenters.observation("local", ImageDetail.load(entry, "details.images[0]", [])).facts)
    assert facts["eyes"] == "uncertain (image left open ratio 0.31, image right closed ratio 0.04)"
    assert facts["mouth"] == "open (ratio 0.42)"
