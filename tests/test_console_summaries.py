"""The dashboard's daily summaries: the figures read through them are those computed from the raw rows.

Runs on the suite's database (SQLite); on PostgreSQL too with DATABASE_URL set (percentile_cont there).
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import asdict
from datetime import date, timedelta

import pytest
from django.utils import timezone

from liveness.console import stats
from liveness.models import (
    ApprovalStatus,
    AuditEvent,
    Case,
    CaseStatus,
    Check,
    CheckStatus,
    DailyCaseSummary,
    DailyLatencyBucket,
    Decision,
    SummaryState,
    Verdict,
)
from liveness.services import audit_record
from tests.factories import CaseFactory, CheckFactory, UserFactory

pytestmark = pytest.mark.django_db

DAYS = 40


def _history(rng: random.Random, today: date) -> None:
    """Cases over DAYS days, with every verdict, operator and automatic decisions, overrides, four-eyes
    answers, checks of several providers in every status, latencies spread over many buckets."""
    operator = UserFactory.create()
    now = timezone.now()
    for i in range(160):
        days_ago = rng.randrange(DAYS)
        auto = rng.choice([Verdict.LIVE, Verdict.SPOOF, Verdict.NEEDS_REVIEW, ""])
        final = rng.choice([Verdict.LIVE, Verdict.SPOOF, Verdict.RESUBMIT, "", auto])
        by_operator = final and rng.random() < 0.4
        case = CaseFactory.create(
            status=CaseStatus.DECIDED if final else CaseStatus.NEEDS_REVIEW,
            auto_verdict=auto,
            final_verdict=final,
            decided_by=operator if by_operator else None,
            external_ref=f"H-{i}",
        )
        created = now - timedelta(days=days_ago, minutes=rng.randrange(600))
        Case.objects.filter(pk=case.pk).update(created_at=created)
        if by_operator:
            decision = Decision.objects.create(
                case=case,
                actor=operator,
                verdict=final,
                approval_status=rng.choice(list(ApprovalStatus.values)),
            )
            Decision.objects.filter(pk=decision.pk).update(created_at=created + timedelta(hours=rng.randrange(30)))
        for provider in rng.sample(["local", "accura_face", "kairos"], k=rng.randint(1, 3)):
            status = rng.choice([CheckStatus.SUCCEEDED] * 6 + [CheckStatus.FAILED, CheckStatus.SKIPPED])
            score = rng.random() if status == CheckStatus.SUCCEEDED and rng.random() < 0.9 else None
            CheckFactory.create(
                case=case,
                provider=provider,
                status=status,
                score=score,
                passed=None if score is None else score >= 0.5,
                latency_ms=rng.choice([None, rng.randint(1, 40), int(rng.lognormvariate(6, 0.8))]),
                finished_at=created + timedelta(seconds=rng.randrange(3 * 3600)),
            )


def _figures(start: date, end: date, *, use_summaries: bool) -> dict:
    board = stats.dashboard(start=start, end=end, use_summaries=use_summaries)
    return {
        "days": [asdict(row) for row in board.days],
        "decisions": asdict(board.decisions),
        "providers": [
            {**{k: v for k, v in asdict(row).items() if k not in ("avg_score", "latency_ms", "avg_latency_ms")}}
            for row in board.providers
        ],
        "means": {
            row.provider: (row.avg_score, row.avg_latency_ms, row.latency_ms.get(50), row.latency_ms.get(95))
            for row in board.providers
        },
    }


def _assert_same(start: date, end: date) -> None:
    fast, slow = _figures(start, end, use_summaries=True), _figures(start, end, use_summaries=False)
    assert fast["days"] == slow["days"]
    assert fast["decisions"] == slow["decisions"]
    assert fast["providers"] == slow["providers"]
    assert fast["means"].keys() == slow["means"].keys()
    for provider, values in slow["means"].items():
        # Means are sums over days divided once (floating-point addition order may differ in the last bit).
        assert fast["means"][provider] == pytest.approx(values, rel=1e-12), provider


@pytest.fixture
def history() -> date:
    today = timezone.localdate()
    _history(random.Random(11), today)
    return today


def test_summaries_give_the_raw_rows_figures_for_every_range(history: date) -> None:
    today = history
    rebuilt = stats.summaries_refresh()
    assert rebuilt >= DAYS - 1  # every day with data before today
    assert DailyCaseSummary.objects.exists()
    assert DailyLatencyBucket.objects.exists()
    for start, end in ((today - timedelta(days=13), today), (today - timedelta(days=365), today),
                       (today - timedelta(days=30), today - timedelta(days=20)), (today, today)):  # fmt: skip
        assert stats.summarised_days(start, end) or start == today
        _assert_same(start, end)


def test_the_dashboard_reads_the_summary_rows(history: date) -> None:
    """Proof that the fast path uses the summaries at all: a summary row changed behind the portal's
    back (no audit event) shows in the fast figures and not in the raw ones."""
    today = history
    stats.summaries_refresh()
    start = today - timedelta(days=DAYS)
    row = DailyCaseSummary.objects.filter(day__lt=today).order_by("day").first()
    assert row is not None
    DailyCaseSummary.objects.filter(pk=row.pk).update(total=row.total + 1000)
    fast = stats.decision_summary(start, today)
    slow = stats.decision_summary(start, today, use_summaries=False)
    assert fast.cases == slow.cases + 1000


def test_a_change_after_the_refresh_is_counted_before_the_next_one(history: date) -> None:
    """An old case decided (audited) after the refresh: its day is read from the raw rows until the next
    refresh rebuilds it; the figures never lag."""
    today = history
    stats.summaries_refresh()
    old = Case.objects.filter(created_at__lt=timezone.now() - timedelta(days=5), final_verdict="").first()
    assert old is not None
    Case.objects.filter(pk=old.pk).update(final_verdict=Verdict.SPOOF, status=CaseStatus.DECIDED)
    check = Check.objects.filter(case__created_at__lt=timezone.now() - timedelta(days=5)).first()
    assert check is not None
    Check.objects.filter(pk=check.pk).update(latency_ms=12345, status=CheckStatus.SUCCEEDED)
    audit_record(action="decision.applied", case=old, actor_label="system", data={"verdict": "spoof"})
    audit_record(action="check.succeeded", case=check.case, actor_label="worker", data={})
    old_day = timezone.localdate(old.created_at)
    assert old_day not in stats.summarised_days(today - timedelta(days=DAYS), today)
    _assert_same(today - timedelta(days=DAYS), today)

    # The next refresh rebuilds the touched days; once the slack has passed they are summarised again.
    later = timezone.now() + stats.SUMMARY_SLACK + timedelta(minutes=1)
    assert stats.summaries_refresh(now=later) >= 1
    SummaryState.objects.filter(pk=1).update(refreshed_at=later)
    assert AuditEvent.objects.filter(created_at__gte=later - stats.SUMMARY_SLACK).count() == 0
    assert old_day in stats.summarised_days(today - timedelta(days=DAYS), today)
    _assert_same(today - timedelta(days=DAYS), today)


def test_without_a_refresh_every_day_comes_from_the_raw_rows(history: date) -> None:
    today = history
    assert stats.summarised_days(today - timedelta(days=DAYS), today) == set()
    _assert_same(today - timedelta(days=DAYS), today)


def test_latency_buckets_cover_every_latency_once() -> None:
    edges = stats.LATENCY_EDGES
    assert edges[0] == 0
    assert list(edges) == sorted(set(edges))
    assert edges[-1] >= 600_000 // 1.05
    # Relative width at most ~5 % above 100 ms: a bucket's checks are a small share of a provider's.
    assert all((b - a) / a <= 0.06 for a, b in itertools.pairwise(edges[20:]) if a >= 100)


def test_the_bucket_of_a_latency_is_the_same_in_sql_and_python_on_every_edge() -> None:
    """width_bucket (PostgreSQL) and the CASE (everywhere) put each latency in the bucket whose lower edge
    is the largest edge <= it: checked on both sides of every edge, at 0 and far past the last one."""
    from django.db import connection

    edges = stats.LATENCY_EDGES
    values = sorted({v for e in edges for v in (e - 1, e, e + 1) if v >= 0} | {0, 10**7})
    case = CaseFactory.create()
    Check.objects.bulk_create(
        [Check(case=case, round=i, provider="local", status="succeeded", latency_ms=v) for i, v in enumerate(values)]
    )
    expected = {v: bisect.bisect_right(edges, v) - 1 for v in values}
    rows = Check.objects.filter(case=case).values_list("latency_ms", flat=True)
    by_case = dict(rows.annotate(b=stats._bucket_of_latency_case()).values_list("latency_ms", "b"))
    assert by_case == expected
    assert by_case[0] == 0
    assert by_case[10**7] == len(edges) - 1
    if connection.vendor == "postgresql":
        assert isinstance(stats._bucket_of_latency(), stats.WidthBucket)
        assert dict(rows.annotate(b=stats._bucket_of_latency()).values_list("latency_ms", "b")) == expected


def test_the_generator_fills_only_an_empty_postgresql_database() -> None:
    from django.core.management import CommandError, call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        with pytest.raises(CommandError, match="needs PostgreSQL"):
            call_command("generate_console_scale", "--cases", "10")
        return
    call_command("generate_console_scale", "--cases", "3000", "--days", "30")
    assert Case.objects.count() == 3000
    assert Check.objects.count() == 6000
    assert Case.objects.filter(created_at__lt=timezone.now() - timedelta(days=31)).count() == 0
    assert set(Check.objects.values_list("provider", flat=True).distinct()) <= {
        "local",
        "accura_face",
        "kairos",
        "riset",
    }
    assert (
        Decision.objects.filter(approval_status=ApprovalStatus.PENDING).count()
        == Case.objects.filter(status=CaseStatus.PENDING_APPROVAL).count()
    )
    with pytest.raises(CommandError, match="already holds cases"):
        call_command("generate_console_scale", "--cases", "10")
    # The generated data goes through the summaries like any other.
    stats.summaries_refresh()
    today = timezone.localdate()
    _assert_same(today - timedelta(days=30), today)
