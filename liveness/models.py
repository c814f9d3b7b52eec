"""The portal's domain: partners, verification cases, their evidence, provider checks, operator
decisions, the append-only audit trail and per-provider settings.

Models hold data and the invariants of a single row (the case state machine, append-only audit).
Everything that coordinates several rows lives in ``liveness.services``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class IllegalTransition(Exception):
    """A case was asked to move to a status its current status does not lead to."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"illegal case transition {current!r} -> {target!r}")
        self.current = current
        self.target = target


class CaseKind(models.TextChoices):
    SELFIE = "selfie", "Selfie"
    ID_DOCUMENT = "id_document", "ID document"
    ACTIVE = "active", "Active (frame series)"


class CaseStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    NEEDS_REVIEW = "needs_review", "Needs review"
    PENDING_APPROVAL = "pending_approval", "Override awaiting approval"
    DECIDED = "decided", "Decided"
    RESUBMISSION_REQUESTED = "resubmission_requested", "Resubmission requested"
    CLOSED = "closed", "Closed"


# The case state machine. A status not listed as a successor is refused with IllegalTransition.
CASE_TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.RECEIVED: frozenset({CaseStatus.PROCESSING}),
    CaseStatus.PROCESSING: frozenset({CaseStatus.DECIDED, CaseStatus.NEEDS_REVIEW}),
    CaseStatus.NEEDS_REVIEW: frozenset(
        {
            CaseStatus.DECIDED,
            CaseStatus.PENDING_APPROVAL,
            CaseStatus.RESUBMISSION_REQUESTED,
            CaseStatus.CLOSED,
        }
    ),
    CaseStatus.PENDING_APPROVAL: frozenset({CaseStatus.DECIDED, CaseStatus.NEEDS_REVIEW}),
    # DECIDED -> DECIDED is an operator overriding an automatic verdict without four-eyes.
    CaseStatus.DECIDED: frozenset(
        {
            CaseStatus.DECIDED,
            CaseStatus.PENDING_APPROVAL,
            CaseStatus.RESUBMISSION_REQUESTED,
            CaseStatus.CLOSED,
        }
    ),
    CaseStatus.RESUBMISSION_REQUESTED: frozenset({CaseStatus.PROCESSING, CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
}


class FaceSearchState(models.TextChoices):
    """The face-template and repeat-search step of a case's round."""

    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed (decided without it)"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


FACE_SEARCH_WAITING = frozenset({FaceSearchState.PENDING, FaceSearchState.RUNNING})


class Verdict(models.TextChoices):
    LIVE = "live", "Live"
    SPOOF = "spoof", "Spoof"
    NEEDS_REVIEW = "needs_review", "Needs review"
    RESUBMIT = "resubmit", "Resubmission requested"


class Partner(models.Model):
    """An API client organisation. API keys, webhook deliveries and throttles hang off it."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    webhook_url = models.URLField(blank=True, max_length=500)
    # HMAC secret for webhook signatures. Shown to the partner once; never logged.
    webhook_secret = models.CharField(max_length=128, blank=True)
    # The secret before the last rotation: deliveries carry its signature too until the partner has
    # had time to deploy the new one (WEBHOOK_SECRET_ROTATION_GRACE_HOURS). Never shown or logged.
    webhook_secret_previous = models.CharField(max_length=128, blank=True)
    webhook_secret_previous_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Until when deliveries are also signed with the previous secret."
    )
    allow_callback_override = models.BooleanField(
        default=False, help_text="May the partner give a per-case callback_url?"
    )
    # Per-kind provider lists; an empty or missing kind falls back to settings.LIVENESS_WORKFLOWS.
    workflow = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


#: The fields an operator's decision depends on. Saving a case with any of them (or a full save) bumps
#: ``Case.version``; claims.py bumps it in its own conditional UPDATEs when the claim holder changes.
VERSIONED_FIELDS = frozenset({"status", "final_verdict", "decided_by", "claimed_by"})


class CaseQuerySet(models.QuerySet["Case"]):
    """Claims read in one place: an unexpired ``claimed_by`` is an active claim; an expired one is free."""

    def claim_active(self, now: datetime | None = None) -> CaseQuerySet:
        return self.filter(claimed_by__isnull=False, claim_expires_at__gt=now or timezone.now())

    def claimed_by(self, user: Any, now: datetime | None = None) -> CaseQuerySet:
        """Cases ``user`` holds an unexpired claim on."""
        return self.filter(claimed_by=user, claim_expires_at__gt=now or timezone.now())

    def free(self, now: datetime | None = None) -> CaseQuerySet:
        """Cases nobody holds an unexpired claim on."""
        return self.filter(
            Q(claimed_by__isnull=True)
            | Q(claim_expires_at__isnull=True)
            | Q(claim_expires_at__lte=now or timezone.now())
        )

    def free_or_claimed_by(self, user: Any, now: datetime | None = None) -> CaseQuerySet:
        now = now or timezone.now()
        return self.filter(
            Q(claimed_by__isnull=True)
            | Q(claim_expires_at__isnull=True)
            | Q(claim_expires_at__lte=now)
            | Q(claimed_by=user)
        )


class Case(models.Model):
    """One verification: the evidence a partner or an operator submitted, and its outcome."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    external_ref = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=CaseKind.choices)
    country_code = models.CharField(max_length=10, blank=True)
    card_code = models.CharField(max_length=40, blank=True)
    face_parameters = models.JSONField(default=list, blank=True)
    success_threshold = models.PositiveSmallIntegerField(null=True, blank=True)
    # Optional subject identifiers some vendors accept (Riset's user_id / facegallery_id).
    subject_id = models.CharField(max_length=200, blank=True)
    face_gallery_id = models.CharField(max_length=200, blank=True)
    providers = models.JSONField(default=list, blank=True, help_text="Providers chosen for this case.")
    callback_url = models.URLField(blank=True, max_length=500)

    status = models.CharField(max_length=30, choices=CaseStatus.choices, default=CaseStatus.RECEIVED)
    auto_verdict = models.CharField(max_length=20, choices=Verdict.choices, blank=True)
    auto_reasons = models.JSONField(default=list, blank=True)
    #: Machine-readable codes behind the automatic verdict (findings such as face_mismatch, or policy
    #: codes such as borderline); shown in the API and sent in webhooks.
    reason_codes = models.JSONField(default=list, blank=True)
    final_verdict = models.CharField(max_length=20, choices=Verdict.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    round = models.PositiveSmallIntegerField(default=1, help_text="Bumped by each resubmission.")
    #: Case-level findings of the current round (the face search: repeat_face, blocklisted_face), in the
    #: shape of Check.findings plus the search's own detail. Console only: never in the partner API.
    findings = models.JSONField(default=list, blank=True)
    #: The face-template step of the current round (liveness/services/faces.py); the automatic verdict
    #: waits while it is pending or running.
    face_search_state = models.CharField(
        max_length=20, choices=FaceSearchState.choices, default=FaceSearchState.NOT_APPLICABLE
    )
    face_search_attempts = models.PositiveSmallIntegerField(default=0)
    face_search_lease_expires_at = models.DateTimeField(null=True, blank=True)
    face_search_queued_at = models.DateTimeField(null=True, blank=True)
    face_search_error = models.CharField(max_length=200, blank=True)
    resubmission_count = models.PositiveSmallIntegerField(default=0)
    # Review-queue claim (operator console): who works on the case, until when. Taken with a
    # conditional UPDATE; an expired claim is free for anyone.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    # Optimistic concurrency for decisions: bumped (atomically, F() + 1) on every change of status, final
    # verdict, deciding operator or claim holder. A decision names the version it was made on.
    version = models.PositiveIntegerField(
        default=1, help_text="Bumped on every change of status, final verdict, decider or claim holder."
    )

    idempotency_key = models.CharField(max_length=200, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # Viewing images is Evidence's own default "view_evidence" permission.
        permissions = (
            ("decide_case", "Can record an operator decision on a case"),
            ("approve_override", "Can approve or refuse another operator's override (four-eyes)"),
            ("assign_case", "Can assign cases and run bulk actions in the review queue"),
            ("view_dashboard", "Can see the supervisor dashboard"),
        )
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "created_at", "id"], name="case_queue_idx"),
            # The queue's needs-review slice filtered by a verdict: an ordered range, not a walk of every
            # waiting case (partial: only cases waiting for review, so intake and decisions barely pay).
            models.Index(
                fields=["auto_verdict", "created_at", "id"],
                name="case_review_auto_idx",
                condition=Q(status="needs_review"),
            ),
            models.Index(
                fields=["final_verdict", "created_at", "id"],
                name="case_review_final_idx",
                condition=Q(status="needs_review"),
            ),
            models.Index(fields=["partner", "created_at", "id"], name="case_partner_idx"),
            models.Index(fields=["partner", "external_ref"], name="case_partner_ref_idx"),
            # Console search by partner reference (exact or prefix: LIKE 'ref%') without a partner filter.
            # Pattern ops, so PostgreSQL range-scans it whatever the database's collation.
            models.Index(
                fields=["external_ref"], name="case_external_ref_prefix_idx", opclasses=["varchar_pattern_ops"]
            ),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["partner", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="case_unique_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} case {self.public_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saving a versioned field bumps ``version`` in the same UPDATE (``version = version + 1``)."""
        update_fields = kwargs.get("update_fields")
        touched = update_fields is None or bool(VERSIONED_FIELDS & {name.removesuffix("_id") for name in update_fields})
        if self._state.adding or self.pk is None or not touched:
            super().save(*args, **kwargs)
            return
        self.version = models.F("version") + 1
        if update_fields is not None:
            kwargs["update_fields"] = [*update_fields, "version"]
        super().save(*args, **kwargs)
        self.refresh_from_db(fields=["version"])

    def claim_holder_id(self, now: datetime | None = None) -> int | None:
        """The id of the user holding an unexpired claim, or None."""
        expires = self.claim_expires_at
        if self.claimed_by_id is not None and expires is not None and expires > (now or timezone.now()):
            return self.claimed_by_id
        return None

    def can_transition(self, target: str) -> bool:
        return target in CASE_TRANSITIONS[self.status]

    def transition(self, target: str) -> None:
        """Move to ``target`` in memory, or raise IllegalTransition. The caller saves."""
        if not self.can_transition(target):
            raise IllegalTransition(self.status, target)
        self.status = target


class EvidenceRole(models.TextChoices):
    SELFIE = "selfie", "Selfie"
    ID_FRONT = "id_front", "ID document (front)"
    FRAME = "frame", "Active frame"


class Evidence(models.Model):
    """One stored image of a case. The bytes are encrypted at rest; only the key to them is here."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="evidence")
    role = models.CharField(max_length=20, choices=EvidenceRole.choices)
    index = models.PositiveSmallIntegerField(default=0, help_text="Order of a frame in an active series.")
    round = models.PositiveSmallIntegerField(default=1)
    face_parameter = models.CharField(max_length=20, blank=True)
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    storage_key = models.CharField(max_length=200, blank=True)
    purge_after = models.DateTimeField(db_index=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["round", "role", "index"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["case", "round", "role", "index"], name="evidence_unique_slot"),
        ]

    def __str__(self) -> str:
        return f"{self.role}#{self.index} of case {self.case_id}"

    @property
    def is_purged(self) -> bool:
        return self.purged_at is not None


class CheckStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


SETTLED_CHECK_STATUSES = frozenset({CheckStatus.SUCCEEDED, CheckStatus.FAILED, CheckStatus.SKIPPED})


class CheckOutcome(models.TextChoices):
    """Where a settled check stands against its threshold and review margin."""

    PASS = "pass", "Pass (clear)"
    FAIL = "fail", "Fail (clear)"
    BORDERLINE = "borderline", "Borderline (inside review margin)"
    NOT_ASSESSED = "not_assessed", "Not assessed"
    ERROR = "error", "Provider error"
    #: The provider established a finding (vocabulary.FINDINGS): never a pass, whatever the score.
    FINDING = "finding", "Finding (never a pass)"


class Check(models.Model):
    """One provider's assessment of one round of a case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="checks")
    round = models.PositiveSmallIntegerField(default=1)
    provider = models.CharField(max_length=40, db_index=True)
    status = models.CharField(max_length=20, choices=CheckStatus.choices, default=CheckStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    score = models.FloatField(null=True, blank=True, help_text="Normalised 0..1; empty when not assessed.")
    threshold = models.FloatField(null=True, blank=True, help_text="In force at the first claim.")
    review_margin = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=CheckOutcome.choices, blank=True)
    vendor_label = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=200, blank=True, help_text="Why not assessed, e.g. no_face.")
    findings = models.JSONField(
        default=list, blank=True, help_text='Findings, e.g. [{"code": "face_mismatch", "message": "..."}].'
    )
    details = models.JSONField(default=dict, blank=True)
    raw_response = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    vendor_request_id = models.CharField(max_length=200, blank=True)
    # Set when this check replaced another provider's (circuit open): which one, and why.
    fallback_from = models.CharField(max_length=40, blank=True)
    fallback_reason = models.CharField(max_length=200, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["round", "id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "created_at"], name="check_status_idx"),
            models.Index(fields=["provider", "finished_at"], name="check_provider_idx"),
            # The dashboard's raw days (today, days touched since the last summary refresh): checks settled
            # in a time range whatever their provider.
            models.Index(fields=["finished_at"], name="check_finished_idx"),
            # The dashboard's exact percentiles read one latency bucket of one provider (stats.py), and
            # the queue's provider filter finds a provider's cases: both are index-only range scans.
            models.Index(
                fields=["provider", "latency_ms"],
                include=["finished_at", "status"],
                condition=Q(latency_ms__isnull=False),
                name="check_latency_idx",
            ),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["case", "round", "provider"], name="check_unique_provider_round"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} check {self.pk} ({self.status})"

    @property
    def is_settled(self) -> bool:
        return self.status in SETTLED_CHECK_STATUSES


class ApprovalStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", "Not required"
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"


class Decision(models.Model):
    """An operator's action on a case, and the second approval where four-eyes applies."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="decisions")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions")
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    previous_verdict = models.CharField(max_length=20, choices=Verdict.choices, blank=True)
    reason = models.TextField(blank=True)
    #: For a resubmission: codes of vocabulary.RESUBMISSION_REASONS (at least one), sent to the partner with
    #: ``reason`` as the free text. Empty for the other verdicts.
    resubmission_reasons = models.JSONField(default=list, blank=True)
    is_override = models.BooleanField(default=False)
    approval_status = models.CharField(
        max_length=20, choices=ApprovalStatus.choices, default=ApprovalStatus.NOT_REQUIRED
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="approvals"
    )
    approval_note = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["approval_status", "created_at"], name="decision_approval_idx"),
            # The dashboard's raw days: the four-eyes answers of decisions made in a time range.
            models.Index(fields=["created_at"], name="decision_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.verdict} on case {self.case_id} by {self.actor_id}"


class AuditAction(models.TextChoices):
    """The closed list of what the audit trail records (README, "Audit trail"); ``audit_record`` refuses
    anything else in development and tests, so a misspelt action cannot hide an event from a filter."""

    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"
    API_KEY_ROTATED = "api_key.rotated", "API key rotated"
    ACCURACY_EXPORTED = "accuracy.exported", "Accuracy table exported"
    BLOCKLIST_ADDED = "blocklist.added", "Face put on the blocklist"
    BLOCKLIST_REMOVED = "blocklist.removed", "Face taken off the blocklist"
    CASE_ASSIGNED = "case.assigned", "Case assigned"
    CASE_AUTO_DECIDED = "case.auto_decided", "Case decided by the policy"
    CASE_CLAIMED = "case.claimed", "Case claimed"
    CASE_CLOSED = "case.closed", "Case closed"
    CASE_CREATED = "case.created", "Case created"
    CASE_FACE_SEARCH = "case.face_search", "Repeat-face search done"
    CASE_RELEASED = "case.released", "Claim released"
    CASE_RESUBMITTED = "case.resubmitted", "Case resubmitted"
    CASE_VERDICT_FINAL = "case.verdict_final", "Final verdict sent"
    CHECK_FAILED = "check.failed", "Check failed"
    CHECK_FALLBACK = "check.fallback", "Check fell back to another provider"
    CHECK_RETRY_SCHEDULED = "check.retry_scheduled", "Check retry scheduled"
    CHECK_SKIPPED = "check.skipped", "Check skipped"
    CHECK_SUCCEEDED = "check.succeeded", "Check settled"
    DECISION_APPLIED = "decision.applied", "Decision applied"
    DECISION_APPROVED = "decision.approved", "Override approved"
    DECISION_REFUSED = "decision.refused", "Override refused"
    DECISION_REQUESTED = "decision.requested", "Override waiting for approval"
    DEMO_HISTORY_SEEDED = "demo.history_seeded", "Demo history created"
    EVIDENCE_PURGED = "evidence.purged", "Images purged"
    EVIDENCE_VIEWED = "evidence.viewed", "Image viewed"
    FACE_TEMPLATE_PURGED = "face_template.purged", "Face templates purged"
    PARTNER_WEBHOOK_SECRET_ROTATED = "partner.webhook_secret_rotated", "Webhook signing secret rotated"
    PARTNER_WEBHOOK_URL_CHANGED = "partner.webhook_url_changed", "Webhook URL changed"
    PROVIDER_SETTING_CHANGED = "provider_setting.changed", "Provider settings changed"
    QUEUE_EXPORTED = "queue.exported", "Review queue exported"
    SESSION_CREATED = "session.created", "Verification session created"
    SESSION_OPENED = "session.opened", "Verification link opened"
    SESSION_CONSENT_ACCEPTED = "session.consent_accepted", "Consent accepted"
    SESSION_CHALLENGE_ISSUED = "session.challenge_issued", "Challenge issued"
    SESSION_PROMPT_ISSUED = "session.prompt_issued", "Prompt issued"
    SESSION_FRAME_RECEIVED = "session.frame_received", "Frame received"
    SESSION_FRAME_REFUSED = "session.frame_refused", "Frame refused"
    SESSION_DOCUMENT_RECEIVED = "session.document_received", "Document received"
    SESSION_SUBMITTED = "session.submitted", "Session submitted"
    SESSION_EXPIRED = "session.expired", "Session expired"
    SESSION_CANCELLED = "session.cancelled", "Session cancelled"
    WEBHOOK_DELIVERED = "webhook.delivered", "Webhook delivered"
    WEBHOOK_FAILED = "webhook.failed", "Webhook given up"
    WEBHOOK_QUEUED = "webhook.queued", "Webhook queued"
    WEBHOOK_REDELIVERY_REQUESTED = "webhook.redelivery_requested", "Webhook redelivery requested"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")


class AuditEvent(models.Model):
    """Append-only record of every state change and every look at a case's images."""

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Who acted when not a user: "system", "worker", "partner:<slug>".
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=60, db_index=True, choices=AuditAction.choices)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["case", "created_at"], name="audit_case_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} at {self.created_at}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")


