"""Load benchmark of the whole pipeline on PostgreSQL + Redis, driven from this (separate) process.

    python -m bench.load [--io-cases 1000] [--io-concurrency 100] [--latency 1.0] [--cpu-cases 24]
                         [--pipeline-cases 30] [--pipeline-latency 0.5] [--io-processes 1] [--io-db-pool 20]
                         [--no-persistent-db]
                         [--sandbox-workers 1] [--skip intake,io,cpu,pipeline] [--json]

It starts, each in its own process group: gunicorn for the portal (2 workers x 4 threads), a second gunicorn
serving the vendor simulators (liveness/sandbox) with a chosen latency (SANDBOX_FAULTS ``latency=<s>``, outcome
forced to ``live`` so the simulator spends no CPU judging), and the two Celery pools as production runs them
(I/O: ``-P threads``; CPU: ``-P prefork``). Its own database (``kyc_throughput_load`` or ``$LOAD_DB_NAME``,
dropped and created) and its own Redis database (5 or ``$LOAD_REDIS_URL``, flushed). Then, with nothing else of
it running while each stage is measured:

1. intake: POST /api/v1/cases/ (one 1280-px selfie, ~200-500 KB) against the baseline view (bench.load_urls:
   read the upload, one full decode, one INSERT) at concurrency 1, 4 and 16 (no worker running): rate, p50, p95;
2. I/O queue: ``--io-cases`` vendor checks (Riset simulator at ``--latency``) queued, then drained by the thread
   pool at ``--io-concurrency`` (as ``--io-processes`` processes, each with a database pool of ``--io-db-pool``):
   checks/s against concurrency / latency; CPU per check of the pool, the simulators and PostgreSQL, and the
   rate the host's cores allow at that cost; queue depth over time; the pool's memory after 100 and after all;
3. CPU queue: local-engine checks drained by prefork with 1 process, then with one per core: checks/s against
   one core's rate x cores;
4. pipeline: one case at a time, both pools running, vendor at ``--pipeline-latency``: submit -> decided,
   p50/p95, minus the vendor's latency.

The database settings are the README's production ones: web and prefork processes keep their connection
(``conn_max_age=60`` with health checks; ``--no-persistent-db`` opens one per request and task, as Django's
default does), the I/O pool's threads share a pool of ``--io-db-pool`` connections per process.

Ratios are taken within one run; the machine is shared, so run it several times and report the range.
``LOAD_DB_NAME``, ``LOAD_REDIS_URL`` and ``LOAD_VAR_DIR`` move its database, Redis database and files elsewhere
(two runs side by side must not share them: each drops its database and flushes its Redis database).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
# Overridable so that several people can run it side by side on one machine without sharing state.
DB_NAME = os.environ.get("LOAD_DB_NAME", "kyc_throughput_load")
PG = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/5")
#: What the README's production section sets on web hosts and prefork workers: a connection kept for 60 s and
#: checked before reuse, instead of a new PostgreSQL backend per request and per task (--no-persistent-db).
#: The I/O pool's threads use a pool instead (--io-db-pool; the settings drop conn_max_age there).
PERSISTENT_DB = "?conn_max_age=60&conn_health_checks=true"
IO_QUEUE = "kyc-load"
CPU_QUEUE = "kyc-load-cpu"
SAMPLE = Path("/work/shared/testdata/genuine/deepface__tests_unit_dataset_img58.jpg")


def log(message: str) -> None:
    print(f"[load] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Stack:
    """The processes of one run, and what the driver needs to reach them."""

    def __init__(self, var_dir: Path, *, persistent_db: bool = True) -> None:
        self.web_port = free_port()
        self.sandbox_port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "PYTEST_"))}
        self.env.update(
            DJANGO_SETTINGS_MODULE="bench.load_settings",
            DATABASE_URL=f"{PG}/{DB_NAME}{PERSISTENT_DB if persistent_db else ''}",
            CELERY_BROKER_URL=REDIS_URL,
            CELERY_TASK_DEFAULT_QUEUE=IO_QUEUE,
            CELERY_CPU_QUEUE=CPU_QUEUE,
            KYC_VAR_DIR=str(var_dir),
            SANDBOX_BASE_URL=f"http://127.0.0.1:{self.sandbox_port}/sandbox",
            SANDBOX_OUTCOMES=json.dumps({"riset": "live"}),
            FACE_SEARCH_ENABLED="false",
            # The partner throttles would measure themselves, not the pipeline.
            API_RATE_PARTNER="1000000/minute",
            API_RATE_PARTNER_SUBMIT="1000000/minute",
            PYTHONUNBUFFERED="1",
        )
        self.var_dir = var_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, name: str, *command: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        out = open(self.var_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env or self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[name] = proc
        return proc

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [PY, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if result.returncode:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start_web(self) -> None:
        self.spawn(
            "web", PY, "-m", "gunicorn", "kyc_portal.wsgi", "-w", "2", "-k", "gthread", "--threads", "4",
            "-b", f"127.0.0.1:{self.web_port}", "--log-level", "warning",
        )  # fmt: skip
        wait_http(f"http://127.0.0.1:{self.web_port}/login/")

    def start_sandbox(self, latency: float) -> None:
        self.stop("sandbox")
        workers = self.env.get("LOAD_SANDBOX_WORKERS", "1")
        env = {**self.env, "SANDBOX_FAULTS": json.dumps({"riset": f"latency={latency:g}"})}
        self.spawn(
            "sandbox", PY, "-m", "gunicorn", "kyc_portal.wsgi", "-w", workers, "-k", "gthread", "--threads", "160",
            "-b", f"127.0.0.1:{self.sandbox_port}", "--log-level", "warning", "--keep-alive", "75", env=env,
        )  # fmt: skip
        wait_http(f"http://127.0.0.1:{self.sandbox_port}/login/")

    def start_io_worker(self, concurrency: int, processes: int = 1, db_pool: int = 0) -> list[subprocess.Popen[bytes]]:
        """``processes`` worker processes of ``concurrency / processes`` threads each (the total stays
        ``concurrency``); ``db_pool``: DATABASE_POOL_MAX_SIZE of each (0: a connection per task)."""
        env = {**self.env, "DATABASE_POOL_MAX_SIZE": str(db_pool)}
        return [
            self.spawn(
                f"io{n}",
                PY,
                "-m",
                "celery",
                "-A",
                "kyc_portal",
                "worker",
                "-Q",
                IO_QUEUE,
                "-P",
                "threads",
                "-c",
                str(concurrency // processes + (n < concurrency % processes)),
                "-n",
                f"io{n}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "WARNING",
                env=env,
            )
            for n in range(processes)
        ]

    def stop_io_workers(self) -> None:
        for name in [name for name in self.procs if name.startswith("io")]:
            self.stop(name)

    def start_cpu_worker(self, concurrency: int) -> subprocess.Popen[bytes]:
        return self.spawn(
            "cpu", PY, "-m", "celery", "-A", "kyc_portal", "worker", "-Q", CPU_QUEUE, "-P", "prefork",
            "-c", str(concurrency), "-n", "cpu@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", "WARNING",
        )  # fmt: skip


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


def process_tree(pid: int) -> dict[int, list[str]]:
    """``pid`` and its live descendants: each one's /proc/<pid>/stat fields after the command name."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            stats[int(stat.parent.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree: dict[int, list[str]] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        if current in stats:
            tree[current] = stats[current]
    return tree


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total = 0
    for current in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


