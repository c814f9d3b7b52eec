"""The ``local`` provider: one score per case kind, "not assessed" with a reason where no score is honest."""

from __future__ import annotations

import dataclasses
import json
from unittest import mock

import numpy as np
import pytest
from PIL import Image, ImageDraw

from liveness import enqueue, policy, services
from liveness.engine import models as engine_models
from liveness.engine import passive as engine_passive
from liveness.engine.models import EngineConfigurationError
from liveness.engine.passive import PassiveModels
from liveness.models import Case, CaseStatus, Check, CheckOutcome, CheckStatus, Verdict
from liveness.providers import CheckRequest, EvidenceImage, PermanentProviderError, ProviderResult, get_provider
from tests.engine_support import (
    BIDEN,
    OBAMA_CHIN_UP,
    OBAMA_FRONTAL,
    OBAMA_TURNED_TO_HIS_LEFT,
    OBAMA_TURNED_TO_HIS_RIGHT,
    UTOPIA_SPECIMENS,
    analysis_of,
    blur,
    decoded,
    jpeg_bytes,
    require_passive_models,
    transformed,
)
from tests.helpers import LIVE_SAMPLE, PRINT_ATTACK, SCREEN_ATTACK, TWO_PEOPLE, enqueued

PROVIDER = get_provider("local")
THRESHOLD = PROVIDER.default_threshold
MARGIN = PROVIDER.default_review_margin
DOCUMENT_BACK_SIDE = "id-documents/PassportEye__passporteye_mrz_testdata_0_id-esp.png"
OBAMA_ON_A_DOCUMENT = "genuine/face_recognition__examples_knn_examples_train_obama_obama.jpg"


def evidence(rgb: np.ndarray, role: str = "selfie", index: int = 0, parameter: str = "") -> EvidenceImage:
    return EvidenceImage(
        role=role,
        index=index,
        content=jpeg_bytes(rgb),
        content_type="image/jpeg",
        width=rgb.shape[1],
        height=rgb.shape[0],
        face_parameter=parameter,
    )


def shared(relative: str, role: str = "selfie", index: int = 0, parameter: str = "") -> EvidenceImage:
    return evidence(decoded(relative, 800), role, index, parameter)


def check(kind: str, images: list[EvidenceImage], success_threshold: int | None = None) -> ProviderResult:
    result = PROVIDER.check(
        CheckRequest(
            check_id=1,
            case_id="test",
            kind=kind,
            images=images,
            threshold=THRESHOLD,
            timeout=30.0,
            face_parameters=[i.face_parameter for i in images],
            success_threshold=success_threshold,
        )
    )
    json.dumps(result.details)  # stored in a JSONField: plain types only
    return result


def outcome(result: ProviderResult, *, threshold: float = THRESHOLD, margin: float = MARGIN) -> str:
    return policy.classify(
        status=CheckStatus.SUCCEEDED,
        score=result.score,
        threshold=threshold,
        margin=margin,
        findings=[f.code for f in result.findings],
    )


@pytest.fixture
def without_passive_models(monkeypatch: pytest.MonkeyPatch) -> None:
    engine_models.load_models()
    monkeypatch.setattr(engine_passive, "_loaded", PassiveModels())


def synthetic_document(portrait_of: str, *, portrait_height: int = 260) -> np.ndarray:
    """An ID-card-like picture: a tinted card, text bars, an MRZ band and the person's photo as portrait."""
    face = analysis_of(portrait_of).main_face
    assert face is not None
    left, top, right, bottom = face.box
    width, height = right - left, bottom - top
    photo = Image.fromarray(decoded(portrait_of)).crop(
        (left - width // 2, top - int(height * 0.8), right + width // 2, bottom + int(height * 0.6))
    )
    photo = photo.resize((round(photo.width * portrait_height / photo.height), portrait_height))
    card = Image.new("RGB", (880, 560), (222, 214, 190))
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, 879, 70), fill=(40, 70, 120))
    for row in range(6):
        draw.rectangle((420, 120 + row * 40, 820 - row * 30, 138 + row * 40), fill=(60, 60, 60))
    draw.rectangle((30, 450, 850, 530), fill=(245, 245, 240))
    card.paste(photo, (60, 130))
    return np.asarray(card)


