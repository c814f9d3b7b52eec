"""Demo data for the one-command start (``liveness.demo.seed``): the demo logins, the demo partner, a demo
case from the shipped photo, and a 30-day history of decided cases."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from liveness.demo.seed import seed_demo


class Command(BaseCommand):
    help = (
        "Create (or reset the password of) the demo users (demo-operator, demo-supervisor, demo-admin), the demo "
        "partner demo-bank, one demo case from the shipped photo and a 30-day history of decided cases (once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", required=True, help="password for the demo users")

    def handle(self, *args: Any, **options: Any) -> None:
        seeded = seed_demo(password=options["password"])
        if seeded.history:
            self.stdout.write(f"demo history: {seeded.history} past cases over the last 30 days")
        if seeded.case is not None:
            self.stdout.write(f"demo case {seeded.case.public_id} queued (liveness/demo/demo_selfie.jpg)")
        elif seeded.no_case_reason:
            self.stdout.write(seeded.no_case_reason)