CLK_TCK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process, its live descendants and the descendants it has reaped."""
    # fields[11:15]: utime, stime, cutime, cstime (after the state field at [0])
    return sum(sum(int(v) for v in fields[11:15]) for fields in process_tree(pid).values()) / CLK_TCK


def postgres_pid() -> int | None:
    """The postmaster (a postgres process whose parent is not postgres), for its server-wide CPU time."""
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError, ValueError):
            if comm.read_text().strip() == "postgres":
                parent = int((comm.parent / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if Path(f"/proc/{parent}/comm").read_text().strip() != "postgres":
                    return int(comm.parent.name)
    return None


def selfie_bytes() -> bytes:
    with Image.open(SAMPLE) as source:
        image = source.convert("RGB")
    image.thumbnail((1280, 1280))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


def setup_database(stack: Stack) -> str:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    redis.Redis.from_url(REDIS_URL).flushdb()
    stack.manage("migrate", "--noinput", "-v", "0")
    out = stack.manage(
        "shell",
        "-c",
        "from liveness.models import Partner; from liveness.services.api_keys import api_key_create; "
        "p = Partner.objects.create(name='Load', slug='load', webhook_secret='whsec_load-0123456789abcdef'); "
        "print(api_key_create(name='load', partner=p).secret)",
    )
    return out.strip().splitlines()[-1]


class Driver:
    def __init__(self, stack: Stack, key: str, image: bytes) -> None:
        self.base = f"http://127.0.0.1:{stack.web_port}"
        self.key = key
        self.image = image
        self.local = threading.local()
        self.db = psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True)

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def submit(self, ref: str, provider: str) -> None:
        response = self.session().post(
            f"{self.base}/api/v1/cases/",
            headers={"Authorization": f"Bearer {self.key}"},
            data={"kind": "selfie", "external_ref": ref, "providers": provider},
            files={"selfie": ("selfie.jpg", self.image, "image/jpeg")},
            timeout=60,
        )
        if response.status_code != 202:
            raise SystemExit(f"submit failed: {response.status_code} {response.text[:300]}")

    def baseline(self, _ref: str, _provider: str) -> None:
        response = self.session().post(
            f"{self.base}/bench/intake-baseline/",
            files={"selfie": ("selfie.jpg", self.image, "image/jpeg")},
            timeout=60,
        )
        if response.status_code != 202:
            raise SystemExit(f"baseline failed: {response.status_code} {response.text[:300]}")

    def load(self, call: Callable[[str, str], None], *, prefix: str, provider: str, n: int, c: int) -> dict[str, float]:
        latencies: list[float] = []

        def one(i: int) -> None:
            started = time.perf_counter()
            call(f"{prefix}-{i}", provider)
            latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=c) as pool:
            list(pool.map(one, range(n)))
        wall = time.perf_counter() - started
        return {"rate": n / wall, "p50_ms": pct(latencies, 0.5) * 1000, "p95_ms": pct(latencies, 0.95) * 1000}

    def settled(self, prefix: str) -> tuple[int, int]:
        row = self.db.execute(
            "SELECT count(*) FILTER (WHERE k.status IN ('succeeded','failed','skipped')), count(*) "
            "FROM liveness_check k JOIN liveness_case c ON c.id = k.case_id WHERE c.external_ref LIKE %s",
            (f"{prefix}-%",),
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def span_rate(self, prefix: str) -> tuple[float, int, int]:
        row = self.db.execute(
            "SELECT count(*), count(*) FILTER (WHERE k.status = 'succeeded'), "
            "extract(epoch FROM max(k.finished_at) - min(k.started_at)) "
            "FROM liveness_check k JOIN liveness_case c ON c.id = k.case_id WHERE c.external_ref LIKE %s",
            (f"{prefix}-%",),
        ).fetchone()
        assert row is not None
        count, ok, span = int(row[0]), int(row[1]), float(row[2] or 0)
        return (count / span if span else 0.0), count, ok

    def drain(
        self,
        prefix: str,
        queue: str,
        procs: list[subprocess.Popen[bytes]],
        *,
        mark: int = 0,
        timeout: float = 900,
    ) -> dict[str, Any]:
        """Wait until every check of ``prefix`` is settled, sampling the queue depth and the pool's memory."""
        broker = redis.Redis.from_url(REDIS_URL)
        depth: list[tuple[float, int]] = []
        rss_at_mark = None
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            done, total = self.settled(prefix)
            depth.append((round(time.monotonic() - started, 1), int(broker.llen(queue))))
            if mark and rss_at_mark is None and done >= mark:
                rss_at_mark = sum(tree_rss_mb(proc.pid) for proc in procs)
            if done >= total:
                break
            time.sleep(0.5)
        else:
            raise SystemExit(f"{prefix}: checks not settled within {timeout}s ({self.settled(prefix)})")
        rate, count, ok = self.span_rate(prefix)
        return {
            "rate": rate,
            "checks": count,
            "succeeded": ok,
            "depth": depth,
            "rss_at_mark_mb": rss_at_mark,
            "rss_end_mb": sum(tree_rss_mb(proc.pid) for proc in procs),
        }

    def one_by_one(self, prefix: str, provider: str, n: int) -> list[tuple[float, float]]:
        """Submit one case at a time: (submit -> the case leaving processing, the vendor call's own latency as the
        check recorded it), in seconds. The simulator's time (its sleep and its image handling) is the vendor's.
        The submit's own round trip (client side) is kept in ``self.submit_times``."""
        times = []
        self.submit_times: list[float] = []
        for i in range(n):
            ref = f"{prefix}-{i}"
            started = time.time()
            self.submit(ref, provider)
            self.submit_times.append(time.time() - started)
            while True:
                row = self.db.execute(
                    "SELECT c.status, extract(epoch FROM c.updated_at), max(k.latency_ms) FROM liveness_case c "
                    "JOIN liveness_check k ON k.case_id = c.id WHERE c.external_ref = %s GROUP BY c.id",
                    (ref,),
                ).fetchone()
                if row and row[0] in ("decided", "needs_review"):
                    times.append((float(row[1]) - started, float(row[2] or 0) / 1000))
                    break
                time.sleep(0.005)
        return times


