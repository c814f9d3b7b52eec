"""Run the engine over a labelled folder and measure it: detection, face match, passive scores, latency.

The folder holds images and a ``labels.csv`` in the format of shared/testdata: at least the columns
``file`` (path relative to the folder), ``label`` and ``person_id``; ``notes`` is read for ID documents
("portrait: no" marks a document image that shows no face).

- detection rate: the share of images expected to show a face in which at least one face was found;
  expected = every image except ID documents whose notes say "portrait: no".
- face match: every pair of ``genuine`` images with a face, same ``person_id`` = same person; the
  equal-error rate (EER) is where the share of different-person pairs accepted (FAR) equals the share of
  same-person pairs rejected (FRR) as the distance bound moves; the distance there is reported with it.
- passive scores: the passive real-probability of each image's main face, grouped by label.
- presentation-attack detection by ISO/IEC 30107-3's names (:mod:`.pad_metrics`): each image scored as a
  selfie case by the engine's own rules; APCER per attack type (``spoof-print``, ``spoof-screen``,
  ``spoof-mask`` …) and BPCER (``genuine``), at the given threshold and at the threshold where BPCER is 5 %;
  images the engine could not score (no face, several faces, unusable quality) are counted apart, by label.
- document portraits: ID documents expected to show a portrait, and how many the detector found.
- active parameters: where a photo's labels name a parameter it shows (see :func:`label_parameters`), whether
  the engine answered it right, wrong (it answered an opposite parameter) or left it undecided.
- synthetic checks that need no labels: a mirrored face must flip the sign of yaw; a picture rotated by
  ROTATION_DEG must change roll by that angle.
- latency: wall time of one full analysis per image (decode, detect, landmarks, quality, pose, passive
  model, descriptor), p50 and p95.

Label vocabulary (labels.csv): ``label`` is ``genuine``, ``spoof-<attack type>``, ``id-document`` or anything
else (counted, not scored); ``notes`` containing ``portrait: no`` marks a document image with no face, and
``portrait: yes`` one with a portrait; active parameters a photo shows are named in an optional
``parameters`` column, or as extra tokens of ``label`` or ``notes``, in the underscore form of the nine
parameters: ``left right up down front eyes_open eyes_closed mouth_open mouth_closed`` (``label`` may be
``genuine eyes_closed``; in ``notes`` only the underscore forms count, so ordinary words are not read).
"""

from __future__ import annotations

import csv
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..vocabulary import FACE_PARAMETERS
from . import pad_metrics
from .analysis import ImageAnalysis, analyze_image, analyze_rgb
from .match import DECISION_DISTANCE, descriptor_distance
from .models import load_models
from .scoring import ScoredImage, score_case

#: Rotation used by the synthetic roll check, in degrees (counter-clockwise in the image).
ROTATION_DEG = 10.0
#: Faces turned less than this are left out of the mirror check (the sign of a near-zero yaw is noise).
MIRROR_MIN_YAW_DEG = 8.0
#: Parameter token (the underscore form) -> the parameter.
PARAMETER_TOKENS = {parameter.replace(" ", "_"): parameter for parameter in FACE_PARAMETERS}
#: An answer to one of these, when the photo shows the key, is "wrong" (not merely undecided).
OPPOSITES: dict[str, tuple[str, ...]] = {
    "left": ("right", "front"),
    "right": ("left", "front"),
    "up": ("down", "front"),
    "down": ("up", "front"),
    "front": ("left", "right", "up", "down"),
    "eyes open": ("eyes closed",),
    "eyes closed": ("eyes open",),
    "mouth open": ("mouth closed",),
    "mouth closed": ("mouth open",),
}
_SEPARATORS = re.compile(r"[\s;,+|/:]+")
_UNDERSCORE_TOKENS = re.compile(r"\b(" + "|".join(t for t in PARAMETER_TOKENS if "_" in t) + r")\b")


def label_parameters(label: str, notes: str = "", column: str = "") -> tuple[str, ...]:
    """The active parameters a labelled photo shows, from the vocabulary in the module docstring."""
    tokens = [t for t in _SEPARATORS.split(f"{column} {label}".lower()) if t]
    found = [PARAMETER_TOKENS[t] for t in tokens if t in PARAMETER_TOKENS]
    found += [PARAMETER_TOKENS[m] for m in _UNDERSCORE_TOKENS.findall(notes.lower())]
    return tuple(dict.fromkeys(found))


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
    parameters: tuple[str, ...] = ()

    @property
    def expects_face(self) -> bool:
        return "portrait: no" not in self.notes.lower()

    @property
    def kind(self) -> str:
        """The class of the photo: the label's first token (``genuine eyes_closed`` is ``genuine``)."""
        return (self.label.split() or [""])[0].lower()

    @property
    def is_document(self) -> bool:
        return self.kind in ("id-document", "id_document", "document")


