"""The supervisor dashboard: numbers computed in the database, right, and in a fixed number of queries."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from liveness.console import stats
from liveness.models import ApprovalStatus, Case, CaseStatus, Check, CheckStatus, Decision, Verdict
from tests.factories import CaseFactory, CheckFactory, UserFactory

pytestmark = pytest.mark.django_db


def _case(days_ago: int = 0, **fields) -> Case:
    case = CaseFactory.create(**fields)
    Case.objects.filter(pk=case.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return Case.objects.get(pk=case.pk)


def _check(case: Case, provider: str, *, latency: int | None, status: str = CheckStatus.SUCCEEDED, **fields) -> Check:
    return CheckFactory.create(
        case=case, provider=provider, status=status, latency_ms=latency, finished_at=timezone.now(), **fields
    )


def test_outcomes_per_day_and_who_decided(role_user) -> None:
    olga = role_user("operator", "olga")
    _case(2, status=CaseStatus.DECIDED, auto_verdict=Verdict.LIVE, final_verdict=Verdict.LIVE)
    _case(2, status=CaseStatus.DECIDED, auto_verdict=Verdict.SPOOF, final_verdict=Verdict.SPOOF)
    _case(0, status=CaseStatus.DECIDED, auto_verdict=Verdict.SPOOF, final_verdict=Verdict.LIVE, decided_by=olga)
    _case(0, status=CaseStatus.RESUBMISSION_REQUESTED, final_verdict=Verdict.RESUBMIT, decided_by=olga)
    _case(0, status=CaseStatus.NEEDS_REVIEW, auto_verdict=Verdict.NEEDS_REVIEW)
    _case(30, status=CaseStatus.DECIDED, final_verdict=Verdict.LIVE)  # outside the range
    today = timezone.localdate()
    days = {row.day: row for row in stats.cases_per_day(today - timedelta(days=6), today)}
    assert len(days) == 7  # every day of the range, empty days included
    two_ago = days[today - timedelta(days=2)]
    assert (two_ago.total, two_ago.live, two_ago.spoof, two_ago.auto, two_ago.operator) == (2, 1, 1, 2, 0)
    now = days[today]
    assert (now.total, now.live, now.resubmit, now.undecided, now.auto, now.operator) == (3, 1, 1, 1, 0, 2)
    assert days[today - timedelta(days=1)].total == 0


def test_the_override_rate_counts_automatic_verdicts_an_operator_changed(role_user) -> None:
    olga = role_user("operator", "olga")
    _case(status=CaseStatus.DECIDED, auto_verdict=Verdict.SPOOF, final_verdict=Verdict.LIVE, decided_by=olga)
    _case(status=CaseStatus.DECIDED, auto_verdict=Verdict.LIVE, final_verdict=Verdict.LIVE)
    _case(status=CaseStatus.DECIDED, auto_verdict=Verdict.LIVE, final_verdict=Verdict.LIVE)
    _case(status=CaseStatus.DECIDED, auto_verdict=Verdict.SPOOF, final_verdict=Verdict.SPOOF)
    pending = _case(status=CaseStatus.PENDING_APPROVAL, auto_verdict=Verdict.SPOOF, final_verdict=Verdict.SPOOF)
    Decision.objects.create(
        case=pending, actor=olga, verdict=Verdict.LIVE, is_override=True, approval_status=ApprovalStatus.PENDING
    )
    today = timezone.localdate()
    summary = stats.decision_summary(today, today)
    assert (summary.with_auto_verdict, summary.overridden) == (5, 1)
    assert summary.override_rate == pytest.approx(0.2)
    assert (summary.auto_decided, summary.operator_decided) == (4, 1)
    assert summary.four_eyes_pending == 1


def test_the_backlog_is_aged_against_the_sla(settings) -> None:
    settings.REVIEW_SLA_MINUTES = 60
    now = timezone.now()
    for minutes, status in (
        (10, CaseStatus.NEEDS_REVIEW),
        (90, CaseStatus.NEEDS_REVIEW),
        (200, CaseStatus.PENDING_APPROVAL),
    ):
        case = CaseFactory.create(status=status)
        Case.objects.filter(pk=case.pk).update(created_at=now - timedelta(minutes=minutes))
    CaseFactory.create(status=CaseStatus.DECIDED)
    backlog = stats.review_backlog(now=now)
    assert (backlog.needs_review, backlog.pending_approval, backlog.total) == (2, 1, 3)
    assert (backlog.within_sla, backlog.over_sla, backlog.over_double_sla) == (1, 2, 1)
    assert backlog.oldest == now - timedelta(minutes=200)


def test_provider_rates_and_latency_percentiles_match_percentile_cont() -> None:
    local_latencies = [120, 80, 300, 95, 101, 2000, 150, 88, 99, 130, 110]
    for i, latency in enumerate(local_latencies):
        _check(CaseFactory.create(), "local", latency=latency, score=0.8 if i % 3 else 0.2, passed=bool(i % 3))
    _check(CaseFactory.create(), "local", latency=5000, status=CheckStatus.FAILED, outcome="error")
    for latency in (40, 60):
        _check(CaseFactory.create(), "kairos", latency=latency, score=0.7, passed=True)
    _check(CaseFactory.create(), "kairos", latency=None, status=CheckStatus.FAILED)  # no latency: not in percentiles
    today = timezone.localdate()
    rows = {row.provider: row for row in stats.provider_stats(today, today)}
    local = rows["local"]
    assert (local.settled, local.succeeded, local.failed, local.assessed, local.passed) == (12, 11, 1, 11, 7)
    assert local.pass_rate == pytest.approx(7 / 11)
    assert local.error_rate == pytest.approx(1 / 12)
    all_local = [*local_latencies, 5000]
    assert local.p50 == pytest.approx(np.percentile(all_local, 50))
    assert local.p95 == pytest.approx(np.percentile(all_local, 95))
    assert local.avg_latency_ms == pytest.approx(np.mean(all_local))
    kairos = rows["kairos"]
    assert (kairos.settled, kairos.failed) == (3, 1)
    assert kairos.p50 == pytest.approx(50.0)
    assert kairos.p95 == pytest.approx(59.0)


def test_a_single_latency_is_its_own_percentiles() -> None:
    _check(CaseFactory.create(), "local", latency=77)
    today = timezone.localdate()
    (row,) = stats.provider_stats(today, today)
    assert row.p50 == row.p95 == 77


def test_the_page_draws_charts_from_bundled_chart_js(supervisor_client: Client) -> None:
    _case(status=CaseStatus.DECIDED, final_verdict=Verdict.LIVE)
    _check(_case(), "local", latency=100, score=0.9, passed=True)
    response = supervisor_client.get(reverse("dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/vendor/chartjs/chart.umd.min.js" in html
    assert "cdn" not in html.lower()
    data = response.context["chart"]
    assert data["outcomes"]["live"][-1] == 1
    assert data["providers"] == {"labels": ["local"], "p50": [100.0], "p95": [100.0]}
    assert json.loads(html.split('<script id="dashboard-data" type="application/json">')[1].split("</script>")[0])


def test_the_date_range_is_selectable_and_validated(supervisor_client: Client) -> None:
    _case(days_ago=40, status=CaseStatus.DECIDED, final_verdict=Verdict.SPOOF)
    start = timezone.localdate() - timedelta(days=45)
    wide = supervisor_client.get(reverse("dashboard"), {"start": start.isoformat()})
    assert wide.context["totals"]["spoof"] == 1
    assert len(wide.context["board"].days) == 46
    narrow = supervisor_client.get(reverse("dashboard"))
    assert narrow.context["totals"]["spoof"] == 0
    backwards = supervisor_client.get(reverse("dashboard"), {"start": "2026-05-02", "end": "2026-05-01"})
    assert backwards.status_code == 400
    assert "the start date is after the end date" in backwards.content.decode()


@pytest.mark.parametrize("params", [{"end": "9999-12-31"}, {"end": "0001-01-05"}, {"start": "0001-01-01"}])
def test_it_refuses_dates_at_the_ends_of_the_calendar_with_a_400(
    supervisor_client: Client, params: dict[str, str]
) -> None:
    # Turning such a day into a range (or counting 13 days back from it) used to overflow: a 500.
    response = supervisor_client.get(reverse("dashboard"), params)
    assert response.status_code == 400
    assert "showing the last 14 days" in response.content.decode()
    assert response.context["board"].end == timezone.localdate()


def _seed(n: int) -> None:
    operator = UserFactory.create()
    for i in range(n):
        case = _case(
            days_ago=i % 10,
            status=CaseStatus.DECIDED if i % 3 else CaseStatus.NEEDS_REVIEW,
            auto_verdict=Verdict.SPOOF if i % 2 else Verdict.LIVE,
            final_verdict=Verdict.LIVE if i % 3 else "",
            decided_by=operator if i % 5 == 0 else None,
        )
        _check(case, ("local", "kairos", "accura_face")[i % 3], latency=50 + i, score=0.6, passed=True)


def test_the_dashboard_query_count_does_not_grow_with_the_number_of_cases(supervisor_client: Client) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert supervisor_client.get(reverse("dashboard")).status_code == 200
        return len(ctx.captured_queries)

    _seed(10)
    with_10 = count()
    _seed(190)
    assert count() == with_10


def test_operators_cannot_open_the_dashboard(client: Client, role_user) -> None:
    client.force_login(role_user("operator", "olga"))
    assert client.get(reverse("dashboard")).status_code == 403


def test_on_postgresql_the_percentiles_are_one_percentile_cont_aggregate() -> None:
    from django.db import connection
    from django.db.backends.postgresql.base import DatabaseWrapper

    postgres = DatabaseWrapper({**connection.settings_dict, "ENGINE": "django.db.backends.postgresql"}, alias="pg")
    query = (
        Check.objects.order_by()
        .values("provider")
        .annotate(**{f"p{p}": stats.PercentileCont("latency_ms", percent=p) for p in stats.PERCENTILES})
    )
    sql, _ = query.query.get_compiler(connection=postgres).as_sql()  # compiled only, never sent
    assert 'PERCENTILE_CONT(0.50) WITHIN GROUP (ORDER BY "liveness_check"."latency_ms") AS "p50"' in sql
    assert 'PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY "liveness_check"."latency_ms") AS "p95"' in sql
    assert "GROUP BY" in sql
