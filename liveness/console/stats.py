"""The supervisor dashboard's numbers, computed in the database.

Counts, rates and means are sums of per-day figures: a day is read from its daily summary row when it is
sealed and untouched since the last refresh, and aggregated from the raw rows (cases by ``created_at``,
checks by ``finished_at``, one index range per run of days) otherwise, so the figures are always the raw
rows' and a year costs a few hundred summary rows instead of a million cases (see "per-day figures"
below). Python only adds up the handful of rows that come back; the number of queries is fixed.

Latency percentiles are PostgreSQL's ``percentile_cont`` (linear interpolation between the two nearest
ranks) on PostgreSQL, and the same definition computed with window functions elsewhere (SQLite): each
provider's latencies are ranked in the database and only the two neighbouring rows of each percentile
come back. Either way no latency list is loaded into Python.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models import Case as Case_
from django.db.models.functions import Cast, Coalesce, RowNumber, TruncDate
from django.utils import timezone

from ..models import (
    ApprovalStatus,
    AuditEvent,
    Case,
    CaseStatus,
    Check,
    CheckStatus,
    DailyCaseSummary,
    DailyLatencyBucket,
    DailyProviderSummary,
    Decision,
    SummaryState,
    Verdict,
)
from .selectors import cases_per_status

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


# --- per-day figures: from the raw rows, or from the daily summaries ---------------------------------
# Every figure the dashboard shows except the latency percentiles is a sum over days, so the range is
# assembled day by day: a day comes from its summary row (liveness.models.DailyCaseSummary and
# DailyProviderSummary) when it is *sealed* (before the day of the last refresh) and *clean* (no audited
# change since that refresh touched a case, decision or check counted on it); every other day (today,
# days since the last refresh, days something changed on since) is aggregated from the raw rows in the
# same request. The figures are therefore always those of the raw rows; the summaries only make long
# ranges cheap. Every change these figures depend on writes an audit event naming its case (case.created,
# check.*, case.auto_decided, decision.*, case.resubmitted, case.closed), which is what "clean" reads.

#: How far before the last refresh's start the dirty-day scan looks: longer than any transaction lives
#: (the task time limit is CELERY_TASK_TIME_LIMIT), so a change committed just after a refresh read its
#: rows is still seen as a change.
SUMMARY_SLACK = timedelta(minutes=10)


@dataclass
class CaseDay:
    """Additive case figures of one day: the cases created that day, the decisions made that day."""

    total: int = 0
    live: int = 0
    spoof: int = 0
    resubmit: int = 0
    undecided: int = 0
    auto: int = 0
    operator: int = 0
    with_auto_verdict: int = 0
    overridden: int = 0
    four_eyes_pending: int = 0
    four_eyes_approved: int = 0
    four_eyes_refused: int = 0


@dataclass
class ProviderDay:
    """Additive figures of one provider's checks settled on one day."""

    settled: int = 0
    succeeded: int = 0
    failed: int = 0
    assessed: int = 0
    passed: int = 0
    latency_count: int = 0
    latency_sum: int = 0
    score_count: int = 0
    score_sum: float = 0.0


def _latency_edges() -> tuple[int, ...]:
    """Lower edges (ms) of the latency buckets: 5 ms wide below 100 ms, then each about 5 % wider than
    the one before, up to 10 minutes; the last bucket is open-ended."""
    edges = list(range(0, 100, 5))
    edge = 100
    while edge < 600_000:
        edges.append(edge)
        edge = max(edge + 1, math.ceil(edge * 1.05))
    return tuple(edges)


LATENCY_EDGES = _latency_edges()


class WidthBucket(Func):
    """PostgreSQL's ``width_bucket(latency_ms, ARRAY[edges])``: how many of the (sorted) edges are <= the
    value, found by a binary search over the array, where a CASE walks its WHEN branches one by one (197
    of them: the slowest statement of the dashboard at a million checks, issue 15)."""

    function = "WIDTH_BUCKET"
    output_field = IntegerField()

    def __init__(self, expression: str, edges: tuple[int, ...]) -> None:
        from django.contrib.postgres.fields import ArrayField

        array = Cast(Value(list(edges)), ArrayField(IntegerField()))
        super().__init__(F(expression), array)


