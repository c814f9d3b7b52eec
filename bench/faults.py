"""The fault suite: the portal in real processes on PostgreSQL and Redis, faults injected, figures printed.

    .venv/bin/python -m bench.faults [--cases N] [--only NAME ...] [--json]

Starts, in a temporary directory of its own:
- its own PostgreSQL database (`kyc_faults_<random>`, on 127.0.0.1:5432) reached through a TCP proxy of its
  own (`bench/fault_tools.py`), so that the database can be cut;
- its own `redis-server` (a free port, no persistence: a crash loses every queued message);
- gunicorn serving the portal (the partner and operator API), a second gunicorn serving only the vendor
  simulators (`liveness/sandbox/`, restarted with `SANDBOX_FAULTS` for each vendor fault), a Celery worker and
  Celery beat (the sweeper);
- a webhook receiver (`bench/fault_tools.py`) as the partner's `webhook_url`.

Cases are selfies checked by Kairos' simulator alone (forced `live`, so no face model is needed and every case
ends `decided` with a `case.decided` webhook). Each fault submits its own cases through the API as a client
would (JSON, an `Idempotency-Key`, retrying a 503 or a refused connection with the same key) and waits for
them. Per fault: cases; lost (a 202 whose case never settles, or a submission never accepted); settled twice
(more than one check.succeeded/failed audit event for one check); decided twice (more than one automatic
verdict, or more than one human decision from one race); stuck (not settled when the fault's wait ends);
duplicate webhooks (two different events announcing the same verdict of one case; a redelivery of the same
`Kyc-Event-Id` is allowed and not counted); webhooks missing; 5xx other than 503; 503s; recovery seconds
(median, max) from the end of the fault to each case settled (for "receiver down": to its webhook received).

Recovery depends on the settings: the defaults are used (lease 30 s renewed by the running task, sweeper
every 15 s, a queued check re-sent after 60 s, webhook retries from 60 s). ``--fast`` (what the CI variant uses)
lowers them: lease 15 s renewed every 5 s, sweeper every 5 s, stale-queue period 20 s, webhook retries from 5 s;
the README's figures are from a run with the defaults.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.fault_tools import TcpProxy, WebhookReceiver

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
PG_ADMIN_URL = os.environ.get("KYC_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
SETTLED = ("decided", "needs_review", "closed")

SETUP = r"""
import json
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0, skip_checks=True)  # one Django start for both steps
from django.contrib.auth.models import User
from liveness.models import Partner
from liveness.roles import role_assign
from liveness.services.api_keys import api_key_create
partner = Partner.objects.create(name="Faults", slug="faults", webhook_url=WEBHOOK_URL,
                                 webhook_secret="whsec_faults-0123456789abcdef")
keys = {"partner": api_key_create(name="faults", partner=partner).secret}
for name in ("olga", "omar"):
    user = User.objects.create_user(name)
    role_assign(user=user, role="supervisor")
    keys[name] = api_key_create(name="faults", user=User.objects.get(pk=user.pk)).secret
