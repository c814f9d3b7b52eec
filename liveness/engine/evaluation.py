"""Run the engine over a labelled folder and measure it: detection, face match, passive scores, latency.

The folder holds images and a ``labels.csv`` in the format of shared/testdata: at least the columns
``file`` (path relative to the folder), ``label`` and ``person_id``; ``notes`` is read for ID documents
("portrait: no" marks a document image that shows no face).

- detection rate: the share of images expected to show a face in which at least one face was found;
  expected = every image except ID documents whose notes say "portrait: no".
- face match: every pair of ``genuine`` images with a face, same ``person_id`` = same person; the
  equal-error rate (EER) is where the share of different-person pairs accepted (FAR) equals the share of
  same-person pairs rejected (FRR) as the distance bound moves; the distance there is reported with it.
- passive scores: the MiniFASNet real-probability of each image's main face, grouped by label.
- latency: wall time of one full analysis per image (decode, detect, landmarks, quality, pose, passive
  model, descriptor), p50 and p95.
"""

from __future__ import annotations

import csv
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from .analysis import analyze_image
from .match import DECISION_DISTANCE, descriptor_distance
from .models import load_models

GENUINE_LABEL = "genuine"
#: What Pillow raises for a file that is not a (complete, sane) image.
UNDECODABLE = (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError)


class EvaluationInputError(ValueError):
    """The folder is not a labelled folder this command can read."""


@dataclass(frozen=True)
class LabelledImage:
    file: str
    label: str
    person_id: str
    notes: str = ""

    @property
    def expects_face(self) -> bool:
        return "portrait: no" not in self.notes.lower()


@dataclass
class ImageResult:
    item: LabelledImage
    face_count: int
    latency_ms: float
    passive: float | None
    descriptor: np.ndarray | None = field(default=None, repr=False)
    error: str = ""


@dataclass(frozen=True)
class EqualErrorRate:
    eer: float
    distance: float
    far_at_decision: float
    frr_at_decision: float


def read_labels(folder: Path) -> list[LabelledImage]:
    labels = folder / "labels.csv"
    if not labels.is_file():
        raise EvaluationInputError(f"{labels} not found: the folder needs a labels.csv (file,label,person_id,...)")
    with labels.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "label", "person_id"} - set(reader.fieldnames or [])
        if missing:
            raise EvaluationInputError(f"{labels} lacks the column(s) {', '.join(sorted(missing))}")
        return [
            LabelledImage(
                file=row["file"], label=row["label"], person_id=row["person_id"], notes=row.get("notes") or ""
            )
            for row in reader
            if row.get("file")
        ]


def equal_error_rate(same: list[float], different: list[float]) -> EqualErrorRate:
    """EER over distance bounds: accept a pair when its distance <= the bound.

    The bound is swept over every observed distance; the EER is read where FRR - FAR changes sign,
    interpolated linearly between the two neighbouring bounds.
    """
    if not same or not different:
        raise ValueError("the EER needs at least one same-person and one different-person pair")
    same_arr, diff_arr = np.sort(np.asarray(same)), np.sort(np.asarray(different))

    def rates(bound: float) -> tuple[float, float]:
        far = float(np.searchsorted(diff_arr, bound, side="right")) / diff_arr.size
        frr = 1.0 - float(np.searchsorted(same_arr, bound, side="right")) / same_arr.size
        return far, frr

    bounds = np.unique(np.concatenate([same_arr, diff_arr, [0.0]]))
    previous: tuple[float, float, float] | None = None
    eer, at = 1.0, float(bounds[-1])
    for bound in bounds:
        far, frr = rates(float(bound))
        if frr <= far:
            if previous is None:
                eer, at = (far + frr) / 2, float(bound)
            else:
                prev_bound, prev_far, prev_frr = previous
                gap_prev, gap_now = prev_frr - prev_far, far - frr
                weight = gap_prev / (gap_prev + gap_now) if gap_prev + gap_now > 0 else 0.5
                eer = prev_far + weight * (far - prev_far)
                at = prev_bound + weight * (float(bound) - prev_bound)
            break
        previous = (float(bound), far, frr)
    far_d, frr_d = rates(DECISION_DISTANCE)
    return EqualErrorRate(eer=eer, distance=at, far_at_decision=far_d, frr_at_decision=frr_d)


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def evaluate_folder(
    folder: Path, *, max_side: int = 1024, progress: Callable[[ImageResult], None] | None = None
) -> dict[str, Any]:
    """Analyse every labelled image once and return the report (plain data, JSON-serialisable)."""
    items = read_labels(folder)
    models = load_models()  # loaded before timing starts: latency is per image, not per process
    results: list[ImageResult] = []
    for item in items:
        path = folder / item.file
        try:
            content = path.read_bytes()
        except OSError as exc:
            result = ImageResult(item, face_count=0, latency_ms=0.0, passive=None, error=f"unreadable: {exc}")
        else:
            started = time.perf_counter()
            try:
                analysis = analyze_image(content, max_side=max_side, with_descriptor=True)
            except UNDECODABLE as exc:
                # One bad file in a labelled folder is reported with the others, not a traceback.
                result = ImageResult(item, face_count=0, latency_ms=0.0, passive=None, error=f"undecodable: {exc}")
            else:
                latency = (time.perf_counter() - started) * 1000
                passive = analysis.passive or {}
                result = ImageResult(
                    item,
                    face_count=len(analysis.faces),
                    latency_ms=latency,
                    passive=float(passive["real_probability"]) if passive.get("available") else None,
                    descriptor=analysis.descriptor,
                )
        results.append(result)
        if progress is not None:
            progress(result)
    return build_report(results, passive_models=[m.name for m in models.passive], max_side=max_side)


