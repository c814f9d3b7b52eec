"""Issue an API key for a partner system (or an operator's personal token) and print it once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from liveness.models import Partner
from liveness.services.api_keys import ApiKeyError, api_key_create


class Command(BaseCommand):
    help = "Create an API key. The key is printed once on stdout; only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--partner", help="the partner's slug (a partner system's key)")
        owner.add_argument("--user", help="an operator's username (a personal token for the operator API)")
        parser.add_argument("--name", required=True, help="what the key is for, e.g. 'production backend'")
        parser.add_argument("--expires-in-days", type=int, default=None, help="optional expiry")

    def handle(self, *args: Any, **options: Any) -> None:
        partner = user = None
        if options["partner"]:
            try:
                partner = Partner.objects.get(slug=options["partner"])
            except Partner.DoesNotExist:
                raise CommandError(f"no partner with slug {options['partner']!r}") from None
        else:
            try:
                user = User.objects.get(username=options["user"])
            except User.DoesNotExist:
                raise CommandError(f"no user {options['user']!r}") from None
        days = options["expires_in_days"]
        if days is not None and days <= 0:
            raise CommandError("--expires-in-days must be positive")
        try:
            issued = api_key_create(
                name=options["name"],
                partner=partner,
                user=user,
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except ApiKeyError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(
            f"Created API key {issued.api_key.prefix} ({issued.api_key.name}). It is shown only now; store it safely."
        )
        self.stdout.write(issued.secret)
