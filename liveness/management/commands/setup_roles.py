"""Create the console's role groups and, optionally, put users in them. Safe to run any number of times."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from liveness.roles import ROLE_PERMISSIONS, role_assign, roles_ensure


class Command(BaseCommand):
    help = (
        "Create the operator / supervisor / admin groups with their permissions (idempotent). "
        "--sync also revokes permissions added to those groups by hand; --assign USER=ROLE puts a user in a role."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sync", action="store_true", help="make each group's permissions exactly the defined set")
        parser.add_argument(
            "--assign",
            action="append",
            default=[],
            metavar="USERNAME=ROLE",
            help=f"put an existing user in one role ({', '.join(ROLE_PERMISSIONS)}); repeatable",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        assignments = []
        for item in options["assign"]:
            username, sep, role = item.partition("=")
            if not sep or role not in ROLE_PERMISSIONS:
                raise CommandError(f"--assign wants USERNAME=ROLE with ROLE one of {', '.join(ROLE_PERMISSIONS)}")
            try:
                assignments.append((User.objects.get(username=username), role))
            except User.DoesNotExist:
                raise CommandError(f"no user named {username!r}") from None
        for report in roles_ensure(sync=options["sync"]):
            state = "created" if report.created else "exists"
            self.stdout.write(f"{report.role}: {state}, {report.added} permissions added, {report.removed} removed")
        for user, role in assignments:
            role_assign(user=user, role=role)
            self.stdout.write(f"{user.get_username()} -> {role}")
