"""The decision policy, as pure functions: where a check stands, and what a case's checks add up to.

Per check: passed = score >= threshold. The review margin m shades [threshold - m, threshold + m):
  score >= threshold + m   -> pass (clear)
  score <  threshold - m   -> fail (clear)
  otherwise                -> borderline
A check with no score (no face, not assessable) is "not assessed"; a failed call is "error".

Per case (every check of the round is required; skipped ones do not count):
  live          every check passes clearly;
  spoof         at least one check fails clearly and none passes clearly;
  needs_review  anything else: borderline, providers disagree (one clear pass and one clear fail),
                a provider error, no face / not assessed, or no check at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .models import CheckOutcome, CheckStatus, Verdict


def classify(*, status: str, score: float | None, threshold: float, margin: float) -> str:
    if status == CheckStatus.FAILED:
        return CheckOutcome.ERROR
    if status != CheckStatus.SUCCEEDED:
        raise ValueError(f"only settled checks are classified, not {status!r}")
    if score is None:
        return CheckOutcome.NOT_ASSESSED
    if score >= threshold + margin:
        return CheckOutcome.PASS
    if score < threshold - margin:
        return CheckOutcome.FAIL
    return CheckOutcome.BORDERLINE


def passed(score: float | None, threshold: float) -> bool | None:
    return None if score is None else score >= threshold


@dataclass(frozen=True)
class CheckView:
    provider: str
    outcome: str
    reason: str = ""


@dataclass(frozen=True)
class CaseDecision:
    verdict: str
    reasons: tuple[str, ...]


def decide(checks: Iterable[CheckView]) -> CaseDecision:
    counted = list(checks)
    if not counted:
        return CaseDecision(Verdict.NEEDS_REVIEW, ("no check produced a result",))
    passes = [c for c in counted if c.outcome == CheckOutcome.PASS]
    fails = [c for c in counted if c.outcome == CheckOutcome.FAIL]
    if passes and fails:
        return CaseDecision(
            Verdict.NEEDS_REVIEW,
            (
                "providers disagree: "
                + ", ".join(c.provider for c in passes)
                + " pass, "
                + ", ".join(c.provider for c in fails)
                + " fail",
            ),
        )
    if fails:
        return CaseDecision(Verdict.SPOOF, tuple(f"{c.provider}: below threshold" for c in fails))
    if len(passes) == len(counted):
        return CaseDecision(Verdict.LIVE, tuple(f"{c.provider}: above threshold" for c in passes))
    reasons = []
    for c in counted:
        if c.outcome == CheckOutcome.BORDERLINE:
            reasons.append(f"{c.provider}: borderline (inside the review margin)")
        elif c.outcome == CheckOutcome.NOT_ASSESSED:
            reasons.append(f"{c.provider}: not assessed ({c.reason or 'no reason given'})")
        elif c.outcome == CheckOutcome.ERROR:
            reasons.append(f"{c.provider}: provider error ({c.reason or 'unknown'})")
    return CaseDecision(Verdict.NEEDS_REVIEW, tuple(reasons))
