"""Demo data for the one-command start: a demo operator and supervisor, a demo partner, a demo case, and a
30-day history of decided cases (``liveness.demo.history``) for the dashboard and the accuracy page."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from PIL import Image, ImageDraw

from liveness import services
from liveness.demo.history import seed_history
from liveness.models import Case, Partner

DEMO_SELFIE = (
    Path(settings.BASE_DIR).parent
    / "shared"
    / "testdata"
    / "genuine"
    / ("Silent-Face-Anti-Spoofing__images_sample_image_T1.jpg")
)


def _synthetic_selfie() -> bytes:
    # Without the shared test images there is no real face to show: a drawn placeholder, which the
    # engine honestly reports as "no face" (the case then waits in the review queue).
    image = Image.new("RGB", (480, 640), (205, 210, 220))
    draw = ImageDraw.Draw(image)
    draw.ellipse((140, 160, 340, 420), fill=(230, 200, 180))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


class Command(BaseCommand):
    help = (
        "Create (or reset the password of) the demo users, a demo partner, one demo case and a 30-day history "
        "of decided cases (once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", required=True, help="password for the demo users")

    def handle(self, *args: Any, **options: Any) -> None:
        fresh = not Case.objects.exists()
        users = {}
        with transaction.atomic():
            for username, group in (("demo-operator", "operator"), ("demo-supervisor", "supervisor")):
                user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.local"})
                user.set_password(options["password"])
                user.save()
                user.groups.add(Group.objects.get_or_create(name=group)[0])
                users[group] = user
            partner, _ = Partner.objects.get_or_create(
                slug="demo-bank", defaults={"name": "Demo Bank", "webhook_secret": ""}
            )
        created_history = seed_history(partner=partner, operator=users["operator"], supervisor=users["supervisor"])
        if created_history:
            self.stdout.write(f"demo history: {created_history} past cases over the last 30 days")
        if not fresh:
            return
        data = DEMO_SELFIE.read_bytes() if DEMO_SELFIE.is_file() else _synthetic_selfie()
        created = services.case_create(
            kind="selfie",
            images=[services.IncomingImage(role="selfie", data=data)],
            partner=partner,
            external_ref="demo-0001",
            actor_label="seed_demo",
        )
        self.stdout.write(f"demo case {created.case.public_id} queued")
