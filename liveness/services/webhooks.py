"""Signed webhooks to partners: recorded inside the deciding transaction, sent after commit, retried.

Protocol (the same claim/settle shape as checks):
1. ``webhook_enqueue`` writes a WebhookDelivery row in the caller's transaction and enqueues the task
   after commit, so a decision is never blocked or rolled back by delivery.
2. ``webhook_deliver`` claims the row with a conditional UPDATE (pending and due, or sending with an
   expired lease); the attempt counter after the claim is the fencing token.
3. It POSTs with no transaction open, then records the WebhookAttempt and settles the row only if the
   token still matches: delivered, retry later (exponential backoff with jitter), or failed for good.

Every attempt is signed afresh: ``Kyc-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``
with ``Kyc-Timestamp`` the Unix time of that attempt, so receivers can refuse anything older than five
minutes without refusing our retries. For a grace period after a secret rotation the header carries two
signatures, ``v1=<new>,v1=<previous>``, so a partner still checking with the old secret keeps accepting
deliveries until they deploy the new one. The body holds ids, status, verdict and scores; never images.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import enqueue
from ..models import (
    Case,
    CaseStatus,
    Check,
    Decision,
    Partner,
    Verdict,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
)
from ..outbound import OutboundRequest, TransportError, is_public, send
from .audit import audit_record
from .errors import Conflict, Invalid

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Kyc-Signature"
TIMESTAMP_HEADER = "Kyc-Timestamp"
EVENT_ID_HEADER = "Kyc-Event-Id"
EVENT_TYPE_HEADER = "Kyc-Event"
ATTEMPT_HEADER = "Kyc-Delivery-Attempt"
EVENTS = ("case.decided", "case.resubmission_requested")
SESSION_EVENTS = ("verification_session.submitted", "verification_session.expired")
#: Tolerance for a task that runs a little before its due time (clock skew between hosts).
EARLY_TOLERANCE = timedelta(seconds=5)
MAX_EXCERPT = 1000


class WebhookError(Conflict):
    """A refusal of this service (see services.errors); ``code`` says which."""


class CallbackUrlRefused(Invalid):
    """A per-case callback URL the partner may not set (no override permission, or not a public https URL)."""


class WebhookUrlError(Invalid):
    """A webhook URL the portal refuses to send to (input: 400)."""


#: Partner.webhook_url's max_length.
MAX_WEBHOOK_URL = 500


@dataclass(frozen=True)
class DeliveryOutcome:
    state: str  # delivered | retry | failed | not_claimed | dropped
    retry_in: float | None = None


# --- signing and payload ------------------------------------------------------------------------------


def webhook_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"


def webhook_signing_secrets(partner: Partner, *, now: datetime | None = None) -> list[str]:
    """The secrets a delivery is signed with now: the current one first, then the previous one while
    its grace period lasts."""
    now = now or timezone.now()
    found = [partner.webhook_secret] if partner.webhook_secret else []
    expires_at = partner.webhook_secret_previous_expires_at
    if partner.webhook_secret_previous and expires_at is not None and expires_at > now:
        found.append(partner.webhook_secret_previous)
    return found


def case_resubmission_request(case: Case) -> dict[str, Any] | None:
    """What the partner is asked for while the case waits for a resubmission, else None: the reason codes
    (vocabulary.RESUBMISSION_REASONS), the operator's free text, when it was asked and which round it sends
    back. The same shape in the ``case.resubmission_requested`` webhook and in the case's GET."""
    if case.status != CaseStatus.RESUBMISSION_REQUESTED:
        return None
    decision = (
        Decision.objects.filter(case=case, verdict=Verdict.RESUBMIT, decided_at__isnull=False)
        .order_by("-decided_at", "-pk")
        .only("resubmission_reasons", "reason", "decided_at")
        .first()
    )
    if decision is None:
        return None
    return {
        "reasons": list(decision.resubmission_reasons or []),
        "message": decision.reason,
        "requested_at": decision.decided_at.isoformat() if decision.decided_at else None,
        "round": case.round,
    }