@dataclass
class ImageResult:
    item: LabelledImage
    face_count: int
    latency_ms: float
    passive: float | None
    descriptor: np.ndarray | None = field(default=None, repr=False)
    error: str = ""
    #: The image scored as a selfie case by the engine's rules (None: not assessed, see score_reason).
    score: float | None = None
    score_reason: str = ""
    #: The engine's yes/no per active parameter for the main face (None without pose and landmarks).
    answers: dict[str, bool] | None = None
    #: Synthetic checks on this image: {"yaw", "mirrored_yaw", "roll", "rotated_roll"} where measured.
    synthetic: dict[str, float] = field(default_factory=dict)


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
                file=row["file"],
                label=row["label"],
                person_id=row["person_id"],
                notes=row.get("notes") or "",
                parameters=label_parameters(row["label"], row.get("notes") or "", row.get("parameters") or ""),
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


def _synthetic(analysis: ImageAnalysis, max_side: int) -> dict[str, float]:
    """Mirror and rotate the picture and measure the pose again (single-face images with a pose only)."""
    if analysis.pose is None or len(analysis.faces) != 1:
        return {}
    measured = {"yaw": analysis.pose.yaw, "roll": analysis.pose.roll}
    mirrored = analyze_rgb(np.ascontiguousarray(analysis.rgb[:, ::-1]), max_side=max_side, with_passive=False)
    if mirrored.pose is not None and len(mirrored.faces) == 1:
        measured["mirrored_yaw"] = mirrored.pose.yaw
    rotated_rgb = np.asarray(
        Image.fromarray(analysis.rgb).rotate(ROTATION_DEG, resample=Image.Resampling.BILINEAR, expand=True)
    )
    rotated = analyze_rgb(rotated_rgb, max_side=max_side, with_passive=False)
    if rotated.pose is not None and len(rotated.faces) == 1:
        measured["rotated_roll"] = rotated.pose.roll
    return measured


def _answers(analysis: ImageAnalysis) -> dict[str, bool] | None:
    parameters = analysis.parameters
    return None if parameters is None else {name: answer.matched for name, answer in parameters.items()}


def analyse_folder(
    folder: Path,
    *,
    max_side: int = 1024,
    progress: Callable[[ImageResult], None] | None = None,
    synthetic: bool = True,
) -> tuple[list[ImageResult], list[str]]:
    """Analyse every labelled image once: the per-image results and the passive models' names."""
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
                scored = score_case("selfie", [ScoredImage("selfie", 0, "", analysis)])
                result = ImageResult(
                    item,
                    face_count=len(analysis.faces),
                    latency_ms=latency,
                    passive=float(passive["real_probability"]) if passive.get("available") else None,
                    descriptor=analysis.descriptor,
                    score=scored.score,
                    score_reason=scored.reason,
                    answers=_answers(analysis),
                    synthetic=_synthetic(analysis, max_side) if synthetic and item.kind == GENUINE_LABEL else {},
                )
        results.append(result)
        if progress is not None:
            progress(result)
    return results, [m.name for m in models.passive]


def evaluate_folder(
    folder: Path,
    *,
    max_side: int = 1024,
    progress: Callable[[ImageResult], None] | None = None,
    threshold: float = 0.5,
    synthetic: bool = True,
) -> dict[str, Any]:
    """Analyse every labelled image once and return the report (plain data, JSON-serialisable)."""
    results, passive_models = analyse_folder(folder, max_side=max_side, progress=progress, synthetic=synthetic)
    return build_report(results, passive_models=passive_models, max_side=max_side, threshold=threshold)


def pad_report(results: list[ImageResult], threshold: float) -> dict[str, Any]:
    """APCER per attack type and BPCER at ``threshold`` and where BPCER is 5 %; unscored images apart."""
    bona_fide: list[float] = []
    attacks: dict[str, list[float]] = {}
    not_scored: dict[str, list[dict[str, str]]] = {}
    for r in results:
        kind = pad_metrics.attack_type(r.item.kind)
        if kind is None and not pad_metrics.is_bona_fide(r.item.kind):
            continue
        if r.score is None:
            reason = r.error or r.score_reason or "not assessed"
            not_scored.setdefault(r.item.kind, []).append({"file": r.item.file, "reason": reason})
            continue
        (bona_fide if kind is None else attacks.setdefault(kind, [])).append(r.score)
    report: dict[str, Any] = {
        "bona_fide": len(bona_fide),
        "attacks": {kind: len(scores) for kind, scores in sorted(attacks.items())},
        "not_scored": {label: len(items) for label, items in sorted(not_scored.items())},
        "not_scored_files": not_scored,
        "at_threshold": pad_metrics.operating_point(bona_fide, attacks, threshold).as_dict(),
        "at_bpcer_5": None,
    }
    at_five = pad_metrics.threshold_for_bpcer(bona_fide)
    if at_five is not None:
        report["at_bpcer_5"] = pad_metrics.operating_point(bona_fide, attacks, at_five).as_dict()
    return report