# --- selfie -----------------------------------------------------------------------------------------


def test_a_live_selfie_scores_its_passive_probability_and_passes():
    require_passive_models()
    result = check("selfie", [shared(LIVE_SAMPLE)])
    assert result.score is not None
    assert result.score > 0.85  # 0.90 measured with the crop around MediaPipe's face box
    assert outcome(result) == CheckOutcome.PASS
    details = result.details
    assert details["heuristic"] is False
    assert details["score_method"].startswith("selfie: passive real-probability")
    assert details["components"]["passive_real_probability"] == pytest.approx(result.score, abs=1e-4)
    image = details["images"][0]
    assert (image["role"], image["face_outcome"], image["quality"]["usable"]) == ("selfie", "one_face", True)
    assert result.vendor_label.startswith("real p=")


@pytest.mark.parametrize("attack", [PRINT_ATTACK, SCREEN_ATTACK])
def test_a_print_or_screen_attack_fails_clearly(attack: str):
    require_passive_models()
    result = check("selfie", [shared(attack)])
    assert result.score is not None
    assert result.score < THRESHOLD - MARGIN
    assert outcome(result) == CheckOutcome.FAIL


def test_two_people_in_a_selfie_are_not_assessed():
    result = check("selfie", [shared(TWO_PEOPLE)])
    assert result.score is None
    assert result.reason.startswith("multiple_faces (selfie: 2)")
    assert result.vendor_label == "not assessed"
    assert result.details["images"][0]["face_count"] == 2


def test_a_selfie_without_a_face_is_not_assessed():
    result = check("selfie", [evidence(np.full((480, 640, 3), 90, dtype=np.uint8))])
    assert (result.score, result.reason) == (None, "no_face (selfie)")


def test_a_blurred_selfie_is_not_assessed_for_poor_quality():
    result = check("selfie", [evidence(transformed(LIVE_SAMPLE, blur(5)))])
    assert result.score is None
    assert result.reason.startswith("poor_quality (selfie: blurred")


def test_without_a_passive_model_a_selfie_is_not_assessed_and_says_so(without_passive_models: None):
    result = check("selfie", [shared(LIVE_SAMPLE)])
    assert result.score is None
    assert "passive attack detection unavailable" in result.reason
    assert result.details["passive_available"] is False
    assert result.details["images"][0]["passive"]["available"] is False
    assert outcome(result) == CheckOutcome.NOT_ASSESSED


# --- ID document ------------------------------------------------------------------------------------


def test_a_document_alone_is_not_assessed_and_its_portrait_passive_is_informational():
    require_passive_models()
    result = check("id_document", [shared(UTOPIA_SPECIMENS[2], role="id_front")])
    assert result.score is None
    assert result.reason.startswith("document_not_assessable")
    assert result.details["document_liveness"] == "not assessed"
    portrait = result.details["components"]["document_portrait_passive"]
    assert 0.0 <= portrait["real_probability"] <= 1.0
    assert "informational only" in portrait["note"]


def test_a_document_without_a_portrait_is_not_assessed():
    result = check("id_document", [shared(DOCUMENT_BACK_SIDE, role="id_front"), shared(OBAMA_FRONTAL)])
    assert result.score is None
    assert result.reason.startswith("no_face (id_front")


def test_a_selfie_matching_the_document_portrait_scores_the_selfies_passive_probability():
    require_passive_models()
    document = evidence(synthetic_document(OBAMA_ON_A_DOCUMENT), role="id_front")
    result = check("id_document", [document, shared(OBAMA_FRONTAL)])
    match = result.details["components"]["face_match"]
    assert match["same_person"] is True
    assert match["similarity"] > 0.5
    assert result.score == pytest.approx(result.details["components"]["selfie_passive_real_probability"], abs=1e-4)
    assert outcome(result) == CheckOutcome.PASS
    assert result.reason == ""


