"""Create a hosted verification session for the demo partner and print its link (``dev.py start`` does
this): open it in this machine's browser; ``localhost`` is a secure context, so the camera works."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.urls import reverse

from ...models import Partner
from ...services.sessions import session_create


class Command(BaseCommand):
    help = "Create a demo hosted verification session (demo partner) and print the applicant's link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://localhost:8000", help="where the portal is served")
        parser.add_argument("--kind", default="active", choices=("selfie", "active", "id_document"))
        parser.add_argument("--hours", type=int, default=24, help="how long the link stays valid")

    def handle(self, *args: Any, **options: Any) -> None:
        partner, _ = Partner.objects.get_or_create(slug="demo-bank", defaults={"name": "Demo Bank"})
        document = options["kind"] == "id_document"
        created = session_create(
            kind=options["kind"],
            partner=partner,
            external_ref="demo-hosted",
            expires_in=options["hours"] * 3600,
            actor_label="demo_session",
            country_code="DE" if document else "",
            card_code="ID" if document else "",
        )
        path = reverse("hosted_session", kwargs={"token": created.token})
        self.stdout.write(options["base_url"].rstrip("/") + path)
