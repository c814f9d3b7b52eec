"""The console's roles as Django groups: operator, supervisor, admin.

Groups are created (and missing permissions added) after every ``migrate`` by a post_migrate hook, and
on demand by ``manage.py setup_roles``. Both are idempotent. The hook only ever adds, so a permission an
admin granted by hand survives a deploy; ``setup_roles --sync`` resets each group to exactly this list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import AppConfig, apps
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

OPERATOR = "operator"
SUPERVISOR = "supervisor"
ADMIN = "admin"

_OPERATOR_PERMS = (
    "liveness.view_case",
    "liveness.add_case",  # the upload page
    "liveness.decide_case",
    "liveness.view_evidence",
    "liveness.view_check",
    "liveness.view_decision",
    "liveness.view_partner",
    "liveness.view_blocklistentry",
)
_SUPERVISOR_PERMS = (
    *_OPERATOR_PERMS,
    "liveness.approve_override",
    "liveness.assign_case",
    "liveness.view_dashboard",
    "liveness.view_providersetting",
    "liveness.change_providersetting",
    "liveness.view_auditevent",
    "liveness.view_webhookdelivery",
    # Redelivery only: the deliveries' fields are read-only everywhere, so "change" grants nothing else.
    "liveness.change_webhookdelivery",
    # The face blocklist: add a case's face, remove an entry (both with a reason, audited).
    "liveness.add_blocklistentry",
    "liveness.change_blocklistentry",
)
_ADMIN_PERMS = (
    *_SUPERVISOR_PERMS,
    "liveness.change_case",
    "liveness.add_partner",
    "liveness.change_partner",
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
    "auth.view_group",
)

#: role name -> "app_label.codename" permissions it grants.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    OPERATOR: _OPERATOR_PERMS,
    SUPERVISOR: _SUPERVISOR_PERMS,
    ADMIN: _ADMIN_PERMS,
}


@dataclass(frozen=True)
class RoleReport:
    role: str
    created: bool
    added: int
    removed: int


def _permissions(names: Iterable[str]) -> list[Permission]:
    wanted = {(app, code) for app, _, code in (name.partition(".") for name in names)}
    found = list(
        Permission.objects.filter(
            content_type__app_label__in={app for app, _ in wanted}, codename__in={code for _, code in wanted}
        ).select_related("content_type")
    )
    by_name = {(p.content_type.app_label, p.codename): p for p in found}
    missing = sorted(f"{app}.{code}" for app, code in wanted - set(by_name))
    if missing:
        raise LookupError(f"permissions not in the database (run migrate first): {', '.join(missing)}")
    return [by_name[key] for key in sorted(wanted)]


def roles_ensure(*, sync: bool = False) -> list[RoleReport]:
    """Create the role groups and grant their permissions. With ``sync``, also revoke any extra ones."""
    reports = []
    with transaction.atomic():
        for role, names in ROLE_PERMISSIONS.items():
            group, created = Group.objects.get_or_create(name=role)
            wanted = {p.pk: p for p in _permissions(names)}
            current = set(group.permissions.values_list("pk", flat=True))
            to_add = [p for pk, p in wanted.items() if pk not in current]
            to_remove = sorted(current - set(wanted)) if sync else []
            if to_add:
                group.permissions.add(*to_add)
            if to_remove:
                group.permissions.remove(*to_remove)
            reports.append(RoleReport(role, created, len(to_add), len(to_remove)))
    return reports


def role_assign(*, user: User, role: str) -> None:
    """Put ``user`` in exactly one role group. Admins also get the Django admin site (``is_staff``)."""
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLE_PERMISSIONS)}")
    with transaction.atomic():
        groups = {g.name: g for g in Group.objects.filter(name__in=ROLE_PERMISSIONS)}
        if role not in groups:
            roles_ensure()
            groups = {g.name: g for g in Group.objects.filter(name__in=ROLE_PERMISSIONS)}
        user.groups.remove(*[g for name, g in groups.items() if name != role])
        user.groups.add(groups[role])
        if role == ADMIN and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])


def roles_post_migrate(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: make sure the role groups exist after every migrate (and test DB setup)."""
    from django.contrib.auth.management import create_permissions

    # Permissions are created by auth's own post_migrate receiver per app; make sure the ones the roles
    # name exist whatever order the receivers ran in.
    for label in ("auth", "liveness"):
        create_permissions(apps.get_app_config(label), verbosity=0, using=using)
    if using != "default":
        return
    roles_ensure()
