"""Helpers for tests that run the portal in real processes against real servers."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("KYC_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("KYC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("KYC_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, port: int) -> None:
    if not port_open("127.0.0.1", port):
        pytest.skip(f"{name} is not answering on 127.0.0.1:{port} (.ci/run starts it; start it to run this test)")


@dataclass
class Stack:
    """A portal configuration in real processes: its environment, and a way to read its database."""

    env: dict[str, str]
    db_kind: str  # sqlite | postgres
    db_target: str  # file path or database URL
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def manage(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start_worker(self, *, concurrency: int = 1) -> subprocess.Popen[bytes]:
        log = open(Path(self.env["KYC_VAR_DIR"]) / "worker.log", "wb")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kyc_portal", "worker", "--loglevel", "INFO",
             "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def worker_log(self) -> str:
        path = Path(self.env["KYC_VAR_DIR"]) / "worker.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.db_kind == "sqlite":
            with sqlite3.connect(self.db_target, timeout=30) as conn:
                return list(conn.execute(sql, params).fetchall())
        import psycopg

        with psycopg.connect(self.db_target) as conn:
            return list(conn.execute(sql.replace("?", "%s"), params).fetchall())

    def wait_for(
        self,
        sql: str,
        params: tuple[Any, ...],
        predicate: Callable[[list[tuple[Any, ...]]], bool],
        *,
        timeout: float = 90,
    ) -> Any:
        deadline = time.monotonic() + timeout
        rows: list[tuple[Any, ...]] = []
        while time.monotonic() < deadline:
            rows = self.query(sql, params)
            if predicate(rows):
                return rows
            if any(p.poll() is not None for p in self.procs):
                break
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting; last rows {rows!r}\nworker log:\n{self.worker_log()[-4000:]}")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()


def base_env(tmp_path: Path, *, database_url: str, broker_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "PYTEST_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="kyc_portal.settings.dev",
        KYC_VAR_DIR=str(tmp_path),
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_DEFAULT_QUEUE=f"kyc-test-{uuid.uuid4().hex[:10]}",
        SANDBOX_ENABLED="false",
        WORKFLOW_SELFIE="local",
        WORKFLOW_ID_DOCUMENT="local",
        WORKFLOW_ACTIVE="local",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def postgres_database() -> Iterator[str]:
    import psycopg

    name = f"kyc_it_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
