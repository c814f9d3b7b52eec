"""Reads: querysets the console and the API share. Writes live in services."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import AuditEvent, Case, Check, Decision


def case_list_recent(*, limit: int = 50) -> QuerySet[Case]:
    return Case.objects.select_related("partner").order_by("-created_at", "-id")[:limit]


def case_get_detail(*, public_id: str) -> Case:
    return (
        Case.objects.select_related("partner", "decided_by")
        .prefetch_related(
            Prefetch("checks", queryset=Check.objects.order_by("round", "id")),
            "evidence",
            Prefetch("decisions", queryset=Decision.objects.select_related("actor", "approver")),
            Prefetch("events", queryset=AuditEvent.objects.select_related("actor").order_by("created_at", "id")),
        )
        .get(public_id=public_id)
    )
