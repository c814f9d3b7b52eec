"""Query filters of the case lists (django-filter): invalid values answer 400, never an empty list."""

from __future__ import annotations

import django_filters

from ..models import Case, CaseKind, CaseStatus, Verdict


class CaseFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=CaseStatus.choices, help_text="Repeat for several.")
    verdict = django_filters.MultipleChoiceFilter(
        field_name="final_verdict", choices=Verdict.choices, help_text="The final verdict; repeat for several."
    )
    kind = django_filters.ChoiceFilter(choices=CaseKind.choices)
    external_ref = django_filters.CharFilter(max_length=200, help_text="Exact match.")
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="ISO 8601, inclusive."
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="ISO 8601, exclusive."
    )

    class Meta:
        model = Case
        fields = ("status", "verdict", "kind", "external_ref", "created_after", "created_before")


class ReviewQueueFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=[(s.value, s.label) for s in (CaseStatus.NEEDS_REVIEW, CaseStatus.PENDING_APPROVAL)]
    )
    kind = django_filters.ChoiceFilter(choices=CaseKind.choices)
    partner = django_filters.CharFilter(field_name="partner__slug", max_length=64, help_text="Partner slug.")

    class Meta:
        model = Case
        fields = ("status", "kind", "partner")
