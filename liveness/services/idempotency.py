"""Idempotency of a partner's submit, in one place: what makes two requests "the same", when a key is
answered with its case or refused as a conflict, and how long a key lasts.

A submit may carry an ``Idempotency-Key`` header (1 to 200 visible ASCII characters). ``Submission`` is
the key with the fingerprint of the request: the fields in ``FINGERPRINT_FIELDS`` and the bytes, roles,
positions and face parameters of the images (so the same request sent as multipart or as JSON is the
same). ``case_create`` asks ``Submission.replayed_case``: no key or an unused key makes a new case; the
same key with the same fingerprint answers with the case it made (a replay); the same key with another
fingerprint is an ``IdempotencyConflict`` (422). A unique constraint on (partner, key) settles two
concurrent submits: the loser is answered with the winner's case.

After IDEMPOTENCY_KEY_RETENTION_HOURS ``idempotency_keys_expire`` (hourly) clears the key from its case,
and the partner may use it again for a new case.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from ..models import Case, Partner
from .errors import Invalid, Unprocessable

if TYPE_CHECKING:
    from .cases import IncomingImage

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")

#: The request fields that identify a submission, beside its images.
FINGERPRINT_FIELDS = (
    "kind",
    "external_ref",
    "country_code",
    "card_code",
    "face_parameters",
    "success_threshold",
    "subject_id",
    "face_gallery_id",
    "providers",
    "callback_url",
)


class InvalidIdempotencyKey(Invalid):
    """The Idempotency-Key header is not 1 to 200 visible ASCII characters."""

    def __init__(self) -> None:
        super().__init__(
            "1 to 200 visible ASCII characters (a UUID is a good choice)", "invalid_idempotency_key", HEADER
        )


class IdempotencyConflict(Unprocessable):
    """The idempotency key was used before with a different request body."""

    def __init__(self, case: Case) -> None:
        super().__init__(
            "this Idempotency-Key was already used with a different request; use a new key",
            "idempotency_conflict",
            HEADER,
        )
        self.case = case


def request_fingerprint(payload: Mapping[str, Any], images: Sequence[IncomingImage]) -> str:
    """A stable hash of a submission (fields + image bytes) for idempotency comparisons."""
    digest = hashlib.sha256()
    digest.update(json.dumps(payload, sort_keys=True, default=str).encode())
    for image in images:
        digest.update(f"|{image.role}:{image.index}:{image.face_parameter}:".encode())
        digest.update(hashlib.sha256(image.data).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class Submission:
    """One submit as idempotency sees it: its key ("" for none) and the fingerprint of its request."""

    key: str = ""
    fingerprint: str = ""

    @classmethod
    def of(cls, *, key: str, fields: Mapping[str, Any], images: Sequence[IncomingImage]) -> Submission:
        """The submission of a request: ``fields`` holds (at least) every name in FINGERPRINT_FIELDS.

        Raises InvalidIdempotencyKey for a malformed key (an empty one means "no key").
        """
        if key and not _KEY.match(key):
            raise InvalidIdempotencyKey()
        return cls(key, request_fingerprint({name: fields[name] for name in FINGERPRINT_FIELDS}, images))

    def replayed_case(self, partner: Partner | None) -> Case | None:
        """The case this key already made for the partner (a replay), or None when the submission is new.

        Raises IdempotencyConflict when the key was used with a different request.
        """
        if not self.key:
            return None
        existing = Case.objects.filter(partner=partner, idempotency_key=self.key).first()
        if existing is None:
            return None
        if existing.request_fingerprint != self.fingerprint:
            raise IdempotencyConflict(existing)
        return existing


def idempotency_keys_expire() -> int:
    """Forget idempotency keys older than the retention period. Returns how many were cleared."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS)
    return (
        Case.objects.filter(created_at__lt=cutoff)
        .exclude(idempotency_key="")
        .update(idempotency_key="", request_fingerprint="")
    )
