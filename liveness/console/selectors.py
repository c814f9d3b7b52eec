"""Console reads: the review queue (filters, keyset pages, CSV rows), the case page, pending approvals.

The queue is ordered "needs review first, then everything else; oldest first inside each". Rather than
sorting the table by a computed priority (a full sort at a million cases), it reads two index-ordered
slices, one per bucket: ``status = needs_review`` walks ``case_queue_idx (status, created_at, id)``,
the rest walks ``created_at``. The cursor is (bucket, created_at, id) of the last row shown, so every
page is a bounded index range scan however deep the operator pages, and the number of queries per page
never depends on how many cases there are.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from ..models import (
    ApprovalStatus,
    AuditEvent,
    Case,
    CaseQuerySet,
    CaseStatus,
    Check,
    Decision,
    Evidence,
    Partner,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
)

NEEDS_REVIEW_BUCKET = 0
OTHER_BUCKET = 1
CONSOLE_PARTNER = "console"  # the partner filter's value for cases uploaded in the console


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""
    kind: str = ""
    provider: str = ""
    partner: str = ""  # a partner id, CONSOLE_PARTNER, or ""
    auto_verdict: str = ""
    final_verdict: str = ""
    created_from: date | None = None
    created_to: date | None = None
    q: str = ""
    claim: str = ""  # "mine" | "unclaimed" | ""

    def is_empty(self) -> bool:
        return self == QueueFilters()


@dataclass(frozen=True)
class Cursor:
    bucket: int
    created_at: datetime
    pk: int

    def encode(self) -> str:
        raw = f"{self.bucket}|{self.created_at.isoformat()}|{self.pk}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor | None:
        """None for anything that is not a cursor we made (a stale or edited URL starts from the top)."""
        if not token:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            bucket, created, pk = raw.split("|")
            created_at = datetime.fromisoformat(created)
            cursor = cls(int(bucket), created_at, int(pk))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        if cursor.bucket not in (NEEDS_REVIEW_BUCKET, OTHER_BUCKET) or timezone.is_naive(created_at):
            return None
        return cursor


@dataclass
class QueuePage:
    cases: list[Case]
    next_cursor: str | None
    is_first: bool


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def queue_filtered(filters: QueueFilters, *, user: User | None = None) -> QuerySet[Case]:
    """Every filter except the status, which decides the buckets."""
    qs = Case.objects.all()
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.partner == CONSOLE_PARTNER:
        qs = qs.filter(partner__isnull=True)
    elif filters.partner:
        qs = qs.filter(partner_id=filters.partner)
    if filters.auto_verdict:
        qs = qs.filter(auto_verdict=filters.auto_verdict)
    if filters.final_verdict:
        qs = qs.filter(final_verdict=filters.final_verdict)
    if filters.created_from:
        qs = qs.filter(created_at__gte=_day_start(filters.created_from))
    if filters.created_to:
        qs = qs.filter(created_at__lt=_day_start(filters.created_to + timedelta(days=1)))
    if filters.provider:
        qs = qs.filter(Exists(Check.objects.filter(case=OuterRef("pk"), provider=filters.provider)))
    if filters.q:
        qs = qs.filter(_search(filters.q))
    if filters.claim:
        if filters.claim == "mine" and user is not None:
            qs = qs.claimed_by(user)
        elif filters.claim == "unclaimed":
            qs = qs.free()
    return qs


#: The short id the console shows everywhere: the first 8 hex digits of the public UUID.
SHORT_ID_LENGTH = 8
_HEX_PREFIX = re.compile(r"[0-9a-f]{8,32}")


def _search(text: str) -> Q:
    """What the search box finds: a case by its public UUID (with or without dashes), by the start of it
    (the 8-character short id, or more of it), or by the start of the partner's reference.

    A UUID prefix becomes a range over the unique index on ``public_id`` (all ids between the prefix
    padded with 0s and with fs); a reference prefix is a LIKE 'text%' over ``case_external_ref_prefix_idx``
    (pattern ops, so PostgreSQL can range-scan it whatever the database's collation). Both are index
    range scans, never a scan of the table.
    """
    text = text.strip()
    found = Q(external_ref__startswith=text)
    try:
        return Q(public_id=uuid.UUID(text)) | found
    except ValueError:
        pass
    digits = text.lower().replace("-", "")
    if _HEX_PREFIX.fullmatch(digits):
        low = uuid.UUID(digits.ljust(32, "0"))
        high = uuid.UUID(digits.ljust(32, "f"))
        found |= Q(public_id__gte=low, public_id__lte=high)
    return found


def _buckets(filters: QueueFilters, base: QuerySet[Case]) -> list[tuple[int, QuerySet[Case]]]:
    if filters.status == CaseStatus.NEEDS_REVIEW:
        return [(NEEDS_REVIEW_BUCKET, base.filter(status=CaseStatus.NEEDS_REVIEW))]
    if filters.status:
        return [(OTHER_BUCKET, base.filter(status=filters.status))]
    return [
        (NEEDS_REVIEW_BUCKET, base.filter(status=CaseStatus.NEEDS_REVIEW)),
        (OTHER_BUCKET, base.exclude(status=CaseStatus.NEEDS_REVIEW)),
    ]


def _after(qs: QuerySet[Case], cursor: Cursor) -> QuerySet[Case]:
    # (created_at, id) > (t, pk), written so the created_at bound can start an index range scan.
    return qs.filter(created_at__gte=cursor.created_at).exclude(created_at=cursor.created_at, pk__lte=cursor.pk)


def _row_prefetch() -> Prefetch:
    return Prefetch(
        "checks",
        queryset=Check.objects.only(
            "id", "case_id", "round", "provider", "status", "score", "outcome", "threshold"
        ).order_by("round", "id"),
    )


#: The columns a queue row draws (presenters.queue_row_html): the wide JSON columns (findings, face
#: parameters, reasons …) are neither read nor decoded for the 50 rows of a page.
_QUEUE_ROW_FIELDS = (
    "id",
    "public_id",
    "external_ref",
    "kind",
    "status",
    "auto_verdict",
    "final_verdict",
    "reason_codes",
    "round",
    "claim_expires_at",
    "created_at",
    "partner",
    "partner__id",
    "partner__name",
    "claimed_by",
    "claimed_by__id",
    "claimed_by__username",
)


def queue_page(
    filters: QueueFilters, *, cursor: Cursor | None = None, size: int | None = None, user: User | None = None
) -> QueuePage:
    """One page of the queue after ``cursor``: at most two range scans plus one prefetch of the checks."""
    size = size or settings.CONSOLE_PAGE_SIZE
    base = queue_filtered(filters, user=user).select_related("partner", "claimed_by").only(*_QUEUE_ROW_FIELDS)
    rows: list[Case] = []
    bucket_of: dict[int, int] = {}
    for bucket, qs in _buckets(filters, base):
        if cursor is not None and bucket < cursor.bucket:
            continue
        if cursor is not None and bucket == cursor.bucket:
            qs = _after(qs, cursor)
        # Every bucket is read (so the query count never depends on the data), the second only for
        # the rows the first left: a full first bucket makes it a one-row read.
        found = list(qs.order_by("created_at", "id")[: max(1, size + 1 - len(rows))])
        for case in found:
            bucket_of[case.pk] = bucket
        rows.extend(found)
    page, more = rows[:size], len(rows) > size
    if page:
        prefetch_related_objects(page, _row_prefetch())
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = Cursor(bucket_of[last.pk], last.created_at, last.pk).encode()
    return QueuePage(cases=page, next_cursor=next_cursor, is_first=cursor is None)


def queue_export_rows(filters: QueueFilters, *, user: User | None = None, chunk_size: int = 1000) -> Iterator[Case]:
    """Every case the filters match, in queue order, streamed in chunks (server-side cursor on PostgreSQL)."""
    base = queue_filtered(filters, user=user).select_related("partner", "decided_by", "claimed_by")
    for _, qs in _buckets(filters, base):
        yield from qs.order_by("created_at", "id").prefetch_related(_row_prefetch()).iterator(chunk_size=chunk_size)


@dataclass(frozen=True)
class QueueCounts:
    needs_review: int
    pending_approval: int
    in_progress: int
    over_sla: int
    oldest_waiting: datetime | None


def cases_per_status(statuses: tuple[str, ...], *, created_before: Mapping[str, datetime]) -> dict[str, dict[str, Any]]:
    """One row per status among ``statuses`` that has cases: ``n``, ``oldest`` (the first ``created_at``) and, for
    each name of ``created_before``, how many were created before that instant. One GROUP BY over
    ``case_queue_idx``, which arrives sorted by status: a third of the time of one row of FILTERed aggregates
    each evaluated on every row (bench.console_scale, 25 000 open cases)."""
    rows = (
        Case.objects.filter(status__in=statuses)
        .order_by()
        .values("status")
        .annotate(
            n=Count("pk"),
            oldest=Min("created_at"),
            **{name: Count("pk", filter=Q(created_at__lt=when)) for name, when in created_before.items()},
        )
    )
    return {row["status"]: dict(row) for row in rows}


def queue_counts() -> QueueCounts:
    """Headline numbers of the open work, from the open statuses only (an index range, not the table)."""
    now = timezone.now()
    sla_start = now - timedelta(minutes=settings.REVIEW_SLA_MINUTES)
    waiting = (CaseStatus.NEEDS_REVIEW, CaseStatus.PENDING_APPROVAL)
    by_status = cases_per_status(
        (*waiting, CaseStatus.RECEIVED, CaseStatus.PROCESSING), created_before={"late": sla_start}
    )

    def total(statuses: tuple[str, ...], key: str = "n") -> int:
        return sum(by_status[s][key] for s in statuses if s in by_status)

    oldest = [by_status[s]["oldest"] for s in waiting if s in by_status]
    return QueueCounts(
        needs_review=total((CaseStatus.NEEDS_REVIEW,)),
        pending_approval=total((CaseStatus.PENDING_APPROVAL,)),
        in_progress=total((CaseStatus.RECEIVED, CaseStatus.PROCESSING)),
        over_sla=total(waiting, "late"),
        oldest_waiting=min(oldest) if oldest else None,
    )


def partners_for_filter() -> list[Partner]:
    return list(Partner.objects.only("id", "name").order_by("name"))


def operators_for_assignment() -> list[User]:
    """Active users who may decide cases (directly or through a group), for the supervisor's assign menu."""
    perm = Q(codename="decide_case", content_type__app_label="liveness")
    perm_ids = list(Permission.objects.filter(perm).values_list("pk", flat=True))
    return list(
        User.objects.filter(is_active=True)
        .filter(Q(user_permissions__in=perm_ids) | Q(groups__permissions__in=perm_ids) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


def case_for_console(*, public_id: str | uuid.UUID) -> Case:
    """The case page: the case with everything it shows, in a fixed number of queries."""
    return (
        Case.objects.select_related("partner", "decided_by", "claimed_by", "created_by")
        .prefetch_related(
            Prefetch("checks", queryset=Check.objects.order_by("-round", "id")),
            Prefetch("evidence", queryset=Evidence.objects.order_by("-round", "role", "index")),
            Prefetch("decisions", queryset=Decision.objects.select_related("actor", "approver").order_by("created_at")),
            Prefetch("events", queryset=AuditEvent.objects.select_related("actor").order_by("created_at", "id")),
            Prefetch("webhook_deliveries", queryset=_case_deliveries()),
        )
        .get(public_id=public_id)
    )


def case_for_live_panel(*, public_id: str | uuid.UUID) -> Case:
    """What the polled panel needs: the case and its current checks."""
    return Case.objects.prefetch_related(Prefetch("checks", queryset=Check.objects.order_by("-round", "id"))).get(
        public_id=public_id
    )


def approvals_pending() -> list[Decision]:
    """Overrides waiting for a second supervisor, with their cases' checks and images (shown beside them)."""
    return list(
        Decision.objects.filter(approval_status=ApprovalStatus.PENDING)
        .select_related("case", "case__partner", "case__decided_by", "actor")
        .prefetch_related(
            Prefetch("case__checks", queryset=Check.objects.order_by("id")),
            Prefetch("case__evidence", queryset=Evidence.objects.order_by("role", "index")),
        )
        .order_by("created_at", "id")
    )


def approvals_recent(*, limit: int = 20) -> list[AuditEvent]:
    """The latest four-eyes answers (who approved or refused what, and when) from the audit trail."""
    return list(
        AuditEvent.objects.filter(action__in=("decision.approved", "decision.refused"))
        .select_related("actor", "case")
        .order_by("-created_at", "-id")[:limit]
    )


def provider_setting_history(*, limit: int = 50) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(action="provider_setting.changed")
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


# --- webhook deliveries ---------------------------------------------------------------------------
# Newest first, keyset pages over (created_at, id) descending: walks ``webhook_created_idx``, or
# ``webhook_status_created_idx`` / ``webhook_partner_idx`` when one status or one partner is chosen.
# Attempts, last status code and last error are columns of the delivery row, so a page is one query
# however many attempts its deliveries made. No query here ever loads the partner's signing secret.

#: The columns the list and the case panel draw (the payload and the partner's secret stay unread).
_DELIVERY_ROW_FIELDS = (
    "id",
    "event",
    "event_id",
    "status",
    "attempts",
    "attempt_limit",
    "last_status_code",
    "last_error",
    "next_attempt_at",
    "delivered_at",
    "failed_at",
    "created_at",
    "partner",
    "partner__id",
    "partner__name",
    "case",
    "case__id",
    "case__public_id",
    "case__external_ref",
)


@dataclass(frozen=True)
class DeliveryFilters:
    status: str = ""
    partner: str = ""  # a partner id or ""
    event: str = ""

    def is_empty(self) -> bool:
        return self == DeliveryFilters()


@dataclass(frozen=True)
class DeliveryCursor:
    """(created_at, id) of the last delivery shown; the next page holds the older ones."""

    created_at: datetime
    pk: int

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.pk}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> DeliveryCursor | None:
        """None for anything that is not a cursor we made (a stale or edited URL starts from the top)."""
        if not token:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            created, pk = raw.split("|")
            cursor = cls(datetime.fromisoformat(created), int(pk))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        return None if timezone.is_naive(cursor.created_at) else cursor


@dataclass
class DeliveryPage:
    deliveries: list[WebhookDelivery]
    next_cursor: str | None
    is_first: bool


def webhook_deliveries_filtered(filters: DeliveryFilters) -> QuerySet[WebhookDelivery]:
    qs = WebhookDelivery.objects.all()
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.partner:
        qs = qs.filter(partner_id=filters.partner)
    if filters.event:
        qs = qs.filter(event=filters.event)
    return qs


def webhook_delivery_page(
    filters: DeliveryFilters, *, cursor: DeliveryCursor | None = None, size: int | None = None
) -> DeliveryPage:
    """One page of deliveries older than ``cursor``, newest first: one query, whatever the page holds."""
    size = size or settings.CONSOLE_PAGE_SIZE
    qs = webhook_deliveries_filtered(filters).select_related("partner", "case").only(*_DELIVERY_ROW_FIELDS)
    if cursor is not None:
        # (created_at, id) < (t, pk), written so the created_at bound can start an index range scan.
        qs = qs.filter(created_at__lte=cursor.created_at).exclude(created_at=cursor.created_at, pk__gte=cursor.pk)
    rows = list(qs.order_by("-created_at", "-id")[: size + 1])
    page = rows[:size]
    next_cursor = None
    if len(rows) > size and page:
        next_cursor = DeliveryCursor(page[-1].created_at, page[-1].pk).encode()
    return DeliveryPage(deliveries=page, next_cursor=next_cursor, is_first=cursor is None)


@dataclass(frozen=True)
class DeliveryCounts:
    waiting: int  # pending (a retry scheduled) or being sent now
    failed: int  # gave up: needs a person to look, and maybe a redelivery


def webhook_delivery_counts() -> DeliveryCounts:
    """The unfinished and given-up deliveries, counted over the status index (not the whole table)."""
    waiting = (WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.SENDING)
    totals = WebhookDelivery.objects.filter(status__in=(*waiting, WebhookDeliveryStatus.FAILED)).aggregate(
        waiting=Count("pk", filter=Q(status__in=waiting)),
        failed=Count("pk", filter=Q(status=WebhookDeliveryStatus.FAILED)),
    )
    return DeliveryCounts(**totals)


def webhook_delivery_for_console(*, pk: int) -> WebhookDelivery:
    """A delivery with its partner (minus the signing secret), its case and every attempt, oldest first."""
    return (
        WebhookDelivery.objects.select_related("partner", "case")
        .defer("partner__webhook_secret", "partner__webhook_secret_previous")
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number")))
        .get(pk=pk)
    )


def _case_deliveries() -> QuerySet[WebhookDelivery]:
    """The case page's "Partner notifications" panel: that case's deliveries, newest first."""
    return WebhookDelivery.objects.only(
        *(f for f in _DELIVERY_ROW_FIELDS if not f.startswith(("partner", "case__")))
    ).order_by("-created_at", "-id")


def queue_next_ids(filters: QueueFilters, *, user: User, after: Case, limit: int = 20) -> list[int]:
    """The cases to open after ``after`` in the queue the operator came from: those needing review that
    the filters match and nobody else holds, in queue order from the one after ``after``, then from the top
    (the queue wraps around). ``after`` itself is never among them."""
    matching = cast(CaseQuerySet, queue_filtered(filters, user=user))
    waiting = (
        matching.filter(status=CaseStatus.NEEDS_REVIEW)
        .free_or_claimed_by(user, timezone.now())
        .exclude(pk=after.pk)
        .order_by("created_at", "id")
    )
    position = Cursor(NEEDS_REVIEW_BUCKET, after.created_at, after.pk)
    later = list(_after(waiting, position).values_list("pk", flat=True)[:limit])
    if len(later) < limit:
        later += [pk for pk in waiting.values_list("pk", flat=True)[:limit] if pk not in later][: limit - len(later)]
    return later
