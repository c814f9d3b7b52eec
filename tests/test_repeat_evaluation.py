"""``evaluate_repeats``: recall and false matches of the repeat-face search on a labelled folder."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from liveness.engine.repeat_evaluation import Sample, evaluate_repeats
from tests.helpers import require_testdata


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128)
    return v / np.linalg.norm(v)


def test_recall_and_false_matches_are_counted_per_query_and_per_pair():
    a = unit(1)
    samples = [
        Sample("a1.jpg", "genuine", "A", a),
        Sample("a2.jpg", "genuine", "A", a + 0.3 * unit(2)),
        Sample("a3.jpg", "genuine", "A", a + 1.5 * unit(3)),  # too far: a miss
        Sample("b1.jpg", "genuine", "B", unit(4)),  # alone: not eligible for recall
        Sample("doc.png", "id-document", "document:doc.png", a + 0.1 * unit(5)),  # another person, close to A
        Sample("spoof.jpg", "spoof-print", None, a + 0.2 * unit(6)),  # unknown identity
        Sample("noface.jpg", "genuine", "C", None),
    ]
    report = evaluate_repeats(samples, distance=0.6)
    assert (report.gallery, report.queries, report.no_face) == (6, 4, ["noface.jpg"])
    assert (report.eligible, report.found) == (3, 2)
    assert [m[0] for m in report.misses] == ["a3.jpg"]
    assert report.queries_with_false_match == 2  # a1 and a2 both hit the document
    assert {(a, b) for a, b, _ in report.false_pairs} == {("a1.jpg", "doc.png"), ("a2.jpg", "doc.png")}
    assert {(q, h) for q, h, _ in report.unknown_hits} == {("a1.jpg", "spoof.jpg"), ("a2.jpg", "spoof.jpg")}
    assert report.as_dict()["recall"] == pytest.approx(2 / 3, abs=1e-4)


def test_the_command_on_real_photos(tmp_path):
    pytest.importorskip("dlib")
    source = require_testdata()
    rows = [
        ("genuine/face_recognition__examples_biden.jpg", "genuine", "biden"),
        ("genuine/face_recognition__examples_knn_examples_train_biden_biden2.jpg", "genuine", "biden"),
        ("genuine/face_recognition__examples_obama-480p.jpg", "genuine", "obama"),
    ]
    (tmp_path / "genuine").mkdir()
    for file, _, _ in rows:
        shutil.copy(source / file, tmp_path / file)
    (tmp_path / "labels.csv").write_text(
        "file,label,person_id\n" + "".join(f"{f},{label},{p}\n" for f, label, p in rows), encoding="utf-8"
    )
    out = io.StringIO()
    call_command("evaluate_repeats", str(tmp_path), "--json", "--distance", "0.6", stdout=out)
    (report,) = json.loads(out.getvalue())
    assert (report["eligible"], report["found"], report["queries"]) == (2, 2, 3)
    assert report["false_pairs"] == []


def test_the_command_refuses_a_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="no such folder"):
        call_command("evaluate_repeats", str(tmp_path / "absent"))
    with pytest.raises(CommandError, match=r"labels\.csv"):
        call_command("evaluate_repeats", str(tmp_path))
