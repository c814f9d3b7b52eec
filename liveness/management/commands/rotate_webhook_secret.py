"""Give a partner a new webhook signing secret and print it once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from liveness.models import Partner
from liveness.services.api_keys import webhook_secret_rotate


class Command(BaseCommand):
    help = "Set a new webhook signing secret for a partner (takes effect for the next attempt) and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--partner", required=True, help="the partner's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            partner = Partner.objects.get(slug=options["partner"])
        except Partner.DoesNotExist:
            raise CommandError(f"no partner with slug {options['partner']!r}") from None
        secret = webhook_secret_rotate(partner=partner)
        self.stderr.write(f"New webhook secret for {partner.slug}; it is shown only now. Give it to the partner.")
        self.stdout.write(secret)