def webhook_payload(*, case: Case, event: str, event_id: uuid.UUID, occurred_at: datetime) -> dict[str, Any]:
    checks = Check.objects.filter(case=case, round=case.round).order_by("id")
    return {
        "id": str(event_id),
        "type": event,
        "created_at": occurred_at.isoformat(),
        "data": {
            "case": {
                "id": str(case.public_id),
                "external_ref": case.external_ref,
                "kind": case.kind,
                "status": case.status,
                "verdict": case.final_verdict or None,
                "auto_verdict": case.auto_verdict or None,
                "reason_codes": list(case.reason_codes or []),
                "decision_source": "operator" if case.decided_by_id else "automatic",
                "decided_at": case.decided_at.isoformat() if case.decided_at else None,
                "round": case.round,
                "resubmission_count": case.resubmission_count,
                "resubmission_request": case_resubmission_request(case),
                "checks": [
                    {
                        "provider": c.provider,
                        "round": c.round,
                        "status": c.status,
                        "score": c.score,
                        "threshold": c.threshold,
                        "passed": c.passed,
                        "outcome": c.outcome or None,
                        "findings": [f.get("code") for f in c.findings or [] if isinstance(f, dict)],
                    }
                    for c in checks
                ],
            }
        },
    }


def webhook_target_url(case: Case) -> str:
    """The case's own callback URL when the partner may override, else the partner's webhook URL."""
    partner = case.partner
    if partner is None:
        return ""
    if case.callback_url and partner.allow_callback_override:
        return case.callback_url
    return partner.webhook_url


def callback_url_check(*, partner: Partner | None, url: str) -> None:
    """May ``partner`` have a case's webhooks sent to ``url`` instead of its own webhook URL?

    Only with the partner's ``allow_callback_override``, and only to a URL ``webhook_url_problem`` accepts
    (checked without DNS here; the address is checked again at delivery). Raises CallbackUrlRefused.
    """
    if not url:
        return
    if partner is None or not partner.allow_callback_override:
        raise CallbackUrlRefused(
            "this partner may not set a per-case callback URL; ask to have overrides enabled",
            "callback_override_not_allowed",
            "callback_url",
        )
    problem = webhook_url_problem(url, resolve=False)
    if problem:
        raise CallbackUrlRefused(problem, "callback_url_not_allowed", "callback_url")


