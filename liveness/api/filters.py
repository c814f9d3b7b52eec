"""Query filters of the case lists (django-filter): invalid values answer 400, never an empty list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from ..models import Case, CaseKind, CaseStatus, Verdict


class UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601, normalised to UTC before it reaches the database.

    Python accepts UTC offsets up to ±23:59; PostgreSQL refuses more than ±15:59 with a DataError (a 500).
    Converting here sends only UTC, and a date that cannot be converted is a 400 naming the field.
    """

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError("date and time out of range", code="invalid") from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class CaseFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=CaseStatus.choices, help_text="Repeat for several.")
    verdict = django_filters.MultipleChoiceFilter(
        field_name="final_verdict", choices=Verdict.choices, help_text="The final verdict; repeat for several."
    )
    kind = django_filters.ChoiceFilter(choices=CaseKind.choices)
    external_ref = django_filters.CharFilter(max_length=200, help_text="Exact match.")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte", help_text="ISO 8601, inclusive.")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt", help_text="ISO 8601, exclusive.")

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
