"""Circuit breaker per vendor provider, and the fallback it drives when a case is created.

Every call attempt leaves one append-only audit event (``check.succeeded``, ``check.retry_scheduled`` or
``check.failed``, naming the provider and, on failure, the error code): the audit log stays the record. The
breaker keeps its own small running state next to it (``ProviderCircuit``, written by
:func:`circuit_record_attempt` as the attempt settles): the counted failures since the vendor's last success.
A submission then reads one small row per vendor instead of the growing audit log. A healthy vendor's row is
never written (a success only writes when it ends a run of failures), so there is no hot row for many workers
to contend on; the window's totals (the failure-rate rule, and the figures shown to the operator) are read
from the audit log only while the newest counted attempt failed, i.e. while the vendor is in trouble.

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from ..models import AuditEvent, Check, CheckStatus, Partner, ProviderCircuit
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


def _is_remote(provider: str) -> bool:
    try:
        return get_provider(provider).is_remote
    except UnknownProvider:
        return False


def circuit_record_attempt(*, provider: str, error_code: str = "", at: datetime | None = None) -> None:
    """Keep ``provider``'s running circuit state after one settled call attempt (in the settling transaction).

    A success (no ``error_code``) ends a run of failures; a failure that says the provider is unwell is added to
    it; any other failure (a vendor refusing one case's input) counts for nothing, as in the audit-log reading.
    """
    if not _is_remote(provider):
        return
    if not error_code:
        ProviderCircuit.objects.filter(provider=provider, failing=True).update(
            failing=False, recent_failures=[], updated_at=timezone.now()
        )
        return
    if error_code not in HEALTH_FAILURE_CODES:
        return
    at = at or timezone.now()
    ProviderCircuit.objects.get_or_create(provider=provider)
    # Its own (nested) transaction: a retry is released outside the settling one, and the row is locked while
    # the failure is added so that two workers failing at once both count.
    with transaction.atomic():
        row = ProviderCircuit.objects.select_for_update().get(provider=provider)
        keep = max(1, settings.CIRCUIT_FAILURES)
        row.recent_failures = [[at.isoformat(), error_code], *list(row.recent_failures or [])][:keep]
        row.failing = True
        row.save(update_fields=["recent_failures", "failing", "updated_at"])


#: ``circuit_state``'s ``failing_rows`` when the caller has not read them.
_NOT_READ: dict[str, list[Any]] = {}


def failing_circuits(providers: Iterable[str]) -> dict[str, list[Any]]:
    """The ``recent_failures`` of those of ``providers`` whose circuit row says failing, in one query (none when no
    remote provider is among them): what :func:`circuit_state` reads, for several providers at once."""
    remote = sorted({key for key in providers if _is_remote(key)})
    if not remote:
        return {}
    rows = ProviderCircuit.objects.filter(provider__in=remote, failing=True).values_list("provider", "recent_failures")
    return {provider: list(failures or []) for provider, failures in rows}


def circuit_state(
    provider: str, *, now: datetime | None = None, failing_rows: dict[str, list[Any]] = _NOT_READ
) -> CircuitState:
    """The circuit of ``provider`` as of ``now``: its running state, and the window's totals when it is failing.
    ``failing_rows``: :func:`failing_circuits` of a set of providers including this one, read by the caller."""
    if not _is_remote(provider):
        return CircuitState(provider, CLOSED)
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.CIRCUIT_WINDOW_SECONDS)
    if failing_rows is _NOT_READ:
        failing_rows = failing_circuits([provider])
    failures = [
        (datetime.fromisoformat(when), str(code))
        for when, code in failing_rows.get(provider, [])[: settings.CIRCUIT_FAILURES]
    ]
    # The failures since the last success that are still inside the window (the newest counted attempts).
    recent = [(when, code) for when, code in failures if since <= when <= now]
    if not recent:
        return CircuitState(provider, CLOSED)
    consecutive = len(recent)
    last_failure_at, last_failure_code = recent[0]
    totals = AuditEvent.objects.filter(_attempts(provider, since)).aggregate(
        calls=Count("id"), failures=Count("id", filter=~Q(action=SUCCEEDED))
    )
    calls, failed = int(totals["calls"]), int(totals["failures"])
    by_streak = consecutive >= settings.CIRCUIT_FAILURES
    by_rate = calls >= settings.CIRCUIT_MIN_CALLS and failed / calls >= settings.CIRCUIT_FAILURE_RATE
    observed = CircuitState(
        provider,
        CLOSED,
        consecutive_failures=consecutive,
        calls_in_window=calls,
        failures_in_window=failed,
        last_failure_code=last_failure_code,
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
    failing = failing_circuits(chosen)  # one query for every chosen vendor's circuit row
    states = {key: circuit_state(key, failing_rows=failing) for key in chosen}
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
