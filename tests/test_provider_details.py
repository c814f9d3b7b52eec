"""The details contract: typed load/dump, rows stored before it, unknown keys kept, misfits stored with a warning."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import pytest

from liveness import services
from liveness.models import Check, CheckStatus
from liveness.providers import ProviderResult
from liveness.providers.details import (
    FINDING_CODES,
    Box,
    CheckDetail,
    Face,
    Finding,
    ImageDetail,
    Openness,
    dump,
    load,
    settle_details,
)
from liveness.vocabulary import FINDINGS
from tests.helpers import image_bytes

#: Rows as the adapters stored them before the contract, copied from what they wrote (shortened).
RISET_ROW = {
    "vendor": "riset",
    "trx_id": "17",
    "status": "200",
    "liveness": "passed",
    "frames": [
        {
            "index": 0,
            "face_parameter": "left",
            "face_found": True,
            "match": True,
            "verified": True,
            "similarity": 0.97,
            "masker": False,
            "spoof": "real",
            "spoof_score": 0.93,
            "real_probability": 0.93,
            "pose": {"yaw": 21.0, "pitch": 1.0, "roll": -2.0},
            "eyes": {"left": {"state": "open", "score": 0.99}, "right": {"state": "open", "score": 1.0}},
            "mouth": {"state": "closed", "score": 0.9},
            "passed": True,
        },
        {
            "index": 1,
            "face_parameter": "right",
            "face_found": False,
            "match": False,
            "verified": None,
            "spoof": None,
            "spoof_score": None,
            "pose": {"yaw": None, "pitch": None, "roll": None},
            "eyes": {"left": None, "right": None},
            "mouth": None,
            "passed": False,
        },
    ],
    "frames_total": 2,
    "frames_passed": 1,
    "success_threshold": 1,
    "score_method": "frames passed / frames",
}
KAIROS_ROW = {
    "vendor": "kairos",
    "api_req_uid": "c6bb825f",
    "img": {"width": 95.0, "height": 71.0},
    "faces_predicted": [
        {
            "box": {"left": 38.0, "top": 4.0, "right": 57.0, "bottom": 29.0},
            "width": 19.0,
            "height": 25.0,
            "confidence": 0.98,
        }
    ],
    "face_count": 1,
    "threshold_sent": 0.6,
    "score_method": "response_data.faces_liveness",
    "faces_liveness": 0.87,
}
ACCURA_ROW = {"vendor": "accura", "message": "", "face_found": True, "score_percent": 91.0, "quality": "good"}
#: One frame's eyes and mouth as the engine stored them before and after the MediaPipe engine (issue 9).
OLD_EYES = {"state": "open", "ear_image_left": 0.254, "ear_image_right": 0.176, "open_bound": "both EAR >= 0.17"}
NEW_EYES = {
    "state": "open",
    "image_left": {"ratio": 0.254, "state": "open"},
    "image_right": {"ratio": 0.176, "state": "open"},
    "open_bound": "both EAR >= 0.17",
    "closed_bound": "both EAR <= 0.14",
    "measure": "EAR",
}
OLD_MOUTH = {"state": "closed", "mar": 0.05, "open_bound": "MAR >= 0.35", "closed_bound": "MAR <= 0.1"}
NEW_MOUTH = {**OLD_MOUTH, "ratio": 0.05, "measure": "MAR"}
del NEW_MOUTH["mar"]
ENGINE_IMAGE = {
    "role": "frame",
    "index": 0,
    "face_parameter": "eyes closed",
    "image": {"width": 640, "height": 480},
    "face_outcome": "one_face",
    "face_count": 1,
    "faces": [
        {
            "box": {"left": 10, "top": 20, "right": 110, "bottom": 140},
            "width": 100,
            "height": 120,
            "detection_score": 1.9,
        }
    ],
    "main_face": {
        "box": {"left": 10, "top": 20, "right": 110, "bottom": 140},
        "width": 100,
        "height": 120,
        "detection_score": 1.9,
    },
    "quality": {"face_px": 100, "sharpness": 80.0, "usable": True, "reasons": [], "checks": {}},
    "pose": {"yaw": 1.0, "pitch": 2.0, "roll": 0.5, "fit_error": 0.1, "convention": "degrees"},
    "eyes": {"state": "closed", "ear_image_left": 0.1, "ear_image_right": 0.12, "open_bound": "both EAR >= 0.17"},
    "mouth": {"state": "closed", "mar": 0.05, "open_bound": "MAR >= 0.35", "closed_bound": "MAR <= 0.1"},
    "parameters": {"eyes closed": {"matched": True, "value": {"state": "closed"}, "bound": "both EAR <= 0.14"}},
    "passive": {"available": True, "real_probability": 0.91, "models": {"minifasnet": 0.91}, "crop_scales": {}},
    "parameter_check": {"parameter": "eyes closed", "matched": True, "value": {"state": "closed"}, "bound": "x"},
}


def roundtrip(detail: CheckDetail) -> None:
    stored = dump(detail)
    json.dumps(stored, allow_nan=False)  # what a PostgreSQL jsonb column accepts
    assert load(stored) == detail
    assert dump(load(stored)) == stored


def test_a_riset_row_from_before_the_contract_loads_as_frames_with_their_answers() -> None:
    detail = load(RISET_ROW, kind="active")
    first, second = detail.images
    assert (first.role, first.index, second.index) == ("frame", 0, 1)
    assert first.parameter_check is not None
    assert (first.parameter_check.parameter, first.parameter_check.matched) == ("left", True)
    assert (first.label, first.label_confidence) == ("real", 0.93)
    assert first.eyes == Openness(sides={"left": Openness("open", score=0.99), "right": Openness("open", score=1.0)})
    assert second.parameter_check is not None
    assert second.parameter_check.matched is False
    assert detail.score_method == "frames passed / frames"
    # Nothing the old row held is lost: what the contract does not type is kept as it was.
    assert first.extra["similarity"] == 0.97
    assert detail.extra["frames_passed"] == 1
    roundtrip(detail)


def test_a_riset_selfie_row_from_before_the_contract_is_the_selfie() -> None:
    assert [i.role for i in load(RISET_ROW, kind="selfie").images] == ["selfie", "selfie"]


def test_kairos_and_accura_rows_from_before_the_contract_become_their_one_image() -> None:
    kairos = load(KAIROS_ROW, kind="selfie")
    [image] = kairos.images
    assert (image.role, image.index, image.face_count) == ("selfie", 0, 1)
    assert image.faces == [Face(Box(38.0, 4.0, 57.0, 29.0), detection_score=0.98, width=19.0, height=25.0)]
    assert kairos.extra["api_req_uid"] == "c6bb825f"
    roundtrip(kairos)
    accura = load(ACCURA_ROW, kind="id_document")
    [image] = accura.images
    assert image.role == "id_front"
    assert image.quality is not None
    assert (image.face_found, image.quality.label) == (True, "good")
    roundtrip(accura)


def test_old_engine_eyes_and_mouth_load_as_the_new_shape() -> None:
    [image] = load({"engine": "local", "images": [ENGINE_IMAGE]}).images
    assert image.eyes is not None
    assert image.mouth is not None
    assert image.eyes.measure == "EAR"
    assert (image.eyes.sides["image_left"].ratio, image.eyes.sides["image_right"].ratio) == (0.1, 0.12)
    assert (image.mouth.measure, image.mouth.ratio) == ("MAR", 0.05)
    new_shape = dump(load({"images": [ENGINE_IMAGE]}))["images"][0]
    assert new_shape["eyes"]["image_left"] == {"ratio": 0.1}
    assert new_shape["mouth"]["ratio"] == 0.05
    assert "ear_image_left" not in new_shape["eyes"]


def test_the_new_engine_shapes_load_without_a_misfit() -> None:
    eyes, mouth = NEW_EYES, NEW_MOUTH
    passive = {
        "available": True,
        "real_probability": 0.8,
        "models": {"minifasnet": {"real_probability": 0.9}, "minifas128": {"real_probability": 0.7}},
        "fusion": "mean of 2 models",
    }
    findings = [
        {"code": "identity_mismatch", "message": "frame 3 is someone else", "images": ["frame 3"], "distance": 0.8},
        {"code": "challenge_failed", "message": "4 of 5 frames matched"},
    ]
    raw = {"engine": "local", "images": [{**ENGINE_IMAGE, "eyes": eyes, "mouth": mouth, "passive": passive}]}
    detail = load({**raw, "findings": findings})
    assert detail.problems == []
    assert detail.images[0].eyes is not None
    assert detail.images[0].eyes.sides["image_left"] == Openness("open", ratio=0.254)
    assert detail.images[0].passive is not None
    assert detail.images[0].passive.fusion == "mean of 2 models"
    assert detail.findings[0] == Finding("identity_mismatch", "frame 3 is someone else", ["frame 3"], {"distance": 0.8})
    assert dump(detail)["images"][0]["eyes"] == eyes  # the new shape is the stored shape, unchanged
    roundtrip(detail)


def test_unknown_keys_are_kept_at_every_level() -> None:
    raw = {
        "engine": "local",
        "model_version": "2",
        "images": [{"role": "selfie", "index": 0, "landmarks": 468, "eyes": {"state": "open", "blink": 0.2}}],
        "findings": [{"code": "repeated_frame", "message": "m", "pair": ["frame 0", "frame 1"]}],
    }
    detail = load(raw)
    assert detail.problems == []
    stored = dump(detail)
    assert stored["model_version"] == "2"
    assert stored["images"][0]["landmarks"] == 468
    assert stored["images"][0]["eyes"]["blink"] == 0.2
    assert stored["findings"][0]["pair"] == ["frame 0", "frame 1"]


def test_no_faces_found_differs_from_faces_not_reported() -> None:
    looked = load({"images": [{"role": "selfie", "faces": []}]})
    silent = load({"images": [{"role": "selfie", "face_found": True}]})
    assert (looked.images[0].faces, silent.images[0].faces) == ([], None)
    assert dump(looked)["images"][0]["faces"] == []
    assert "faces" not in dump(silent)["images"][0]


def test_a_misfit_is_noted_and_kept_as_it_came() -> None:
    raw: dict[str, Any] = {
        "images": [{"role": "selfie", "faces": "three", "index": "0", "pose": {"yaw": "left"}}],
        "findings": [{"code": "looks_odd", "message": "?"}],
        "heuristic": "yes",
    }
    detail = load(raw)
    assert len(detail.problems) == 5, detail.problems
    assert any("faces is not a list" in p for p in detail.problems)
    assert any("'looks_odd' is not one of" in p for p in detail.problems)
    stored = dump(detail)
    assert (stored["images"][0]["faces"], stored["images"][0]["index"]) == ("three", "0")
    assert stored["images"][0]["pose"]["yaw"] == "left"
    assert stored["heuristic"] == "yes"
    assert stored["findings"][0]["code"] == "looks_odd"


def test_dump_is_json_safe() -> None:
    detail = CheckDetail(engine="local", components={"nan": math.nan, "pair": ("a", "b")}, images=[ImageDetail()])
    stored = dump(detail)
    json.dumps(stored, allow_nan=False)
    assert stored["components"] == {"nan": "nan", "pair": ["a", "b"]}


def test_each_finding_code_reads_in_plain_words_and_mismatches_are_not_spoofs() -> None:
    assert set(FINDING_CODES) == set(FINDINGS)  # one list of codes: the vocabulary's
    for code in ("face_mismatch", "identity_mismatch"):
        finding = Finding(code)
        assert finding.is_mismatch
        assert finding.plain.startswith("Mismatch:")
        assert "spoof" not in finding.plain.lower()
    assert not Finding("challenge_failed").is_mismatch


# --- at settle time -------------------------------------------------------------------------------------


def test_a_detail_that_fits_is_stored_as_given() -> None:
    raw = {"engine": "local", "images": [ENGINE_IMAGE]}
    assert settle_details(raw, check_id=1) == raw


@pytest.mark.django_db
def test_a_malformed_detail_settles_the_check_with_a_warning_and_loses_nothing(scripted, caplog) -> None:
    malformed = {"images": [{"role": "selfie", "index": 0, "faces": "three"}], "secretish": "vendor text"}
    scripted.script.append(ProviderResult(score=0.93, vendor_label="LIVE", details=malformed))
    with caplog.at_level(logging.WARNING, logger="liveness.providers.details"):
        case = services.case_create(kind="selfie", images=[services.IncomingImage("selfie", image_bytes())]).case
        check = Check.objects.get(case=case)
        services.check_execute(check_id=check.pk)
    check.refresh_from_db()
    # The answer stands: the check succeeded with its score, and the detail is stored as it came.
    assert (check.status, check.score) == (CheckStatus.SUCCEEDED, 0.93)
    assert check.details["images"] == malformed["images"]
    assert check.details["secretish"] == "vendor text"
    assert check.details["contract_problems"] == ["details.images[0].faces is not a list of objects (str)"]
    [record] = [r for r in caplog.records if r.name == "liveness.providers.details"]
    assert f"check {check.pk}" in record.getMessage()
    assert "faces is not a list" in record.getMessage()
    assert "vendor text" not in record.getMessage()  # keys are named, values never logged
