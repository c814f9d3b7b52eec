"""The audit trail: every state change and every look at a case's images, appended, never edited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from ..models import AuditEvent, Case


def audit_record(
    *,
    action: str,
    case: Case | None = None,
    actor: User | AnonymousUser | None = None,
    actor_label: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    user = actor if isinstance(actor, User) else None
    label = actor_label or (user.get_username() if user is not None else "system")
    return AuditEvent.objects.create(case=case, actor=user, actor_label=label, action=action, data=data or {})