def test_a_selfie_of_someone_else_is_a_face_mismatch_finding_not_a_low_score():
    require_passive_models()
    document = evidence(synthetic_document(OBAMA_ON_A_DOCUMENT), role="id_front")
    result = check("id_document", [document, shared(BIDEN)])
    match = result.details["components"]["face_match"]
    assert match["same_person"] is False
    # The score is the selfie's passive value, untouched: the mismatch is a reason of its own.
    assert result.score == pytest.approx(result.details["components"]["selfie_passive_real_probability"], abs=1e-4)
    [finding] = result.findings
    assert (finding.code, finding.images) == ("face_mismatch", ("selfie", "id_front"))
    assert f"distance {match['distance']:.2f}" in finding.message
    assert result.reason.startswith("face_mismatch")
    assert result.details["findings"][0]["code"] == "face_mismatch"
    # Never a pass, even at a threshold any score clears.
    assert outcome(result, threshold=0.0, margin=0.0) == CheckOutcome.FINDING


def test_a_mismatch_is_reported_even_without_a_passive_model(without_passive_models: None):
    document = evidence(synthetic_document(OBAMA_ON_A_DOCUMENT), role="id_front")
    result = check("id_document", [document, shared(BIDEN)])
    assert result.score is None
    assert [f.code for f in result.findings] == ["face_mismatch"]
    assert result.reason.startswith("face_mismatch")
    assert "passive_unavailable" in result.reason
    assert outcome(result) == CheckOutcome.FINDING


def test_a_portrait_too_small_to_match_is_not_assessed():
    document = evidence(synthetic_document(OBAMA_ON_A_DOCUMENT, portrait_height=60), role="id_front")
    result = check("id_document", [document, shared(OBAMA_FRONTAL)])
    assert result.score is None
    assert result.reason.startswith("portrait_too_small")


# --- active -----------------------------------------------------------------------------------------

#: Six different photographs of one person (no frame a copy of another: that would be a repeated_frame).
OBAMA_PORTRAIT = "genuine/face_recognition__examples_knn_examples_train_obama_obama.jpg"
OBAMA_SMALL = "genuine/face_recognition__examples_obama_small.jpg"
SEQUENCE = [
    (OBAMA_TURNED_TO_HIS_LEFT, "left"),
    (OBAMA_TURNED_TO_HIS_RIGHT, "mouth open"),
    (OBAMA_CHIN_UP, "up"),
    (OBAMA_FRONTAL, "front"),
    (OBAMA_PORTRAIT, "eyes open"),
    (OBAMA_SMALL, "front"),
]


def frames(sequence: list[tuple[str, str]]) -> list[EvidenceImage]:
    return [shared(path, role="frame", index=i, parameter=parameter) for i, (path, parameter) in enumerate(sequence)]


def test_an_active_series_that_answers_every_parameter_passes():
    require_passive_models()
    result = check("active", frames(SEQUENCE))
    details = result.details
    assert details["challenge"] == {"matched": 6, "required": 6, "frames": 6, "unassessable": [], "passed": True}
    assert result.findings == ()
    assert details["identity"]["consistent"] is True
    assert result.score == pytest.approx(details["components"]["passive_real_probability_min"], abs=1e-4)
    assert outcome(result) == CheckOutcome.PASS
    # Active answers come from geometric rules: labelled as a heuristic.
    assert details["heuristic"] is True
    assert "not by a trained classifier" in details["heuristic_label"]
    first = details["images"][0]["parameter_check"]
    assert (first["parameter"], first["matched"]) == ("left", True)
    assert first["value"]["yaw"] >= 15
    assert first["bound"].startswith("yaw >= 15")


