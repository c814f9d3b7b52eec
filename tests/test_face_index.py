"""The exact face index (liveness/engine/face_index.py) and the policy's case-level findings."""

from __future__ import annotations

import numpy as np
import pytest

from liveness import policy
from liveness.engine.face_index import FaceIndex
from liveness.models import CheckOutcome, Verdict


def brute_force(matrix: np.ndarray, keys: list[int], query: np.ndarray, radius: float) -> list[tuple[int, float]]:
    distances = np.linalg.norm(matrix.astype(np.float64) - query, axis=1)
    return sorted(((k, float(d)) for k, d in zip(keys, distances, strict=True) if d <= radius), key=lambda x: x[1])


def test_the_index_finds_exactly_what_brute_force_finds():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 128)) * 0.09  # dlib-like scale: unit-ish norms, people ~0.9 apart
    matrix = np.vstack([c + rng.normal(size=(30, 128)) * 0.025 for c in centres]).astype(np.float32)
    keys = list(range(1000, 1000 + len(matrix)))
    index = FaceIndex()
    for start in range(0, len(matrix), 70):  # appended in chunks, as the worker does
        index.add("p", keys[start : start + 70], matrix[start : start + 70])
    assert len(index) == len(matrix)
    for q in (0, 31, 599):
        query = matrix[q].astype(np.float64) + rng.normal(size=128) * 0.01
        expected = brute_force(matrix, keys, query, 0.6)
        hits = index.search(query, radius=0.6, limit=1000)
        assert [h.key for h in hits] == [k for k, _ in expected]
        assert [h.distance for h in hits] == pytest.approx([d for _, d in expected], abs=1e-4)


def test_partitions_exclusions_removal_and_re_adding():
    v = np.eye(128, dtype=np.float32)
    index = FaceIndex()
    index.add(1, [1, 2], v[[0, 1]])
    index.add(2, [3], v[[0]])
    index.add(2, [3], v[[5]])  # a present key is skipped, not duplicated
    assert {h.key for h in index.search(v[0], radius=0.1)} == {1, 3}
    assert [h.key for h in index.search(v[0], radius=0.1, partitions=[2])] == [3]
    assert [h.key for h in index.search(v[0], radius=0.1, partitions=[1], exclude=[1])] == []
    assert index.remove([1, 42]) == 1
    assert [h.key for h in index.search(v[0], radius=0.1)] == [3]
    assert [h.key for h in index.search(v[1], radius=0.1)] == [2]  # the moved row still answers
    assert 1 not in index
    assert 2 in index
    with pytest.raises(ValueError, match="keys for"):
        index.add(1, [9, 10], v[[0]])


LIVE_CHECK = policy.CheckView("local", CheckOutcome.PASS)


def test_case_findings_send_a_passing_case_to_review():
    decision = policy.decide([LIVE_CHECK], None, ("repeat_face",))
    assert (decision.verdict, decision.codes, decision.reasons) == (
        Verdict.NEEDS_REVIEW, ("repeat_face",), ("face search: repeat_face",),
    )  # fmt: skip


def test_a_case_finding_configured_as_spoof_refuses_whatever_the_checks_say():
    verdicts = {"repeat_face": "needs_review", "blocklisted_face": "spoof"}
    decision = policy.decide([LIVE_CHECK], verdicts, ("repeat_face", "blocklisted_face"))
    assert decision.verdict == Verdict.SPOOF
    assert decision.codes == ("repeat_face", "blocklisted_face")


def test_the_checks_reasons_follow_the_case_findings():
    borderline = policy.CheckView("local", CheckOutcome.BORDERLINE)
    decision = policy.decide([borderline], None, ("repeat_face",))
    assert decision.codes == ("repeat_face", "borderline")
    assert policy.decide([LIVE_CHECK], None, ()).verdict == Verdict.LIVE
