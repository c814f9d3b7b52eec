"""Face match from dlib's 128-d face descriptors (dlib's ResNet, converted to ONNX and run by onnxruntime).

The network takes a 150x150 face chip that dlib aligns from five landmarks (both corners of each eye, the
base of the nose): ``dlib.get_face_chip(rgb, shape, size=150, padding=0.25)``, the chip dlib's own
``compute_face_descriptor(rgb, shape, 0)`` cuts. The network itself runs in onnxruntime on one thread
(``weights/dlib_resnet/``, converted by ``bench/convert_dlib_descriptor.py``): dlib's build here has no BLAS
and took ~150 ms a face, the ONNX graph ~12 ms, with descriptors equal to dlib's within ~1e-6
(``tests/test_engine_descriptor.py``).

The five points come from the MediaPipe face mesh (:data:`MESH_FIVE_POINTS`), not from dlib's own 5-point
model run on the MediaPipe box: on shared/testdata's 60 genuine photos (169 same-person and 1,601
different-person pairs) the mesh points separate every pair (largest same-person distance 0.630, smallest
different-person distance 0.634: EER 0), while dlib's 5-point model on the same boxes lets one
different-person pair in at 0.614 below the largest same-person distance 0.625 (EER 0.06 %), and a dlib
68-point shape built from mesh points does the same (0.604 / 0.619).

Two faces are the same person when the Euclidean distance between their descriptors is at most
:data:`DECISION_DISTANCE`. dlib publishes 0.6 for this model (99.38 % on LFW); ``manage.py
evaluate_engine`` on shared/testdata put the equal-error distance at 0.630 with no error anywhere between
0.630 and 0.634 (0.624-0.671 with the former dlib landmarks); since the working copy is resized on exact
multiples (mediapipe.shrink) one same-person pair sits at 0.637 (EER 0.06 %, README, engine section). 0.6 is kept.

The distance is shown to people as a 0..1 similarity, linear in the distance and anchored so that the
decision distance is exactly 0.5: ``similarity = clamp(1 - distance / (2 * DECISION_DISTANCE), 0, 1)``.
Identical descriptors give 1.0; 0.6 gives 0.5; 1.2 and beyond give 0.0. Similarity >= 0.5 therefore
means "same person" by the documented rule, whatever threshold a provider applies on top.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .models import load_models

if TYPE_CHECKING:
    from .analysis import Face

#: Mesh indices in the order of dlib's 5-point layout: the eye on the image's right (outer, inner corner),
#: the eye on the image's left (outer, inner corner), the base of the nose.
MESH_FIVE_POINTS = (263, 362, 33, 133, 2)

DECISION_DISTANCE = 0.6
DESCRIPTOR_SIZE = 128
#: dlib's face chip: 150x150 pixels, the face's five points mapped onto its template with 25 % padding.
CHIP_SIDE = 150
CHIP_PADDING = 0.25


def alignment_shape(face: Face) -> Any:
    """dlib's full_object_detection of ``face``: its box and the five mesh points dlib aligns the chip on."""
    import dlib

    if face.landmarks is None:
        raise ValueError("the face has no landmarks to align on")
    points = [dlib.point(round(float(x)), round(float(y))) for x, y in face.landmarks[list(MESH_FIVE_POINTS)]]
    return dlib.full_object_detection(dlib.rectangle(*face.box), points)


def face_chip(rgb: np.ndarray, face: Face) -> np.ndarray:
    """dlib's aligned 150x150 RGB chip of ``face`` (uint8, height x width x 3), as dlib's descriptor cuts it."""
    import dlib

    return np.asarray(dlib.get_face_chip(rgb, alignment_shape(face), size=CHIP_SIDE, padding=CHIP_PADDING))


def face_descriptor(rgb: np.ndarray, face: Face) -> np.ndarray:
    """The 128-d descriptor of ``face`` (with its mesh landmarks) in ``rgb``: one pass, no jitter.

    onnxruntime's ``run`` is thread-safe: no lock (tests/test_engine_concurrency.py).
    """
    chip = face_chip(rgb, face)
    tensor = np.ascontiguousarray(chip.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)  # NCHW, RGB 0..255
    session = load_models().descriptor
    vector = session.run(None, {session.get_inputs()[0].name: tensor})[0][0]
    return np.asarray(vector, dtype=np.float64)


def descriptor_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def similarity_from_distance(distance: float) -> float:
    return float(min(1.0, max(0.0, 1.0 - distance / (2.0 * DECISION_DISTANCE))))


@dataclass(frozen=True)
class FaceComparison:
    distance: float

    @property
    def similarity(self) -> float:
        return similarity_from_distance(self.distance)

    @property
    def same_person(self) -> bool:
        return self.distance <= DECISION_DISTANCE

    def as_dict(self) -> dict[str, Any]:
        return {
            "distance": round(self.distance, 4),
            "similarity": round(self.similarity, 4),
            "same_person": self.same_person,
            "decision_distance": DECISION_DISTANCE,
        }


def compare_descriptors(a: np.ndarray, b: np.ndarray) -> FaceComparison:
    return FaceComparison(distance=descriptor_distance(a, b))


@dataclass(frozen=True)
class SeriesConsistency:
    """Identity across the frames of one series: the most different pair decides."""

    labels: tuple[str, ...]
    #: (label a, label b, comparison) for every pair of frames.
    pairs: tuple[tuple[str, str, FaceComparison], ...]

    @property
    def worst(self) -> tuple[str, str, FaceComparison] | None:
        return max(self.pairs, key=lambda pair: pair[2].distance) if self.pairs else None

    @property
    def consistent(self) -> bool:
        return all(comparison.same_person for _, _, comparison in self.pairs)

    @property
    def similarity(self) -> float | None:
        worst = self.worst
        return worst[2].similarity if worst else None

    def outliers(self) -> list[str]:
        """Frames that match fewer than half of the others: the likely swapped-in face."""
        if len(self.labels) < 3:
            return [] if self.consistent else list(self.labels)
        mismatches = dict.fromkeys(self.labels, 0)
        for a, b, comparison in self.pairs:
            if not comparison.same_person:
                mismatches[a] += 1
                mismatches[b] += 1
        others = len(self.labels) - 1
        return [label for label, count in mismatches.items() if count * 2 > others]

    def as_dict(self) -> dict[str, Any]:
        worst = self.worst
        return {
            "frames": list(self.labels),
            "consistent": self.consistent,
            "worst_pair": ({"frames": [worst[0], worst[1]], **worst[2].as_dict()} if worst is not None else None),
            "outliers": self.outliers(),
            "pairs": [{"frames": [a, b], "distance": round(c.distance, 4)} for a, b, c in self.pairs],
            "decision_distance": DECISION_DISTANCE,
        }


def series_consistency(descriptors: Sequence[tuple[str, np.ndarray]]) -> SeriesConsistency:
    """Compare every frame with every other (n is small: a series holds at most a few dozen frames)."""
    pairs = tuple(
        (label_a, label_b, compare_descriptors(desc_a, desc_b))
        for (label_a, desc_a), (label_b, desc_b) in itertools.combinations(descriptors, 2)
    )
    return SeriesConsistency(labels=tuple(label for label, _ in descriptors), pairs=pairs)
