"""The one-command start's demo data: the demo logins (operator, supervisor, admin), the demo partner, one
demo case from the shipped photo, and a 30-day history of decided cases (``history.py``).

The photo is ``demo_selfie.jpg`` beside this file (public domain, provenance and changes in
``demo_selfie.LICENSE.txt``); the local engine finds one frontal face in it and scores it a clear pass, so the
demo case is decided automatically. Without the photo (a packaging mistake) no case is queued: a drawn
placeholder would only be an honest "no face" waiting in the queue, which demonstrates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.models import User
from django.db import transaction

from .. import services
from ..models import Case, Partner
from ..roles import ADMIN, OPERATOR, SUPERVISOR, role_assign
from .history import seed_history

DEMO_SELFIE = Path(__file__).resolve().parent / "demo_selfie.jpg"
DEMO_PARTNER = "demo-bank"
#: username -> console role.
DEMO_USERS = {"demo-operator": OPERATOR, "demo-supervisor": SUPERVISOR, "demo-admin": ADMIN}


@dataclass
class DemoSeeded:
    users: dict[str, User] = field(default_factory=dict)
    partner: Partner | None = None
    history: int = 0
    case: Case | None = None
    #: Why no demo case was queued, in words ("" when one was, or when the database already had cases).
    no_case_reason: str = ""


def seed_demo(*, password: str) -> DemoSeeded:
    """Create (or reset the password of) the demo users, the demo partner, the history (once) and, on an empty
    database, the demo case."""
    seeded = DemoSeeded()
    fresh = not Case.objects.exists()
    with transaction.atomic():
        for username, role in DEMO_USERS.items():
            user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.local"})
            user.set_password(password)
            user.save()
            role_assign(user=user, role=role)
            seeded.users[role] = user
        seeded.partner, _ = Partner.objects.get_or_create(
            slug=DEMO_PARTNER, defaults={"name": "Demo Bank", "webhook_secret": ""}
        )
    seeded.history = seed_history(
        partner=seeded.partner, operator=seeded.users[OPERATOR], supervisor=seeded.users[SUPERVISOR]
    )
    if not fresh:
        return seeded
    if not DEMO_SELFIE.is_file():
        seeded.no_case_reason = (
            f"no demo photo ({DEMO_SELFIE.name} is missing), so no demo case: upload a selfie in the console "
            "(Upload) to see one checked"
        )
        return seeded
    seeded.case = services.case_create(
        kind="selfie",
        images=[services.IncomingImage(role="selfie", data=DEMO_SELFIE.read_bytes())],
        partner=seeded.partner,
        external_ref="demo-0001",
        actor_label="seed_demo",
    ).case
    return seeded
