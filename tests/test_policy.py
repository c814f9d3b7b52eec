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
