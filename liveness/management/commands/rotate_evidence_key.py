"""Re-encrypt stored evidence with the newest key in EVIDENCE_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from liveness.services.faces import face_templates_rotate_keys
from liveness.services.retention import evidence_rotate_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored image and face template with the first key of EVIDENCE_ENCRYPTION_KEYS. "
        "Put the new key first, keep the old ones after it until this has run, then remove them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        rotated, current = evidence_rotate_keys(batch=options["batch"])
        self.stdout.write(f"re-encrypted {rotated} images; {current} were already on the newest key")
        rotated, current = face_templates_rotate_keys(batch=options["batch"])
        self.stdout.write(f"re-encrypted {rotated} face templates; {current} were already on the newest key")
