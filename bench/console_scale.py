"""The console at scale: queue pages, every filter and the dashboard on a million cases in PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kyc_scale python -m bench.console_scale [--repeat 15]
        [--plans] [--json]

Needs a database filled by ``python manage.py generate_console_scale`` (1 000 000 cases, ~2 000 000 checks
over 366 days). Every page is requested through the whole Django stack (middleware, session, template)
by a logged-in supervisor, round-robin with a trivial logged-in page (the base template and nothing
else) so that both see the same machine load; each row gives p50 and p95 over ``--repeat`` requests and
the ratio of its p50 to the trivial page's p50. Goals (issue 15): queue pages <= 150 ms, any filter <=
300 ms, the dashboard <= 500 ms at any range. ``--plans`` prints EXPLAIN (ANALYZE, BUFFERS) of the
slowest SQL statement of each page over its goal (and of the dashboard's, always).

Nothing here asserts a time: it prints what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc_portal.settings.dev")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kyc_scale")
os.environ.setdefault("DEBUG", "false")  # as served: no query log, cached templates
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.decorators import login_required  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils import timezone  # noqa: E402


@login_required
def trivial(request: HttpRequest) -> HttpResponse:
    """The baseline: a logged-in page that renders the console's base template and reads nothing else."""
    return render(request, "base.html", {})


urlpatterns = [path("bench/trivial/", trivial), path("", include(settings.ROOT_URLCONF))]

GOALS = {"queue": 150.0, "filter": 300.0, "dashboard": 500.0}


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def scenarios() -> list[tuple[str, str, str]]:
    """(name, group, url) of every page measured, built from what the database holds."""
    from liveness.console.selectors import OTHER_BUCKET, Cursor
    from liveness.models import Case, CaseStatus, Partner

    today = timezone.localdate()
    partner = Partner.objects.filter(slug__startswith="scale-").order_by("pk").first() or Partner.objects.first()
    deep = (
        Case.objects.exclude(status=CaseStatus.NEEDS_REVIEW)
        .order_by("created_at", "id")
        .values_list("created_at", "pk")[200_000:200_001]
    )
    deep_cursor = Cursor(OTHER_BUCKET, *deep[0]).encode() if deep else ""
    sample = Case.objects.exclude(external_ref="").order_by("-pk").values_list("public_id", "external_ref")[:1]
    public_id, ref = sample[0] if sample else ("00000000", "x")
    return [
        ("queue first page", "queue", "/"),
        ("queue page 4001 (200 000 rows deep)", "queue", f"/?after={deep_cursor}"),
        ("status: needs review", "filter", "/?status=needs_review"),
        ("status: decided", "filter", "/?status=decided"),
        ("status: closed", "filter", "/?status=closed"),
        ("automatic verdict: spoof", "filter", "/?auto_verdict=spoof"),
        ("final verdict: resubmit", "filter", "/?final_verdict=resubmit"),
        ("kind: active", "filter", "/?kind=active"),
        ("provider: kairos (26 % of cases)", "filter", "/?provider=kairos"),
        ("provider: riset (0.1 % of cases)", "filter", "/?provider=riset"),
        ("provider: riset + status decided", "filter", "/?provider=riset&status=decided"),
        ("partner", "filter", f"/?partner={partner.pk if partner else ''}"),
        ("console uploads", "filter", "/?partner=console"),
        ("dates: one week 200 days ago", "filter",
         f"/?created_from={today - timedelta(days=206)}&created_to={today - timedelta(days=200)}"),
        ("claimed by me", "filter", "/?claim=mine"),
        ("search: short id", "filter", f"/?q={str(public_id)[:8]}"),
        ("search: reference prefix", "filter", f"/?q={ref[:9]}"),
        ("search: full reference", "filter", f"/?q={ref}"),
        ("search: short id + partner", "filter", f"/?q={str(public_id)[:8]}&partner={partner.pk if partner else ''}"),
        ("dashboard 14 days", "dashboard", "/dashboard/"),
        ("dashboard 366 days", "dashboard", f"/dashboard/?start={today - timedelta(days=365)}&end={today}"),
    ]  # fmt: skip