def webhook_url_problem(url: str, *, resolve: bool = True, what: str = "the webhook URL") -> str:
    """Why the portal refuses to POST to ``url``, or "" when it may.

    Unless WEBHOOK_ALLOW_INSECURE_URLS, targets must be https and resolve only to public addresses: a
    partner-given callback URL must not become a way to reach services inside the portal's network.
    ``resolve=False`` skips the DNS lookup (at submit time; the address is checked again at delivery).
    ``what`` names the URL in the message (the same rule serves hosted sessions' redirect URLs).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{what} must be an http(s) URL with a host"
    if settings.WEBHOOK_ALLOW_INSECURE_URLS:
        return ""
    if parts.scheme != "https":
        return f"{what} must use https"
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None:
        return "" if is_public(parts.hostname) else f"{parts.hostname} is not a public address"
    if not resolve:
        return ""
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return ""  # resolution failures are transient; the POST itself fails and is retried
    for info in infos:
        # The same rule the outbound seam applies to the connection it opens (outbound.is_public).
        if not is_public(str(info[4][0])):
            return f"{parts.hostname} resolves to a non-public address"
    return ""


def partner_webhook_url_set(*, partner: Partner, url: str, actor: User | None = None, actor_label: str = "") -> bool:
    """Set (or with "" clear) where the partner's events go; audited with before and after. False when the URL
    was already this one (nothing written). Raises WebhookUrlError for a URL the portal would not POST to.

    The address is not resolved here (DNS may differ at delivery): the delivery checks it again, and the
    connection guard checks the peer it actually opens.
    """
    url = url.strip()
    if len(url) > MAX_WEBHOOK_URL:
        raise WebhookUrlError(f"at most {MAX_WEBHOOK_URL} characters", code="too_long", field="webhook_url")
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise WebhookUrlError("not a valid http(s) URL", code="invalid", field="webhook_url") from None
        problem = webhook_url_problem(url, resolve=False)
        if problem:
            raise WebhookUrlError(problem, code="webhook_url_not_allowed", field="webhook_url")
    with transaction.atomic():
        locked = Partner.objects.select_for_update().only("pk", "slug", "webhook_url").get(pk=partner.pk)
        before = locked.webhook_url
        if before == url:
            return False
        Partner.objects.filter(pk=partner.pk).update(webhook_url=url)
        audit_record(
            action="partner.webhook_url_changed",
            actor=actor,
            actor_label=actor_label,
            data={"partner": locked.slug, "before": before, "after": url},
        )
    partner.webhook_url = url
    return True


# --- enqueue ------------------------------------------------------------------------------------------


def _enqueue(delivery_id: int, *, countdown: float = 0) -> None:
    # After commit, robust: a broker outage must not fail the request that decided; the sweeper resends later.
    enqueue.after_commit(enqueue.DELIVER_WEBHOOK, (delivery_id,), countdown=countdown)


def _delivery_record(
    *,
    event: str,
    partner: Any,
    case: Case | None,
    url: str,
    payload: Callable[[uuid.UUID, datetime], dict[str, Any]],
    session: Any = None,
) -> WebhookDelivery:
    """The one way an event becomes a delivery: the row (with its retry budget), the audit event, and the task
    sent after commit. ``payload(event_id, occurred_at)`` builds the body."""
    now = timezone.now()
    event_id = uuid.uuid4()
    delivery = WebhookDelivery.objects.create(
        event_id=event_id,
        event=event,
        partner=partner,
        case=case,
        verification_session=session,
        url=url,
        payload=payload(event_id, now),
        attempt_limit=settings.WEBHOOK_MAX_ATTEMPTS,
        retry_until=now + timedelta(hours=settings.WEBHOOK_RETRY_WINDOW_HOURS),
        next_attempt_at=now,
    )
    data = {"event": event, "event_id": str(event_id), "delivery": delivery.pk}
    if session is not None:
        data["session"] = str(session.public_id)
    audit_record(action="webhook.queued", case=case, actor_label="system", data=data)
    _enqueue(delivery.pk)
    return delivery


def webhook_enqueue(*, case: Case, event: str) -> WebhookDelivery | None:
    """Record an event for the case's partner and send it after commit. None when nobody listens."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    url = webhook_target_url(case)
    if case.partner is None or not url:
        return None
    return _delivery_record(
        event=event,
        partner=case.partner,
        case=case,
        url=url,
        payload=lambda event_id, at: webhook_payload(case=case, event=event, event_id=event_id, occurred_at=at),
    )


def session_webhook_payload(*, session: Any, event: str, event_id: uuid.UUID, occurred_at: datetime) -> dict[str, Any]:
    """A verification session's event: ids and status only (the case's verdict comes with case.decided)."""
    return {
        "id": str(event_id),
        "type": event,
        "created_at": occurred_at.isoformat(),
        "data": {
            "verification_session": {
                "id": str(session.public_id),
                "kind": session.kind,
                "external_ref": session.external_ref,
                "status": session.status,
                "case_id": str(session.case.public_id) if session.case_id else None,
                "round": session.round,
                "expires_at": session.expires_at.isoformat(),
                "submitted_at": session.submitted_at.isoformat() if session.submitted_at else None,
            }
        },
    }


def webhook_enqueue_session(*, session: Any, event: str) -> WebhookDelivery | None:
    """Record a verification session's event for its partner (inside the caller's transaction)."""
    if event not in SESSION_EVENTS:
        raise ValueError(f"unknown session webhook event {event!r}")
    partner = session.partner
    url = webhook_target_url(session.case) if session.case_id else (partner.webhook_url if partner else "")
    if partner is None or not url:
        return None
    return _delivery_record(
        event=event,
        partner=partner,
        case=session.case,
        url=url,
        session=session,
        payload=lambda event_id, at: session_webhook_payload(
            session=session, event=event, event_id=event_id, occurred_at=at
        ),
    )