#: The bounds of ProviderSetting's numbers: its check constraints, and what the console's form says in words.
THRESHOLD_BOUNDS = (0.0, 1.0)
REVIEW_MARGIN_BOUNDS = (0.0, 0.5)


class ProviderSetting(models.Model):
    """Per-provider knobs an admin may change at run time. Credentials are never stored here."""

    provider = models.CharField(max_length=40, unique=True)
    enabled = models.BooleanField(default=True)
    threshold = models.FloatField()
    review_margin = models.FloatField(default=0.05)
    timeout_seconds = models.FloatField(default=20.0)
    max_attempts = models.PositiveSmallIntegerField(default=5, help_text="Retry budget per check.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["provider"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(threshold__gte=THRESHOLD_BOUNDS[0]) & Q(threshold__lte=THRESHOLD_BOUNDS[1]),
                name="providersetting_threshold_0_1",
            ),
            models.CheckConstraint(
                condition=Q(review_margin__gte=REVIEW_MARGIN_BOUNDS[0]) & Q(review_margin__lte=REVIEW_MARGIN_BOUNDS[1]),
                name="providersetting_margin",
            ),
            models.CheckConstraint(condition=Q(timeout_seconds__gt=0), name="providersetting_timeout_pos"),
        ]

    def __str__(self) -> str:
        return self.provider


