"""``manage.py evaluate_engine``: the metrics, the EER computation, the JSON and text outputs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from liveness.engine import pad_metrics
from liveness.engine.evaluation import (
    EvaluationInputError,
    ImageResult,
    LabelledImage,
    equal_error_rate,
    label_parameters,
    pad_report,
    parameter_report,
    read_labels,
)
from liveness.providers.local import LocalEngineProvider
from liveness.vocabulary import FACE_PARAMETERS
from tests.engine_support import BIDEN, OBAMA_FRONTAL, OBAMA_TURNED_TO_HIS_LEFT, require_passive_models
from tests.helpers import LIVE_SAMPLE, PRINT_ATTACK, SCREEN_ATTACK, TWO_PEOPLE, require_testdata


def test_the_eer_is_where_false_accepts_equal_false_rejects():
    eer = equal_error_rate(same=[0.1, 0.2, 0.3, 0.5], different=[0.4, 0.7, 0.8, 0.9])
    assert eer.eer == pytest.approx(0.25)
    assert eer.distance == pytest.approx(0.4)


def test_separable_pairs_have_a_zero_eer_at_the_farthest_same_pair():
    eer = equal_error_rate(same=[0.1, 0.35], different=[0.8, 0.9])
    assert (eer.eer, eer.distance) == (0.0, 0.35)
    assert (eer.far_at_decision, eer.frr_at_decision) == (0.0, 0.0)


def test_the_eer_interpolates_between_neighbouring_bounds():
    # FRR - FAR goes from +0.5 (bound 0.3) to -0.5 (bound 0.5): the crossing is half-way.
    eer = equal_error_rate(same=[0.1, 0.5], different=[0.3, 0.9])
    assert eer.eer == pytest.approx(0.5)
    assert 0.3 <= eer.distance <= 0.5


def test_the_eer_needs_both_kinds_of_pairs():
    with pytest.raises(ValueError, match="at least one"):
        equal_error_rate(same=[], different=[0.5])


def test_a_folder_without_labels_is_refused(tmp_path: Path):
    with pytest.raises(EvaluationInputError, match=r"labels\.csv"):
        read_labels(tmp_path)
    (tmp_path / "labels.csv").write_text("file,label\na.jpg,genuine\n")
    with pytest.raises(EvaluationInputError, match="person_id"):
        read_labels(tmp_path)


def test_the_command_refuses_a_missing_folder():
    with pytest.raises(CommandError, match="no such folder"):
        call_command("evaluate_engine", "/nonexistent/folder")


@pytest.mark.parametrize("max_side", ["0", "-640"])
def test_it_refuses_a_detection_size_that_is_not_positive(tmp_path: Path, max_side: str):
    (tmp_path / "labels.csv").write_text("file,label,person_id\n")
    with pytest.raises(CommandError, match="--max-side must be a positive number of pixels"):
        call_command("evaluate_engine", str(tmp_path), f"--max-side={max_side}")


def test_the_command_explains_a_folder_without_labels(tmp_path: Path):
    with pytest.raises(CommandError, match=r"labels\.csv"):
        call_command("evaluate_engine", str(tmp_path))


def test_it_reports_an_undecodable_image_and_carries_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a JPEG")
    Image.new("RGB", (320, 240), (128, 128, 128)).save(tmp_path / "blank.png")
    (tmp_path / "labels.csv").write_text("file,label,person_id\nbroken.jpg,genuine,a\nblank.png,genuine,b\n")
    out = io.StringIO()
    call_command("evaluate_engine", str(tmp_path), "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["images"] == 2
    assert [u["file"] for u in report["unreadable"]] == ["broken.jpg"]
    assert report["unreadable"][0]["error"].startswith("undecodable: ")
    assert report["detection"]["missed"] == ["blank.png"]  # the readable image was still analysed
    call_command("evaluate_engine", str(tmp_path))
    assert "  unreadable: broken.jpg (undecodable: " in capsys.readouterr().out


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A labels.csv naming a few shared images by absolute path (nothing is copied)."""
    shared = require_testdata()
    tmp_path = tmp_path_factory.mktemp("labelled")
    rows = [
        (OBAMA_FRONTAL, "genuine", "obama", ""),
        (OBAMA_TURNED_TO_HIS_LEFT, "genuine", "obama", ""),
        (BIDEN, "genuine", "biden", ""),
        ("genuine/face_recognition__examples_biden.jpg", "genuine", "biden", ""),
        (LIVE_SAMPLE, "genuine", "minivision-T1", ""),
        (PRINT_ATTACK, "spoof-print", "unknown", ""),
        (SCREEN_ATTACK, "spoof-screen", "unknown", ""),
        (TWO_PEOPLE, "other-multiface", "unlabeled", ""),
        ("id-documents/PassportEye__passporteye_mrz_testdata_0_id-esp.png", "id-document", "specimen", "portrait: no"),
        ("genuine/does-not-exist.jpg", "genuine", "ghost", ""),
    ]
    with (tmp_path / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label", "person_id", "notes"])
        for relative, label, person, notes in rows:
            writer.writerow([str(shared / relative), label, person, notes])
    return tmp_path


@pytest.fixture(scope="module")
def json_report(small_folder: Path) -> dict[str, Any]:
    out = io.StringIO()
    call_command("evaluate_engine", str(small_folder), "--json", stdout=out)
    report: dict[str, Any] = json.loads(out.getvalue())
    return report


def test_the_command_prints_the_metrics_as_json(json_report: dict[str, Any]):
    report = json_report
    assert report["images"] == 10
    assert [u["file"].rsplit("/", 1)[-1] for u in report["unreadable"]] == ["does-not-exist.jpg"]
    assert report["detection_rate"] == 1.0  # 8 images expected to show a face, all found
    assert report["detection"]["per_label"]["other-multiface"]["several_faces"] == 1
    assert report["detection"]["per_label"]["id-document"]["no_face"] == 1
    assert report["pairs"] == {"same": 2, "different": 8}
    assert report["eer"] == 0.0
    assert 0.0 < report["eer_distance"] <= 0.6
    assert report["match"]["different_distance"]["min"] > report["match"]["same_distance"]["max"]
    assert set(report["latency_ms"]) == {"p50", "p95"}
    assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p95"]


def test_the_passive_scores_are_grouped_by_label(json_report: dict[str, Any]):
    require_passive_models()
    scores = json_report["attack_scores"]
    assert len(scores["genuine"]) == 5
    # Both attacks are refused at the local engine's default threshold (the tablet replay is the closest).
    threshold = LocalEngineProvider.default_threshold
    assert scores["spoof-print"][0] < threshold
    assert scores["spoof-screen"][0] < threshold
    assert "id-document" not in scores  # its only image has no face to score


def test_the_command_prints_a_readable_report(small_folder: Path, capsys: pytest.CaptureFixture[str]):
    call_command("evaluate_engine", str(small_folder))
    text = capsys.readouterr().out
    assert "detection rate: 100.0% (8 of 8 images expected to show a face)" in text
    assert "face match: EER 0.00% at distance" in text
    assert "over 2 same-person and 8 different-person pairs" in text
    assert "latency per image: p50" in text


# --- ISO/IEC 30107-3 names, active parameters, synthetic checks, the plot --------------------------------


def test_apcer_and_bpcer_count_accepted_attacks_and_refused_bona_fide():
    assert pad_metrics.apcer([0.1, 0.6, 0.7, 0.2], threshold=0.5) == 0.5
    assert pad_metrics.bpcer([0.9, 0.4, 0.8, 0.95], threshold=0.5) == 0.25
    # At the threshold exactly a score is accepted (score >= threshold), as the policy does.
    assert (pad_metrics.apcer([0.5], 0.5), pad_metrics.bpcer([0.5], 0.5)) == (1.0, 0.0)
    assert pad_metrics.apcer([], 0.5) is None


def test_the_bpcer_5_threshold_refuses_at_most_5_percent_of_bona_fide():
    bona_fide = [i / 100 for i in range(1, 101)]  # 0.01 .. 1.00
    threshold = pad_metrics.threshold_for_bpcer(bona_fide)
    assert threshold is not None
    assert threshold == pytest.approx(0.06)
    assert pad_metrics.bpcer(bona_fide, threshold) == pytest.approx(0.05)
    assert (pad_metrics.bpcer(bona_fide, threshold + 0.01) or 0.0) > 0.05  # and it is the highest such threshold
    assert pad_metrics.threshold_for_bpcer([0.7, 0.8]) == 0.7  # 5 % of 2 refuses none


@pytest.mark.parametrize(
    ("label", "kind"), [("spoof-print", "print"), ("spoof-mask", "mask"), ("genuine", None), ("id-document", None)]
)
def test_attack_types_come_from_the_label(label: str, kind: str | None):
    assert pad_metrics.attack_type(label) == kind


@pytest.mark.parametrize(
    ("label", "notes", "column", "expected"),
    [
        ("genuine eyes_closed", "", "", ("eyes closed",)),
        ("genuine", "subject has eyes_closed and mouth_open", "", ("eyes closed", "mouth open")),
        ("genuine", "turned to the left", "", ()),  # ordinary words in notes are not read
        ("genuine", "", "left;mouth_open", ("left", "mouth open")),
        ("spoof-print", "", "", ()),
    ],
)
def test_the_label_vocabulary_names_the_parameters_a_photo_shows(label, notes, column, expected):
    assert label_parameters(label, notes, column) == expected


def _result(file: str, label: str, score: float | None, **extra: Any) -> ImageResult:
    item = LabelledImage(file, label, "p", parameters=label_parameters(label))
    return ImageResult(
        item, face_count=1 if score is not None else 0, latency_ms=1.0, passive=score, score=score, **extra
    )


def test_unscored_images_are_counted_apart_never_as_refused():
    results = [
        _result("a.jpg", "genuine", 0.9),
        _result("b.jpg", "genuine", 0.3),
        _result("c.jpg", "genuine", None, score_reason="no_face (selfie)"),
        _result("d.jpg", "spoof-print", 0.7),
        _result("e.jpg", "spoof-screen", 0.1),
        _result("f.jpg", "spoof-screen", None, score_reason="poor_quality (selfie: blurred)"),
    ]
    pad = pad_report(results, threshold=0.5)
    assert (pad["bona_fide"], pad["attacks"]) == (2, {"print": 1, "screen": 1})
    assert pad["at_threshold"] == {
        "threshold": 0.5,
        "bpcer": 0.5,
        "apcer": {"print": 1.0, "screen": 0.0, "all": 0.5},
    }
    assert pad["not_scored"] == {"genuine": 1, "spoof-screen": 1}
    assert pad["not_scored_files"]["genuine"] == [{"file": "c.jpg", "reason": "no_face (selfie)"}]


def test_active_parameters_are_right_wrong_or_undecided():
    all_no = dict.fromkeys(FACE_PARAMETERS, False)
    results = [
        _result("1.jpg", "genuine eyes_closed", 0.9, answers={**all_no, "eyes closed": True}),
        _result("2.jpg", "genuine eyes_closed", 0.9, answers={**all_no, "eyes open": True}),
        _result("3.jpg", "genuine eyes_closed", 0.9, answers=all_no),  # uncertain: neither state
        _result("4.jpg", "genuine eyes_closed", None),  # no face
        _result("5.jpg", "genuine left", 0.9, answers={**all_no, "front": True}),
    ]
    report = parameter_report(results)
    assert report["per_parameter"]["eyes closed"] == {"right": 1, "wrong": 1, "undecided": 2, "wrong_files": ["2.jpg"]}
    assert report["per_parameter"]["left"]["wrong"] == 1
    assert (report["right"], report["wrong"], report["undecided"], report["right_rate"]) == (1, 2, 2, 0.2)


def test_the_report_has_the_standard_sections_and_the_synthetic_pose_checks(json_report: dict[str, Any]):
    pad = json_report["pad"]
    assert pad["at_threshold"]["threshold"] == 0.5
    assert set(pad["attacks"]) == {"print", "screen"}
    assert pad["at_bpcer_5"]["bpcer"] <= 0.05
    mirror = json_report["synthetic"]["mirror"]
    assert mirror["faces"] >= 1
    assert mirror["yaw_sign_flipped"] == mirror["faces"]  # a mirrored face turns the other way
    rotation = json_report["synthetic"]["rotation"]
    assert rotation["faces"] >= 4
    assert rotation["median_roll_error"] < 3.0  # rotating the picture by 10° adds 10° of roll


def test_the_plot_draws_a_png(small_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    target = tmp_path / "det.png"
    call_command("evaluate_engine", str(small_folder), "--no-synthetic", f"--plot={target}")
    with Image.open(target) as image:
        assert image.format == "PNG"
        assert image.width >= 800
    assert "APCER print" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["--threshold=1.5", "--plot=/nonexistent/dir/det.png", "--plot=out.jpg"])
def test_bad_options_are_refused(small_folder: Path, bad: str):
    with pytest.raises(CommandError):
        call_command("evaluate_engine", str(small_folder), bad)
