"""The review queue: filters, keyset pages, claims, supervisors' bulk actions, CSV export."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from ...models import Case
from ...services import ServiceError, audit_record, cases_request_resubmission, claims
from ...services.claims import BulkResult
from ...vocabulary import RESUBMISSION_REASONS
from .. import presenters, selectors
from ..access import console_view, safe_next, service_error_shown
from ..forms import BulkForm, QueueFilterForm
from ..selectors import Cursor, QueueFilters

#: Session key of the queue's filters as last shown: the case page's decide-and-open-next stays in that queue.
QUEUE_SESSION_KEY = "console_queue_filters"


def _filter_params(request: HttpRequest) -> dict[str, str]:
    """The queue's filter parameters as given (for page links and the export link)."""
    return {k: v for k, v in request.GET.dict().items() if k != "after" and v}


@console_view("liveness.view_case")
def case_list(request: HttpRequest) -> HttpResponse:
    partners = selectors.partners_for_filter()
    form = QueueFilterForm(request.GET or None, partners=partners)
    filters = form.filters()
    cursor = Cursor.decode(request.GET.get("after", ""))
    page = selectors.queue_page(filters, cursor=cursor, user=request.user)  # type: ignore[arg-type]
    now = timezone.now()
    params = _filter_params(request)
    if request.session.get(QUEUE_SESSION_KEY) != params:
        request.session[QUEUE_SESSION_KEY] = params
    can_bulk = request.user.has_perm("liveness.assign_case")
    context: dict[str, Any] = {
        "form": form,
        "filters": filters,
        "rows": presenters.queue_rows_html(
            presenters.queue_rows(page.cases, now=now, sla_minutes=settings.REVIEW_SLA_MINUTES), can_bulk=can_bulk
        ),
        "page": page,
        "counts": selectors.queue_counts(),
        "sla_minutes": settings.REVIEW_SLA_MINUTES,
        "next_url": "?" + urlencode({**params, "after": page.next_cursor}) if page.next_cursor else "",
        "first_url": "?" + urlencode(params) if params else "?",
        "export_url": reverse("case_export") + ("?" + urlencode(params) if params else ""),
        "can_bulk": can_bulk,
        "operators": selectors.operators_for_assignment() if can_bulk else [],
        "resubmission_reasons": list(RESUBMISSION_REASONS.items()) if can_bulk else [],
        "tabs": _tabs(filters),
    }
    return render(request, "console/case_list.html", context)


def _tabs(filters: QueueFilters) -> list[tuple[str, str, bool]]:
    """(label, status value, selected) for the quick status tabs above the queue."""
    return [
        ("Review queue", "", filters.status == ""),
        ("Needs review", "needs_review", filters.status == "needs_review"),
        ("Awaiting approval", "pending_approval", filters.status == "pending_approval"),
        ("Processing", "processing", filters.status == "processing"),
        ("Decided", "decided", filters.status == "decided"),
    ]


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


#: Cells a spreadsheet would run as a formula; partner references are untrusted text.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


EXPORT_COLUMNS = (
    "case_id",
    "external_ref",
    "partner",
    "kind",
    "status",
    "auto_verdict",
    "final_verdict",
    "auto_reasons",
    "checks",
    "created_at",
    "decided_at",
    "decided_by",
    "claimed_by",
    "resubmissions",
)


def _export_lines(rows: Iterator[Case]) -> Iterator[list[str]]:
    yield list(EXPORT_COLUMNS)
    for case in rows:
        checks = "; ".join(
            f"{c.provider}:{c.status}" + (f":{c.score:.3f}" if c.score is not None else "")
            for c in case.checks.all()
            if c.round == case.round
        )
        yield [
            _cell(v)
            for v in (
                case.public_id,
                case.external_ref,
                case.partner.name if case.partner else "console",
                case.kind,
                case.status,
                case.auto_verdict,
                case.final_verdict,
                " | ".join(str(r) for r in case.auto_reasons or []),
                checks,
                case.created_at.isoformat(),
                case.decided_at.isoformat() if case.decided_at else "",
                case.decided_by.get_username() if case.decided_by else "",
                case.claimed_by.get_username() if case.claimed_by else "",
                case.resubmission_count,
            )
        ]


@console_view("liveness.view_case")
def case_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered queue as CSV, streamed row by row: memory stays flat however many cases match."""
    form = QueueFilterForm(request.GET or None, partners=selectors.partners_for_filter())
    filters = form.filters()
    audit_record(action="queue.exported", actor=request.user, data={"filters": _filter_params(request)})
    writer = csv.writer(_Echo())
    rows = selectors.queue_export_rows(filters, user=request.user)  # type: ignore[arg-type]
    response = StreamingHttpResponse(
        (writer.writerow(line) for line in _export_lines(rows)), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="cases-{stamp}.csv"'
    response["Cache-Control"] = "no-store, private"
    return response


@console_view("liveness.decide_case", methods=("POST",))
def queue_take_next(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        case = claims.queue_take_next(user=user)
    except ServiceError as exc:
        service_error_shown(request, exc)
        return redirect("case_list")
    if case is None:
        messages.info(request, "Nothing is waiting for review right now.")
        return redirect("case_list")
    return redirect("case_detail", public_id=case.public_id)


@console_view("liveness.assign_case", methods=("POST",))
def queue_bulk(request: HttpRequest) -> HttpResponse:
    back = safe_next(request, reverse("case_list"))
    form = BulkForm(request.POST)
    if not form.is_valid():
        for error in form.errors.values():
            messages.error(request, "; ".join(str(e) for e in error))
        return redirect(back)
    actor: User = request.user  # type: ignore[assignment]
    cases = list(Case.objects.filter(public_id__in=form.cleaned_data["cases"]).order_by("created_at", "id"))
    try:
        if form.cleaned_data["action"] == "assign":
            assignee = User.objects.filter(pk=form.cleaned_data["assignee"]).first()
            if assignee is None:
                messages.error(request, "no such user to assign to")
                return redirect(back)
            result: BulkResult = claims.cases_assign(cases=cases, assignee=assignee, actor=actor)
            done = f"{len(result.done)} case(s) assigned to {assignee.get_username()}"
        else:
            result = cases_request_resubmission(
                cases=cases,
                actor=actor,
                reason=form.cleaned_data.get("reason") or "",
                resubmission_reasons=form.cleaned_data.get("resubmission_reasons") or [],
            )
            done = f"resubmission requested for {len(result.done)} case(s)"
    except ServiceError as exc:
        service_error_shown(request, exc)
        return redirect(back)
    if result.done:
        messages.success(request, done)
    for case, why in result.refused:
        messages.warning(request, f"{str(case.public_id)[:8]}: {why}")
    return redirect(back)
