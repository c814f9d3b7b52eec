"""Rotate an API key: print its successor once; the old key keeps working for a grace period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from liveness.models import ApiKey
from liveness.services.api_keys import ApiKeyError, api_key_rotate


class Command(BaseCommand):
    help = "Rotate an API key (by its visible prefix, e.g. kyc_1a2b3c4d). Prints the new key once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")
        parser.add_argument(
            "--grace-hours",
            type=float,
            default=None,
            help=f"how long the old key keeps working (default {settings.API_KEY_ROTATION_GRACE_HOURS})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = ApiKey.objects.select_related("partner", "user").get(prefix=options["prefix"])
        except ApiKey.DoesNotExist:
            raise CommandError(f"no API key with prefix {options['prefix']!r}") from None
        hours = options["grace_hours"]
        if hours is not None and hours < 0:
            raise CommandError("--grace-hours cannot be negative")
        try:
            issued = api_key_rotate(api_key=key, grace=timedelta(hours=hours) if hours is not None else None)
        except ApiKeyError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(
            f"{key.prefix} now expires at {key.expires_at:%Y-%m-%d %H:%M %Z}; its successor is "
            f"{issued.api_key.prefix}. The new key is shown only now."
        )
        self.stdout.write(issued.secret)