def test_a_person_swapped_in_mid_sequence_is_caught():
    require_passive_models()
    swapped = [*SEQUENCE[:3], (BIDEN, "front"), *SEQUENCE[4:]]
    result = check("active", frames(swapped))
    identity = result.details["identity"]
    assert identity["consistent"] is False
    assert identity["outliers"] == ["frame 3"]
    assert result.score == pytest.approx(result.details["components"]["passive_real_probability_min"], abs=1e-4)
    [finding] = result.findings
    assert (finding.code, finding.images) == ("identity_mismatch", ("frame 3",))
    assert result.reason.startswith("identity_mismatch")
    assert outcome(result, threshold=0.0, margin=0.0) == CheckOutcome.FINDING


def test_frames_that_do_not_answer_their_parameter_fail_the_challenge():
    require_passive_models()
    wrong = [(OBAMA_TURNED_TO_HIS_LEFT, "right"), SEQUENCE[1], (OBAMA_CHIN_UP, "down"), *SEQUENCE[3:]]
    result = check("active", frames(wrong))
    challenge = result.details["challenge"]
    assert (challenge["matched"], challenge["required"], challenge["passed"]) == (4, 6, False)
    assert result.score == pytest.approx(result.details["components"]["passive_real_probability_min"], abs=1e-4)
    [finding] = result.findings
    assert finding.code == "challenge_failed"
    assert finding.message == "4 of 6 frames answered their parameter, 6 required"
    assert finding.images == ("frame 0", "frame 2")
    assert result.reason == "challenge_failed (4 of 6 frames answered their parameter, 6 required)"
    assert result.details["images"][0]["parameter_check"]["matched"] is False
    # The case (4 of 5 matched, the threshold lowered to 0.35) used to pass clearly: never again.
    assert outcome(result, threshold=0.35, margin=0.0) == CheckOutcome.FINDING


def test_success_threshold_lets_some_frames_miss():
    require_passive_models()
    one_wrong = [(OBAMA_TURNED_TO_HIS_LEFT, "right"), *SEQUENCE[1:]]
    result = check("active", frames(one_wrong), success_threshold=5)
    assert result.details["challenge"]["passed"] is True
    assert outcome(result) == CheckOutcome.PASS


def test_an_unreadable_frame_leaves_the_challenge_undecided_when_it_could_matter():
    require_passive_models()
    series = frames(SEQUENCE[:3])
    series.append(evidence(np.full((480, 640, 3), 90, dtype=np.uint8), role="frame", index=3, parameter="front"))
    undecided = check("active", series)
    assert undecided.score is None
    assert undecided.reason.startswith("challenge_undecided (3 matched, 4 required)")
    assert "no_face (frame 3)" in undecided.details["not_assessed_reasons"]
    decided = check("active", series, success_threshold=3)
    assert decided.score is not None
    assert decided.details["challenge"]["unassessable"] == ["no_face (frame 3)"]


def test_a_failed_challenge_is_reported_even_without_a_passive_model(without_passive_models: None):
    result = check("active", frames([(OBAMA_TURNED_TO_HIS_LEFT, "right"), (OBAMA_FRONTAL, "front")]))
    assert result.score is None
    assert [f.code for f in result.findings] == ["challenge_failed"]
    assert "passive_unavailable" in result.reason
    passing = check("active", frames([(OBAMA_TURNED_TO_HIS_LEFT, "left"), (OBAMA_FRONTAL, "front")]))
    assert passing.score is None
    assert "passive attack detection unavailable" in passing.reason


def test_it_does_not_score_an_active_series_with_two_people_in_a_frame():
    # Which of the two faces answered the challenge cannot be told: no score, whatever the other frames show.
    series = frames([(OBAMA_TURNED_TO_HIS_LEFT, "left"), (TWO_PEOPLE, "front"), (OBAMA_FRONTAL, "front")])
    result = check("active", series)
    assert result.score is None
    assert result.reason == "multiple_faces (frame 1: 2)"
    assert outcome(result) == CheckOutcome.NOT_ASSESSED
    assert result.details["images"][0]["parameter_check"]["matched"] is True


# --- failures and configuration ---------------------------------------------------------------------