def _bucket_of_latency() -> Case_ | WidthBucket:
    """The bucket index of ``latency_ms`` as SQL: i with LATENCY_EDGES[i] <= latency < LATENCY_EDGES[i+1]
    (0 below the first inner edge, the last index from the last edge up). width_bucket on PostgreSQL,
    the same numbers as a portable CASE WHEN elsewhere (tests/test_console_summaries.py checks they agree
    on every edge)."""
    if connection.vendor == "postgresql":
        return WidthBucket("latency_ms", LATENCY_EDGES[1:])
    return _bucket_of_latency_case()


def _bucket_of_latency_case() -> Case_:
    return Case_(
        *(When(latency_ms__lt=edge, then=Value(i)) for i, edge in enumerate(LATENCY_EDGES[1:])),
        default=Value(len(LATENCY_EDGES) - 1),
        output_field=IntegerField(),
    )


CASE_DAY_FIELDS = tuple(f.name for f in fields(CaseDay))
PROVIDER_DAY_FIELDS = tuple(f.name for f in fields(ProviderDay))
_SETTLED = (CheckStatus.SUCCEEDED, CheckStatus.FAILED, CheckStatus.SKIPPED)


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as inclusive runs of consecutive days: [d1, d2, d3, d7] -> [(d1, d3), (d7, d7)]."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _in_days(field_name: str, days: Iterable[date]) -> Q | None:
    """``field`` inside any of ``days`` (portal time zone), as one index range per run of days."""
    q: Q | None = None
    for first, last in _runs(days):
        since, until = _bounds(first, last)
        part = Q(**{f"{field_name}__gte": since, f"{field_name}__lt": until})
        q = part if q is None else q | part
    return q


def _day_of(field_name: str) -> TruncDate:
    return TruncDate(field_name, tzinfo=timezone.get_current_timezone())


def raw_case_days(days: Iterable[date]) -> dict[date, CaseDay]:
    """CaseDay of each of ``days`` that has any case or decision, from the raw rows (two queries)."""
    where = _in_days("created_at", days)
    if where is None:
        return {}
    found: dict[date, CaseDay] = {}
    cases = (
        Case.objects.filter(where)
        .annotate(day=_day_of("created_at"))
        .order_by()
        .values("day")
        .annotate(
            total=Count("pk"),
            live=Count("pk", filter=Q(final_verdict=Verdict.LIVE)),
            spoof=Count("pk", filter=Q(final_verdict=Verdict.SPOOF)),
            resubmit=Count("pk", filter=Q(final_verdict=Verdict.RESUBMIT)),
            undecided=Count("pk", filter=Q(final_verdict="")),
            auto=Count("pk", filter=Q(decided_by__isnull=True, final_verdict__in=_DECIDED)),
            operator=Count("pk", filter=Q(decided_by__isnull=False)),
            with_auto_verdict=Count("pk", filter=Q(auto_verdict__in=_DECIDED, final_verdict__in=_DECIDED)),
            overridden=Count(
                "pk",
                filter=Q(auto_verdict__in=_DECIDED, final_verdict__in=_DECIDED) & ~Q(final_verdict=F("auto_verdict")),
            ),
        )
    )
    for row in cases:
        values: dict[str, Any] = dict(row)
        day = values.pop("day")
        found[day] = CaseDay(**values)
    four_eyes = (
        Decision.objects.filter(where)
        .annotate(day=_day_of("created_at"))
        .order_by()
        .values("day")
        .annotate(
            four_eyes_pending=Count("pk", filter=Q(approval_status=ApprovalStatus.PENDING)),
            four_eyes_approved=Count("pk", filter=Q(approval_status=ApprovalStatus.APPROVED)),
            four_eyes_refused=Count("pk", filter=Q(approval_status=ApprovalStatus.REFUSED)),
        )
    )
    for answer in four_eyes:
        answers: dict[str, Any] = dict(answer)
        figures = found.setdefault(answers.pop("day"), CaseDay())
        for name, value in answers.items():
            setattr(figures, name, value)
    return found


