"""case_create: validation before any write, one transaction, checks per workflow, tasks after commit."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import IntegrityError

from liveness import enqueue, services, storage
from liveness.intake import ImageRejected
from liveness.models import AuditEvent, Case, CaseStatus, Check, CheckStatus, Evidence
from liveness.services import CaseInputError, IdempotencyConflict, IncomingImage
from tests import helpers
from tests.factories import PartnerFactory
from tests.helpers import image_bytes

pytestmark = pytest.mark.django_db


def selfie(data: bytes | None = None) -> list[IncomingImage]:
    return [IncomingImage(role="selfie", data=data or image_bytes())]


def stored_files() -> list[str]:
    root = storage.evidence_storage()
    found: list[str] = []

    def walk(path: str) -> None:
        if not root.exists(path):
            return
        dirs, files = root.listdir(path)
        found.extend(f"{path}/{f}" if path else f for f in files)
        for d in dirs:
            walk(f"{path}/{d}" if path else d)

    walk("")
    return found


@pytest.fixture
def enqueued():
    with helpers.enqueued(enqueue.RUN_CHECK) as apply_async:
        yield apply_async


def test_it_creates_case_evidence_checks_and_an_audit_event(scripted, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = services.case_create(kind="selfie", images=selfie(), external_ref="ref-1")
    case = created.case
    assert created.created
    assert case.status == CaseStatus.RECEIVED
    assert list(case.checks.values_list("provider", "status")) == [("scripted", CheckStatus.QUEUED)]
    evidence = case.evidence.get()
    assert evidence.role == "selfie"
    assert evidence.content_type == "image/jpeg"
    assert storage.get(evidence.storage_key)[:2] == b"\xff\xd8"  # decrypts to a JPEG
    assert AuditEvent.objects.filter(case=case, action="case.created").count() == 1
    enqueued.assert_called_once_with(args=(case.checks.get().pk,), kwargs={"provider": "scripted"}, countdown=0)


def test_each_image_header_is_read_once(scripted, enqueued):
    """The request's pixel total and the image's own validation share one read of its header."""
    from liveness import intake
    from liveness.services import cases

    images = [IncomingImage(role="frame", data=image_bytes(), index=i, face_parameter="left") for i in range(3)]
    with (
        mock.patch.object(cases, "read_header", wraps=intake.read_header) as by_the_service,
        mock.patch.object(intake, "read_header", wraps=intake.read_header) as by_the_validator,
    ):
        services.case_create(kind="active", images=images, providers=["local"])
    assert by_the_service.call_count == 3
    assert by_the_validator.call_count == 0


def test_evidence_is_encrypted_at_rest(scripted, enqueued):
    case = services.case_create(kind="selfie", images=selfie()).case
    key = case.evidence.get().storage_key
    with storage.evidence_storage().open(key, "rb") as handle:
        raw = handle.read()
    assert not raw.startswith(b"\xff\xd8")  # not a JPEG on disk
    assert storage.get(key).startswith(b"\xff\xd8")


def test_tasks_are_enqueued_only_after_commit(scripted, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.case_create(kind="selfie", images=selfie())
    enqueued.assert_not_called()
    assert len(callbacks) == 1


def test_a_rejected_image_writes_nothing(scripted, enqueued):
    with pytest.raises(ImageRejected) as info:
        services.case_create(kind="selfie", images=selfie(b"not an image at all"))
    assert info.value.code == "not_an_image"
    assert getattr(info.value, "field", None) == "images[0]"
    assert (Case.objects.count(), Evidence.objects.count(), Check.objects.count()) == (0, 0, 0)
    assert stored_files() == []


def test_a_database_failure_removes_the_stored_images(scripted, enqueued):
    with (
        mock.patch("liveness.services.cases.checks_create_for_round", side_effect=RuntimeError("db down")),
        pytest.raises(RuntimeError),
    ):
        services.case_create(kind="selfie", images=selfie())
    assert Case.objects.count() == 0
    assert stored_files() == []


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"kind": "passport", "images": selfie()}, "kind", "invalid"),
        ({"kind": "selfie", "images": selfie() + selfie()}, "images", "wrong_images"),
        ({"kind": "id_document", "images": [IncomingImage("id_front", image_bytes())]}, "country_code", "required"),
        (
            {"kind": "id_document", "images": [IncomingImage("id_front", image_bytes())], "country_code": "UTO"},
            "card_code",
            "required",
        ),
        ({"kind": "id_document", "images": selfie(), "country_code": "X", "card_code": "Y"}, "images", "wrong_images"),
        (
            {"kind": "active", "images": [IncomingImage("frame", image_bytes(), 0)], "face_parameters": ["a", "b"]},
            "face_parameters",
            "length_mismatch",
        ),
        (
            {"kind": "active", "images": [IncomingImage("frame", image_bytes(), 0)], "face_parameters": ["sideways"]},
            "face_parameters",
            "invalid_choice",
        ),
        (
            {
                "kind": "active",
                "images": [IncomingImage("frame", image_bytes(), 0)],
                "face_parameters": ["left"],
                "success_threshold": 2,
            },
            "success_threshold",
            "invalid",
        ),
        ({"kind": "active", "images": []}, "images", "wrong_images"),
    ],
)
def test_it_refuses_malformed_cases_naming_the_field(scripted, enqueued, kwargs, field, code):
    with pytest.raises(CaseInputError) as info:
        services.case_create(**kwargs)
    assert (info.value.field, info.value.code) == (field, code)
    assert Case.objects.count() == 0


def test_it_refuses_too_many_frames(scripted, enqueued, settings):
    settings.INTAKE_MAX_FRAMES = 2
    frames = [IncomingImage("frame", image_bytes(), i) for i in range(3)]
    with pytest.raises(CaseInputError) as info:
        services.case_create(kind="active", images=frames, face_parameters=["front"] * 3)
    assert info.value.code == "too_many_frames"


def test_active_frames_take_their_parameters_in_order(scripted, enqueued):
    frames = [IncomingImage("frame", image_bytes(100 + i, 100), i) for i in range(3)]
    case = services.case_create(kind="active", images=frames, face_parameters=["left", "right", "eyes closed"]).case
    assert list(case.evidence.order_by("index").values_list("index", "face_parameter")) == [
        (0, "left"),
        (1, "right"),
        (2, "eyes closed"),
    ]
    assert case.face_parameters == ["left", "right", "eyes closed"]


def test_id_cases_keep_country_and_card_code(scripted, enqueued):
    images = [IncomingImage("id_front", image_bytes()), IncomingImage("selfie", image_bytes(200, 200))]
    case = services.case_create(kind="id_document", images=images, country_code=" uto ", card_code="P").case
    assert (case.country_code, case.card_code) == ("UTO", "P")
    assert sorted(case.evidence.values_list("role", flat=True)) == ["id_front", "selfie"]


def test_unknown_or_unavailable_providers_are_refused(scripted, enqueued):
    with pytest.raises(CaseInputError) as info:
        services.case_create(kind="selfie", images=selfie(), providers=["nope"])
    assert info.value.code == "unknown_provider"


def test_a_kind_with_no_available_provider_is_refused(scripted, enqueued, settings):
    settings.LIVENESS_WORKFLOWS = {"selfie": []}
    with pytest.raises(CaseInputError) as info:
        services.case_create(kind="selfie", images=selfie())
    assert info.value.code == "no_provider"


def test_a_disabled_provider_is_left_out_of_the_workflow(scripted, enqueued, settings):
    settings.LIVENESS_WORKFLOWS = {"selfie": ["scripted", "local"]}
    setting = services.provider_setting_get("local")
    setting.enabled = False
    setting.save()
    case = services.case_create(kind="selfie", images=selfie()).case
    assert case.providers == ["scripted"]


def test_the_partner_workflow_overrides_the_default(scripted, enqueued, settings):
    settings.LIVENESS_WORKFLOWS = {"selfie": ["local"]}
    partner = PartnerFactory.create(workflow={"selfie": ["scripted"]})
    case = services.case_create(kind="selfie", images=selfie(), partner=partner).case
    assert case.providers == ["scripted"]


def test_an_idempotent_replay_returns_the_same_case(scripted, enqueued):
    partner = PartnerFactory.create()
    images = selfie()
    fingerprint = services.request_fingerprint({"kind": "selfie"}, images)
    first = services.case_create(
        kind="selfie", images=images, partner=partner, idempotency_key="k1", fingerprint=fingerprint
    )
    again = services.case_create(
        kind="selfie", images=images, partner=partner, idempotency_key="k1", fingerprint=fingerprint
    )
    assert again.case.pk == first.case.pk
    assert not again.created
    assert Case.objects.count() == 1
    assert Check.objects.count() == 1


def test_an_idempotency_key_reused_with_another_body_conflicts(scripted, enqueued):
    partner = PartnerFactory.create()
    services.case_create(kind="selfie", images=selfie(), partner=partner, idempotency_key="k1", fingerprint="a")
    with pytest.raises(IdempotencyConflict):
        services.case_create(kind="selfie", images=selfie(), partner=partner, idempotency_key="k1", fingerprint="b")


def test_idempotency_keys_are_scoped_per_partner(scripted, enqueued):
    one, two = PartnerFactory.create(), PartnerFactory.create()
    a = services.case_create(kind="selfie", images=selfie(), partner=one, idempotency_key="k", fingerprint="f")
    b = services.case_create(kind="selfie", images=selfie(), partner=two, idempotency_key="k", fingerprint="f")
    assert a.case.pk != b.case.pk


def test_a_lost_idempotency_race_returns_the_winner_and_cleans_up(scripted, enqueued):
    partner = PartnerFactory.create()
    winner = services.case_create(
        kind="selfie", images=selfie(), partner=partner, idempotency_key="race", fingerprint="f"
    ).case
    files_before = set(stored_files())
    # Simulate the race: the pre-check saw no case, the insert then hits the unique constraint.
    with mock.patch("liveness.services.idempotency.Submission.replayed_case", side_effect=[None, winner]):
        result = services.case_create(
            kind="selfie", images=selfie(), partner=partner, idempotency_key="race", fingerprint="f"
        )
    assert result.case.pk == winner.pk
    assert not result.created
    assert set(stored_files()) == files_before


def test_the_unique_constraint_backs_idempotency(scripted, enqueued):
    partner = PartnerFactory.create()
    Case.objects.create(kind="selfie", partner=partner, idempotency_key="dup")
    with pytest.raises(IntegrityError):
        Case.objects.create(kind="selfie", partner=partner, idempotency_key="dup")


@pytest.mark.parametrize(
    ("kind", "images", "extra", "field"),
    [
        ("selfie", "selfie", {"face_parameters": ["left"]}, "face_parameters"),
        ("selfie", "selfie", {"success_threshold": 1}, "success_threshold"),
        ("selfie", "selfie", {"country_code": "UTO"}, "country_code"),
        ("active", "frame", {"face_parameters": ["left"], "card_code": "P"}, "card_code"),
    ],
)
def test_fields_of_another_kind_are_refused_not_ignored(scripted, enqueued, kind, images, extra, field):
    with pytest.raises(CaseInputError) as info:
        services.case_create(kind=kind, images=[IncomingImage(images, image_bytes())], **extra)
    assert (info.value.field, info.value.code) == (field, "not_allowed")
    assert Case.objects.count() == 0