def build_report(results: list[ImageResult], *, passive_models: list[str], max_side: int) -> dict[str, Any]:
    read = [r for r in results if not r.error]
    expected = [r for r in read if r.item.expects_face]
    found = [r for r in expected if r.face_count > 0]
    per_label: dict[str, dict[str, int]] = {}
    for r in read:
        entry = per_label.setdefault(r.item.label, {"images": 0, "no_face": 0, "one_face": 0, "several_faces": 0})
        entry["images"] += 1
        entry["no_face" if r.face_count == 0 else "one_face" if r.face_count == 1 else "several_faces"] += 1

    genuine = [
        (r.item.person_id, r.descriptor) for r in read if r.item.label == GENUINE_LABEL and r.descriptor is not None
    ]
    same: list[float] = []
    different: list[float] = []
    for (person_a, descriptor_a), (person_b, descriptor_b) in itertools.combinations(genuine, 2):
        distance = descriptor_distance(descriptor_a, descriptor_b)
        (same if person_a == person_b else different).append(distance)
    match: dict[str, Any] = {"decision_distance": DECISION_DISTANCE}
    eer_value: float | None = None
    eer_distance: float | None = None
    if same and different:
        eer = equal_error_rate(same, different)
        eer_value, eer_distance = round(eer.eer, 4), round(eer.distance, 4)
        match.update(
            {
                "far_at_decision_distance": round(eer.far_at_decision, 4),
                "frr_at_decision_distance": round(eer.frr_at_decision, 4),
                "same_distance": {"median": round(float(np.median(same)), 4), "max": round(max(same), 4)},
                "different_distance": {
                    "median": round(float(np.median(different)), 4),
                    "min": round(min(different), 4),
                },
                # Where every same-person pair is nearer than every different-person pair, any bound in
                # this interval makes no error (the EER distance is then its lower end).
                "zero_error_interval": (
                    [round(max(same), 4), round(min(different), 4)] if max(same) < min(different) else None
                ),
            }
        )

    attack_scores: dict[str, list[float]] = {}
    for r in read:
        if r.passive is not None:
            attack_scores.setdefault(r.item.label, []).append(round(r.passive, 4))
    latencies = [r.latency_ms for r in read]
    return {
        "images": len(results),
        "unreadable": [{"file": r.item.file, "error": r.error} for r in results if r.error],
        "detection_rate": round(len(found) / len(expected), 4) if expected else None,
        "detection": {
            "expected_with_face": len(expected),
            "found": len(found),
            "missed": [r.item.file for r in expected if r.face_count == 0],
            "faces_where_none_expected": [r.item.file for r in read if not r.item.expects_face and r.face_count],
            "per_label": per_label,
        },
        "eer": eer_value,
        "eer_distance": eer_distance,
        "pairs": {"same": len(same), "different": len(different)},
        "match": match,
        "passive_models": passive_models,
        "attack_scores": attack_scores,
        "latency_ms": {"p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95)},
        "detect_max_side": max_side,
    }


def format_report(report: dict[str, Any]) -> str:
    """The human-readable form of :func:`build_report`'s output."""
    lines = [f"images: {report['images']} ({len(report['unreadable'])} unreadable)"]
    for unreadable in report["unreadable"]:
        lines.append(f"  unreadable: {unreadable['file']} ({unreadable['error']})")
    det = report["detection"]
    rate = report["detection_rate"]
    lines.append(
        f"detection rate: {rate:.1%} ({det['found']} of {det['expected_with_face']} images expected to show a face)"
        if rate is not None
        else "detection rate: n/a (no image expected to show a face)"
    )
    for file in det["missed"]:
        lines.append(f"  missed: {file}")
    for file in det["faces_where_none_expected"]:
        lines.append(f"  face found where the labels expect none: {file}")
    for label, counts in sorted(det["per_label"].items()):
        lines.append(
            f"  {label}: {counts['images']} images, {counts['one_face']} one face, "
            f"{counts['several_faces']} several, {counts['no_face']} none"
        )
    pairs = report["pairs"]
    if report["eer"] is not None:
        match = report["match"]
        lines.append(
            f"face match: EER {report['eer']:.2%} at distance {report['eer_distance']:.3f} "
            f"over {pairs['same']} same-person and {pairs['different']} different-person pairs"
        )
        lines.append(
            f"  at the decision distance {match['decision_distance']}: FAR {match['far_at_decision_distance']:.2%}, "
            f"FRR {match['frr_at_decision_distance']:.2%}; same-person median {match['same_distance']['median']}, "
            f"max {match['same_distance']['max']}; different-person median {match['different_distance']['median']}, "
            f"min {match['different_distance']['min']}"
        )
        if match["zero_error_interval"]:
            low, high = match["zero_error_interval"]
            lines.append(f"  every distance bound from {low} to {high} separates all pairs without error")
    else:
        lines.append(f"face match: n/a ({pairs['same']} same-person, {pairs['different']} different-person pairs)")
    if report["passive_models"]:
        lines.append(f"passive real-probability ({' + '.join(report['passive_models'])}, mean):")
        for label, scores in sorted(report["attack_scores"].items()):
            ordered = sorted(scores)
            shown = (
                ", ".join(f"{s:.3f}" for s in ordered)
                if len(ordered) <= 6
                else (f"min {ordered[0]:.3f}, median {float(np.median(ordered)):.3f}, max {ordered[-1]:.3f}")
            )
            lines.append(f"  {label} ({len(ordered)}): {shown}")
    else:
        lines.append("passive attack detection unavailable (no model configured)")
    latency = report["latency_ms"]
    lines.append(f"latency per image: p50 {latency['p50']} ms, p95 {latency['p95']} ms")
    return "\n".join(lines)
