"""The supervisor dashboard's numbers, computed in the database.

Each block is one aggregate query over an indexed range (cases by ``created_at``, checks by
``provider, finished_at``); Python only reshapes the handful of rows that come back. The number of
queries is fixed: it does not grow with the number of cases, days or checks.

Latency percentiles are PostgreSQL's ``percentile_cont`` (linear interpolation between the two nearest
ranks) on PostgreSQL, and the same definition computed with window functions elsewhere (SQLite): each
provider's latencies are ranked in the database and only the two neighbouring rows of each percentile
come back. Either way no latency list is loaded into Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Aggregate, Avg, Count, F, FloatField, Min, Q, QuerySet, Window
from django.db.models.functions import RowNumber, TruncDate
from django.utils import timezone

from ..models import ApprovalStatus, Case, CaseStatus, Check, CheckStatus, Decision, Verdict

#: Percentiles shown per provider, in percent (integers keep the rank arithmetic exact in SQL and Python).
PERCENTILES = (50, 95)
_DECIDED = (Verdict.LIVE, Verdict.SPOOF)
_WAITING = (CaseStatus.NEEDS_REVIEW, CaseStatus.PENDING_APPROVAL)


@dataclass(frozen=True)
class DayRow:
    day: date
    total: int = 0
    live: int = 0
    spoof: int = 0
    resubmit: int = 0
    undecided: int = 0
    auto: int = 0
    operator: int = 0


@dataclass(frozen=True)
class DecisionSummary:
    cases: int
    auto_decided: int
    operator_decided: int
    with_auto_verdict: int  # cases the policy decided live/spoof that also have a final live/spoof
    overridden: int  # ... whose final verdict differs from the automatic one
    four_eyes_pending: int
    four_eyes_approved: int
    four_eyes_refused: int

    @property
    def override_rate(self) -> float | None:
        return self.overridden / self.with_auto_verdict if self.with_auto_verdict else None


@dataclass(frozen=True)
class Backlog:
    needs_review: int
    pending_approval: int
    within_sla: int
    over_sla: int
    over_double_sla: int
    oldest: datetime | None

    @property
    def total(self) -> int:
        return self.needs_review + self.pending_approval

    @property
    def oldest_age(self) -> timedelta | None:
        return timezone.now() - self.oldest if self.oldest else None


@dataclass
class ProviderRow:
    provider: str
    settled: int
    succeeded: int
    failed: int
    assessed: int  # succeeded with a score
    passed: int
    avg_latency_ms: float | None
    avg_score: float | None
    latency_ms: dict[int, float | None] = field(default_factory=dict)  # percentile -> value

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.assessed if self.assessed else None

    @property
    def p50(self) -> float | None:
        return self.latency_ms.get(50)

    @property
    def p95(self) -> float | None:
        return self.latency_ms.get(95)

    @property
    def error_rate(self) -> float | None:
        return self.failed / self.settled if self.settled else None


@dataclass
class Dashboard:
    start: date
    end: date
    days: list[DayRow]
    decisions: DecisionSummary
    backlog: Backlog
    providers: list[ProviderRow]


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in the portal's time zone."""
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
    )


def cases_per_day(start: date, end: date) -> list[DayRow]:
    since, until = _bounds(start, end)
    rows = (
        Case.objects.filter(created_at__gte=since, created_at__lt=until)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(
            total=Count("pk"),
            live=Count("pk", filter=Q(final_verdict=Verdict.LIVE)),
            spoof=Count("pk", filter=Q(final_verdict=Verdict.SPOOF)),
            resubmit=Count("pk", filter=Q(final_verdict=Verdict.RESUBMIT)),
            undecided=Count("pk", filter=Q(final_verdict="")),
            auto=Count("pk", filter=Q(decided_by__isnull=True, final_verdict__in=_DECIDED)),
            operator=Count("pk", filter=Q(decided_by__isnull=False)),
        )
        .order_by("day")
    )
    found = {
        row["day"]: DayRow(
            day=row["day"],
            total=row["total"],
            live=row["live"],
            spoof=row["spoof"],
            resubmit=row["resubmit"],
            undecided=row["undecided"],
            auto=row["auto"],
            operator=row["operator"],
        )
        for row in rows
    }
    span = (end - start).days + 1
    return [found.get(start + timedelta(days=i), DayRow(day=start + timedelta(days=i))) for i in range(span)]


def decision_summary(start: date, end: date) -> DecisionSummary:
    since, until = _bounds(start, end)
    cases = Case.objects.filter(created_at__gte=since, created_at__lt=until).aggregate(
        cases=Count("pk"),
        auto_decided=Count("pk", filter=Q(decided_by__isnull=True, final_verdict__in=_DECIDED)),
        operator_decided=Count("pk", filter=Q(decided_by__isnull=False)),
        with_auto_verdict=Count("pk", filter=Q(auto_verdict__in=_DECIDED, final_verdict__in=_DECIDED)),
        overridden=Count(
            "pk",
            filter=Q(auto_verdict__in=_DECIDED, final_verdict__in=_DECIDED) & ~Q(final_verdict=F("auto_verdict")),
        ),
    )
    four_eyes = Decision.objects.filter(created_at__gte=since, created_at__lt=until).aggregate(
        four_eyes_pending=Count("pk", filter=Q(approval_status=ApprovalStatus.PENDING)),
        four_eyes_approved=Count("pk", filter=Q(approval_status=ApprovalStatus.APPROVED)),
        four_eyes_refused=Count("pk", filter=Q(approval_status=ApprovalStatus.REFUSED)),
    )
    return DecisionSummary(**cases, **four_eyes)


