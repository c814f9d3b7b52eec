"""Reads of the API. A partner only ever sees its own cases: every partner query starts from it."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from ..models import Case, CaseStatus, Check, Decision, Partner


def _with_checks(queryset: QuerySet[Case]) -> QuerySet[Case]:
    return queryset.prefetch_related(Prefetch("checks", queryset=Check.objects.order_by("round", "id")))


def partner_cases(*, partner: Partner) -> QuerySet[Case]:
    return Case.objects.filter(partner=partner)


def partner_case_get(*, partner: Partner, public_id: str) -> Case:
    """The partner's case; Case.DoesNotExist for unknown ids and for other partners' cases alike."""
    return _with_checks(Case.objects.filter(partner=partner)).get(public_id=public_id)


def _operator_view(queryset: QuerySet[Case]) -> QuerySet[Case]:
    return _with_checks(queryset.select_related("partner")).prefetch_related(
        Prefetch("decisions", queryset=Decision.objects.select_related("actor", "approver").order_by("-created_at"))
    )


def review_queue() -> QuerySet[Case]:
    return _operator_view(Case.objects.filter(status__in=(CaseStatus.NEEDS_REVIEW, CaseStatus.PENDING_APPROVAL)))


def operator_case_get(*, public_id: str) -> Case:
    return _operator_view(Case.objects.all()).get(public_id=public_id)


def decision_get(*, decision_id: int) -> Decision:
    return Decision.objects.select_related("case", "actor").get(pk=decision_id)