def raw_provider_days(days: Iterable[date]) -> dict[tuple[date, str], ProviderDay]:
    """ProviderDay of each (day, provider) with a settled check on one of ``days``, from the raw rows."""
    where = _in_days("finished_at", days)
    if where is None:
        return {}
    rows = (
        Check.objects.filter(where, status__in=_SETTLED)
        .annotate(day=_day_of("finished_at"))
        .order_by()
        .values("day", "provider")
        .annotate(
            settled=Count("pk"),
            succeeded=Count("pk", filter=Q(status=CheckStatus.SUCCEEDED)),
            failed=Count("pk", filter=Q(status=CheckStatus.FAILED)),
            assessed=Count("pk", filter=Q(status=CheckStatus.SUCCEEDED, score__isnull=False)),
            passed=Count("pk", filter=Q(status=CheckStatus.SUCCEEDED, passed=True)),
            latency_count=Count("latency_ms"),
            latency_sum=Coalesce(Sum("latency_ms"), 0),
            score_count=Count("score", filter=Q(status=CheckStatus.SUCCEEDED)),
            score_sum=Coalesce(Sum("score", filter=Q(status=CheckStatus.SUCCEEDED)), 0.0, output_field=FloatField()),
        )
    )
    found: dict[tuple[date, str], ProviderDay] = {}
    for row in rows:
        values: dict[str, Any] = dict(row)
        key = (values.pop("day"), values.pop("provider"))
        found[key] = ProviderDay(**values)
    return found


def raw_latency_buckets(days: Iterable[date]) -> dict[tuple[date, str, int], int]:
    """{(day, provider, bucket): checks} of the settled checks with a latency on ``days``, from the raw rows."""
    where = _in_days("finished_at", days)
    if where is None:
        return {}
    rows = (
        Check.objects.filter(where, status__in=_SETTLED, latency_ms__isnull=False)
        .annotate(day=_day_of("finished_at"), bucket=_bucket_of_latency())
        .order_by()
        .values_list("day", "provider", "bucket")
        .annotate(n=Count("pk"))
    )
    return {(day, provider, bucket): n for day, provider, bucket, n in rows}


def touched_days(since: datetime) -> set[date]:
    """Days whose figures an audited change at or after ``since`` may have moved: the creation day of each
    case named by such an event, and the days of that case's decisions and settled checks."""
    case_ids = list(
        AuditEvent.objects.filter(created_at__gte=since, case__isnull=False)
        .order_by()
        .values_list("case_id", flat=True)
        .distinct()
    )
    days: set[date] = set()
    if not case_ids:
        return days
    for model, field_name in ((Case, "created_at"), (Decision, "created_at"), (Check, "finished_at")):
        key = "pk__in" if model is Case else "case_id__in"
        days.update(
            model.objects.filter(**{key: case_ids, f"{field_name}__isnull": False})
            .annotate(day=_day_of(field_name))
            .order_by()
            .values_list("day", flat=True)
            .distinct()
        )
    return days


def summarised_days(start: date, end: date) -> set[date]:
    """The days of [start, end] the summaries may answer for: sealed, and clean since the last refresh."""
    state = SummaryState.objects.filter(pk=1).first()
    if state is None or state.sealed_day <= start:
        return set()
    last = min(end, state.sealed_day - timedelta(days=1))
    sealed = {start + timedelta(days=i) for i in range((last - start).days + 1)}
    return sealed - touched_days(state.refreshed_at - SUMMARY_SLACK)


def _summarised(start: date, end: date, use_summaries: bool | set[date]) -> set[date]:
    """``use_summaries`` is True (look them up), False (raw rows only) or the days already looked up."""
    if isinstance(use_summaries, set):
        return use_summaries
    return summarised_days(start, end) if use_summaries else set()


