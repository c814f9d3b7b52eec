"""The audit trail: every state change and every look at a case's images, appended, never edited."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

from ..models import AuditAction, AuditEvent, Case

logger = logging.getLogger(__name__)


def audit_record(
    *,
    action: str,
    case: Case | None = None,
    actor: User | AnonymousUser | None = None,
    actor_label: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    if action not in AuditAction.values:
        # A new action belongs in AuditAction (and its migration); tests and development refuse it, production
        # records it anyway with a warning rather than lose the event.
        if settings.AUDIT_ACTIONS_STRICT:
            raise ValueError(f"unknown audit action {action!r}: add it to liveness.models.AuditAction")
        logger.warning("audit action %r is not in AuditAction", action)
    user = actor if isinstance(actor, User) else None
    label = actor_label or (user.get_username() if user is not None else "system")
    return AuditEvent.objects.create(case=case, actor=user, actor_label=label, action=action, data=data or {})
