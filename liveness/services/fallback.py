"""Circuit breaker per vendor provider, and the fallback it drives when a case is created.

State is derived, not stored: every call attempt already leaves one append-only audit event
(``check.succeeded``, ``check.retry_scheduled`` or ``check.failed``, each naming the provider and, on failure,
the error code). Reading the newest of them gives every web process and worker the same answer with no
extra write per call and no hot "circuit" row for many workers to contend on.

A provider's circuit is **open** when its newest counted attempt failed and either the last
``CIRCUIT_FAILURES`` attempts all failed or, over the last ``CIRCUIT_WINDOW_SECONDS``, at least
``CIRCUIT_MIN_CALLS`` attempts failed at a rate >= ``CIRCUIT_FAILURE_RATE``. ``CIRCUIT_COOLDOWN_SECONDS``
after the newest failure it is **half-open**: the next case gets a check for the provider again (the probe)
while later cases keep falling back until that probe settles. A success closes it (the newest attempt is
then a success); a failure opens it for another cool-down.

Only failures that say the provider is unwell count: timeouts, connection errors, 5xx, rate and usage
limits, refused credentials and unreadable answers. A vendor refusing one case's image is that case's
problem and counts for nothing. The local engine has no breaker: it is the last resort.

While open, a new case's check for the provider goes to the next provider configured for the case kind
(the kind's workflow order first, then any other available provider of that kind), recorded on the check
(``fallback_from`` / ``fallback_reason``) and in the audit trail. With no replacement left, the check is
recorded as skipped with the reason, unless that would leave the case with no check at all: then the
providers are tried anyway, because refusing the case helps nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from ..models import AuditEvent, Check, CheckStatus, Partner
from ..providers import UnknownProvider, get_provider
from .providers import providers_available

#: Error codes that mean "the provider is unwell" (see liveness.providers.http and the vendor adapters).
HEALTH_FAILURE_CODES = frozenset(
    {
        "timeout",
        "connection_error",
        "vendor_5xx",
        "rate_limited",
        "usage_limit",
        "auth",
        "unparseable",
        "unexpected_content_type",
    }
)
SUCCEEDED, RETRY, FAILED = "check.succeeded", "check.retry_scheduled", "check.failed"

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass(frozen=True)
class CircuitState:
    provider: str
    state: str  # closed | open | half_open
    consecutive_failures: int = 0
    calls_in_window: int = 0
    failures_in_window: int = 0
    last_failure_code: str = ""
    last_failure_at: datetime | None = None
    probe_in_flight: bool = False

    @property
    def admits_new_checks(self) -> bool:
        return self.state == CLOSED or (self.state == HALF_OPEN and not self.probe_in_flight)

    @property
    def failure_rate(self) -> float | None:
        return self.failures_in_window / self.calls_in_window if self.calls_in_window else None

    @property
    def reopens_at(self) -> datetime | None:
        if self.last_failure_at is None:
            return None
        return self.last_failure_at + timedelta(seconds=settings.CIRCUIT_COOLDOWN_SECONDS)

    def reason(self) -> str:
        """One line for the operator: why checks do not go to this provider right now."""
        if self.admits_new_checks:
            return ""
        if self.consecutive_failures >= settings.CIRCUIT_FAILURES:
            why = f"{self.consecutive_failures} consecutive failed calls"
        else:
            window = settings.CIRCUIT_WINDOW_SECONDS
            why = f"{self.failures_in_window} of {self.calls_in_window} calls failed in {window}s"
        at = self.last_failure_at.strftime("%H:%M:%S UTC") if self.last_failure_at else "?"
        if self.state == HALF_OPEN:
            return f"{self.provider} circuit half-open ({why}; last {self.last_failure_code} at {at}): probe in flight"
        until = self.reopens_at.strftime("%H:%M:%S UTC") if self.reopens_at else "?"
        return f"{self.provider} circuit open: {why}, last {self.last_failure_code} at {at}; probe after {until}"


def _attempts(provider: str, since: datetime) -> Q:
    counted_failure = Q(action__in=(RETRY, FAILED), data__error__in=sorted(HEALTH_FAILURE_CODES))
    return Q(created_at__gte=since, data__provider=provider) & (Q(action=SUCCEEDED) | counted_failure)


def circuit_state(provider: str, *, now: datetime | None = None) -> CircuitState:
    """The circuit of ``provider`` as of ``now``, read from the attempt log."""
    try:
        remote = get_provider(provider).is_remote
    except UnknownProvider:
        remote = False
    if not remote:
        return CircuitState(provider, CLOSED)
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.CIRCUIT_WINDOW_SECONDS)
    attempts = AuditEvent.objects.filter(_attempts(provider, since))
    newest = list(attempts.order_by("-id").values_list("action", "data", "created_at")[: settings.CIRCUIT_FAILURES])
    if not newest or newest[0][0] == SUCCEEDED:
        return CircuitState(provider, CLOSED)
    consecutive = next((i for i, (action, _, _) in enumerate(newest) if action == SUCCEEDED), len(newest))
    totals = attempts.aggregate(calls=Count("id"), failures=Count("id", filter=~Q(action=SUCCEEDED)))
    calls, failures = int(totals["calls"]), int(totals["failures"])
    by_streak = consecutive >= settings.CIRCUIT_FAILURES
    by_rate = calls >= settings.CIRCUIT_MIN_CALLS and failures / calls >= settings.CIRCUIT_FAILURE_RATE
    _, data, last_failure_at = newest[0]
    observed = CircuitState(
        provider,
        CLOSED,
        consecutive_failures=consecutive,
        calls_in_window=calls,
        failures_in_window=failures,
        last_failure_code=str(data.get("error", "")) if isinstance(data, dict) else "",
        last_failure_at=last_failure_at,
    )
    if not (by_streak or by_rate):
        return observed
    if now < last_failure_at + timedelta(seconds=settings.CIRCUIT_COOLDOWN_SECONDS):
        return replace(observed, state=OPEN)
    # Half-open: a check created after the newest failure and not yet settled is the probe.
    probing = Check.objects.filter(
        provider=provider, created_at__gt=last_failure_at, status__in=(CheckStatus.QUEUED, CheckStatus.RUNNING)
    ).exists()
    return replace(observed, state=HALF_OPEN, probe_in_flight=probing)


@dataclass(frozen=True)
class PlannedCheck:
    """One check a new case gets: its provider, and why it is there or skipped when a circuit is open."""

    provider: str
    fallback_from: str = ""
    fallback_reason: str = ""
    skipped_reason: str = ""


def _candidates(kind: str, partner: Partner | None) -> list[str]:
    workflow = partner.workflow.get(kind) if partner and partner.workflow else None
    configured = workflow or settings.LIVENESS_WORKFLOWS.get(kind, [])
    available = providers_available(kind)
    ordered = [key for key in configured if key in available] + available
    return list(dict.fromkeys(ordered))


def checks_plan(*, kind: str, partner: Partner | None, chosen: Sequence[str]) -> list[PlannedCheck]:
    """The checks a new case of ``kind`` gets, given the providers chosen for it, with open circuits
    replaced by the next available provider (or skipped with the reason)."""
    states = {key: circuit_state(key) for key in chosen}
    if all(state.admits_new_checks for state in states.values()):
        return [PlannedCheck(key) for key in chosen]
    used = set(chosen)
    candidates = [key for key in _candidates(kind, partner) if key not in used]
    plan = []
    for key in chosen:
        state = states[key]
        if state.admits_new_checks:
            plan.append(PlannedCheck(key))
            continue
        reason = state.reason()[:200]
        replacement = None
        while candidates and replacement is None:
            candidate = candidates.pop(0)
            if circuit_state(candidate).admits_new_checks:
                replacement = candidate
        if replacement is None:
            plan.append(PlannedCheck(key, skipped_reason=reason))
        else:
            used.add(replacement)
            plan.append(PlannedCheck(replacement, fallback_from=key, fallback_reason=reason))
    if all(item.skipped_reason for item in plan):
        return [PlannedCheck(key) for key in chosen]
    return plan