def test_a_broken_engine_is_a_permanent_error():
    with (
        mock.patch("liveness.providers.local.load_models", side_effect=EngineConfigurationError("model gone")),
        pytest.raises(PermanentProviderError) as caught,
    ):
        check("selfie", [evidence(np.zeros((100, 100, 3), dtype=np.uint8))])
    assert caught.value.code == "engine_not_configured"
    assert not caught.value.retryable


def test_bytes_that_are_not_an_image_are_a_permanent_error():
    image = dataclasses.replace(evidence(np.zeros((100, 100, 3), dtype=np.uint8)), content=b"not an image")
    with pytest.raises(PermanentProviderError) as caught:
        check("selfie", [image])
    assert caught.value.code == "undecodable_image"


def test_the_provider_reports_a_configuration_problem(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(
        "liveness.providers.local.load_models", mock.Mock(side_effect=EngineConfigurationError("no dlib"))
    )
    assert PROVIDER.configuration_problem() == "no dlib"
    assert not PROVIDER.is_configured()


@pytest.mark.django_db
def test_a_live_selfie_is_decided_live_through_the_pipeline(settings):
    require_passive_models()
    settings.LIVENESS_WORKFLOWS = {"selfie": ["local"], "id_document": ["local"], "active": ["local"]}
    with enqueued(enqueue.RUN_CHECK):
        case = services.case_create(
            kind="selfie", images=[services.IncomingImage("selfie", jpeg_bytes(decoded(LIVE_SAMPLE)))]
        ).case
    services.check_execute(check_id=Check.objects.get(case=case).pk)
    case = Case.objects.get(pk=case.pk)
    stored = Check.objects.get(case=case)
    assert (stored.status, stored.outcome, stored.threshold) == (CheckStatus.SUCCEEDED, CheckOutcome.PASS, 0.5)
    assert stored.details["score_method"].startswith("selfie:")
    assert (case.status, case.auto_verdict) == (CaseStatus.DECIDED, Verdict.LIVE)


def test_every_engine_result_fits_the_details_contract():
    """The engine's details are read by the console through the typed contract: nothing may misfit."""
    from liveness.providers import details as contract

    document = evidence(synthetic_document(OBAMA_ON_A_DOCUMENT), role="id_front")
    results = {
        "selfie": check("selfie", [shared(OBAMA_FRONTAL)]),
        "id_document": check("id_document", [document, shared(BIDEN)]),
        "active": check("active", frames([*SEQUENCE[:2], (BIDEN, "front")])),
    }
    for kind, result in results.items():
        assert contract.load(result.details, kind=kind).problems == [], kind
    assert [f.code for f in contract.load(results["id_document"].details).findings] == ["face_mismatch"]


def test_the_same_photo_sent_for_two_prompts_is_a_repeated_frame_finding():
    """The issue's case: "left" and "eyes open" answered by one picture passed both prompts."""
    series = frames(
        [(OBAMA_TURNED_TO_HIS_LEFT, "left"), (OBAMA_FRONTAL, "front"), (OBAMA_TURNED_TO_HIS_LEFT, "eyes open")]
    )
    result = check("active", series)
    codes = [f.code for f in result.findings]
    assert "repeated_frame" in codes
    repeated = next(f for f in result.findings if f.code == "repeated_frame")
    assert repeated.images == ("frame 0", "frame 2")
    assert "heuristic" in repeated.message
    assert result.details["repeated_frames"]["pairs"][0]["kind"] == "identical"
    assert outcome(result, threshold=0.0, margin=0.0) == CheckOutcome.FINDING


def test_a_mirrored_copy_is_a_repeated_frame_and_distinct_photos_are_not():
    mirrored = np.ascontiguousarray(decoded(OBAMA_TURNED_TO_HIS_LEFT)[:, ::-1])
    series = [
        shared(OBAMA_TURNED_TO_HIS_LEFT, role="frame", index=0, parameter="left"),
        evidence(mirrored, role="frame", index=1, parameter="right"),
    ]
    result = check("active", series)
    assert result.details["repeated_frames"]["pairs"][0]["kind"] == "mirrored"
    assert "repeated_frame" not in [f.code for f in check("active", frames(SEQUENCE[:4])).findings]
