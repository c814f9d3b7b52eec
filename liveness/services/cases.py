"""Creating cases from validated images: one transaction, checks per workflow, tasks after commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import enqueue, storage
from ..countries import UnknownCountry, normalise_country_code
from ..intake import ImageHeader, ImageRejected, ValidatedImage, read_header, validate_image
from ..models import Case, CaseKind, Check, CheckStatus, Evidence, EvidenceRole, Partner
from ..vocabulary import FACE_PARAMETERS
from .audit import audit_record
from .errors import Conflict, Invalid
from .faces import face_search_enqueue, face_search_fields
from .fallback import PlannedCheck, checks_plan
from .idempotency import Submission
from .providers import ProviderSelectionError, provider_config, provider_settings_snapshot, workflow_providers


class CaseInputError(Invalid):
    """Input that cannot become a case. ``field`` names what is wrong; nothing was written."""

    def __init__(self, field: str, message: str, *, code: str = "invalid") -> None:
        super().__init__(message, code, field)


class CaseStateConflict(CaseInputError, Conflict):
    """The case is not in a status that takes this (e.g. a resubmission nobody asked for)."""


@dataclass(frozen=True)
class IncomingImage:
    role: str  # selfie | id_front | frame
    data: bytes
    index: int = 0
    face_parameter: str = ""
    label: str = ""
    #: Bytes this portal already validated and normalised (a hosted session's stored frame): used as they are,
    #: neither decoded nor re-encoded a second time.
    validated: ValidatedImage | None = None


@dataclass(frozen=True)
class CaseCreated:
    case: Case
    created: bool  # False when an idempotent replay returned an existing case


def _validate_shape(
    *,
    kind: str,
    images: Sequence[IncomingImage],
    country_code: str,
    card_code: str,
    face_parameters: Sequence[str],
    success_threshold: int | None,
) -> None:
    if kind not in CaseKind.values:
        raise CaseInputError("kind", f"must be one of {', '.join(CaseKind.values)}")
    roles = [i.role for i in images]
    # Fields of another kind are refused rather than silently dropped: the sender meant something by them.
    if kind != CaseKind.ACTIVE:
        if face_parameters:
            raise CaseInputError("face_parameters", "only active cases take face_parameters", code="not_allowed")
        if success_threshold is not None:
            raise CaseInputError("success_threshold", "only active cases take a success_threshold", code="not_allowed")
    if kind != CaseKind.ID_DOCUMENT:
        for name, value in (("country_code", country_code), ("card_code", card_code)):
            if value.strip():
                raise CaseInputError(name, "only ID-document cases take this field", code="not_allowed")
    if kind == CaseKind.SELFIE:
        if roles != [EvidenceRole.SELFIE]:
            raise CaseInputError("images", "a selfie case takes exactly one selfie image", code="wrong_images")
    elif kind == CaseKind.ID_DOCUMENT:
        if (
            roles.count(EvidenceRole.ID_FRONT) != 1
            or roles.count(EvidenceRole.SELFIE) > 1
            or (set(roles) - {EvidenceRole.ID_FRONT, EvidenceRole.SELFIE})
        ):
            raise CaseInputError(
                "images", "an ID case takes one id_front image and optionally one selfie", code="wrong_images"
            )
        if not country_code.strip():
            raise CaseInputError("country_code", "required for ID-document cases", code="required")
        try:
            normalise_country_code(country_code)
        except UnknownCountry as exc:
            raise CaseInputError("country_code", str(exc), code="invalid_choice") from exc
        if not card_code.strip():
            raise CaseInputError("card_code", "required for ID-document cases", code="required")
    else:
        frames = [i for i in images if i.role == EvidenceRole.FRAME]
        if len(frames) != len(images) or not frames:
            raise CaseInputError("images", "an active case takes one or more frames", code="wrong_images")
        if len(frames) > settings.INTAKE_MAX_FRAMES:
            raise CaseInputError(
                "images", f"at most {settings.INTAKE_MAX_FRAMES} frames per case", code="too_many_frames"
            )
        if len(face_parameters) != len(frames):
            raise CaseInputError(
                "face_parameters",
                f"{len(face_parameters)} parameters for {len(frames)} frames: the counts must be equal",
                code="length_mismatch",
            )
        bad = [p for p in face_parameters if p not in FACE_PARAMETERS]
        if bad:
            raise CaseInputError(
                "face_parameters",
                f"unknown values {bad}; allowed: {', '.join(FACE_PARAMETERS)}",
                code="invalid_choice",
            )
        if success_threshold is not None and not 1 <= success_threshold <= len(frames):
            raise CaseInputError("success_threshold", f"must be between 1 and the number of frames ({len(frames)})")


# The providers' settings are read once for the whole submission (services.providers).
@provider_settings_snapshot()
def case_create(
    *,
    kind: str,
    images: Sequence[IncomingImage],
    partner: Partner | None = None,
    created_by: User | None = None,
    external_ref: str = "",
    country_code: str = "",
    card_code: str = "",
    face_parameters: Sequence[str] = (),
    success_threshold: int | None = None,
    subject_id: str = "",
    face_gallery_id: str = "",
    providers: Sequence[str] | None = None,
    callback_url: str = "",
    idempotency_key: str = "",
    fingerprint: str = "",
    actor_label: str = "",
) -> CaseCreated:
    """Validate everything, store the encrypted images, then create the case, its evidence and its
    checks in one transaction; the check tasks are enqueued after commit.

    ``idempotency_key`` and ``fingerprint`` are the request's ``idempotency.Submission``: a replay answers
    with the case the key made (``created=False``).

    Raises CaseInputError / ImageRejected (nothing written), IdempotencyConflict.
    """
    submission = Submission(idempotency_key, fingerprint)
    existing = submission.replayed_case(partner)
    if existing is not None:
        return CaseCreated(existing, created=False)

    if kind == CaseKind.ACTIVE and not face_parameters:
        # Frames carry their own parameter when given per frame (upload form); else the list applies.
        face_parameters = [i.face_parameter for i in sorted(images, key=lambda i: i.index)]
    _validate_shape(
        kind=kind,
        images=images,
        country_code=country_code,
        card_code=card_code,
        face_parameters=face_parameters,
        success_threshold=success_threshold,
    )
    try:
        chosen = workflow_providers(kind=kind, partner=partner, requested=list(providers or []))
    except ProviderSelectionError as exc:
        raise CaseInputError("providers", exc.message, code=exc.code) from exc
    # Read outside the transaction: a provider whose circuit is open is replaced (or skipped) up front.
    plan = checks_plan(kind=kind, partner=partner, chosen=chosen)
    chosen = [item.provider for item in plan]

    validated = images_validate(images)

    # Store ciphertext first (outside the transaction: storage may be remote). If the transaction
    # fails, the stored objects are removed again so nothing is left half-written.
    stored_keys: list[str] = []
    try:
        stored_keys.extend(images_store(validated))
        case = _case_create_rows(
            kind=kind,
            validated=validated,
            stored_keys=stored_keys,
            chosen=chosen,
            plan=plan,
            partner=partner,
            created_by=created_by,
            external_ref=external_ref,
            country_code=normalise_country_code(country_code) if country_code.strip() else "",
            card_code=card_code.strip(),
            face_parameters=list(face_parameters),
            success_threshold=success_threshold,
            subject_id=subject_id,
            face_gallery_id=face_gallery_id,
            callback_url=callback_url,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            actor_label=actor_label,
        )
    except IntegrityError:
        for key in stored_keys:
            storage.delete(key)
        # A concurrent submit with the same idempotency key won the race: answer with its case.
        winner = submission.replayed_case(partner)
        if winner is not None:
            return CaseCreated(winner, created=False)
        raise
    except BaseException:
        for key in stored_keys:
            storage.delete(key)
        raise
    return CaseCreated(case, created=True)


def _case_create_rows(
    *,
    kind: str,
    validated: list[tuple[IncomingImage, ValidatedImage]],
    stored_keys: list[str],
    chosen: list[str],
    plan: Sequence[PlannedCheck],
    partner: Partner | None,
    created_by: User | None,
    actor_label: str,
    fingerprint: str,
    **fields: Any,
) -> Case:
    # Every message of the submission (its checks, its face step) goes out in one send after commit.
    with transaction.atomic(), enqueue.batch():
        case = Case.objects.create(
            kind=kind,
            partner=partner,
            created_by=created_by,
            providers=chosen,
            request_fingerprint=fingerprint,
            **face_search_fields(),  # in the INSERT: no UPDATE of the new row
            **fields,
        )
        evidence_create_for_round(case=case, validated=validated, stored_keys=stored_keys)
        checks_create_for_round(case=case, providers=chosen, plan=plan)
        face_search_enqueue(case=case)
        audit_record(
            action="case.created",
            case=case,
            actor=created_by,
            actor_label=actor_label,
            data={
                "kind": kind,
                "providers": chosen,
                "evidence": [v.sha256 for _, v in validated],
                "external_ref": fields["external_ref"],
            },
        )
    return case


def images_validate(images: Sequence[IncomingImage]) -> list[tuple[IncomingImage, ValidatedImage]]:
    """Validate every image (nothing is stored yet). ImageRejected carries ``field`` = images[i]."""
    validated: list[tuple[IncomingImage, ValidatedImage]] = []
    labels = [
        image.label or (f"frame {image.index}" if image.role == EvidenceRole.FRAME else image.role) for image in images
    ]
    # Every header first: the request's total is bounded before a single pixel is decoded.
    total = 0
    headers: list[ImageHeader | None] = []
    for position, (image, label) in enumerate(zip(images, labels, strict=True)):
        if image.validated is not None:
            total += image.validated.width * image.validated.height
            headers.append(None)
            continue
        try:
            header = read_header(image.data, label=label)
        except ImageRejected as exc:
            exc.field = f"images[{position}]"  # type: ignore[attr-defined]
            raise
        headers.append(header)
        total += header.pixels
    if total > settings.INTAKE_MAX_REQUEST_PIXELS:
        too_many = ImageRejected(
            "too_many_pixels",
            f"the images hold {total} pixels together, over the limit of {settings.INTAKE_MAX_REQUEST_PIXELS} "
            "per request",
        )
        too_many.field = "images"  # type: ignore[attr-defined]
        raise too_many
    for position, (image, label, known) in enumerate(zip(images, labels, headers, strict=True)):
        if image.validated is not None:
            validated.append((image, image.validated))
            continue
        try:
            # The header read above is not read (nor its JPEG scanned) a second time.
            validated.append((image, validate_image(image.data, label=label, header=known)))
        except ImageRejected as exc:
            exc.field = f"images[{position}]"  # type: ignore[attr-defined]
            raise
    return validated


def images_store(validated: Sequence[tuple[IncomingImage, ValidatedImage]]) -> list[str]:
    """Encrypt and store each image; on any failure remove what was stored and re-raise."""
    keys: list[str] = []
    try:
        for _, valid in validated:
            keys.append(storage.put(valid.content, prefix=timezone.now().strftime("%Y/%m/%d")))
    except BaseException:
        for key in keys:
            storage.delete(key)
        raise
    return keys


def evidence_create_for_round(
    *, case: Case, validated: Sequence[tuple[IncomingImage, ValidatedImage]], stored_keys: Sequence[str]
) -> None:
    """The Evidence rows of the case's current round (inside the caller's transaction)."""
    purge_after = timezone.now() + timedelta(days=settings.EVIDENCE_RETENTION_DAYS)
    Evidence.objects.bulk_create(
        [
            Evidence(
                case=case,
                role=incoming.role,
                index=incoming.index,
                round=case.round,
                face_parameter=incoming.face_parameter
                or (case.face_parameters[incoming.index] if case.kind == CaseKind.ACTIVE else ""),
                **valid.stored_fields(),
                storage_key=key,
                purge_after=purge_after,
            )
            for (incoming, valid), key in zip(validated, stored_keys, strict=True)
        ]
    )


def checks_create_for_round(*, case: Case, providers: Sequence[str], plan: Sequence[PlannedCheck] = ()) -> list[Check]:
    """Create one queued check per provider for the case's current round; enqueue each after commit.

    ``plan`` (from ``services.fallback.checks_plan``) marks checks that replace a provider whose circuit
    is open, and providers skipped for that reason: both are kept on the check and in the audit trail.
    """
    planned = {item.provider: item for item in plan}
    now = timezone.now()
    checks = []
    for key in providers:
        item = planned.get(key, PlannedCheck(key))
        common = {"case": case, "round": case.round, "provider": key, "max_attempts": provider_config(key).max_attempts}
        if item.skipped_reason:
            check = Check(
                **common,
                status=CheckStatus.SKIPPED,
                reason=item.skipped_reason,
                error_code="circuit_open",
                finished_at=now,
            )
        else:
            check = Check(**common, fallback_from=item.fallback_from, fallback_reason=item.fallback_reason)
        checks.append(check)
    # One INSERT for the round's checks; their ids come back with it (PostgreSQL and SQLite both return them).
    Check.objects.bulk_create(checks)
    for check in checks:
        item = planned.get(check.provider, PlannedCheck(check.provider))
        if item.skipped_reason:
            audit_record(
                action="check.skipped",
                case=case,
                actor_label="system",
                data={"check": check.pk, "provider": check.provider, "reason": item.skipped_reason},
            )
            continue
        if item.fallback_from:
            audit_record(
                action="check.fallback",
                case=case,
                actor_label="system",
                data={
                    "check": check.pk,
                    "provider": check.provider,
                    "fallback_from": item.fallback_from,
                    "reason": item.fallback_reason,
                },
            )
        enqueue.check(check.pk, check.provider)
    return checks