def case_days(start: date, end: date, *, use_summaries: bool | set[date] = True) -> dict[date, CaseDay]:
    summarised = _summarised(start, end, use_summaries)
    found = {
        row.day: CaseDay(**{name: getattr(row, name) for name in CASE_DAY_FIELDS})
        for row in DailyCaseSummary.objects.filter(day__gte=start, day__lte=end)
        if row.day in summarised
    }
    span = {start + timedelta(days=i) for i in range((end - start).days + 1)}
    found.update(raw_case_days(span - summarised))
    return found


def provider_days(
    start: date, end: date, *, use_summaries: bool | set[date] = True
) -> dict[tuple[date, str], ProviderDay]:
    summarised = _summarised(start, end, use_summaries)
    found = {
        (row.day, row.provider): ProviderDay(**{name: getattr(row, name) for name in PROVIDER_DAY_FIELDS})
        for row in DailyProviderSummary.objects.filter(day__gte=start, day__lte=end)
        if row.day in summarised
    }
    span = {start + timedelta(days=i) for i in range((end - start).days + 1)}
    found.update(raw_provider_days(span - summarised))
    return found


def summaries_refresh(*, now: datetime | None = None) -> int:
    """Rebuild the daily summaries of every day that is new since the last refresh or was touched since
    (all days with data the first time), up to yesterday. Returns how many days were rebuilt.

    Run by the ``refresh_dashboard_summaries`` task (CELERY_BEAT_SCHEDULE). Correctness never depends on
    it: a day it has not rebuilt yet is read from the raw rows. It only decides how much of a long range
    is cheap.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        state = SummaryState.objects.select_for_update().filter(pk=1).first()
        if state is None:
            firsts = [
                value
                for value in (
                    Case.objects.aggregate(first=Min("created_at"))["first"],
                    Check.objects.aggregate(first=Min("finished_at"))["first"],
                )
                if value is not None
            ]
            first = timezone.localdate(min(firsts)) if firsts else today
            days = {first + timedelta(days=i) for i in range((today - first).days)}
        else:
            days = {state.sealed_day + timedelta(days=i) for i in range((today - state.sealed_day).days)}
            days |= {day for day in touched_days(state.refreshed_at - SUMMARY_SLACK) if day < today}
        if days:
            cases = raw_case_days(days)
            checks = raw_provider_days(days)
            buckets = raw_latency_buckets(days)
            for first, last in _runs(days):
                DailyCaseSummary.objects.filter(day__gte=first, day__lte=last).delete()
                DailyProviderSummary.objects.filter(day__gte=first, day__lte=last).delete()
                DailyLatencyBucket.objects.filter(day__gte=first, day__lte=last).delete()
            DailyCaseSummary.objects.bulk_create(
                [DailyCaseSummary(day=day, **asdict(row)) for day, row in cases.items()], batch_size=1000
            )
            DailyProviderSummary.objects.bulk_create(
                [
                    DailyProviderSummary(day=day, provider=provider, **asdict(row))
                    for (day, provider), row in checks.items()
                ],
                batch_size=1000,
            )
            DailyLatencyBucket.objects.bulk_create(
                [DailyLatencyBucket(day=d, provider=p, bucket=b, count=n) for (d, p, b), n in buckets.items()],
                batch_size=5000,
            )
        SummaryState.objects.update_or_create(pk=1, defaults={"refreshed_at": now, "sealed_day": today})
    return len(days)


# --- the dashboard's blocks ---------------------------------------------------------------------------


def cases_per_day(
    start: date, end: date, *, use_summaries: bool | set[date] = True, found: dict[date, CaseDay] | None = None
) -> list[DayRow]:
    if found is None:
        found = case_days(start, end, use_summaries=use_summaries)
    rows = []
    for i in range((end - start).days + 1):
        day = start + timedelta(days=i)
        figures = found.get(day, CaseDay())
        rows.append(
            DayRow(
                day=day,
                total=figures.total,
                live=figures.live,
                spoof=figures.spoof,
                resubmit=figures.resubmit,
                undecided=figures.undecided,
                auto=figures.auto,
                operator=figures.operator,
            )
        )
    return rows


def decision_summary(
    start: date, end: date, *, use_summaries: bool | set[date] = True, found: dict[date, CaseDay] | None = None
) -> DecisionSummary:
    if found is None:
        found = case_days(start, end, use_summaries=use_summaries)
    total = CaseDay()
    for figures in found.values():
        for name in CASE_DAY_FIELDS:
            setattr(total, name, getattr(total, name) + getattr(figures, name))
    return DecisionSummary(
        cases=total.total,
        auto_decided=total.auto,
        operator_decided=total.operator,
        with_auto_verdict=total.with_auto_verdict,
        overridden=total.overridden,
        four_eyes_pending=total.four_eyes_pending,
        four_eyes_approved=total.four_eyes_approved,
        four_eyes_refused=total.four_eyes_refused,
    )


def review_backlog(*, now: datetime | None = None) -> Backlog:
    """The open review work right now (not bound to the date range), aged against REVIEW_SLA_MINUTES."""
    now = now or timezone.now()
    sla = timedelta(minutes=settings.REVIEW_SLA_MINUTES)
    rows = cases_per_status(_WAITING, created_before={"late": now - sla, "very_late": now - 2 * sla}).values()
    by_status = {row["status"]: row["n"] for row in rows}
    late = sum(row["late"] for row in rows)
    return Backlog(
        needs_review=by_status.get(CaseStatus.NEEDS_REVIEW, 0),
        pending_approval=by_status.get(CaseStatus.PENDING_APPROVAL, 0),
        within_sla=sum(by_status.values()) - late,
        over_sla=late,
        over_double_sla=sum(row["very_late"] for row in rows),
        oldest=min((row["oldest"] for row in rows), default=None),
    )


def provider_stats(start: date, end: date, *, use_summaries: bool | set[date] = True) -> list[ProviderRow]:
    """Volume, pass and error rate, mean and p50/p95 latency of checks settled in the range."""
    totals: dict[str, ProviderDay] = {}
    for (_, provider), figures in provider_days(start, end, use_summaries=use_summaries).items():
        total = totals.setdefault(provider, ProviderDay())
        for name in PROVIDER_DAY_FIELDS:
            setattr(total, name, getattr(total, name) + getattr(figures, name))
    rows = {
        provider: ProviderRow(
            provider=provider,
            settled=t.settled,
            succeeded=t.succeeded,
            failed=t.failed,
            assessed=t.assessed,
            passed=t.passed,
            avg_latency_ms=t.latency_sum / t.latency_count if t.latency_count else None,
            avg_score=t.score_sum / t.score_count if t.score_count else None,
        )
        for provider, t in sorted(totals.items())
        if t.settled
    }
    since, until = _bounds(start, end)
    settled = Check.objects.filter(finished_at__gte=since, finished_at__lt=until, status__in=_SETTLED)
    summarised = _summarised(start, end, use_summaries)
    percentiles = bucketed_percentiles(settled, start, end, summarised) if summarised else latency_percentiles(settled)
    for provider, values in percentiles.items():
        if provider in rows:
            rows[provider].latency_ms = values
    return list(rows.values())


def bucketed_percentiles(
    settled: QuerySet[Check], start: date, end: date, summarised: set[date]
) -> dict[str, dict[int, float | None]]:
    """percentile_cont(p) of ``latency_ms`` per provider, exactly, without sorting the whole range.

    The daily latency buckets (summaries for ``summarised`` days, the raw rows for the others) give,
    per provider, how many latencies fall in each bucket; the cumulative counts say which bucket holds
    each rank percentile_cont needs, and the value is read from the checks of that bucket alone (an
    index range over ``check_latency_idx``), at the rank's offset inside it. Same rank arithmetic as
    ``latency_percentiles_portable``.
    """
    counts: dict[str, dict[int, int]] = {}
    runs = Q()
    for first, last in _runs(summarised):
        runs |= Q(day__gte=first, day__lte=last)
    stored = (
        DailyLatencyBucket.objects.filter(runs).order_by().values_list("provider", "bucket").annotate(n=Sum("count"))
    )
    for provider, bucket, n in stored:
        counts.setdefault(provider, {})[bucket] = counts.get(provider, {}).get(bucket, 0) + n
    span = {start + timedelta(days=i) for i in range((end - start).days + 1)}
    for (_, provider, bucket), n in raw_latency_buckets(span - summarised).items():
        counts.setdefault(provider, {})[bucket] = counts.get(provider, {}).get(bucket, 0) + n
    # Every rank any percentile needs, located in its bucket, then read in one statement (see _latencies_at).
    plan: dict[str, list[tuple[int, int, float]]] = {}
    wanted: set[tuple[str, int]] = set()
    ordered_of: dict[str, list[tuple[int, int]]] = {}
    for provider, by_bucket in counts.items():
        ordered_of[provider] = sorted(by_bucket.items())
        n = sum(c for _, c in ordered_of[provider])
        per_p = []
        for p in PERCENTILES:
            low_rank = (n - 1) * p // 100 + 1
            fraction = ((n - 1) * p % 100) / 100
            per_p.append((p, low_rank, fraction))
            wanted.add((provider, low_rank))
            if fraction:
                wanted.add((provider, low_rank + 1))
        plan[provider] = per_p
    values = _latencies_at(settled, {(provider, rank): ordered_of[provider] for provider, rank in wanted})
    result: dict[str, dict[int, float | None]] = {}
    for provider, per_p in plan.items():
        result[provider] = {}
        for p, low_rank, fraction in per_p:
            below = values.get((provider, low_rank))
            above = values.get((provider, low_rank + 1)) if fraction else below
            if below is None:
                result[provider][p] = None
                continue
            above = below if above is None else above
            result[provider][p] = below + (above - below) * fraction
    return result


def _locate(ordered: list[tuple[int, int]], rank: int) -> tuple[int, int] | None:
    """(bucket, 0-based offset inside it) of the ``rank``-th smallest latency (1-based), from the counts."""
    before = 0
    for bucket, count in ordered:
        if before + count >= rank:
            return bucket, rank - before - 1
        before += count
    return None


def _latencies_at(
    settled: QuerySet[Check], wanted: dict[tuple[str, int], list[tuple[int, int]]]
) -> dict[tuple[str, int], float]:
    """{(provider, rank): latency} for each wanted rank: each an index range over ``check_latency_idx``
    (that provider's checks inside the rank's bucket, at the rank's offset). On PostgreSQL the reads are
    one UNION ALL statement (a dashboard used to send one query per rank: 8-12 round trips); elsewhere
    one query each."""
    reads: list[QuerySet[Any, Any]] = []
    keys: list[tuple[str, int]] = []
    for (provider, rank), ordered in sorted(wanted.items()):
        found = _locate(ordered, rank)
        if found is None:
            continue
        bucket, offset = found
        inside = settled.filter(provider=provider, latency_ms__gte=LATENCY_EDGES[bucket])
        if bucket + 1 < len(LATENCY_EDGES):
            inside = inside.filter(latency_ms__lt=LATENCY_EDGES[bucket + 1])
        tag = len(keys)
        keys.append((provider, rank))
        reads.append(
            inside.order_by("latency_ms")
            .annotate(tag=Value(tag, output_field=IntegerField()))
            .values_list("tag", "latency_ms")[offset : offset + 1]
        )
    if not reads:
        return {}
    if connection.features.supports_slicing_ordering_in_compound:
        rows = list(reads[0].union(*reads[1:], all=True)) if len(reads) > 1 else list(reads[0])
    else:
        rows = [row for read in reads for row in read]
    return {keys[tag]: float(latency) for tag, latency in rows if latency is not None}


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


def dashboard(*, start: date, end: date, use_summaries: bool = True) -> Dashboard:
    """Every block of the dashboard. ``use_summaries=False`` is the slow path (raw rows only), kept for
    the test that proves both paths give the same figures and for the benchmark's baseline."""
    summarised = summarised_days(start, end) if use_summaries else set()
    found = case_days(start, end, use_summaries=summarised)
    return Dashboard(
        start=start,
        end=end,
        days=cases_per_day(start, end, found=found),
        decisions=decision_summary(start, end, found=found),
        backlog=review_backlog(),
        providers=provider_stats(start, end, use_summaries=summarised),
    )
