"""The decision policy: per-check outcomes around threshold and margin, and the case verdict."""

from __future__ import annotations

import pytest

from liveness import policy
from liveness.models import CheckOutcome, CheckStatus, Verdict

T, M = 0.55, 0.05


def outcome(score: float | None) -> str:
    return policy.classify(status=CheckStatus.SUCCEEDED, score=score, threshold=T, margin=M)


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (T + M, CheckOutcome.PASS),  # exactly at the top of the margin: clear pass
        (T + M + 0.001, CheckOutcome.PASS),
        (T + M - 0.001, CheckOutcome.BORDERLINE),  # just under the top of the margin
        (T, CheckOutcome.BORDERLINE),  # at the threshold: passed, but inside the margin
        (T - 0.001, CheckOutcome.BORDERLINE),
        (T - M, CheckOutcome.BORDERLINE),  # exactly at the bottom of the margin is still borderline
        (T - M - 0.001, CheckOutcome.FAIL),  # just below the margin: clear fail
        (0.0, CheckOutcome.FAIL),
        (1.0, CheckOutcome.PASS),
        (None, CheckOutcome.NOT_ASSESSED),
    ],
)
def test_it_places_a_score_against_threshold_and_margin(score: float | None, expected: str) -> None:
    assert outcome(score) == expected


@pytest.mark.parametrize(("score", "expected"), [(T, True), (T + 0.001, True), (T - 0.001, False), (None, None)])
def test_passed_means_score_at_or_above_threshold(score: float | None, expected: bool | None) -> None:
    assert policy.passed(score, T) is expected


def test_with_no_margin_the_threshold_alone_decides() -> None:
    at = policy.classify(status=CheckStatus.SUCCEEDED, score=T, threshold=T, margin=0.0)
    below = policy.classify(status=CheckStatus.SUCCEEDED, score=T - 1e-9, threshold=T, margin=0.0)
    assert (at, below) == (CheckOutcome.PASS, CheckOutcome.FAIL)


def test_a_failed_call_is_an_error_outcome() -> None:
    assert policy.classify(status=CheckStatus.FAILED, score=None, threshold=T, margin=M) == CheckOutcome.ERROR


def test_unsettled_checks_cannot_be_classified() -> None:
    with pytest.raises(ValueError, match="settled"):
        policy.classify(status=CheckStatus.RUNNING, score=0.9, threshold=T, margin=M)


def view(provider: str, outcome: str, reason: str = "") -> policy.CheckView:
    return policy.CheckView(provider, outcome, reason)


def test_all_clear_passes_make_the_case_live() -> None:
    decision = policy.decide([view("a", CheckOutcome.PASS), view("b", CheckOutcome.PASS)])
    assert decision.verdict == Verdict.LIVE


def test_a_clear_fail_makes_the_case_spoof() -> None:
    decision = policy.decide([view("a", CheckOutcome.FAIL), view("b", CheckOutcome.BORDERLINE)])
    assert decision.verdict == Verdict.SPOOF
    assert decision.reasons == ("a: below threshold",)


def test_disagreeing_providers_send_the_case_to_review() -> None:
    decision = policy.decide([view("a", CheckOutcome.PASS), view("b", CheckOutcome.FAIL)])
    assert decision.verdict == Verdict.NEEDS_REVIEW
    assert "disagree" in decision.reasons[0]


@pytest.mark.parametrize(
    ("other", "reason_part"),
    [
        (CheckOutcome.BORDERLINE, "borderline"),
        (CheckOutcome.ERROR, "provider error"),
        (CheckOutcome.NOT_ASSESSED, "not assessed (no_face)"),
    ],
)
def test_anything_unclear_sends_the_case_to_review(other: str, reason_part: str) -> None:
    decision = policy.decide([view("a", CheckOutcome.PASS), view("b", other, "no_face")])
    assert decision.verdict == Verdict.NEEDS_REVIEW
    assert any(reason_part in r for r in decision.reasons)


def test_no_checks_is_never_live() -> None:
    assert policy.decide([]).verdict == Verdict.NEEDS_REVIEW


# --- findings: reasons, never a pass ------------------------------------------------------------------


@pytest.mark.parametrize("code", ["challenge_failed", "identity_mismatch", "face_mismatch", "repeated_frame"])
@pytest.mark.parametrize("score", [1.0, 0.99, T, 0.0, None])
def test_a_check_with_a_finding_is_never_a_pass_at_any_threshold(code: str, score: float | None) -> None:
    for threshold in (0.0, 0.35, T, 1.0):
        found = policy.classify(
            status=CheckStatus.SUCCEEDED, score=score, threshold=threshold, margin=0.0, findings=[code]
        )
        assert found == CheckOutcome.FINDING


def finding(provider: str, *codes: str) -> policy.CheckView:
    return policy.CheckView(provider, CheckOutcome.FINDING, "", codes)


@pytest.mark.parametrize("code", ["face_mismatch", "identity_mismatch", "repeated_frame"])
def test_a_mismatch_goes_to_review_not_spoof_with_its_code(code: str) -> None:
    decision = policy.decide([finding("local", code)])
    assert decision.verdict == Verdict.NEEDS_REVIEW
    assert decision.codes == (code,)
    assert decision.reasons == (f"local: {code}",)


def test_a_failed_challenge_is_a_spoof_by_default_and_review_when_configured() -> None:
    default = policy.decide([finding("local", "challenge_failed")])
    assert (default.verdict, default.codes) == (Verdict.SPOOF, ("challenge_failed",))
    configured = policy.decide([finding("local", "challenge_failed")], {"challenge_failed": "needs_review"})
    assert (configured.verdict, configured.codes) == (Verdict.NEEDS_REVIEW, ("challenge_failed",))


def test_a_finding_can_never_be_configured_into_a_pass() -> None:
    decision = policy.decide([finding("local", "face_mismatch")], {"face_mismatch": "live"})
    assert decision.verdict == Verdict.NEEDS_REVIEW


def test_a_review_finding_wins_over_other_providers_clear_passes_and_keeps_their_reasons() -> None:
    decision = policy.decide(
        [view("kairos", CheckOutcome.PASS), finding("local", "face_mismatch"), view("riset", CheckOutcome.BORDERLINE)]
    )
    assert decision.verdict == Verdict.NEEDS_REVIEW
    assert decision.codes == ("face_mismatch", "borderline")


def test_a_spoof_finding_against_another_providers_clear_pass_is_a_disagreement() -> None:
    decision = policy.decide([view("kairos", CheckOutcome.PASS), finding("local", "challenge_failed")])
    assert decision.verdict == Verdict.NEEDS_REVIEW
    assert decision.codes == ("providers_disagree", "challenge_failed")


@pytest.mark.parametrize(
    ("outcomes", "codes"),
    [
        ([CheckOutcome.PASS], ("above_threshold",)),
        ([CheckOutcome.FAIL], ("below_threshold",)),
        ([CheckOutcome.BORDERLINE], ("borderline",)),
        ([CheckOutcome.NOT_ASSESSED, CheckOutcome.ERROR], ("not_assessed", "provider_error")),
        ([], ("no_check",)),
    ],
)
def test_every_verdict_carries_reason_codes(outcomes: list[str], codes: tuple[str, ...]) -> None:
    assert policy.decide([view(f"p{i}", o) for i, o in enumerate(outcomes)]).codes == codes
