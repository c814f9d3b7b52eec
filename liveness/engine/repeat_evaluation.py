"""How well the repeat-face search works on a labelled folder (``manage.py evaluate_repeats``).

Every genuine image is a query against a gallery of every other image with a face, through the portal's own
index (:class:`~liveness.engine.face_index.FaceIndex`) at the given distance:

- **recall**: of the genuine images whose person has another genuine image with a face, the share whose
  search finds at least one image of the same person;
- **false matches**: query hits on another person (a different person id, or an ID-document specimen),
  counted per query and as distinct image pairs;
- hits on images of unknown identity (spoof samples: they may show one of the genuine people) are listed
  apart and counted as neither.

No Django here; the command reads the folder and computes the descriptors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .face_index import FaceIndex


@dataclass(frozen=True)
class Sample:
    file: str
    label: str
    #: Same string = same person; None = unknown identity (neither same nor different).
    person: str | None
    descriptor: np.ndarray | None


@dataclass
class RepeatReport:
    distance: float
    gallery: int
    queries: int
    no_face: list[str] = field(default_factory=list)
    eligible: int = 0
    found: int = 0
    #: (query, nearest same-person image, its distance) for eligible queries that found nobody.
    misses: list[tuple[str, str, float]] = field(default_factory=list)
    queries_with_false_match: int = 0
    #: Distinct unordered pairs of different people within the distance: (a, b, distance).
    false_pairs: list[tuple[str, str, float]] = field(default_factory=list)
    unknown_hits: list[tuple[str, str, float]] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        return self.found / self.eligible if self.eligible else None

    @property
    def false_match_rate(self) -> float | None:
        """Share of queries with at least one false match."""
        return self.queries_with_false_match / self.queries if self.queries else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "distance": self.distance,
            "gallery": self.gallery,
            "queries": self.queries,
            "no_face": self.no_face,
            "eligible": self.eligible,
            "found": self.found,
            "recall": None if self.recall is None else round(self.recall, 4),
            "misses": [{"query": q, "nearest_same_person": n, "distance": round(d, 4)} for q, n, d in self.misses],
            "queries_with_false_match": self.queries_with_false_match,
            "false_match_rate": None if self.false_match_rate is None else round(self.false_match_rate, 4),
            "false_pairs": [{"a": a, "b": b, "distance": round(d, 4)} for a, b, d in self.false_pairs],
            "unknown_identity_hits": [{"query": q, "hit": h, "distance": round(d, 4)} for q, h, d in self.unknown_hits],
        }


def evaluate_repeats(samples: Sequence[Sample], *, distance: float) -> RepeatReport:
    with_face = [s for s in samples if s.descriptor is not None]
    index = FaceIndex()
    if with_face:
        vectors = [s.descriptor for s in with_face if s.descriptor is not None]
        index.add(0, list(range(len(with_face))), np.vstack(vectors))
    genuine = [s for s in samples if s.label == "genuine"]
    report = RepeatReport(distance=distance, gallery=len(with_face), queries=0)
    report.no_face = [s.file for s in genuine if s.descriptor is None]
    false_pairs: dict[tuple[str, str], float] = {}
    for key, query in enumerate(with_face):
        if query.label != "genuine":
            continue
        report.queries += 1
        hits = index.search(query.descriptor, radius=distance, exclude=[key], limit=len(with_face))  # type: ignore[arg-type]
        same = [
            other
            for other in with_face
            if other is not query and other.label == "genuine" and query.person and other.person == query.person
        ]
        hit_samples = [(with_face[h.key], h.distance) for h in hits]
        if same:
            report.eligible += 1
            if any(s.person == query.person and s.label == "genuine" for s, _ in hit_samples):
                report.found += 1
            else:
                nearest = min(same, key=lambda s: float(np.linalg.norm(s.descriptor - query.descriptor)))  # type: ignore[operator]
                report.misses.append(
                    (query.file, nearest.file, float(np.linalg.norm(nearest.descriptor - query.descriptor)))  # type: ignore[operator]
                )
        false_here = False
        for other, dist in hit_samples:
            if other.person is None:
                report.unknown_hits.append((query.file, other.file, dist))
            elif other.person != query.person:
                false_here = True
                pair = (min(query.file, other.file), max(query.file, other.file))
                false_pairs[pair] = dist
        report.queries_with_false_match += false_here
    report.false_pairs = sorted(((a, b, d) for (a, b), d in false_pairs.items()), key=lambda item: item[2])
    return report


def format_reports(reports: Sequence[RepeatReport]) -> str:
    lines = ["Repeat-face search (every genuine image against every other image with a face)"]
    for r in reports:
        recall = "n/a" if r.recall is None else f"{100 * r.recall:.1f} %"
        rate = "n/a" if r.false_match_rate is None else f"{100 * r.false_match_rate:.1f} %"
        lines.append(
            f"  distance {r.distance:.2f}: recall {r.found}/{r.eligible} = {recall}; "
            f"queries with a false match {r.queries_with_false_match}/{r.queries} = {rate}; "
            f"false pairs {len(r.false_pairs)}; hits on unknown-identity images {len(r.unknown_hits)}"
        )
    main = reports[0] if reports else None
    if main is not None:
        lines.append(f"  gallery {main.gallery} images with a face; genuine without a face: {len(main.no_face)}")
        for query, nearest, dist in main.misses:
            lines.append(f"  missed at {main.distance:.2f}: {query} (nearest same person {nearest} at {dist:.3f})")
        for a, b, dist in main.false_pairs:
            lines.append(f"  false match at {main.distance:.2f}: {a} ~ {b} ({dist:.3f})")
    return "\n".join(lines)
