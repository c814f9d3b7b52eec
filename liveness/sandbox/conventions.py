"""The sandbox's own conventions, the way commercial vendors' sandboxes have them.

Forcing an outcome (skips the engine, the image is still validated):
  * header ``X-Sandbox-Outcome: live | spoof | noface``;
  * or the marker ``sandbox-live`` / ``sandbox-spoof`` / ``sandbox-noface`` in the uploaded file name
    (Accura, Kairos) or in ``trx_id`` (Riset);
  * or per vendor in settings: ``SANDBOX_OUTCOMES = {"kairos": "spoof"}`` (env ``SANDBOX_OUTCOMES``, JSON).

Fault modes (before anything else is looked at, like an outage in front of the vendor's API):
  * header ``X-Sandbox-Fault: <spec>`` or per vendor ``SANDBOX_FAULTS = {"riset": "<spec>"}``;
  * ``<spec>`` is a comma-separated list of ``mode[=value][*times]``:
    ``latency[=<s>]`` add latency (1 s by default), then answer normally; ``5xx[=<status>]`` server
    error (503 by default); ``403`` the vendor's usage-limit answer; ``429`` rate limited;
    ``timeout[=<s>]`` hold the request longer than the client waits (SANDBOX_TIMEOUT_SECONDS by
    default), then give up; ``malformed`` a truncated JSON body with status 200; ``content-type`` an
    HTML error page with status 200.
  * ``*times`` applies the fault to the next ``times`` requests of that vendor and spec only (counted
    per process), e.g. ``5xx*2`` = two server errors, then normal answers: a retry that succeeds.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

OUTCOMES = ("live", "spoof", "noface")
OUTCOME_HEADER = "X-Sandbox-Outcome"
FAULT_HEADER = "X-Sandbox-Fault"
FAULT_MODES = ("latency", "5xx", "403", "429", "timeout", "malformed", "content-type")
#: Upper bound for latency and timeout faults: a sandbox never holds a worker thread for long.
MAX_FAULT_SECONDS = 120.0

_FAULT_RE = re.compile(r"^(?P<mode>[a-z0-9-]+)(?:=(?P<value>[0-9.]+))?(?:\*(?P<times>[0-9]+))?$")


class ConventionError(ValueError):
    """A sandbox header or setting the sandbox cannot read (answered 400, never 500)."""


@dataclass(frozen=True)
class Fault:
    mode: str
    value: float | None = None
    times: int | None = None  # None: every request


def parse_faults(spec: str) -> list[Fault]:
    faults = []
    for part in (p.strip().lower() for p in spec.split(",")):
        if not part:
            continue
        found = _FAULT_RE.match(part)
        if found is None or found["mode"] not in FAULT_MODES:
            raise ConventionError(f"unknown sandbox fault {part!r}; modes: {', '.join(FAULT_MODES)}")
        try:
            value = float(found["value"]) if found["value"] else None
        except ValueError as exc:
            raise ConventionError(f"bad value in sandbox fault {part!r}") from exc
        times = int(found["times"]) if found["times"] else None
        if found["mode"] == "5xx" and value is not None and not 500 <= value <= 599:
            raise ConventionError(f"5xx takes a status between 500 and 599, not {value:g}")
        faults.append(Fault(found["mode"], value, times))
    return faults


class _Budget:
    """How many more times a counted fault (``*times``) fires, per vendor and spec, in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: dict[tuple[str, str, int], int] = {}

    def take(self, vendor: str, spec: str, position: int, times: int) -> bool:
        key = (vendor, spec, position)
        with self._lock:
            used = self._used.get(key, 0)
            if used >= times:
                return False
            self._used[key] = used + 1
            return True

    def reset(self) -> None:
        with self._lock:
            self._used.clear()


fault_budget = _Budget()


def faults_for(request: HttpRequest, vendor: str) -> list[Fault]:
    """The faults that fire for this request: the header's, else the vendor's setting."""
    spec = request.headers.get(FAULT_HEADER, "")
    if not spec:
        configured = getattr(settings, "SANDBOX_FAULTS", {}) or {}
        spec = str(configured.get(vendor, "") or "")
    active = []
    for position, fault in enumerate(parse_faults(spec)):
        if fault.times is None or fault_budget.take(vendor, spec, position, fault.times):
            active.append(fault)
    return active


def forced_outcome(request: HttpRequest, vendor: str, *, marker_source: str = "") -> str | None:
    """The outcome a tester forced for this request, or None to let the engine look at the image."""
    header = request.headers.get(OUTCOME_HEADER, "").strip().lower()
    if header:
        if header not in OUTCOMES:
            raise ConventionError(f"{OUTCOME_HEADER} must be one of {', '.join(OUTCOMES)}")
        return header
    lowered = marker_source.lower()
    for outcome in OUTCOMES:
        if f"sandbox-{outcome}" in lowered:
            return outcome
    configured = getattr(settings, "SANDBOX_OUTCOMES", {}) or {}
    value = str(configured.get(vendor, "") or "").strip().lower()
    return value if value in OUTCOMES else None


def timeout_seconds(fault: Fault) -> float:
    default = float(getattr(settings, "SANDBOX_TIMEOUT_SECONDS", 30.0))
    return min(MAX_FAULT_SECONDS, fault.value if fault.value is not None else default)