def pipeline_breakdown(driver: Driver, prefix: str) -> str:
    """Medians, in ms, of where a case's time goes after its submit, from the timestamps on its rows: the case row
    to its check row (same transaction), the check row to its claim by a worker (commit, publish, broker, worker),
    the claim to the check's end minus the vendor call (evidence, request, settle), the check's end to the case's
    decision."""
    row = driver.db.execute(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM k.created_at - c.created_at)), "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM k.started_at - k.created_at)), "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM k.finished_at - k.started_at) "
        "- k.latency_ms / 1000.0), "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.updated_at - k.finished_at)) "
        "FROM liveness_case c JOIN liveness_check k ON k.case_id = c.id WHERE c.external_ref LIKE %s",
        (f"{prefix}-%",),
    ).fetchone()
    assert row is not None
    names = ("case row -> check row", "check row -> claimed", "claimed -> settled minus vendor", "settled -> decided")
    return "; ".join(f"{name} {float(value or 0) * 1000:.0f}" for name, value in zip(names, row, strict=True))


def queue_depth_line(depth: list[tuple[float, int]], points: int = 12) -> str:
    step = max(1, len(depth) // points)
    return " ".join(f"{t:g}s:{n}" for t, n in depth[::step])


@contextlib.contextmanager
def running(stack: Stack) -> Iterator[None]:
    try:
        yield
    finally:
        stack.stop_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--intake", type=int, default=60, help="requests per concurrency level (x concurrency/4)")
    parser.add_argument("--io-cases", type=int, default=1000)
    parser.add_argument("--io-concurrency", type=int, default=100)
    parser.add_argument("--io-processes", type=int, default=1, help="I/O worker processes sharing --io-concurrency")
    parser.add_argument("--io-db-pool", type=int, default=20, help="DATABASE_POOL_MAX_SIZE of each I/O process")
    parser.add_argument(
        "--no-persistent-db",
        action="store_true",
        help="a database connection per request and task (conn_max_age 0)",
    )
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--cpu-cases", type=int, default=24)
    parser.add_argument("--pipeline-cases", type=int, default=30)
    parser.add_argument("--pipeline-latency", type=float, default=0.5)
    parser.add_argument("--sandbox-workers", type=int, default=1, help="gunicorn processes of the simulators")
    parser.add_argument("--skip", default="", help="comma-separated stages to skip: intake,io,cpu,pipeline")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    var_dir = Path(os.environ.get("LOAD_VAR_DIR", "/tmp/kyc-throughput-load"))
    var_dir.mkdir(parents=True, exist_ok=True)
    for old in var_dir.glob("*.log"):
        old.unlink()

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # the servers and pools are stopped on the way out

    signal.signal(signal.SIGTERM, on_signal)
    stack = Stack(var_dir, persistent_db=not args.no_persistent_db)
    stack.env["LOAD_SANDBOX_WORKERS"] = str(args.sandbox_workers)
    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with running(stack):
        key = setup_database(stack)
        image = selfie_bytes()
        log(f"selfie: {len(image)} bytes; web :{stack.web_port}, simulators :{stack.sandbox_port}")
        stack.start_web()
        stack.start_sandbox(args.latency)
        driver = Driver(stack, key, image)

        if "intake" not in skip:
            for c in (1, 4, 16):
                n = max(args.intake, args.intake * c // 4)
                driver.load(driver.baseline, prefix=f"warm{c}", provider="riset", n=8, c=c)
                base = driver.load(driver.baseline, prefix=f"base{c}", provider="riset", n=n, c=c)
                real = driver.load(driver.submit, prefix=f"intake{c}", provider="riset", n=n, c=c)
                rows.append({
                    "stage": f"intake, concurrency {c}",
                    "measured": f"{real['rate']:.1f}/s (p50 {real['p50_ms']:.0f} ms, p95 {real['p95_ms']:.0f} ms)",
                    "baseline": f"{base['rate']:.1f}/s (p50 {base['p50_ms']:.0f} ms, p95 {base['p95_ms']:.0f} ms)",
                    "ratio": round(real["rate"] / base["rate"], 2),
                    "goal": ">= 0.5",
                })  # fmt: skip
                log(rows[-1]["measured"] + " vs " + rows[-1]["baseline"])
            redis.Redis.from_url(REDIS_URL).flushdb()  # the intake's checks are not part of what follows

        if "io" not in skip:
            driver.load(driver.submit, prefix="io", provider="riset", n=args.io_cases, c=4)
            log(f"{args.io_cases} vendor checks queued; starting the I/O pool")
            pg = postgres_pid()
            cpu_before = (tree_cpu_seconds(stack.procs["sandbox"].pid), tree_cpu_seconds(pg) if pg else 0.0)
            wall_started = time.monotonic()
            io_procs = stack.start_io_worker(args.io_concurrency, args.io_processes, args.io_db_pool)
            result = driver.drain("io", IO_QUEUE, io_procs, mark=min(100, args.io_cases))
            wall = time.monotonic() - wall_started
            cpu = {
                f"worker{'s' if len(io_procs) > 1 else ''}": sum(tree_cpu_seconds(proc.pid) for proc in io_procs),
                "simulator": tree_cpu_seconds(stack.procs["sandbox"].pid) - cpu_before[0],
                "PostgreSQL (whole server)": (tree_cpu_seconds(pg) - cpu_before[1]) if pg else 0.0,
            }
            stack.stop_io_workers()
            ideal = args.io_concurrency / args.latency
            io_rows = len(rows)
            rows.append({
                "stage": f"I/O queue: {result['checks']} vendor checks, {args.io_concurrency} threads "
                f"({args.io_processes} process{'es' if args.io_processes > 1 else ''}, database pool "
                f"{args.io_db_pool or 'off'}, simulators {args.sandbox_workers} process(es)), "
                f"latency {args.latency:g} s",
                "measured": f"{result['rate']:.1f} checks/s ({result['succeeded']} succeeded)",
                "baseline": f"concurrency / latency = {ideal:.0f}/s",
                "ratio": round(result["rate"] / ideal, 2),
                "goal": ">= 0.8",
            })  # fmt: skip
            rows.append({
                "stage": "I/O queue depth over time (s: messages)",
                "measured": queue_depth_line(result["depth"]), "baseline": "", "ratio": "", "goal": "",
            })  # fmt: skip
            rows.append({
                "stage": "I/O queue: CPU per check (process CPU over the stage, pool start included)",
                "measured": ", ".join(
                    f"{name} {seconds / result['checks'] * 1000:.1f} ms ({seconds / wall:.0%} of a core)"
                    for name, seconds in cpu.items()
                ),
                "baseline": f"{wall:.1f} s wall", "ratio": "", "goal": "",
            })  # fmt: skip
            per_check = sum(cpu.values()) / result["checks"]
            rows.append({
                "stage": "I/O queue: what this host's cores allow (cores / the CPU per check above, all three)",
                "measured": f"{(os.cpu_count() or 1) / per_check:.1f} checks/s",
                "baseline": f"concurrency / latency = {ideal:.0f}/s",
                "ratio": round((os.cpu_count() or 1) / per_check / ideal, 2),
                "goal": "the goal needs >= 0.8 here first",
            })  # fmt: skip
            if result["rss_at_mark_mb"]:
                growth = result["rss_end_mb"] / result["rss_at_mark_mb"] - 1
                rows.append({
                    "stage": f"I/O pool memory, after 100 -> {result['checks']} checks",
                    "measured": f"{result['rss_at_mark_mb']:.0f} MB -> {result['rss_end_mb']:.0f} MB",
                    "baseline": "", "ratio": f"{growth:+.1%}", "goal": "< +10 %",
                })  # fmt: skip
            for row in rows[io_rows:]:
                log(str(row))

        if "cpu" not in skip:
            rates = {}
            for procs in (1, os.cpu_count() or 2):
                prefix = f"cpu{procs}"
                for i in range(args.cpu_cases):
                    driver.submit(f"{prefix}-{i}", "local")
                proc = stack.start_cpu_worker(procs)
                result = driver.drain(prefix, CPU_QUEUE, [proc])
                stack.stop("cpu")
                rates[procs] = result
                log(f"engine, {procs} process(es): {result['rate']:.2f} checks/s, {result['rss_end_mb']:.0f} MB")
            cores = max(rates)
            ideal = rates[1]["rate"] * cores
            rows.append({
                "stage": f"CPU queue: local-engine checks, prefork x{cores} ({args.cpu_cases} checks each)",
                "measured": f"{rates[cores]['rate']:.2f} checks/s (pool {rates[cores]['rss_end_mb']:.0f} MB)",
                "baseline": f"one process {rates[1]['rate']:.2f}/s x {cores} = {ideal:.2f}/s",
                "ratio": round(rates[cores]["rate"] / ideal, 2),
                "goal": ">= 0.8",
            })  # fmt: skip

        if "pipeline" not in skip:
            stack.start_sandbox(args.pipeline_latency)
            stack.start_io_worker(20)
            stack.start_cpu_worker(os.cpu_count() or 2)
            time.sleep(3)
            driver.one_by_one("warm-pipe", "riset", 3)
            measured = driver.one_by_one("pipe", "riset", args.pipeline_cases)
            times = [total for total, _ in measured]
            vendor = [call for _, call in measured]
            overhead = [total - call for total, call in measured]
            rows.append({
                "stage": f"submit -> decided, one vendor (simulator sleeping {args.pipeline_latency:g} s), "
                f"{len(times)} cases one at a time",
                "measured": f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {pct(times, 0.95) * 1000:.0f} ms",
                "baseline": f"the vendor call as recorded on the check: p50 {statistics.median(vendor) * 1000:.0f} ms",
                "ratio": f"overhead p50 {statistics.median(overhead) * 1000:.0f} ms, "
                f"p95 {pct(overhead, 0.95) * 1000:.0f} ms",
                "goal": "overhead p50 <= 100 ms",
            })  # fmt: skip
            rows.append({
                "stage": "pipeline: where the time goes (p50, ms)",
                "measured": f"submit (client) {statistics.median(driver.submit_times) * 1000:.0f}; "
                + pipeline_breakdown(driver, "pipe"),
                "baseline": "", "ratio": "", "goal": "",
            })  # fmt: skip

    load_after = os.getloadavg()
    print(f"load average (1, 5, 15 min) before: {load_before}, after: {load_after}; cores: {os.cpu_count()}")
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print("| stage | measured | baseline (same run) | ratio | goal |")
        print("|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['stage']} | {r['measured']} | {r['baseline']} | {r['ratio']} | {r['goal']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
