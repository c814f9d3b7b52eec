"""The case status machine refuses every transition it does not list."""

from __future__ import annotations

import itertools

import pytest

from liveness.models import CASE_TRANSITIONS, Case, CaseStatus, IllegalTransition


def make(status: str) -> Case:
    return Case(kind="selfie", status=status)


LEGAL = {(src, dst) for src, targets in CASE_TRANSITIONS.items() for dst in targets}
ALL_PAIRS = list(itertools.product(CaseStatus.values, CaseStatus.values))


@pytest.mark.parametrize(("source", "target"), sorted(LEGAL))
def test_listed_transitions_are_allowed(source: str, target: str) -> None:
    case = make(source)
    case.transition(target)
    assert case.status == target


@pytest.mark.parametrize(("source", "target"), sorted(set(ALL_PAIRS) - LEGAL))
def test_unlisted_transitions_raise_and_leave_the_status_alone(source: str, target: str) -> None:
    case = make(source)
    with pytest.raises(IllegalTransition) as info:
        case.transition(target)
    assert case.status == source
    assert (info.value.current, info.value.target) == (source, target)


def test_closed_is_terminal() -> None:
    assert CASE_TRANSITIONS[CaseStatus.CLOSED] == frozenset()


def test_every_status_is_in_the_machine() -> None:
    assert set(CASE_TRANSITIONS) == set(CaseStatus.values)


def test_a_received_case_cannot_be_decided_without_processing() -> None:
    with pytest.raises(IllegalTransition):
        make(CaseStatus.RECEIVED).transition(CaseStatus.DECIDED)
