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

from liveness.engine.evaluation import EvaluationInputError, equal_error_rate, read_labels
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
    assert scores["spoof-print"][0] < 0.3
    assert scores["spoof-screen"][0] < 0.3
    assert "id-document" not in scores  # its only image has no face to score


def test_the_command_prints_a_readable_report(small_folder: Path, capsys: pytest.CaptureFixture[str]):
    call_command("evaluate_engine", str(small_folder))
    text = capsys.readouterr().out
    assert "detection rate: 100.0% (8 of 8 images expected to show a face)" in text
    assert "face match: EER 0.00% at distance" in text
    assert "over 2 same-person and 8 different-person pairs" in text
    assert "latency per image: p50" in text
