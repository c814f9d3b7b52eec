"""The repeat-face search at scale: the portal's exact index against a plain numpy baseline, same run.

    python -m bench.faces [--sizes 10000,100000,1000000] [--db-sizes 10000,100000] [--queries 30]
                          [--database-url postgres://...] [--json]

- query: one radius search (the decision distance, 0.6) over n synthetic 128-d float32 templates with
  ``liveness.engine.face_index.FaceIndex`` (squared norms kept, one matrix-vector product) against the plain
  ``np.linalg.norm(matrix - q, axis=1)`` on the same matrix. Median of ``--queries`` queries.
- memory: the index's arrays (``FaceIndex.nbytes``, capacity included) and the peak RSS growth of building it;
  the baseline's extra per query is its n x 128 float32 temporary.
- rebuild: what a worker pays after a restart: read every template row from the database, decrypt it
  (Fernet, the evidence keys) and add it to the index — the worker's own code (``services.faces``).
  In-memory SQLite by default; ``--database-url`` measures PostgreSQL (tables are created and emptied).

Synthetic templates: clusters of 3 (a "person" seen three times) with dlib-like spread (norms about 1,
same person about 0.35 apart, different people about 1.3), so the radius search returns a few hits, as real
queries do. Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import build_schema, print_rows

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--sizes", default="10000,100000,1000000")
parser.add_argument("--db-sizes", default="10000,100000")
parser.add_argument("--queries", type=int, default=30)
parser.add_argument("--database-url", default="sqlite://:memory:")
parser.add_argument("--json", action="store_true")
ARGS = parser.parse_args()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc_portal.settings.test")
os.environ["DATABASE_URL"] = ARGS.database_url
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django  # noqa: E402

django.setup()

from liveness.engine.face_index import FaceIndex  # noqa: E402
from liveness.engine.match import DECISION_DISTANCE  # noqa: E402


def synthetic(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    people = rng.normal(size=((n + 2) // 3, 128)).astype(np.float32) * np.float32(0.09)
    matrix = np.repeat(people, 3, axis=0)[:n]
    matrix += rng.normal(size=matrix.shape).astype(np.float32) * np.float32(0.02)
    return matrix


def rss_kib() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def bench_query(n: int, queries: int) -> dict[str, Any]:
    matrix = synthetic(n)
    before = rss_kib()
    started = time.perf_counter()
    index = FaceIndex()
    chunk = 50_000
    index.reserve(0, n)  # as the worker's full load does (one allocation at the final size)
    for start in range(0, n, chunk):
        index.add(0, list(range(start, min(n, start + chunk))), matrix[start : start + chunk])
    build_s = time.perf_counter() - started
    grown_mib = (rss_kib() - before) / 1024
    rng = np.random.default_rng(1)
    picks = rng.integers(0, n, size=queries)
    ours, baseline, hits = [], [], []
    for pick in picks:
        query = matrix[pick] + rng.normal(size=128).astype(np.float32) * np.float32(0.01)
        started = time.perf_counter()
        found = index.search(query, radius=DECISION_DISTANCE)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        distances = np.linalg.norm(matrix - query, axis=1)
        plain = np.flatnonzero(distances <= DECISION_DISTANCE)
        plain = plain[np.argsort(distances[plain])]
        baseline.append(time.perf_counter() - started)
        assert [h.key for h in found] == plain.tolist()[: len(found)], "index and baseline disagree"
        hits.append(len(found))
    return {
        "bench": "query",
        "templates": n,
        "index_ms": median_ms(ours),
        "numpy_baseline_ms": median_ms(baseline),
        "speedup": round(statistics.median(baseline) / statistics.median(ours), 2),
        "hits_median": int(statistics.median(hits)),
        "index_mib": round(index.nbytes / 2**20, 1),
        "build_rss_mib": round(grown_mib, 1),
        "build_s": round(build_s, 2),
        "baseline_temp_mib": round(matrix.nbytes / 2**20, 1),
    }


def bench_rebuild(n: int) -> dict[str, Any]:
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from liveness.models import Case, FaceTemplate
    from liveness.services import faces

    FaceTemplate.objects.all().delete()
    Case.objects.all().delete()
    matrix = synthetic(min(n, 1000), seed=2)
    roles = ("selfie", "id_front", "frame")
    per_case = 3 * 10_000  # (round, role) pairs per case: keeps the case table small
    # Encrypting is setup, not what is measured: 1000 distinct tokens, cycled (each row is still decrypted).
    tokens = [faces.template_encrypt(vector) for vector in matrix[:1000]]
    started = time.perf_counter()
    batch: list[FaceTemplate] = []
    case = None
    for i in range(n):
        if i % per_case == 0:
            case = Case.objects.create(kind="selfie")
        batch.append(
            FaceTemplate(
                case=case, round=(i % per_case) // 3 + 1, role=roles[i % 3], ciphertext=tokens[i % len(tokens)]
            )
        )
        if len(batch) == 5000:
            FaceTemplate.objects.bulk_create(batch)
            batch = []
    if batch:
        FaceTemplate.objects.bulk_create(batch)
    write_s = time.perf_counter() - started
    # Rows from an hour ago: the incremental sync then re-reads only what its overlap window covers (nothing).
    FaceTemplate.objects.update(created_at=timezone.now() - timedelta(hours=1))
    if (
        connection.vendor == "postgresql"
    ):  # that UPDATE left a dead version of every row: clear them, as autovacuum would
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE liveness_facetemplate")
    holder = faces._IndexHolder()
    before = rss_kib()
    started = time.perf_counter()
    index = holder.current()
    rebuild_s = time.perf_counter() - started
    grown = (rss_kib() - before) / 1024
    started = time.perf_counter()
    holder.current()  # an incremental sync with nothing new: what every search pays
    sync_ms = (time.perf_counter() - started) * 1000
    assert len(index) == n
    FaceTemplate.objects.all().delete()
    Case.objects.all().delete()
    return {
        "bench": "rebuild",
        "database": connection.vendor,
        "templates": n,
        "rebuild_s": round(rebuild_s, 2),
        "per_template_us": round(rebuild_s / n * 1e6, 1),
        "rebuild_rss_mib": round(grown, 1),
        "sync_no_change_ms": round(sync_ms, 2),
        "write_s": round(write_s, 1),
    }


def main() -> None:
    rows = [bench_query(int(n), ARGS.queries) for n in ARGS.sizes.split(",") if n]
    db_sizes = [int(n) for n in ARGS.db_sizes.split(",") if n]
    if db_sizes:
        build_schema()
        rows += [bench_rebuild(n) for n in db_sizes]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append({"bench": "process", "peak_rss_mib": round(peak, 1)})
    print_rows(rows, as_json=ARGS.json)


if __name__ == "__main__":
    main()
