"""The accuracy page (supervisors): error rates against operators' verdicts, and suggested thresholds.

The numbers come from ``console.accuracy``; a suggested threshold is only a link to the provider settings
page pre-filled with it, where saving is the normal audited change.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from ...engine import pad_metrics
from ...services.audit import audit_record
from .. import accuracy
from ..access import console_view
from ..forms import AccuracyForm
from .queue import _cell, _Echo

#: Where the DET chart puts its ticks (rates), drawn on the normal-deviate scale.
DET_TICKS = (0.001, 0.01, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.95)


def _percent(value: float | None) -> float | None:
    return None if value is None else value / 100


def parse(request: HttpRequest) -> tuple[AccuracyForm, dict[str, Any], int]:
    """The filters and targets from the query string; invalid input falls back to the defaults with 400."""
    query: Any = request.GET
    if not query:
        # First visit: the defaults, shown in the fields (an empty field on submit means "no target").
        end = timezone.localdate()
        query = {
            "start": (end - timedelta(days=AccuracyForm.DEFAULT_DAYS - 1)).isoformat(),
            "end": end.isoformat(),
            "target_bpcer": "5",
        }
    form = AccuracyForm(query)
    if form.is_valid():
        data = form.cleaned_data
        return (
            form,
            {
                "start": data["start"],
                "end": data["end"],
                "provider": data["provider"] or "",
                "kind": data["kind"] or "",
                "targets": accuracy.Targets(bpcer=_percent(data["target_bpcer"]), apcer=_percent(data["target_apcer"])),
            },
            200,
        )
    end = timezone.localdate()
    return form, {"start": end - timedelta(days=AccuracyForm.DEFAULT_DAYS - 1), "end": end}, 400


def apply_url(provider: str, threshold: float) -> str:
    """The provider settings page with the threshold pre-filled: nothing changes until someone saves there."""
    query = urlencode({"provider": provider, "threshold": f"{threshold:.4f}"})
    return f"{reverse('provider_settings')}?{query}#provider-{provider}"


def chart_data(report: accuracy.AccuracyReport) -> dict[str, Any]:
    """The series Chart.js draws (handed over with json_script, never inline script)."""
    rows = []
    for row in report.rows:
        curve = row.curve()
        rows.append(
            {
                "id": f"{row.provider}-{row.kind}",
                "threshold": row.threshold,
                "suggested": [s.threshold for s in row.suggestions if s.threshold is not None],
                "curve": curve,
                "det": [
                    {
                        "x": pad_metrics.probit(point["apcer"] or 0.0),
                        "y": pad_metrics.probit(point["bpcer"] or 0.0),
                        "threshold": point["threshold"],
                    }
                    for point in curve
                ],
                "histogram": row.histogram(),
            }
        )
    ticks = [{"value": pad_metrics.probit(rate), "label": f"{rate * 100:g} %"} for rate in DET_TICKS]
    return {"rows": rows, "det_ticks": ticks}


@console_view("liveness.view_dashboard")
def accuracy_page(request: HttpRequest) -> HttpResponse:
    form, filters, status = parse(request)
    report = accuracy.accuracy_report(**filters)
    applies = {
        (row.provider, row.kind, s.target): apply_url(row.provider, s.threshold)
        for row in report.rows
        for s in row.suggestions
        if s.threshold is not None and s.threshold != row.threshold
    }
    sections = [
        {
            "row": row,
            "suggestions": [
                {"s": s, "apply": applies.get((row.provider, row.kind, s.target))} for s in row.suggestions
            ],
        }
        for row in report.rows
    ]
    export_query = urlencode(
        {
            "start": report.start.isoformat(),
            "end": report.end.isoformat(),
            "provider": report.provider,
            "kind": report.kind,
        }
    )
    return render(
        request,
        "console/accuracy.html",
        {
            "form": form,
            "report": report,
            "sections": sections,
            "chart": chart_data(report),
            "export_query": export_query,
        },
        status=status,
    )


@console_view("liveness.view_dashboard")
def accuracy_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The per-check table behind the page as CSV, streamed: memory stays flat however many checks match."""
    form, filters, status = parse(request)
    if status != 200:
        errors = "; ".join(f"{field}: {' '.join(str(m) for m in msgs)}" for field, msgs in form.errors.items())
        return HttpResponse(f"invalid filters: {errors}\n", status=400, content_type="text/plain; charset=utf-8")
    start: date = filters["start"]
    end: date = filters["end"]
    audit_record(
        action="accuracy.exported",
        actor=request.user,
        data={
            "start": start.isoformat(),
            "end": end.isoformat(),
            "provider": filters["provider"],
            "kind": filters["kind"],
        },
    )
    writer = csv.writer(_Echo())
    rows = accuracy.case_rows(start=start, end=end, provider=filters["provider"], kind=filters["kind"])
    response = StreamingHttpResponse(
        (writer.writerow([_cell(v) for v in line]) for line in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="accuracy-{start.isoformat()}-{end.isoformat()}.csv"'
    response["Cache-Control"] = "no-store, private"
    return response