def review_backlog(*, now: datetime | None = None) -> Backlog:
    """The open review work right now (not bound to the date range), aged against REVIEW_SLA_MINUTES."""
    now = now or timezone.now()
    sla = timedelta(minutes=settings.REVIEW_SLA_MINUTES)
    totals = Case.objects.filter(status__in=_WAITING).aggregate(
        needs_review=Count("pk", filter=Q(status=CaseStatus.NEEDS_REVIEW)),
        pending_approval=Count("pk", filter=Q(status=CaseStatus.PENDING_APPROVAL)),
        within_sla=Count("pk", filter=Q(created_at__gte=now - sla)),
        over_sla=Count("pk", filter=Q(created_at__lt=now - sla)),
        over_double_sla=Count("pk", filter=Q(created_at__lt=now - 2 * sla)),
        oldest=Min("created_at"),
    )
    return Backlog(**totals)


def provider_stats(start: date, end: date) -> list[ProviderRow]:
    """Volume, pass and error rate, mean and p50/p95 latency of checks settled in the range."""
    since, until = _bounds(start, end)
    settled = Check.objects.filter(
        finished_at__gte=since,
        finished_at__lt=until,
        status__in=(CheckStatus.SUCCEEDED, CheckStatus.FAILED, CheckStatus.SKIPPED),
    )
    rows = {
        row["provider"]: ProviderRow(**row)
        for row in settled.values("provider")
        .annotate(
            settled=Count("pk"),
            succeeded=Count("pk", filter=Q(status=CheckStatus.SUCCEEDED)),
            failed=Count("pk", filter=Q(status=CheckStatus.FAILED)),
            assessed=Count("pk", filter=Q(status=CheckStatus.SUCCEEDED, score__isnull=False)),
            passed=Count("pk", filter=Q(status=CheckStatus.SUCCEEDED, passed=True)),
            avg_latency_ms=Avg("latency_ms"),
            avg_score=Avg("score", filter=Q(status=CheckStatus.SUCCEEDED)),
        )
        .order_by("provider")
    }
    for provider, values in latency_percentiles(settled).items():
        if provider in rows:
            rows[provider].latency_ms = values
    return list(rows.values())


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate ``percentile_cont(f) WITHIN GROUP (ORDER BY expr)``."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: str, *, percent: int) -> None:
        # An integer percent from PERCENTILES, never user input: safe to place in the SQL text.
        super().__init__(expression, fraction=f"{int(percent) / 100:.2f}")


def latency_percentiles(checks: QuerySet[Check]) -> dict[str, dict[int, float | None]]:
    """percentile_cont(p) of ``latency_ms`` per provider, for each p in PERCENTILES, in one query."""
    if connection.vendor == "postgresql":
        rows = (
            checks.filter(latency_ms__isnull=False)
            .order_by()
            .values("provider")
            .annotate(**{f"p{p}": PercentileCont("latency_ms", percent=p) for p in PERCENTILES})
        )
        result: dict[str, dict[int, float | None]] = {}
        for row in rows:
            values: dict[str, Any] = dict(row)
            result[values["provider"]] = {p: values[f"p{p}"] for p in PERCENTILES}
        return result
    return latency_percentiles_portable(checks)


def latency_percentiles_portable(checks: QuerySet[Check]) -> dict[str, dict[int, float | None]]:
    """The same numbers with window functions only (SQLite, and any database that has them).

    With n latencies sorted ascending, percentile p lies at 0-based position (n-1)*p/100: the value at
    rank floor(pos)+1 plus the fraction of the way to the next rank. Integer arithmetic keeps the rank
    the database picks and the fraction Python applies in exact agreement.
    """
    ranked = (
        checks.filter(latency_ms__isnull=False)
        .order_by()
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("provider")], order_by=[F("latency_ms").asc(), F("pk").asc()]),
            n=Window(Count("pk"), partition_by=[F("provider")]),
        )
    )
    wanted = Q()
    for p in PERCENTILES:
        lower_rank = (F("n") - 1) * p / 100 + 1
        wanted |= Q(rank=lower_rank) | Q(rank=lower_rank + 1)
    found: dict[str, dict[int, int]] = {}
    counts: dict[str, int] = {}
    for provider, rank, n, latency in ranked.filter(wanted).values_list("provider", "rank", "n", "latency_ms"):
        if latency is not None:
            found.setdefault(provider, {})[rank] = latency
            counts[provider] = n
    result: dict[str, dict[int, float | None]] = {}
    for provider, values in found.items():
        n = counts[provider]
        result[provider] = {}
        for p in PERCENTILES:
            low_rank = (n - 1) * p // 100 + 1
            fraction = ((n - 1) * p % 100) / 100
            below = values.get(low_rank)
            above = values.get(low_rank + 1, below)
            if below is None or above is None:
                result[provider][p] = None
                continue
            result[provider][p] = below + (above - below) * fraction
    return result


def dashboard(*, start: date, end: date) -> Dashboard:
    return Dashboard(
        start=start,
        end=end,
        days=cases_per_day(start, end),
        decisions=decision_summary(start, end),
        backlog=review_backlog(),
        providers=provider_stats(start, end),
    )