print("KEYS " + json.dumps(keys))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def selfie(seed: int) -> str:
    """A distinct small JPEG per case (base64): the simulator's forced outcome needs no face."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 480), (seed * 37 % 256, seed * 91 % 256, 120))
    ImageDraw.Draw(image).ellipse((140 + seed % 40, 80, 340, 400), fill=(230, 200, 170))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return base64.b64encode(out.getvalue()).decode()


@dataclass
class Submission:
    key: str
    seed: int
    public_id: str | None = None
    statuses: list[int] = field(default_factory=list)
    accepted_at: float | None = None


@dataclass
class FaultResult:
    name: str
    cases: int = 0
    lost: int = 0
    settled_twice: int = 0
    decided_twice: int = 0
    stuck: int = 0
    duplicate_webhooks: int = 0
    webhooks_missing: int = 0
    server_errors: int = 0  # 5xx other than 503
    answered_503: int = 0
    recovery: list[float] = field(default_factory=list)
    notes: str = ""

    def row(self) -> dict[str, Any]:
        rec = self.recovery
        return {
            "fault": self.name, "cases": self.cases, "lost": self.lost, "settled twice": self.settled_twice,
            "decided twice": self.decided_twice, "stuck": self.stuck, "duplicate webhooks": self.duplicate_webhooks,
            "webhooks missing": self.webhooks_missing, "5xx (not 503)": self.server_errors,
            "503": self.answered_503,
            "recovery s (median, max)": f"{statistics.median(rec):.1f}, {max(rec):.1f}" if rec else "—",
            "notes": self.notes,
        }  # fmt: skip

    @property
    def clean(self) -> bool:
        return not (self.lost or self.settled_twice or self.decided_twice or self.stuck or self.duplicate_webhooks
                    or self.webhooks_missing or self.server_errors)  # fmt: skip


class Suite:
    def __init__(self, work: Path, *, fast: bool) -> None:
        self.work = work
        self.fast = fast
        self.db_name = f"kyc_faults_{uuid.uuid4().hex[:10]}"
        self.redis_port = free_port()
        self.web_port = free_port()
        self.sim_port = free_port()
        self.proxy = TcpProxy(("127.0.0.1", 5432))
        self.receiver = WebhookReceiver()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.keys: dict[str, str] = {}
        self.http = requests.Session()
        self.status_counts: Counter[int] = Counter()
        self.sim_config: tuple[str, str] | None = None  # (faults, outcome) of the running simulator
        self.sim_fresh = False  # it has answered no fault's requests yet (its `*N` counts are whole)
        self.started = time.monotonic()

    def note(self, what: str) -> None:
        """A timestamped line on stderr: where the suite's wall time goes."""
        print(f"[faults +{time.monotonic() - self.started:6.1f} s] {what}", file=sys.stderr, flush=True)

    # --- processes ---------------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "PYTEST_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="kyc_portal.settings.dev",
            KYC_VAR_DIR=str(self.work),
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{self.proxy.port}/{self.db_name}",
            CELERY_BROKER_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            CELERY_TASK_DEFAULT_QUEUE="kyc-faults",
            SANDBOX_BASE_URL=f"http://127.0.0.1:{self.sim_port}/sandbox",
            WORKFLOW_SELFIE="kairos",
            FACE_SEARCH_ENABLED="false",
            WEBHOOK_ALLOW_INSECURE_URLS="true",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            API_RATE_PARTNER="100000/minute",
            API_RATE_PARTNER_SUBMIT="100000/minute",
            API_RATE_OPERATOR="100000/minute",
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        if self.fast:
            env.update(
                WEBHOOK_RETRY_BASE_SECONDS="5",
                CHECK_STALE_QUEUED_SECONDS="20",
                WEBHOOK_STALE_SECONDS="20",
                CHECK_LEASE_SECONDS="15",
                CHECK_LEASE_RENEW_SECONDS="5",
                SWEEP_SECONDS="5",
            )
        env.update(extra)
        return env

    def spawn(self, name: str, command: list[str], **extra_env: str) -> None:
        log = open(self.work / f"{name}.log", "ab")  # noqa: SIM115 - lives with the process
        self.procs[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env(**extra_env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, name: str, sig: int = signal.SIGTERM, *, wait: float = 30) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def start_redis(self) -> None:
        self.spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(self.work)])  # fmt: skip
        self._wait(lambda: port_open(self.redis_port), 20, "redis-server")

    def start_web(self, *, wait: bool = True) -> None:
        self.spawn("web", [PY, "-m", "gunicorn", "kyc_portal.wsgi", "-b", f"127.0.0.1:{self.web_port}", "-w", "2",
                           "--threads", "4", "--timeout", "60", "--graceful-timeout", "5",
                           "--no-control-socket", "--preload"])  # fmt: skip
        if wait:
            self.wait_web()

    def wait_web(self) -> None:
        self._wait(lambda: self._answers(f"http://127.0.0.1:{self.web_port}/api/v1/health/live"), 60, "web")
        self.note("web up")

    def use_sim(self, faults: str = "", outcome: str = "live") -> None:
        """The simulator answering with ``faults`` and ``outcome``, restarted only when it answers otherwise or a
        fault is asked for (a fresh process: the simulators count `*N` faults per process)."""
        if self.sim_config == (faults, outcome) and (self.sim_fresh or not faults) and "sim" in self.procs:
            self.sim_fresh = False
            return
        self.kill("sim")
        self.start_sim(faults, outcome)
        self.sim_fresh = False

    def start_sim(self, faults: str = "", outcome: str = "live", *, wait: bool = True) -> None:
        # One process: the simulators count `*N` faults per process.
        self.sim_config = (faults, outcome)
        self.sim_fresh = True
        self.spawn("sim", [PY, "-m", "gunicorn", "kyc_portal.wsgi", "-b", f"127.0.0.1:{self.sim_port}", "-w", "1",
                           "--threads", "16", "--timeout", "90", "--graceful-timeout", "2", "--no-control-socket",
                           # Kairos authenticates with app_id / app_key headers: gunicorn drops underscored
                           # header names unless told otherwise (the simulator only; the portal keeps the default).
                           "--header-map", "dangerous"],
                   SANDBOX_FAULTS=json.dumps({"kairos": faults}) if faults else "{}",
                   # Every simulator answers the same forced outcome: a case that falls back to another
                   # vendor (Kairos' circuit open) is decided the same way.
                   SANDBOX_OUTCOMES=json.dumps({"kairos": outcome, "accura": outcome, "riset": outcome}))  # fmt: skip
        if wait:
            self.wait_sim()

    def wait_sim(self) -> None:
        self._wait(lambda: self._answers(f"http://127.0.0.1:{self.sim_port}/api/v1/health/live"), 60, "simulator")
        self.note(f"simulator up (faults, outcome: {self.sim_config})")

    def start_worker(self) -> None:
        self.spawn("worker", [PY, "-m", "celery", "-A", "kyc_portal", "worker", "--loglevel", "INFO", "--concurrency",
                              "4", "--without-gossip", "--without-mingle", "--without-heartbeat"])  # fmt: skip

    def wait_worker(self) -> None:
        """Until the worker says it is ready (it boots beside everything else: a fault must not start before)."""
        log = self.work / "worker.log"
        self._wait(lambda: log.is_file() and b" ready." in log.read_bytes(), 120, "worker")
        self.note("worker ready")

    def start_beat(self) -> None:
        self.spawn("beat", [PY, "-m", "celery", "-A", "kyc_portal", "beat", "--loglevel", "INFO",
                            "--schedule", str(self.work / "celerybeat-schedule")])  # fmt: skip

    def _answers(self, url: str) -> bool:
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.3)
        raise RuntimeError(f"{what} did not come up in {timeout:.0f} s (logs in {self.work})")

    def manage(self, *args: str) -> str:
        env = self.env(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{self.db_name}")
        result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=300, check=False)  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, sim: tuple[str, str] = ("", "live")) -> None:
        """Everything up; the simulator already as the first fault wants it (``sim``: faults, outcome)."""
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        # The two gunicorns and the worker (it loads the engine's models in each pool process) boot while the
        # database is migrated and the partner and operators created: none of them touches the database before a
        # request or a task. Beat (its sweeper queries the database at once) only after.
        self.start_sim(*sim, wait=False)
        self.start_web(wait=False)
        self.start_redis()
        self.start_worker()
        self.receiver.start()
        out = self.manage("shell", "-c", SETUP.replace("WEBHOOK_URL", repr(f"http://127.0.0.1:{self.receiver.port}/")))
        self.keys = json.loads(out.split("KEYS ", 1)[1])
        self.note("database migrated, partner and operators created")
        self.start_beat()
        self.wait_sim()
        self.wait_web()
        self.wait_worker()

    def stop(self) -> None:
        # All told to stop at once, then killed after 5 s: nothing is measured any more, and a warm Celery shutdown
        # or a gunicorn graceful timeout would otherwise add their waits one after another.
        procs, self.procs = list(self.procs.values()), {}
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.receiver.stop()
        self.proxy.stop()
        import psycopg

        with contextlib.suppress(Exception), psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    # --- the client side -------------------------------------------------------------------------

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{self.db_name}") as conn:
            return list(conn.execute(sql, params).fetchall())

    def call(self, method: str, path: str, key: str, **kwargs: Any) -> requests.Response | None:
        try:
            response = self.http.request(method, f"http://127.0.0.1:{self.web_port}{path}",
                                         headers={"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})},
                                         timeout=30, **kwargs)  # fmt: skip
        except requests.RequestException:
            return None
        self.status_counts[response.status_code] += 1
        return response

    def submit(self, sub: Submission, *, give_up_after: float = 120) -> None:
        """Submit as a careful client: retry a 503 (after Retry-After) or a connection error with the same key."""
        body = {"kind": "selfie", "external_ref": f"fault-{sub.seed}", "selfie": selfie(sub.seed)}
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            response = self.call("POST", "/api/v1/cases/", self.keys["partner"], json=body,
                                 headers={"Idempotency-Key": sub.key})  # fmt: skip
            if response is None:
                sub.statuses.append(0)
                time.sleep(1)
                continue
            sub.statuses.append(response.status_code)
            if response.status_code in (200, 201, 202):
                sub.public_id = response.json()["id"]
                sub.accepted_at = time.monotonic()
                return
            if response.status_code == 503:
                time.sleep(min(5.0, float(response.headers.get("Retry-After", "1") or 1)))
                continue
            return  # any other answer: the client stops (counted below)

    def submit_many(self, n: int, first_seed: int) -> list[Submission]:
        subs = [Submission(key=uuid.uuid4().hex, seed=first_seed + i) for i in range(n)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(self.submit, subs))
        return subs

    def settled_times(self, ids: list[str], timeout: float, *, webhook: bool = False) -> dict[str, float]:
        """When each case was first seen settled (or its webhook received), polling; missing = not in time."""
        seen: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(seen) < len(ids):
            if webhook:
                for public_id in ids:
                    if public_id not in seen and self.receiver.for_case(public_id):
                        seen[public_id] = self.receiver.for_case(public_id)[0].received_at
            else:
                rows = self.query("SELECT public_id::text, status FROM liveness_case WHERE public_id::text = ANY(%s)",
                                  (ids,))  # fmt: skip
                now = time.monotonic()
                for public_id, status in rows:
                    if status in SETTLED and public_id not in seen:
                        seen[public_id] = now
            time.sleep(0.5)
        return seen

    def result(
        self, name: str, subs: list[Submission], fault_end: float, *, wait: float, webhook_recovery: bool = False
    ) -> FaultResult:
        ids = [s.public_id for s in subs if s.public_id]
        settled = self.settled_times(ids, wait)
        result = FaultResult(name=name, cases=len(subs))
        result.lost = sum(1 for s in subs if not s.public_id)
        result.stuck = len(ids) - len(settled)
        if webhook_recovery:
            received = self.settled_times(ids, wait, webhook=True)
            result.recovery = [max(0.0, t - fault_end) for t in received.values()]
        else:
            result.recovery = [max(0.0, t - fault_end) for t in settled.values()]
        self.count_twice_and_webhooks(result, ids)
        statuses = Counter(code for s in subs for code in s.statuses)
        result.answered_503 = statuses[503]
        result.server_errors = sum(n for code, n in statuses.items() if code >= 500 and code != 503)
        return result

    def count_twice_and_webhooks(self, result: FaultResult, ids: list[str], *, human: bool = False) -> None:
        if not ids:
            return
        settles = self.query(
            "SELECT k.id, COUNT(a.id) FROM liveness_check k JOIN liveness_case c ON c.id = k.case_id "
            "LEFT JOIN liveness_auditevent a ON a.case_id = c.id AND a.action IN ('check.succeeded', 'check.failed') "
            "WHERE c.public_id::text = ANY(%s) GROUP BY k.id",
            (ids,),
        )
        result.settled_twice = sum(1 for _, n in settles if n > 1)
        autos = self.query(
            "SELECT c.public_id::text, COUNT(a.id) FROM liveness_case c LEFT JOIN liveness_auditevent a "
            "ON a.case_id = c.id AND a.action = 'case.auto_decided' WHERE c.public_id::text = ANY(%s) "
            "GROUP BY c.public_id",
            (ids,),
        )
        result.decided_twice = sum(1 for _, n in autos if n > 1)
        decided = {
            public_id
            for (public_id,) in self.query(
                "SELECT public_id::text FROM liveness_case WHERE status = 'decided' AND public_id::text = ANY(%s)",
                (ids,),
            )
        }
        grace = time.monotonic() + 30
        while time.monotonic() < grace and any(not self.receiver.for_case(i) for i in decided):
            time.sleep(0.5)
        for public_id in ids:
            deliveries = self.receiver.for_case(public_id)
            if public_id in decided and not deliveries:
                result.webhooks_missing += 1
            per_verdict: dict[str | None, set[str]] = {}
            for d in deliveries:
                per_verdict.setdefault(d.verdict, set()).add(d.event_id)
            result.duplicate_webhooks += sum(len(events) - 1 for events in per_verdict.values())

    def wait_running(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.query("SELECT COUNT(*) FROM liveness_check WHERE status = 'running'")[0][0]:
                return True
            time.sleep(0.2)
        return False


# --- the faults ------------------------------------------------------------------------------------


def fault_worker_kill(suite: Suite, n: int, seed: int) -> FaultResult:
    """SIGKILL the whole worker (main process and pool) while its checks are in flight; start a new one."""
    suite.use_sim(*FAULT_SIMULATOR["worker-kill"])  # every vendor call takes 6 s: the kill lands mid-call
    subs = suite.submit_many(n, seed)
    running = suite.wait_running(30)
    time.sleep(1)
    suite.kill("worker", signal.SIGKILL)
    killed_at = time.monotonic()
    suite.note("worker killed")
    suite.start_worker()  # boots while the simulator restarts without the latency (the killed leases run out)
    suite.use_sim()
    result = suite.result("worker SIGKILL mid-check", subs, killed_at, wait=150)
    result.notes = "killed with checks running" if running else "no check was running at the kill"
    return result


def fault_broker_loss(suite: Suite, n: int, seed: int) -> FaultResult:
    """Stop the worker, queue cases, kill redis-server (no persistence: the queue is gone), restart both."""
    suite.use_sim()
    suite.kill("worker")
    subs = suite.submit_many(n, seed)
    queued = suite.query("SELECT COUNT(*) FROM liveness_check WHERE status = 'queued'")[0][0]
    suite.kill("redis", signal.SIGKILL)
    time.sleep(3)
    suite.start_redis()
    restored = time.monotonic()
    suite.start_worker()
    result = suite.result("broker loss, messages queued", subs, restored, wait=180)
    result.notes = f"{queued} checks queued when redis died"
    return result


def fault_db_cut(suite: Suite, n: int, seed: int) -> FaultResult:
    """Cut the database (every connection of web, worker and beat) while cases are being submitted."""
    suite.use_sim()
    subs = [Submission(key=uuid.uuid4().hex, seed=seed + i) for i in range(n)]
    pool = ThreadPoolExecutor(max_workers=4)
    futures = []
    for i, sub in enumerate(subs):
        futures.append(pool.submit(suite.submit, sub))
        if i == n // 3:
            time.sleep(0.5)
            suite.proxy.cut()
            cut_at = time.monotonic()
    time.sleep(max(0.0, 8 - (time.monotonic() - cut_at)))
    suite.proxy.restore()
    restored = time.monotonic()
    for future in futures:
        future.result()
    pool.shutdown()
    result = suite.result("database cut during intake (8 s)", subs, restored, wait=150)
    rows = suite.query("SELECT COUNT(*) FROM liveness_case WHERE external_ref = ANY(%s)",
                       ([f"fault-{s.seed}" for s in subs],))[0][0]  # fmt: skip
    accepted = sum(1 for s in subs if s.public_id)
    result.notes = f"{rows} case rows for {accepted} accepted submissions"
    if rows != accepted:
        result.lost += abs(rows - accepted)
    return result


def vendor_fault(spec: str, label: str, wait: float = 150) -> Callable[[Suite, int, int], FaultResult]:
    def run(suite: Suite, n: int, seed: int) -> FaultResult:
        suite.use_sim(spec)
        started = time.monotonic()
        subs = suite.submit_many(n, seed)
        result = suite.result(label, subs, started, wait=wait)
        outcomes = Counter(
            status
            for (status,) in suite.query(
                "SELECT status FROM liveness_case WHERE public_id::text = ANY(%s)", ([s.public_id for s in subs],)
            )
        )
        providers = Counter(
            provider
            for (provider,) in suite.query(
                "SELECT k.provider FROM liveness_check k JOIN liveness_case c ON c.id = k.case_id "
                "WHERE c.public_id::text = ANY(%s)",
                ([s.public_id for s in subs],),
            )
        )
        result.notes = (
            "; ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
            + "; checked by "
            + ", ".join(f"{k} {v}" for k, v in sorted(providers.items()))
            + " (recovery from submission)"
        )
        return result  # the simulator keeps its spent fault: the next fault that needs it clean restarts it

    return run


def fault_receiver_down(suite: Suite, n: int, seed: int) -> FaultResult:
    """The partner's webhook receiver is down while cases are decided; it comes back 20 s later."""
    suite.use_sim()
    suite.receiver.stop()
    subs = suite.submit_many(n, seed)
    suite.settled_times([s.public_id for s in subs if s.public_id], 90)
    time.sleep(20)
    suite.receiver.start()
    back = time.monotonic()
    wait = 90 if suite.fast else 400
    result = suite.result("webhook receiver down", subs, back, wait=wait, webhook_recovery=True)
    result.notes = "recovery: receiver back -> webhook received"
    return result


def fault_two_operators(suite: Suite, n: int, seed: int) -> FaultResult:
    """Two supervisors decide the same case at the same instant (live / spoof, same version, a reason each),
    on cases the simulator sent to review (no face found)."""
    suite.use_sim(*FAULT_SIMULATOR["two-operators"])
    subs = suite.submit_many(n, seed)
    ids = [s.public_id for s in subs if s.public_id]
    suite.settled_times(ids, 90)
    result = FaultResult(name="two operators deciding at once", cases=len(subs))
    result.lost = sum(1 for s in subs if not s.public_id)
    answers: Counter[str] = Counter()
    for public_id in ids:
        url = f"/api/v1/operator/cases/{public_id}/"
        etags = {name: suite.call("GET", url, suite.keys[name]) for name in ("olga", "omar")}
        gate = threading.Barrier(2)
        got: dict[str, int] = {}

        def decide(name: str, verdict: str, url: str = url, etags: dict[str, Any] = etags, got: dict = got,
                   gate: threading.Barrier = gate) -> None:  # fmt: skip
            etag = etags[name].headers.get("ETag", "") if etags[name] is not None else ""
            gate.wait()
            response = suite.call("POST", url + "decisions/", suite.keys[name], headers={"If-Match": etag},
                                  json={"verdict": verdict, "reason": "fault suite race"})  # fmt: skip
            got[name] = response.status_code if response is not None else 0

        threads = [threading.Thread(target=decide, args=("olga", "spoof")),
                   threading.Thread(target=decide, args=("omar", "live"))]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        answers["/".join(str(v) for v in sorted(got.values()))] += 1
        result.server_errors += sum(1 for v in got.values() if v >= 500 and v != 503)
    decisions = suite.query(
        "SELECT c.public_id::text, COUNT(d.id) FROM liveness_case c LEFT JOIN liveness_decision d ON d.case_id = c.id "
        "WHERE c.public_id::text = ANY(%s) GROUP BY c.public_id",
        (ids,),
    )
    time.sleep(3)
    suite.count_twice_and_webhooks(result, ids)
    result.decided_twice += sum(1 for _, count in decisions if count > 1)
    result.notes = "answers " + ", ".join(f"{k}: {v}" for k, v in sorted(answers.items()))
    return result


#: How the simulator answers at the start of each fault that needs it otherwise than clean and `live` (the first
#: fault's is started with the suite, not restarted).
FAULT_SIMULATOR: dict[str, tuple[str, str]] = {
    "worker-kill": ("latency=6", "live"),
    "vendor-5xx": ("5xx*6", "live"),
    "vendor-429": ("429*6", "live"),
    "vendor-malformed": ("malformed*2", "live"),
    "vendor-timeout": ("timeout*2", "live"),
    "two-operators": ("", "noface"),
}

FAULTS: dict[str, Callable[[Suite, int, int], FaultResult]] = {
    "worker-kill": fault_worker_kill,
    "broker-loss": fault_broker_loss,
    "db-cut": fault_db_cut,
    "vendor-5xx": vendor_fault(FAULT_SIMULATOR["vendor-5xx"][0], "vendor 5xx burst (6 x 503)"),
    "vendor-429": vendor_fault(FAULT_SIMULATOR["vendor-429"][0], "vendor 429 + Retry-After (6 x)"),
    "vendor-malformed": vendor_fault(FAULT_SIMULATOR["vendor-malformed"][0], "vendor malformed JSON (2 x)"),
    "vendor-timeout": vendor_fault(FAULT_SIMULATOR["vendor-timeout"][0], "vendor timeout (2 x, held 25 s)"),
    "receiver-down": fault_receiver_down,
    "two-operators": fault_two_operators,
}


def run(names: list[str], cases: int, *, fast: bool, work: Path | None = None) -> list[FaultResult]:
    own_dir = work is None
    work = work or Path(tempfile.mkdtemp(prefix="kyc-faults-"))
    suite = Suite(work, fast=fast)
    results = []
    finished = False
    try:
        suite.start(sim=FAULT_SIMULATOR.get(names[0], ("", "live")) if names else ("", "live"))
        for i, name in enumerate(names):
            suite.note(f"{name}: starts")
            results.append(FAULTS[name](suite, cases, 1000 * (i + 1)))
            suite.note(f"{name}: {results[-1].row()}")
        finished = True
    finally:
        suite.stop()
        suite.note("stopped")
        if own_dir and finished and all(r.clean for r in results):
            shutil.rmtree(work, ignore_errors=True)  # kept (with the processes' logs) when something failed
    return results


def markdown(results: list[FaultResult]) -> str:
    rows = [r.row() for r in results]
    header = list(rows[0]) if rows else []
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row.values()) + " |" for row in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=8, help="cases per fault")
    parser.add_argument("--only", nargs="*", choices=list(FAULTS), help="run only these faults")
    parser.add_argument("--fast", action="store_true", help="shorter lease, sweep, stale-queue, webhook retry (CI)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    results = run(args.only or list(FAULTS), args.cases, fast=args.fast)
    if args.json:
        print(json.dumps([r.row() for r in results], indent=2))
    else:
        print(markdown(results))
        total = time.monotonic() - started
        print(f"\n{sum(r.cases for r in results)} cases through {len(results)} faults in {total:.0f} s; "
              f"{'all clean' if all(r.clean for r in results) else 'NOT CLEAN'}")  # fmt: skip
    return 0 if all(r.clean for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
