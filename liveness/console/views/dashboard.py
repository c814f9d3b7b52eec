"""The supervisor dashboard: outcomes per day, automatic vs operator decisions, backlog, providers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from .. import stats
from ..access import console_view
from ..forms import DateRangeForm


def chart_data(board: stats.Dashboard) -> dict[str, Any]:
    """The series Chart.js draws (handed to the page with json_script, never inline script)."""
    return {
        "days": [row.day.isoformat() for row in board.days],
        "outcomes": {
            "live": [row.live for row in board.days],
            "spoof": [row.spoof for row in board.days],
            "resubmit": [row.resubmit for row in board.days],
            "undecided": [row.undecided for row in board.days],
        },
        "deciders": {
            "auto": [row.auto for row in board.days],
            "operator": [row.operator for row in board.days],
        },
        "providers": {
            "labels": [row.provider for row in board.providers],
            "p50": [row.latency_ms.get(50) for row in board.providers],
            "p95": [row.latency_ms.get(95) for row in board.providers],
        },
    }


def day_rows_html(days: list[stats.DayRow]) -> SafeString:
    """The "Numbers per day" table's rows, drawn here: at 366 days the template's loop (eight lookups per
    row) cost the page more than the summaries it reads (bench.console_scale, issue 15)."""
    return format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((d.day.isoformat(), d.total, d.live, d.spoof, d.resubmit, d.undecided, d.auto, d.operator) for d in days),
    )


@console_view("liveness.view_dashboard")
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DateRangeForm(request.GET)
    if form.is_valid():
        start, end, status = form.cleaned_data["start"], form.cleaned_data["end"], 200
    else:
        end = timezone.localdate()
        start, status = end - timedelta(days=13), 400
    board = stats.dashboard(start=start, end=end)
    return render(
        request,
        "console/dashboard.html",
        {
            "form": form,
            "board": board,
            "chart": chart_data(board),
            "day_rows": day_rows_html(board.days),
            "sla_minutes": settings.REVIEW_SLA_MINUTES,
            "totals": {
                "cases": sum(row.total for row in board.days),
                "live": sum(row.live for row in board.days),
                "spoof": sum(row.spoof for row in board.days),
                "resubmit": sum(row.resubmit for row in board.days),
                "undecided": sum(row.undecided for row in board.days),
            },
        },
        status=status,
    )
