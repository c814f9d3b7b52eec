"""Retention: images are deleted after their purge time; scores, decisions and the audit trail stay."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import storage
from ..models import CaseStatus, Evidence
from .audit import audit_record

#: Evidence of cases still being worked on is kept until they leave these statuses.
_OPEN_STATUSES = (CaseStatus.RECEIVED, CaseStatus.PROCESSING, CaseStatus.NEEDS_REVIEW, CaseStatus.PENDING_APPROVAL)


def evidence_purge_expired(*, batch: int = 500) -> int:
    now = timezone.now()
    due = (
        Evidence.objects.filter(purge_after__lte=now, purged_at__isnull=True)
        .exclude(case__status__in=_OPEN_STATUSES)
        .select_related("case")[:batch]
    )
    purged = 0
    for item in due:
        with transaction.atomic():
            updated = Evidence.objects.filter(pk=item.pk, purged_at__isnull=True).update(purged_at=now)
            if not updated:
                continue
            audit_record(
                action="evidence.purged",
                case=item.case,
                actor_label="retention",
                data={"evidence": item.pk, "sha256": item.sha256},
            )
        # Delete the bytes after the row says purged: a crash leaves an orphan file, never a dangling row.
        storage.delete(item.storage_key)
        purged += 1
    return purged


def evidence_rotate_keys(*, batch: int = 500) -> tuple[int, int]:
    """Re-encrypt every live evidence object with the newest key. Returns (rotated, already current).

    The new ciphertext is written under a new name, the row is pointed at it, and only then is the old
    object deleted: a crash at any point leaves a readable copy.
    """
    rotated = current = 0
    queryset = Evidence.objects.filter(purged_at__isnull=True).exclude(storage_key="").order_by("pk")
    last_pk = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last_pk)[:batch])
        if not chunk:
            return rotated, current
        for item in chunk:
            last_pk = item.pk
            if storage.is_current(item.storage_key):
                current += 1
                continue
            old_key = item.storage_key
            new_key = storage.rotate(old_key, prefix=old_key.rsplit("/", 1)[0])
            updated = Evidence.objects.filter(pk=item.pk, storage_key=old_key).update(storage_key=new_key)
            storage.delete(old_key if updated else new_key)
            rotated += bool(updated)