# --- deliver ------------------------------------------------------------------------------------------


def webhook_backoff_seconds(attempt: int) -> float:
    """Exponential, capped, with "equal jitter": uniform in [c/2, c] for c = min(max, base * 2**(n-1))."""
    ceiling = min(settings.WEBHOOK_RETRY_MAX_SECONDS, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def _lease_seconds() -> float:
    return float(settings.WEBHOOK_TIMEOUT_SECONDS) + 60.0


def webhook_claim(*, delivery_id: int) -> WebhookDelivery | None:
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id)
        .filter(
            Q(status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now + EARLY_TOLERANCE)
            | Q(status=WebhookDeliveryStatus.SENDING, lease_expires_at__lt=now)
        )
        .update(
            status=WebhookDeliveryStatus.SENDING,
            attempts=F("attempts") + 1,
            lease_expires_at=now + timedelta(seconds=_lease_seconds()),
        )
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("partner", "case").get(pk=delivery_id)


@dataclass
class _AttemptResult:
    started_at: datetime
    status_code: int | None = None
    latency_ms: int | None = None
    error: str = ""
    excerpt: str = ""
    permanent: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _post(delivery: WebhookDelivery, token: int) -> _AttemptResult:
    started = timezone.now()
    partner = delivery.partner
    if not partner.is_active:
        return _AttemptResult(started, error="the partner is disabled", permanent=True)
    if not partner.webhook_secret:
        return _AttemptResult(started, error="the partner has no webhook signing secret", permanent=True)
    problem = webhook_url_problem(delivery.url)
    if problem:
        return _AttemptResult(started, error=problem, permanent=True)
    timestamp = int(time.time())
    body = webhook_body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: ",".join(
            webhook_signature(secret=secret, timestamp=timestamp, body=body)
            for secret in webhook_signing_secrets(partner)
        ),
        TIMESTAMP_HEADER: str(timestamp),
        EVENT_ID_HEADER: str(delivery.event_id),
        EVENT_TYPE_HEADER: delivery.event,
        ATTEMPT_HEADER: str(token),
    }
    try:
        # The address is checked again on the connection actually opened: the name may resolve differently
        # now than when the URL was checked (DNS rebinding).
        response = send(
            OutboundRequest("POST", delivery.url, headers=headers, data=body),
            timeout=_timeout(),
            public_only=not settings.WEBHOOK_ALLOW_INSECURE_URLS,
        )
    except TransportError as exc:
        return _AttemptResult(started, latency_ms=exc.latency_ms, error=f"{exc.code}: {exc.message}")
    result = _AttemptResult(
        started,
        status_code=response.status_code,
        latency_ms=response.latency_ms,
        # PostgreSQL text cannot hold NUL; a receiver may answer anything.
        excerpt=response.text[:MAX_EXCERPT].replace("\x00", ""),
    )
    if not result.succeeded:
        result.error = f"the receiver answered {response.status_code}"
        # 410 Gone is the receiver saying "stop sending": retrying would only be noise.
        result.permanent = response.status_code == 410
    return result


def _timeout() -> float:
    return float(settings.WEBHOOK_TIMEOUT_SECONDS)