def parameter_report(results: list[ImageResult]) -> dict[str, Any]:
    """Per parameter a labelled photo shows: the engine's answers right / wrong / undecided."""
    per: dict[str, dict[str, Any]] = {}
    for r in results:
        for parameter in r.item.parameters:
            entry = per.setdefault(parameter, {"right": 0, "wrong": 0, "undecided": 0, "wrong_files": []})
            answers = r.answers
            if answers is None or r.face_count != 1:
                entry["undecided"] += 1
            elif answers.get(parameter):
                entry["right"] += 1
            elif any(answers.get(other) for other in OPPOSITES[parameter]):
                entry["wrong"] += 1
                entry["wrong_files"].append(r.item.file)
            else:
                entry["undecided"] += 1
    total = {key: sum(entry[key] for entry in per.values()) for key in ("right", "wrong", "undecided")}
    labelled = sum(total.values())
    return {
        "per_parameter": dict(sorted(per.items())),
        **total,
        "labelled": labelled,
        "right_rate": round(total["right"] / labelled, 4) if labelled else None,
    }


def synthetic_report(results: list[ImageResult]) -> dict[str, Any]:
    mirror = [
        r.synthetic for r in results if "mirrored_yaw" in r.synthetic and abs(r.synthetic["yaw"]) >= MIRROR_MIN_YAW_DEG
    ]
    flipped = [m for m in mirror if m["yaw"] * m["mirrored_yaw"] < 0]
    rotations = [r.synthetic for r in results if "rotated_roll" in r.synthetic]
    roll_errors = [abs(m["rotated_roll"] - m["roll"] - ROTATION_DEG) for m in rotations]
    return {
        "mirror": {
            "faces": len(mirror),
            "yaw_sign_flipped": len(flipped),
            "median_abs_yaw_sum": round(float(np.median([abs(m["yaw"] + m["mirrored_yaw"]) for m in mirror])), 2)
            if mirror
            else None,
            "min_abs_yaw_deg": MIRROR_MIN_YAW_DEG,
        },
        "rotation": {
            "faces": len(rotations),
            "degrees": ROTATION_DEG,
            "median_roll_error": round(float(np.median(roll_errors)), 2) if roll_errors else None,
            "max_roll_error": round(max(roll_errors), 2) if roll_errors else None,
        },
    }


