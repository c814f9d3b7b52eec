"""Face match: the similarity mapping, same-person vs different-person pairs, series consistency."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from liveness.engine.analysis import analyze_rgb
from liveness.engine.match import (
    DECISION_DISTANCE,
    compare_descriptors,
    series_consistency,
    similarity_from_distance,
)
from tests.engine_support import (
    OTHER_DOCUMENT_PORTRAITS,
    UTOPIA_SPECIMENS,
    analysis_of,
    decoded,
    flip,
    labelled,
    transformed,
)


@pytest.mark.parametrize(
    ("distance", "similarity"), [(0.0, 1.0), (0.3, 0.75), (DECISION_DISTANCE, 0.5), (0.9, 0.25), (1.2, 0.0), (2.0, 0.0)]
)
def test_similarity_is_linear_in_distance_with_the_decision_distance_at_one_half(distance: float, similarity: float):
    assert similarity_from_distance(distance) == pytest.approx(similarity)


def test_a_comparison_says_same_person_up_to_the_decision_distance():
    a = np.zeros(128)
    near, far = a.copy(), a.copy()
    near[0], far[0] = DECISION_DISTANCE, DECISION_DISTANCE + 0.01
    assert compare_descriptors(a, near).same_person
    assert not compare_descriptors(a, far).same_person
    assert compare_descriptors(a, far).as_dict()["decision_distance"] == DECISION_DISTANCE


def _unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=128)
    return np.asarray(vector / np.linalg.norm(vector) * 0.2)


def test_series_consistency_names_the_swapped_frame():
    person = _unit(1)
    other = person + 1.0  # far beyond the decision distance
    frames = [("frame 0", person), ("frame 1", person * 1.05), ("frame 2", other), ("frame 3", person * 0.95)]
    result = series_consistency(frames)
    assert not result.consistent
    assert result.outliers() == ["frame 2"]
    worst = result.worst
    assert worst is not None
    assert "frame 2" in worst[:2]
    assert result.similarity is not None
    assert result.similarity < 0.5
    assert result.as_dict()["worst_pair"]["same_person"] is False


def test_a_consistent_series_has_no_outliers():
    person = _unit(2)
    nudge = np.zeros(128)
    nudge[0] = 0.05
    result = series_consistency([("frame 0", person), ("frame 1", person + nudge), ("frame 2", person - nudge)])
    assert result.consistent
    assert result.outliers() == []
    assert result.similarity is not None
    assert result.similarity > 0.9  # the farthest pair is 0.1 apart


# --- On the shared photos (skip without ../shared) -------------------------------------------------


def test_same_person_pairs_are_more_similar_than_different_person_pairs():
    # Up to three photos of each of the 13 people keeps this at ~30 descriptors (dlib's network takes
    # ~0.2 s a face on this CPU); `manage.py evaluate_engine` measures all 59.
    per_person: dict[str, int] = {}
    genuine = []
    for item in labelled("genuine"):
        per_person[item.person_id] = per_person.get(item.person_id, 0) + 1
        if per_person[item.person_id] <= 3:
            genuine.append(item)
    descriptors = []
    for item in genuine:
        descriptor = analysis_of(item.file, max_side=640).face_descriptor()
        assert descriptor is not None, item.file
        descriptors.append((item.person_id, descriptor))
    same: list[float] = []
    different: list[float] = []
    for (person_a, a), (person_b, b) in itertools.combinations(descriptors, 2):
        (same if person_a == person_b else different).append(float(np.linalg.norm(a - b)))
    assert len(same) >= 20
    assert len(different) >= 300
    assert np.median(same) < np.median(different) - 0.3
    # At the documented decision distance: no different-person pair accepted, at most 5% same-person rejected.
    assert sum(d <= DECISION_DISTANCE for d in different) == 0
    assert sum(d > DECISION_DISTANCE for d in same) <= 0.05 * len(same)


def test_a_mirrored_photo_is_still_the_same_person():
    relative = "genuine/face_recognition__examples_knn_examples_test_obama1.jpg"
    original = analysis_of(relative, max_side=640).face_descriptor()
    mirrored = analyze_rgb(transformed(relative, flip, max_side=640), with_passive=False).face_descriptor()
    assert original is not None
    assert mirrored is not None
    assert compare_descriptors(original, mirrored).same_person


def test_the_utopia_specimen_portraits_match_each_other_and_no_other_document():
    # The ICAO "Utopia" specimens print the same holder's portrait, from 43 px to 194 px high.
    specimens = [analysis_of(path).face_descriptor() for path in UTOPIA_SPECIMENS]
    others = [analysis_of(path).face_descriptor() for path in OTHER_DOCUMENT_PORTRAITS]
    assert all(d is not None for d in specimens + others)
    for a, b in itertools.combinations(specimens, 2):
        assert compare_descriptors(a, b).same_person  # type: ignore[arg-type]
    for a, b in itertools.product(specimens, others):
        assert not compare_descriptors(a, b).same_person  # type: ignore[arg-type]


def test_the_descriptor_is_computed_once_and_kept():
    analysis = analyze_rgb(decoded("genuine/face_recognition__examples_obama_small.jpg"), with_passive=False)
    assert analysis.descriptor is None
    first = analysis.face_descriptor()
    assert first is not None
    assert first.shape == (128,)
    assert analysis.face_descriptor() is first
