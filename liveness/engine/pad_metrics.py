"""Presentation-attack detection error rates by the names of ISO/IEC 30107-3.

- **APCER** (attack presentation classification error rate), per attack type: the share of attack
  presentations of that type accepted as bona fide (score >= threshold).
- **BPCER** (bona fide presentation classification error rate): the share of bona fide presentations
  refused as attacks (score < threshold).
- **APCER at BPCER = 5 %** (the standard's "BPCER20" operating point): the threshold is set where at most
  5 % of bona fide presentations are refused, and the APCER of each attack type is read there.

Presentations the engine could not score (no face, several faces, unusable quality) are not errors of the
classifier and are never counted silently as refusals: they are reported beside the rates, by label.

Labels: ``genuine`` (or ``bona-fide``) is bona fide; ``spoof-<type>`` is an attack of that type
(``spoof-print``, ``spoof-screen``, ``spoof-mask`` …). Anything else is not a PAD sample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

BONA_FIDE_LABELS = frozenset({"genuine", "bona-fide", "bonafide"})
ATTACK_PREFIX = "spoof-"
BPCER_TARGET = 0.05


def is_bona_fide(label: str) -> bool:
    return label.lower() in BONA_FIDE_LABELS


def attack_type(label: str) -> str | None:
    """``print`` for ``spoof-print``; None for labels that are not attacks."""
    lowered = label.lower()
    return lowered[len(ATTACK_PREFIX) :] or "unspecified" if lowered.startswith(ATTACK_PREFIX) else None


def apcer(attack_scores: Sequence[float], threshold: float) -> float | None:
    if not attack_scores:
        return None
    return sum(score >= threshold for score in attack_scores) / len(attack_scores)


def bpcer(bona_fide_scores: Sequence[float], threshold: float) -> float | None:
    if not bona_fide_scores:
        return None
    return sum(score < threshold for score in bona_fide_scores) / len(bona_fide_scores)


def threshold_for_bpcer(bona_fide_scores: Sequence[float], target: float = BPCER_TARGET) -> float | None:
    """The highest threshold whose BPCER is at most ``target`` (refusing as few attacks as it can).

    With scores sorted ascending, refusing k presentations means a threshold just above the k-th lowest:
    k = floor(target x n) presentations may be refused, so the threshold is the (k+1)-th lowest score.
    """
    if not bona_fide_scores:
        return None
    ordered = sorted(bona_fide_scores)
    allowed = math.floor(target * len(ordered) + 1e-9)
    return ordered[min(allowed, len(ordered) - 1)]


@dataclass(frozen=True)
class OperatingPoint:
    threshold: float
    bpcer: float | None
    apcer: dict[str, float | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": round(self.threshold, 4),
            "bpcer": None if self.bpcer is None else round(self.bpcer, 4),
            "apcer": {kind: None if value is None else round(value, 4) for kind, value in self.apcer.items()},
        }


def operating_point(
    bona_fide: Sequence[float], attacks: Mapping[str, Sequence[float]], threshold: float
) -> OperatingPoint:
    per_type = {kind: apcer(scores, threshold) for kind, scores in sorted(attacks.items())}
    all_attacks = [score for scores in attacks.values() for score in scores]
    if len(attacks) > 1:
        per_type["all"] = apcer(all_attacks, threshold)
    return OperatingPoint(threshold, bpcer(bona_fide, threshold), per_type)


def det_points(bona_fide: Sequence[float], attacks: Sequence[float]) -> list[tuple[float, float, float]]:
    """(threshold, APCER, BPCER) at every distinct score, plus both ends: the DET curve's points."""
    thresholds = sorted({0.0, 1.0 + 1e-9, *bona_fide, *attacks})
    points = []
    for threshold in thresholds:
        a, b = apcer(attacks, threshold), bpcer(bona_fide, threshold)
        if a is not None and b is not None:
            points.append((threshold, a, b))
    return points


def probit(rate: float, floor: float = 1e-3) -> float:
    """The normal deviate of a rate, as DET plots draw their axes (clipped away from 0 and 1)."""
    return NormalDist().inv_cdf(min(max(rate, floor), 1.0 - floor))
