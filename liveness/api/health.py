"""Probes for the health endpoint: database, broker, cache, evidence storage, local engine models.

The endpoint is public (load balancers call it without credentials), so a failed probe reports only
its kind of failure; the detail goes to the log.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connection

from .. import storage
from ..engine import models as engine_models

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 3
_URL_CREDENTIALS = re.compile(r"://[^/@\s]+@")


def _safe(message: str) -> str:
    """An error message without the user:password of any URL in it (broker and cache URLs carry them)."""
    return _URL_CREDENTIALS.sub("://***@", message)[:300]


def probe_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def probe_broker() -> None:
    from kyc_portal.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)


def probe_cache() -> None:
    key = f"health-probe-{time.monotonic_ns()}"
    cache.set(key, "ok", timeout=10)
    if cache.get(key) != "ok":
        raise RuntimeError("the cache did not return what was written")
    cache.delete(key)


def probe_storage() -> None:
    # A full round trip: encryption keys configured, backend writable and readable.
    key = storage.put(b"health-probe", prefix="health")
    try:
        if storage.get(key) != b"health-probe":
            raise RuntimeError("the evidence store did not return what was written")
    finally:
        storage.delete(key)


def probe_engine() -> None:
    engine_models.health()  # raises EngineConfigurationError when a model file is missing or corrupt


PROBES: dict[str, Callable[[], None]] = {
    "database": probe_database,
    "broker": probe_broker,
    "cache": probe_cache,
    "storage": probe_storage,
    "engine": probe_engine,
}


def health_report() -> dict[str, Any]:
    checks: dict[str, dict[str, Any]] = {}
    for name, probe in PROBES.items():
        started = time.monotonic()
        try:
            probe()
        except Exception as exc:  # a health check reports every failure of a dependency, whatever its type
            logger.warning("health probe %s failed: %s: %s", name, type(exc).__name__, _safe(str(exc)))
            checks[name] = {
                "status": "error",
                "latency_ms": int((time.monotonic() - started) * 1000),
                "error": type(exc).__name__,
            }
            continue
        checks[name] = {"status": "ok", "latency_ms": int((time.monotonic() - started) * 1000)}
    overall = "ok" if all(c["status"] == "ok" for c in checks.values()) else "error"
    return {"status": overall, "checks": checks}
