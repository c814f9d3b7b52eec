"""The decision policy, as pure functions: where a check stands, and what a case's checks add up to.

Per check: passed = score >= threshold. The review margin m shades [threshold - m, threshold + m):
  score >= threshold + m   -> pass (clear)
  score <  threshold - m   -> fail (clear)
  otherwise                -> borderline
A check with no score (no face, not assessable) is "not assessed"; a failed call is "error". A check
whose provider reported a finding (vocabulary.FINDINGS: challenge_failed, identity_mismatch, face_mismatch,
repeated_frame) is "finding" whatever its score: never a pass, at any threshold.

Per case (every check of the round is required; skipped ones do not count):
  needs_review  any finding whose configured verdict is needs_review (by default every mismatch and a
                repeated frame: a mismatch is not a spoof, a person looks at it);
  live          every check passes clearly;
  spoof         at least one check fails clearly (or has only findings whose verdict is spoof, such as a
                failed challenge) and none passes clearly;
  needs_review  anything else: borderline, providers disagree (one clear pass and one clear fail),
                a provider error, no face / not assessed, or no check at all.

Case-level findings (the face search, liveness/services/faces.py: repeat_face, blocklisted_face) come on
top: one configured as spoof refuses the case, any other sends it to review, whatever the checks say.

Every verdict comes with machine-readable reason codes (the finding codes, or below_threshold,
above_threshold, borderline, not_assessed, provider_error, providers_disagree, no_check).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .models import CheckOutcome, CheckStatus, Verdict
from .vocabulary import DEFAULT_FINDING_VERDICTS


def classify(*, status: str, score: float | None, threshold: float, margin: float, findings: Sequence[str] = ()) -> str:
    if status == CheckStatus.FAILED:
        return CheckOutcome.ERROR
    if status != CheckStatus.SUCCEEDED:
        raise ValueError(f"only settled checks are classified, not {status!r}")
    if findings:
        return CheckOutcome.FINDING
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
class Assessment:
    """Where one provider result stands: the one settle rule for checks and for ``check_image``."""

    outcome: str
    #: score >= threshold; False whenever there is a finding; None without a score.
    passed: bool | None
    #: The threshold the score was judged by: the provider's own when it reported one, else the configured one.
    threshold: float


def assess(
    *,
    score: float | None,
    threshold: float,
    margin: float,
    findings: Sequence[str] = (),
    reported_threshold: float | None = None,
) -> Assessment:
    """Where a provider's result stands. ``threshold`` is the configured one (kept on the check at its first
    claim); a provider that reports its own (``ProviderResult.threshold``) is judged by that instead."""
    applied = threshold if reported_threshold is None else reported_threshold
    outcome = classify(status=CheckStatus.SUCCEEDED, score=score, threshold=applied, margin=margin, findings=findings)
    return Assessment(outcome, False if findings else passed(score, applied), applied)


@dataclass(frozen=True)
class CheckView:
    provider: str
    outcome: str
    reason: str = ""
    #: Finding codes of the check (only for outcome "finding").
    findings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseDecision:
    verdict: str
    reasons: tuple[str, ...]
    #: Machine-readable codes behind the verdict, without repeats, in the order the reasons give them.
    codes: tuple[str, ...] = field(default=())


def _codes(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(code for group in groups for code in group))


def finding_verdict(code: str, verdicts: Mapping[str, str]) -> str:
    """The verdict a finding leads to: spoof only where configured so, review otherwise (never live)."""
    return Verdict.SPOOF if verdicts.get(code) == Verdict.SPOOF else Verdict.NEEDS_REVIEW


def decide(
    checks: Iterable[CheckView],
    finding_verdicts: Mapping[str, str] | None = None,
    case_findings: Sequence[str] = (),
) -> CaseDecision:
    verdicts = DEFAULT_FINDING_VERDICTS if finding_verdicts is None else finding_verdicts
    if case_findings:
        return _decide_with_case_findings(list(checks), verdicts, _codes(case_findings))
    counted = list(checks)
    if not counted:
        return CaseDecision(Verdict.NEEDS_REVIEW, ("no check produced a result",), ("no_check",))
    with_findings = [c for c in counted if c.outcome == CheckOutcome.FINDING]
    finding_codes = _codes(*(c.findings for c in with_findings))
    finding_reasons = tuple(f"{c.provider}: {code}" for c in with_findings for code in c.findings)
    if any(finding_verdict(code, verdicts) == Verdict.NEEDS_REVIEW for code in finding_codes):
        others = [c for c in counted if c.outcome != CheckOutcome.FINDING]
        rest = decide(others, verdicts) if others else None
        extra = () if rest is None or rest.verdict == Verdict.LIVE else rest.reasons
        extra_codes = () if rest is None or rest.verdict == Verdict.LIVE else rest.codes
        return CaseDecision(Verdict.NEEDS_REVIEW, finding_reasons + extra, _codes(finding_codes, extra_codes))
    passes = [c for c in counted if c.outcome == CheckOutcome.PASS]
    # Only spoof-verdict findings are left: such a check counts as a clear fail.
    fails = [c for c in counted if c.outcome in (CheckOutcome.FAIL, CheckOutcome.FINDING)]
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
            _codes(("providers_disagree",), finding_codes),
        )
    if fails:
        below_reasons = tuple(f"{c.provider}: below threshold" for c in fails if c.outcome == CheckOutcome.FAIL)
        below = ("below_threshold",) if below_reasons else ()
        return CaseDecision(Verdict.SPOOF, finding_reasons + below_reasons, _codes(finding_codes, below))
    if len(passes) == len(counted):
        return CaseDecision(Verdict.LIVE, tuple(f"{c.provider}: above threshold" for c in passes), ("above_threshold",))
    reasons: list[str] = []
    codes: list[str] = []
    for c in counted:
        if c.outcome == CheckOutcome.BORDERLINE:
            reasons.append(f"{c.provider}: borderline (inside the review margin)")
            codes.append("borderline")
        elif c.outcome == CheckOutcome.NOT_ASSESSED:
            reasons.append(f"{c.provider}: not assessed ({c.reason or 'no reason given'})")
            codes.append("not_assessed")
        elif c.outcome == CheckOutcome.ERROR:
            reasons.append(f"{c.provider}: provider error ({c.reason or 'unknown'})")
            codes.append("provider_error")
    return CaseDecision(Verdict.NEEDS_REVIEW, tuple(reasons), _codes(codes))


def _decide_with_case_findings(
    checks: list[CheckView], verdicts: Mapping[str, str], codes: tuple[str, ...]
) -> CaseDecision:
    """Case-level findings (the face search: repeat_face, blocklisted_face) on top of the checks' verdict.

    One whose verdict is spoof refuses the case whatever the checks say; otherwise they send it to review.
    The checks' own reasons follow unless the checks alone would have passed it.
    """
    rest = decide(checks, verdicts)
    reasons = tuple(f"face search: {code}" for code in codes)
    extra = () if rest.verdict == Verdict.LIVE else rest.reasons
    extra_codes = () if rest.verdict == Verdict.LIVE else rest.codes
    if any(finding_verdict(code, verdicts) == Verdict.SPOOF for code in codes):
        return CaseDecision(Verdict.SPOOF, reasons + extra, _codes(codes, extra_codes))
    return CaseDecision(Verdict.NEEDS_REVIEW, reasons + extra, _codes(codes, extra_codes))
