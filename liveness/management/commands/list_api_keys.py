"""List API keys (prefixes, owners, state, last use). Never the keys themselves: they are not stored."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from liveness.models import ApiKey
from liveness.services.api_keys import api_key_is_usable


class Command(BaseCommand):
    help = "List every API key (partners' and operators'), or one partner's with --partner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--partner", help="a partner's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        keys = ApiKey.objects.select_related("partner", "user").order_by("created_at")
        if options["partner"]:
            keys = keys.filter(partner__slug=options["partner"])
        if not keys.exists():
            self.stderr.write("no API keys" + (f" for partner {options['partner']!r}" if options["partner"] else ""))
            return
        for key in keys:
            owner = (
                f"partner:{key.partner.slug}" if key.partner else f"user:{key.user.get_username() if key.user else '?'}"
            )
            if key.revoked_at:
                state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
            elif not api_key_is_usable(key):
                state = "expired"
            elif key.expires_at:
                state = f"active until {key.expires_at:%Y-%m-%d %H:%M}"
            else:
                state = "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            self.stdout.write(f"{key.prefix}\t{owner}\t{key.name}\t{state}\tlast used {used}")