def build_report(
    results: list[ImageResult], *, passive_models: list[str], max_side: int, threshold: float = 0.5
) -> dict[str, Any]:
    read = [r for r in results if not r.error]
    expected = [r for r in read if r.item.expects_face]
    found = [r for r in expected if r.face_count > 0]
    per_label: dict[str, dict[str, int]] = {}
    for r in read:
        entry = per_label.setdefault(r.item.kind, {"images": 0, "no_face": 0, "one_face": 0, "several_faces": 0})
        entry["images"] += 1
        entry["no_face" if r.face_count == 0 else "one_face" if r.face_count == 1 else "several_faces"] += 1

    genuine = [
        (r.item.person_id, r.descriptor) for r in read if r.item.kind == GENUINE_LABEL and r.descriptor is not None
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
            attack_scores.setdefault(r.item.kind, []).append(round(r.passive, 4))
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
        "pad": pad_report(read, threshold),
        "document_portraits": {
            "expected": len([r for r in read if r.item.is_document and "portrait: yes" in r.item.notes.lower()]),
            "found": len(
                [r for r in read if r.item.is_document and "portrait: yes" in r.item.notes.lower() and r.face_count]
            ),
        },
        "active_parameters": parameter_report(read),
        "synthetic": synthetic_report(read),
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
    lines.extend(_format_pad(report["pad"]))
    portraits = report["document_portraits"]
    lines.append(f"document portraits found: {portraits['found']} of {portraits['expected']}")
    lines.extend(_format_parameters(report["active_parameters"]))
    lines.extend(_format_synthetic(report["synthetic"]))
    latency = report["latency_ms"]
    lines.append(f"latency per image: p50 {latency['p50']} ms, p95 {latency['p95']} ms")
    return "\n".join(lines)


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _format_point(name: str, point: dict[str, Any], pad: dict[str, Any]) -> list[str]:
    lines = [f"  {name} (threshold {point['threshold']:.3f}): BPCER {_rate(point['bpcer'])} of {pad['bona_fide']}"]
    for kind, value in point["apcer"].items():
        count = sum(pad["attacks"].values()) if kind == "all" else pad["attacks"][kind]
        lines.append(f"    APCER {kind}: {_rate(value)} of {count}")
    return lines


def _format_pad(pad: dict[str, Any]) -> list[str]:
    lines = ["presentation-attack detection (ISO/IEC 30107-3; each image scored as a selfie case):"]
    lines += _format_point("at the threshold", pad["at_threshold"], pad)
    if pad["at_bpcer_5"] is not None:
        lines += _format_point("where BPCER <= 5 %", pad["at_bpcer_5"], pad)
    for label, files in pad["not_scored_files"].items():
        lines.append(f"  not scored ({label}): {len(files)} — never counted as refused")
        lines.extend(f"    {item['file']}: {item['reason']}" for item in files)
    return lines


def _format_parameters(parameters: dict[str, Any]) -> list[str]:
    if not parameters["labelled"]:
        return ["active parameters: no photo labelled with a parameter (see the label vocabulary)"]
    lines = [
        f"active parameters: {parameters['right']} right, {parameters['wrong']} wrong, "
        f"{parameters['undecided']} undecided of {parameters['labelled']} ({_rate(parameters['right_rate'])} right)"
    ]
    for name, entry in parameters["per_parameter"].items():
        lines.append(f"  {name}: {entry['right']} right, {entry['wrong']} wrong, {entry['undecided']} undecided")
    return lines


def _format_synthetic(synthetic: dict[str, Any]) -> list[str]:
    mirror, rotation = synthetic["mirror"], synthetic["rotation"]
    return [
        f"synthetic: mirroring flipped the sign of yaw on {mirror['yaw_sign_flipped']} of {mirror['faces']} faces "
        f"turned at least {mirror['min_abs_yaw_deg']:g}° (median |yaw + mirrored yaw| {mirror['median_abs_yaw_sum']}°)",
        f"  rotating by {rotation['degrees']:g}° changed roll by that angle within a median "
        f"{rotation['median_roll_error']}° (max {rotation['max_roll_error']}°) on {rotation['faces']} faces",
    ]


def plot_report(results_report: dict[str, Any], scores: dict[str, list[float]], path: Path) -> None:
    """Draw the DET curve (APCER against BPCER, normal-deviate axes) and the score histograms to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    bona_fide = scores.get("bona fide", [])
    attacks = {name: values for name, values in scores.items() if name != "bona fide"}
    figure, (det_axes, hist_axes) = plt.subplots(1, 2, figsize=(12, 5))
    ticks = [0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99]
    for name, values in sorted(attacks.items()):
        points = pad_metrics.det_points(bona_fide, values)
        if points:
            det_axes.plot(
                [pad_metrics.probit(a) for _, a, _ in points],
                [pad_metrics.probit(b) for _, _, b in points],
                marker=".",
                label=f"{name} ({len(values)})",
            )
    threshold = results_report["pad"]["at_threshold"]["threshold"]
    det_axes.set_xticks([pad_metrics.probit(t) for t in ticks], [f"{t:.1%}" for t in ticks])
    det_axes.set_yticks([pad_metrics.probit(t) for t in ticks], [f"{t:.1%}" for t in ticks])
    det_axes.set_xlabel("APCER (attacks accepted)")
    det_axes.set_ylabel("BPCER (bona fide refused)")
    det_axes.set_title(f"DET curve, {len(bona_fide)} bona fide")
    det_axes.grid(True, alpha=0.3)
    det_axes.legend(loc="upper right")
    bins = np.linspace(0.0, 1.0, 21)
    hist_axes.hist(bona_fide, bins=bins, alpha=0.6, label=f"bona fide ({len(bona_fide)})")
    for name, values in sorted(attacks.items()):
        hist_axes.hist(values, bins=bins, alpha=0.6, label=f"{name} ({len(values)})")
    hist_axes.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.2f}")
    hist_axes.set_xlabel("score (passive real-probability)")
    hist_axes.set_ylabel("images")
    hist_axes.set_title("score distributions")
    hist_axes.legend(loc="upper center")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def pad_scores(results: list[ImageResult]) -> dict[str, list[float]]:
    """Scores for the plot: "bona fide" and one list per attack type."""
    grouped: dict[str, list[float]] = {}
    for r in results:
        if r.score is None:
            continue
        kind = pad_metrics.attack_type(r.item.kind)
        if kind is not None:
            grouped.setdefault(kind, []).append(r.score)
        elif pad_metrics.is_bona_fide(r.item.kind):
            grouped.setdefault("bona fide", []).append(r.score)
    return grouped
