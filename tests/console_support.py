"""Helpers for the operator-console tests: users in role groups, cases that went through the real pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User

from liveness.models import Case
from liveness.providers import ProviderResult
from liveness.roles import role_assign
from liveness.services import IncomingImage, case_create, check_execute
from tests.factories import UserFactory
from tests.helpers import ScriptedProvider, image_bytes

PASSWORD = "correct horse battery staple"


def user_in_role(role: str, username: str) -> User:
    user = UserFactory.create(username=username)
    role_assign(user=user, role=role)
    return User.objects.get(pk=user.pk)  # fresh permission cache


def selfie_details(*, width: int = 320, height: int = 240, box: Any = None, **extra: Any) -> dict[str, Any]:
    """Details in the local engine's shape: one selfie with one face box in image pixels."""
    face = {"box": box or {"left": 100, "top": 60, "right": 200, "bottom": 180}, "detection_score": 1.25}
    entry = {
        "role": "selfie",
        "index": 0,
        "image": {"width": width, "height": height},
        "face_outcome": "one_face",
        "face_count": 1,
        "faces": [face],
        "main_face": face,
        **extra,
    }
    return {"engine": "scripted", "images": [entry]}


def frame_images(*parameters: str) -> list[IncomingImage]:
    """Active-case frames of plain colour, one per parameter asked."""
    return [
        IncomingImage(role="frame", data=image_bytes(color=(10 * i, 80, 90)), index=i, face_parameter=p)
        for i, p in enumerate(parameters)
    ]


def scripted_result(score: float | None, *, reason: str = "", details: dict[str, Any] | None = None) -> ProviderResult:
    return ProviderResult(
        score=score,
        reason=reason,
        vendor_label=f"scripted p={score}" if score is not None else "not assessed",
        details=details if details is not None else selfie_details(),
        raw_response={"score": score, "api_key": "[redacted]"},
        latency_ms=42,
    )


def pipeline_case(
    scripted: ScriptedProvider,
    *,
    results: Sequence[ProviderResult | Exception],
    kind: str = "selfie",
    images: Sequence[IncomingImage] | None = None,
    external_ref: str = "",
    created_by: User | None = None,
    **fields: Any,
) -> Case:
    """A case created and checked through the real services, the provider answering ``results``."""
    scripted.script.extend(results)
    created = case_create(
        kind=kind,
        images=images or [IncomingImage(role="selfie", data=image_bytes())],
        external_ref=external_ref,
        created_by=created_by,
        **fields,
    )
    for check in created.case.checks.all():
        check_execute(check_id=check.pk)
    return Case.objects.get(pk=created.case.pk)