def measure(client: Client, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, response.status_code


def sql_time(client: Client, url: str) -> tuple[int, float]:
    """(queries, total ms the database took) of one request: what the page costs the database alone,
    which the machine's load inflates far less than the Python side."""
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured.captured_queries), sum(float(q["time"]) * 1000 for q in captured.captured_queries)


def slowest_statement(client: Client, url: str) -> tuple[float, str]:
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    timed = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    return max(timed) if timed else (0.0, "")


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def run(repeat: int, plans: bool, as_json: bool) -> None:
    from django.contrib.auth.models import Group, User

    from liveness.console.stats import dashboard, summaries_refresh
    from liveness.models import Case, Check

    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]
    user, _ = User.objects.get_or_create(username="bench-supervisor")
    user.groups.add(Group.objects.get(name="supervisor"))
    client = Client()
    client.force_login(user)

    cases, checks = Case.objects.count(), Check.objects.count()
    started = time.perf_counter()
    rebuilt = summaries_refresh()
    refresh_s = time.perf_counter() - started
    started = time.perf_counter()
    summaries_refresh()
    again_s = time.perf_counter() - started

    rows = scenarios()
    for _, _, url in rows:  # warm caches and connections once
        measure(client, url)
    measure(client, "/bench/trivial/")
    samples: dict[str, list[float]] = {url: [] for _, _, url in rows}
    baseline: list[float] = []
    for _ in range(repeat):
        for _, _, url in rows:
            baseline.append(measure(client, "/bench/trivial/")[0])
            elapsed, status = measure(client, url)
            if status != 200:
                raise SystemExit(f"{url} answered {status}")
            samples[url].append(elapsed)
    base50 = statistics.median(baseline)
    result: list[dict[str, Any]] = []
    for name, group, url in rows:
        p50, p95 = percentile(samples[url], 0.5), percentile(samples[url], 0.95)
        queries, sql_ms = sql_time(client, url)
        result.append(
            {
                "page": name,
                "p50_ms": round(p50, 1),
                "p95_ms": round(p95, 1),
                "x_trivial": round(p50 / base50, 1),
                "queries": queries,
                "sql_ms": round(sql_ms, 1),
                "goal_ms": GOALS[group],
                "meets_goal": p95 <= GOALS[group],
                "url": url,
                "group": group,
            }
        )
    # The slow path, for comparison: the same dashboard computed from the raw rows only.
    today = timezone.localdate()
    raw: dict[str, float] = {}
    for days in (14, 366):
        start = today - timedelta(days=days - 1)
        raw[f"{days}"] = _time(partial(dashboard, start=start, end=today, use_summaries=False)) * 1000
    header = {
        "cases": cases,
        "checks": checks,
        "repeat": repeat,
        "trivial_p50_ms": round(base50, 1),
        "trivial_p95_ms": round(percentile(baseline, 0.95), 1),
        "summaries_refresh_s": {"first": round(refresh_s, 2), "days": rebuilt, "next": round(again_s, 3)},
        "dashboard_raw_rows_only_ms": {k: round(v, 1) for k, v in raw.items()},
    }
    if as_json:
        print(json.dumps({"run": header, "pages": result}, indent=2))
    else:
        print("  ".join(f"{k}={v}" for k, v in header.items()))
        print(f"{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'x trivial':>9} {'SQL ms':>7} {'queries':>7} {'goal':>6}  ok")
        for row in result:
            print(
                f"{row['page']:40} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['x_trivial']:9.1f} "
                f"{row['sql_ms']:7.1f} {row['queries']:7d} {row['goal_ms']:6.0f}  "
                f"{'yes' if row['meets_goal'] else 'NO'}"
            )
    if plans:
        for row in result:
            if row["meets_goal"] and row["group"] != "dashboard":
                continue
            ms, sql = slowest_statement(client, row["url"])
            if not sql:
                continue
            print(f"\n--- {row['page']}: slowest statement {ms:.1f} ms ---\n{sql}\n")
            print(explain(sql))


def _time(func: Callable[[], object]) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--plans", action="store_true", help="EXPLAIN ANALYZE the slowest statement of slow pages")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("bench.console_scale measures PostgreSQL: set DATABASE_URL")
    run(args.repeat, args.plans, args.json)


if __name__ == "__main__":
    main()
