"""Give a partner a new webhook signing secret and print it once; the old one keeps signing for a while."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.timezone import localtime

from liveness.models import Partner
from liveness.services.api_keys import webhook_secret_rotate

#: A longer overlap would keep a possibly leaked secret valid for no good reason (and a huge one overflows).
MAX_GRACE_HOURS = 24 * 30


class Command(BaseCommand):
    help = (
        "Set a new webhook signing secret for a partner (takes effect for the next attempt) and print it once. "
        "Deliveries are signed with the previous secret too during the grace period."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--partner", required=True, help="the partner's slug")
        parser.add_argument(
            "--grace-hours",
            type=float,
            default=None,
            help="how long deliveries are also signed with the previous secret "
            f"(default {settings.WEBHOOK_SECRET_ROTATION_GRACE_HOURS}; 0 stops it at once)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            partner = Partner.objects.get(slug=options["partner"])
        except Partner.DoesNotExist:
            raise CommandError(f"no partner with slug {options['partner']!r}") from None
        hours = options["grace_hours"]
        if hours is not None and not 0 <= hours <= MAX_GRACE_HOURS:
            raise CommandError(f"--grace-hours must be between 0 and {MAX_GRACE_HOURS}")
        secret = webhook_secret_rotate(partner=partner, grace=timedelta(hours=hours) if hours is not None else None)
        until = partner.webhook_secret_previous_expires_at
        overlap = (
            f" Deliveries are also signed with the previous secret until {localtime(until):%Y-%m-%d %H:%M %Z}."
            if until
            else ""
        )
        self.stderr.write(
            f"New webhook secret for {partner.slug}; it is shown only now. Give it to the partner.{overlap}"
        )
        self.stdout.write(secret)
