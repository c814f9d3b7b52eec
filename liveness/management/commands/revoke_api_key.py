"""Revoke an API key at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from liveness.models import ApiKey
from liveness.services.api_keys import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by its visible prefix (e.g. kyc_1a2b3c4d). Requests with it get 401 at once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = ApiKey.objects.select_related("partner", "user").get(prefix=options["prefix"])
        except ApiKey.DoesNotExist:
            raise CommandError(f"no API key with prefix {options['prefix']!r}") from None
        api_key_revoke(api_key=key)
        self.stdout.write(f"{key.prefix} revoked at {key.revoked_at:%Y-%m-%d %H:%M:%S %Z}")
