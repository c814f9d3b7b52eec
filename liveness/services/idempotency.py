"""How long an Idempotency-Key keeps answering with its case.

case_create() enforces one case per (partner, key) with a unique constraint, so while a key is stored
a replay returns the same case and a different body is a conflict. After IDEMPOTENCY_KEY_RETENTION_HOURS
the key is cleared from the case (hourly), and the partner may use it again for a new case.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..models import Case


def idempotency_keys_expire() -> int:
    """Forget idempotency keys older than the retention period. Returns how many were cleared."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS)
    return (
        Case.objects.filter(created_at__lt=cutoff)
        .exclude(idempotency_key="")
        .update(idempotency_key="", request_fingerprint="")
    )
