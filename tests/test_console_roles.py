"""Role groups: created after migrate, idempotent, assignable with the setup_roles command."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import CommandError, call_command

from liveness.roles import ADMIN, OPERATOR, ROLE_PERMISSIONS, SUPERVISOR, roles_ensure

pytestmark = pytest.mark.django_db


def _perms(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_the_database_setup_created_the_three_roles_with_their_permissions() -> None:
    # No explicit call: the post_migrate hook ran when the test database was created.
    assert _perms(OPERATOR) == set(ROLE_PERMISSIONS[OPERATOR])
    assert "liveness.decide_case" in _perms(OPERATOR)
    assert "liveness.approve_override" not in _perms(OPERATOR)
    assert "liveness.change_providersetting" not in _perms(OPERATOR)
    assert {"liveness.approve_override", "liveness.change_providersetting", "liveness.view_dashboard"} <= _perms(
        SUPERVISOR
    )
    assert {"auth.add_user", "auth.change_user"} <= _perms(ADMIN)


def test_ensuring_roles_twice_changes_nothing_the_second_time() -> None:
    roles_ensure()
    again = roles_ensure()
    assert all(not r.created and r.added == 0 and r.removed == 0 for r in again)
    assert Group.objects.filter(name__in=ROLE_PERMISSIONS).count() == 3


def test_hand_granted_permissions_survive_unless_synced() -> None:
    extra = Permission.objects.get(codename="delete_partner")
    Group.objects.get(name=OPERATOR).permissions.add(extra)
    roles_ensure()
    assert "liveness.delete_partner" in _perms(OPERATOR)
    report = {r.role: r for r in roles_ensure(sync=True)}
    assert report[OPERATOR].removed == 1
    assert "liveness.delete_partner" not in _perms(OPERATOR)


def test_a_deleted_group_is_recreated() -> None:
    Group.objects.filter(name=SUPERVISOR).delete()
    report = {r.role: r for r in roles_ensure()}
    assert report[SUPERVISOR].created
    assert _perms(SUPERVISOR) == set(ROLE_PERMISSIONS[SUPERVISOR])


def test_setup_roles_puts_users_in_exactly_one_role() -> None:
    User.objects.create_user("ada")
    out = io.StringIO()
    call_command("setup_roles", "--assign", "ada=operator", stdout=out)
    call_command("setup_roles", "--assign", "ada=admin", stdout=out)
    ada = User.objects.get(username="ada")
    assert list(ada.groups.values_list("name", flat=True)) == [ADMIN]
    assert ada.is_staff  # admins also get the Django admin site
    assert ada.has_perm("liveness.approve_override")
    assert "ada -> admin" in out.getvalue()


@pytest.mark.parametrize("arg", ["ada=emperor", "ada", "ghost=operator"])
def test_setup_roles_refuses_bad_assignments(arg: str) -> None:
    User.objects.create_user("ada")
    with pytest.raises(CommandError):
        call_command("setup_roles", "--assign", arg, stdout=io.StringIO())
