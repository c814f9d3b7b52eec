"""Console benchmarks, as ratios against a baseline measured in the same run (nothing asserts a time).

    python -m bench.console [--cases 200000] [--repeat 5] [--json]

- queue depth: a queue page far down the list read with the keyset cursor, against the first page
  (keyset pages should cost the same at any depth) and against the same page read with OFFSET (what
  page-number pagination would cost).
- latency percentiles: the dashboard's p50/p95 per provider computed in SQLite with window functions (the
  portable path; PostgreSQL uses percentile_cont instead), against loading every latency into Python and
  taking numpy percentiles. The point of the database path is memory (nothing loaded), not speed.

It builds its own in-memory SQLite database (schema from the models), so it never touches a real one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from datetime import timedelta
from pathlib import Path

from bench.common import build_schema, timed

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc_portal.settings.test")
os.environ["DATABASE_URL"] = "sqlite://:memory:"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402


def seed(cases: int) -> None:
    from liveness.models import Case, CaseStatus, Check, CheckStatus

    rng = random.Random(7)
    now = timezone.now()
    statuses = [CaseStatus.NEEDS_REVIEW] + [CaseStatus.DECIDED] * 9
    batch = []
    for i in range(cases):
        batch.append(Case(kind="selfie", status=rng.choice(statuses), external_ref=f"ref-{i}"))
        if len(batch) == 5000:
            Case.objects.bulk_create(batch)
            batch = []
    Case.objects.bulk_create(batch)
    # Spread creation times over 60 days (bulk_create cannot override auto_now_add).
    for pk in range(1, cases + 1, 5000):
        Case.objects.filter(pk__gte=pk, pk__lt=pk + 5000).update(
            created_at=now - timedelta(minutes=rng.randint(0, 60 * 24 * 60))
        )
    ids = list(Case.objects.values_list("pk", flat=True))
    checks = [
        Check(
            case_id=case_id,
            provider=rng.choice(["local", "accura_face", "kairos"]),
            status=CheckStatus.SUCCEEDED,
            score=rng.random(),
            passed=True,
            latency_ms=int(rng.lognormvariate(5, 0.6)),
            finished_at=now - timedelta(minutes=rng.randint(0, 60 * 24 * 10)),
        )
        for case_id in ids
    ]
    Check.objects.bulk_create(checks, batch_size=5000)


def bench_queue(repeat: int, depth: int) -> dict[str, object]:
    from liveness.console.selectors import Cursor, QueueFilters, queue_page
    from liveness.models import Case, CaseStatus

    filters = QueueFilters(status=CaseStatus.DECIDED)
    first = timed(lambda: queue_page(filters), repeat)
    ordered = Case.objects.filter(status=CaseStatus.DECIDED).order_by("created_at", "id")
    anchor = ordered.values_list("created_at", "pk")[depth]
    cursor = Cursor(1, anchor[0], anchor[1])
    deep_keyset = timed(lambda: queue_page(filters, cursor=cursor), repeat)
    size = settings.CONSOLE_PAGE_SIZE
    deep_offset = timed(lambda: list(ordered.select_related("partner")[depth : depth + size]), repeat)
    return {
        "bench": f"queue page at depth {depth}",
        "first_page_ms": round(first * 1000, 2),
        "keyset_deep_ms": round(deep_keyset * 1000, 2),
        "offset_deep_ms": round(deep_offset * 1000, 2),
        "keyset_deep_vs_first": round(deep_keyset / first, 2),
        "offset_deep_vs_keyset_deep": round(deep_offset / deep_keyset, 2),
    }


def bench_percentiles(repeat: int) -> dict[str, object]:
    import numpy as np

    from liveness.console.stats import latency_percentiles
    from liveness.models import Check

    def in_python() -> dict[str, tuple[float, float]]:
        by_provider: dict[str, list[int]] = {}
        for provider, latency in Check.objects.filter(latency_ms__isnull=False).values_list("provider", "latency_ms"):
            if latency is not None:
                by_provider.setdefault(provider, []).append(latency)
        return {p: (float(np.percentile(v, 50)), float(np.percentile(v, 95))) for p, v in by_provider.items()}

    expected = in_python()
    got = latency_percentiles(Check.objects.all())
    for provider, (p50, p95) in expected.items():
        assert abs((got[provider][50] or 0) - p50) < 1e-6
        assert abs((got[provider][95] or 0) - p95) < 1e-6
    baseline = timed(in_python, repeat)
    measured = timed(lambda: latency_percentiles(Check.objects.all()), repeat)
    return {
        "bench": f"latency p50/p95 over {Check.objects.count()} checks",
        "python_ms": round(baseline * 1000, 2),
        "database_ms": round(measured * 1000, 2),
        "time_ratio": round(measured / baseline, 2),
        "same_values": True,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    build_schema()
    seed(args.cases)
    rows = [bench_queue(args.repeat, depth=int(args.cases * 0.8)), bench_percentiles(args.repeat)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(" · ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