def webhook_deliver(*, delivery_id: int) -> DeliveryOutcome:
    """One attempt: claim, POST (no transaction open), record and settle."""
    delivery = webhook_claim(delivery_id=delivery_id)
    if delivery is None:
        return DeliveryOutcome("not_claimed")
    token = delivery.attempts
    result = _post(delivery, token)
    logger.info(
        "webhook %s (%s) attempt %s -> %s%s",
        delivery.event_id,
        delivery.event,
        token,
        result.status_code if result.status_code is not None else "no response",
        f" [{result.error}]" if result.error else "",
    )
    now = timezone.now()
    retry_in: float | None = None
    if result.succeeded:
        state = WebhookDeliveryStatus.DELIVERED
    elif result.permanent or token >= delivery.attempt_limit:
        state = WebhookDeliveryStatus.FAILED
    else:
        retry_in = webhook_backoff_seconds(token)
        if now + timedelta(seconds=retry_in) > delivery.retry_until:
            state, retry_in = WebhookDeliveryStatus.FAILED, None
        else:
            state = WebhookDeliveryStatus.PENDING
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery_id=delivery.pk,
            number=token,
            url=delivery.url,
            started_at=result.started_at,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            succeeded=result.succeeded,
            error=result.error[:500],
            response_excerpt=result.excerpt,
        )
        settled = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=WebhookDeliveryStatus.SENDING, attempts=token
        ).update(
            status=state,
            lease_expires_at=None,
            next_attempt_at=now + timedelta(seconds=retry_in) if retry_in is not None else None,
            last_status_code=result.status_code,
            last_error=result.error[:500],
            delivered_at=now if state == WebhookDeliveryStatus.DELIVERED else None,
            failed_at=now if state == WebhookDeliveryStatus.FAILED else None,
            updated_at=now,
        )
        if not settled:
            return DeliveryOutcome("dropped")  # the claim expired and someone else took over
        if state in (WebhookDeliveryStatus.DELIVERED, WebhookDeliveryStatus.FAILED):
            audit_record(
                action="webhook.delivered" if state == WebhookDeliveryStatus.DELIVERED else "webhook.failed",
                case=delivery.case,
                actor_label="worker",
                data={
                    "event": delivery.event,
                    "event_id": str(delivery.event_id),
                    "delivery": delivery.pk,
                    "attempts": token,
                    "status_code": result.status_code,
                    "error": result.error[:200],
                },
            )
    if state == WebhookDeliveryStatus.PENDING:
        return DeliveryOutcome("retry", retry_in=retry_in)
    return DeliveryOutcome(str(state))


# --- redelivery and sweeping -----------------------------------------------------------------------


def webhook_redeliver(*, delivery: WebhookDelivery, actor: User | None = None) -> WebhookDelivery:
    """Send an event again now, with a fresh retry budget, to the partner's current URL.

    The event id stays the same, so a receiver that already processed it can recognise the repeat.
    """
    now = timezone.now()
    with transaction.atomic():
        # of=("self",): lock the delivery row only (PostgreSQL refuses FOR UPDATE on an outer join).
        locked = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("case__partner", "partner")
            .get(pk=delivery.pk)
        )
        if (
            locked.status == WebhookDeliveryStatus.SENDING
            and locked.lease_expires_at is not None
            and locked.lease_expires_at >= now
        ):
            raise WebhookError("an attempt of this delivery is in progress", code="in_progress")
        url = webhook_target_url(locked.case) if locked.case is not None else locked.partner.webhook_url
        if not url:
            raise WebhookError("the partner has no webhook URL configured", code="no_url")
        locked.url = url
        locked.status = WebhookDeliveryStatus.PENDING
        locked.attempt_limit = locked.attempts + settings.WEBHOOK_MAX_ATTEMPTS
        locked.retry_until = now + timedelta(hours=settings.WEBHOOK_RETRY_WINDOW_HOURS)
        locked.next_attempt_at = now
        locked.lease_expires_at = None
        locked.delivered_at = None
        locked.failed_at = None
        locked.save()
        audit_record(
            action="webhook.redelivery_requested",
            case=locked.case,
            actor=actor,
            data={"event": locked.event, "event_id": str(locked.event_id), "delivery": locked.pk},
        )
        _enqueue(locked.pk)
    delivery.refresh_from_db()
    return delivery


def webhooks_requeue_due() -> int:
    """Resend the task of deliveries whose message was lost (overdue) or whose worker died (lease out)."""
    now = timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            # A due delivery still pending WEBHOOK_STALE_SECONDS after its time lost its message: resend it.
            Q(
                status=WebhookDeliveryStatus.PENDING,
                next_attempt_at__lt=now - timedelta(seconds=settings.WEBHOOK_STALE_SECONDS),
            )
            | Q(status=WebhookDeliveryStatus.SENDING, lease_expires_at__lt=now)
        ).values_list("pk", flat=True)[:1000]
    )
    with transaction.atomic():
        for pk in due:
            _enqueue(pk)
    return len(due)