class ProviderCircuit(models.Model):
    """The circuit breaker's running state of one vendor (services.fallback), kept as its call attempts settle.

    ``recent_failures`` holds the failed attempts since the provider's last success that count against its
    health, newest first (``[iso time, error code]``, at most CIRCUIT_FAILURES of them). A submission reads this
    one small row instead of the growing audit log; a healthy vendor's row is not written at all.
    """

    provider = models.CharField(max_length=40, unique=True)
    failing = models.BooleanField(default=False, help_text="The newest counted attempt failed.")
    recent_failures = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.provider


# --- partner API ---


class ApiKey(models.Model):
    """A credential for the REST API: a partner system's key, or an operator's personal token.

    Only a sha256 of the key is stored (the key is 256 random bits, so a fast hash is enough); the
    visible ``prefix`` finds the row and lets people tell keys apart. Shown once, at creation.
    """

    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100, help_text="What the key is for, e.g. 'production backend'.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Updated at most once a minute per key, so a burst of requests is not a burst of writes.
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Set by rotation: the old key's grace end.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(partner__isnull=False, user__isnull=True) | Q(partner__isnull=True, user__isnull=False),
                name="apikey_partner_xor_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"


class WebhookDelivery(models.Model):
    """One event for a partner's webhook endpoint, with its retry state. Redelivery reuses the row,
    so the event id the partner deduplicates on stays the same."""

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=60)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="webhook_deliveries")
    # Empty only for a verification session's event that has no case (a session that expired unused).
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_deliveries")
    verification_session = models.ForeignKey(
        "VerificationSession", null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    url = models.URLField(max_length=500)
    payload = models.JSONField()
    status = models.CharField(
        max_length=20, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    # Every attempt ever made (the fencing token of a claim); attempt_limit moves on redelivery.
    attempts = models.PositiveIntegerField(default=0)
    attempt_limit = models.PositiveIntegerField()
    retry_until = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due_idx"),
            models.Index(fields=["partner", "created_at"], name="webhook_partner_idx"),
            # The console's delivery list: newest first, keyset pages, optionally one status.
            models.Index(fields=["created_at", "id"], name="webhook_created_idx"),
            models.Index(fields=["status", "created_at"], name="webhook_status_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST of a delivery: what came back, how long it took, or why it failed."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    url = models.URLField(max_length=500)
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhookattempt_unique_number"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"


# --- hosted verification (a link the partner sends its applicant) ---


class VerificationSessionStatus(models.TextChoices):
    CREATED = "created", "Created"
    OPENED = "opened", "Opened"
    SUBMITTED = "submitted", "Submitted"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


#: The statuses in which the applicant may still use the link.
OPEN_SESSION_STATUSES = (VerificationSessionStatus.CREATED, VerificationSessionStatus.OPENED)


class VerificationSession(models.Model):
    """A hosted capture: the link an applicant opens, the challenge the server issued, what arrived.

    Only a sha256 of the link's token is stored (256 random bits, so a fast hash is enough). The
    challenge is ``prompts``: ``[{"parameter", "issued_at", "completed_at"}]`` in order, each prompt
    issued only when the previous one is complete. ``case``/``round`` are set for a resubmission at
    creation and for a new case when the session is submitted.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="verification_sessions"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="verification_sessions"
    )
    round = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The case round its images became.")
    is_resubmission = models.BooleanField(default=False)
    kind = models.CharField(max_length=20, choices=CaseKind.choices)
    external_ref = models.CharField(max_length=200, blank=True)
    country_code = models.CharField(max_length=10, blank=True)
    card_code = models.CharField(max_length=40, blank=True)
    redirect_url = models.URLField(blank=True, max_length=500)
    locale = models.CharField(max_length=16, default="en")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(
        max_length=20, choices=VerificationSessionStatus.choices, default=VerificationSessionStatus.CREATED
    )
    expires_at = models.DateTimeField(db_index=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    consent_accepted_at = models.DateTimeField(null=True, blank=True)
    consent_version = models.CharField(max_length=40, blank=True)
    prompts = models.JSONField(default=list, blank=True)
    challenge_started_at = models.DateTimeField(null=True, blank=True)
    challenge_attempts = models.PositiveSmallIntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, help_text="When it expired or was cancelled.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["partner", "created_at", "id"], name="vsession_partner_idx"),
            models.Index(fields=["status", "expires_at"], name="vsession_due_idx"),
        ]

    def __str__(self) -> str:
        return f"verification session {self.public_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_SESSION_STATUSES


class VerificationFrame(models.Model):
    """One image that arrived in a session: a burst frame of a prompt, or the document front.

    The bytes are validated, re-encoded and encrypted on arrival (the evidence store); the frame
    chosen for each prompt becomes the case's evidence at submission. ``captured_at`` is the
    browser's clock (informational); ``received_at`` is the server's, and the only one rules use.
    """

    session = models.ForeignKey(VerificationSession, on_delete=models.CASCADE, related_name="frames")
    role = models.CharField(max_length=20, choices=EvidenceRole.choices)
    prompt_index = models.PositiveSmallIntegerField(default=0)
    burst_index = models.PositiveSmallIntegerField(default=0)
    parameter = models.CharField(max_length=20, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=200, blank=True)
    # What the best-frame choice measured (the engine's analysis); empty when it could not run.
    measures = models.JSONField(default=dict, blank=True)
    chosen = models.BooleanField(default=False)
    purge_after = models.DateTimeField(db_index=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "role", "prompt_index", "burst_index"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["session", "role", "prompt_index", "burst_index"], name="vframe_unique_slot"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.prompt_index}.{self.burst_index} of session {self.session_id}"


# --- face templates and the blocklist (issue 12) ---


class FaceTemplate(models.Model):
    """A case's face as a 128-d descriptor (float32), for the repeat search and the blocklist.

    Biometric data: the vector is stored only as a Fernet token under the evidence keys (``ciphertext``,
    emptied when purged), read by the worker's search index and never by the partner API.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="face_templates")
    round = models.PositiveSmallIntegerField(default=1)
    #: Denormalised from the case: the search is scoped by partner.
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20, choices=EvidenceRole.choices)
    evidence = models.ForeignKey(Evidence, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: The face box in the evidence image (left, top, right, bottom), for the console's face crop.
    box = models.JSONField(default=list, blank=True)
    ciphertext = models.BinaryField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    purged_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["case", "round", "role"], name="facetemplate_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.role} face template of case {self.case_id} (round {self.round})"

    @property
    def is_purged(self) -> bool:
        return self.purged_at is not None


class BlocklistEntry(models.Model):
    """A case's face on the blocklist: new cases whose face matches it get the blocklisted_face finding.

    Removal keeps the row (who, when, why): the list's history is part of the audit trail.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="blocklist_entries")
    reason = models.TextField()
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        verbose_name_plural = "blocklist entries"
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(removed_at__isnull=True), name="blocklistentry_one_active_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"blocklist entry {self.pk} (case {self.case_id})"

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


# --- dashboard summaries (the console at scale) ---


class DailyCaseSummary(models.Model):
    """The dashboard's case figures for one day (portal time zone): the cases created that day and the
    four-eyes state of the decisions made that day.

    Derived data, rebuilt from the raw rows by ``liveness.console.stats.summaries_refresh`` (a periodic
    task). The dashboard reads a day from here only when the day is sealed (before the last refresh's
    day) and no audited change since that refresh touches it; every other day is computed from the raw
    rows, so the figures are always those of the raw rows (README, console, "At scale").
    """

    day = models.DateField(unique=True)
    total = models.PositiveIntegerField(default=0)
    live = models.PositiveIntegerField(default=0)
    spoof = models.PositiveIntegerField(default=0)
    resubmit = models.PositiveIntegerField(default=0)
    undecided = models.PositiveIntegerField(default=0)
    auto = models.PositiveIntegerField(default=0)
    operator = models.PositiveIntegerField(default=0)
    with_auto_verdict = models.PositiveIntegerField(default=0)
    overridden = models.PositiveIntegerField(default=0)
    four_eyes_pending = models.PositiveIntegerField(default=0)
    four_eyes_approved = models.PositiveIntegerField(default=0)
    four_eyes_refused = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"cases of {self.day}"


class DailyProviderSummary(models.Model):
    """One provider's settled checks on one day (by ``finished_at``): counts and the sums behind the
    means. Derived like DailyCaseSummary; latency percentiles are not summable and are never stored."""

    day = models.DateField()
    provider = models.CharField(max_length=40)
    settled = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    assessed = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    latency_count = models.PositiveIntegerField(default=0)
    latency_sum = models.BigIntegerField(default=0)
    score_count = models.PositiveIntegerField(default=0)
    score_sum = models.FloatField(default=0.0)

    class Meta:
        ordering = ["day", "provider"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["day", "provider"], name="dailyprovidersummary_unique_day"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} checks of {self.day}"


class SummaryState(models.Model):
    """The one row that says how far the daily summaries go: every day before ``sealed_day`` was
    summarised by the refresh that started at ``refreshed_at``."""

    refreshed_at = models.DateTimeField()
    sealed_day = models.DateField()

    def __str__(self) -> str:
        return f"summaries sealed before {self.sealed_day}"


class DailyLatencyBucket(models.Model):
    """How many of one provider's checks settled on one day took a latency inside one bucket
    (``liveness.console.stats.LATENCY_EDGES``). Summed over a range, the buckets say which bucket holds
    the p50 / p95 rank; the exact value is then read from the checks of that bucket alone, so the
    dashboard's percentiles are percentile_cont's without sorting a year of checks."""

    day = models.DateField()
    provider = models.CharField(max_length=40)
    bucket = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day", "provider", "bucket"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["day", "provider", "bucket"], name="dailylatencybucket_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} latency bucket {self.bucket} of {self.day}"
