"""services.idempotency: the Submission value object (key format, fingerprint, replay/conflict) and expiry,
without the API around it. The API's own behaviour is in test_api_idempotency.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from liveness.models import Case
from liveness.services import IncomingImage
from liveness.services.idempotency import (
    FINGERPRINT_FIELDS,
    IdempotencyConflict,
    InvalidIdempotencyKey,
    Submission,
    idempotency_keys_expire,
)
from tests.factories import CaseFactory, PartnerFactory

FIELDS = dict.fromkeys(FINGERPRINT_FIELDS, "") | {"kind": "selfie", "providers": [], "face_parameters": []}


def selfie(data: bytes = b"jpeg-bytes") -> list[IncomingImage]:
    return [IncomingImage(role="selfie", data=data)]


def test_the_same_request_has_the_same_fingerprint_and_any_listed_field_changes_it():
    base = Submission.of(key="k", fields=FIELDS, images=selfie())
    assert Submission.of(key="k", fields=dict(FIELDS), images=selfie()) == base
    assert len(base.fingerprint) == 64
    for name in FINGERPRINT_FIELDS:
        changed = Submission.of(key="k", fields={**FIELDS, name: "other"}, images=selfie())
        assert changed.fingerprint != base.fingerprint, name


def test_fields_outside_the_list_do_not_count_and_a_missing_listed_field_is_an_error():
    base = Submission.of(key="k", fields=FIELDS, images=selfie())
    # e.g. the image fields themselves: they count through their bytes, not as request fields
    assert Submission.of(key="k", fields={**FIELDS, "selfie": "whatever"}, images=selfie()) == base
    without_kind = {name: value for name, value in FIELDS.items() if name != "kind"}
    with pytest.raises(KeyError):
        Submission.of(key="k", fields=without_kind, images=selfie())


@pytest.mark.parametrize(
    "other",
    [
        selfie(b"other-bytes"),
        [IncomingImage(role="id_front", data=b"jpeg-bytes")],
        [IncomingImage(role="selfie", data=b"jpeg-bytes", index=1)],
        [IncomingImage(role="selfie", data=b"jpeg-bytes", face_parameter="left")],
        selfie() + selfie(),
    ],
    ids=["bytes", "role", "index", "face_parameter", "count"],
)
def test_the_images_bytes_role_position_and_parameter_count(other):
    assert (
        Submission.of(key="k", fields=FIELDS, images=other).fingerprint
        != Submission.of(key="k", fields=FIELDS, images=selfie()).fingerprint
    )


@pytest.mark.parametrize("key", ["x" * 201, "has space", "naïve", "tab\there"])
def test_a_malformed_key_is_refused_naming_the_header(key):
    with pytest.raises(InvalidIdempotencyKey) as info:
        Submission.of(key=key, fields=FIELDS, images=selfie())
    assert (info.value.code, info.value.field) == ("invalid_idempotency_key", "Idempotency-Key")


@pytest.mark.parametrize("key", ["", "x" * 200, "order-42", "3f2b1c9e-0000-4000-8000-000000000000"])
def test_well_formed_keys_and_no_key_are_accepted(key):
    assert Submission.of(key=key, fields=FIELDS, images=selfie()).key == key


@pytest.mark.django_db
def test_replayed_case_is_none_for_no_key_or_an_unused_key():
    partner = PartnerFactory.create()
    CaseFactory.create(partner=partner, idempotency_key="used", request_fingerprint="f")
    assert Submission("", "f").replayed_case(partner) is None
    assert Submission("unused", "f").replayed_case(partner) is None


@pytest.mark.django_db
def test_replayed_case_answers_the_same_request_and_refuses_another():
    partner = PartnerFactory.create()
    case = CaseFactory.create(partner=partner, idempotency_key="k", request_fingerprint="f")
    assert Submission("k", "f").replayed_case(partner) == case
    with pytest.raises(IdempotencyConflict) as info:
        Submission("k", "g").replayed_case(partner)
    assert info.value.case == case
    assert (info.value.code, info.value.field) == ("idempotency_conflict", "Idempotency-Key")


@pytest.mark.django_db
def test_keys_belong_to_one_partner():
    mine, theirs = PartnerFactory.create(), PartnerFactory.create()
    CaseFactory.create(partner=mine, idempotency_key="k", request_fingerprint="f")
    assert Submission("k", "g").replayed_case(theirs) is None  # no conflict across partners


@pytest.mark.django_db
def test_expiry_clears_only_keys_past_the_retention_and_frees_them(settings):
    settings.IDEMPOTENCY_KEY_RETENTION_HOURS = 24
    partner = PartnerFactory.create()
    old = CaseFactory.create(partner=partner, idempotency_key="old", request_fingerprint="f")
    fresh = CaseFactory.create(partner=partner, idempotency_key="fresh", request_fingerprint="f")
    Case.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))

    assert idempotency_keys_expire() == 1
    assert idempotency_keys_expire() == 0

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.idempotency_key, old.request_fingerprint) == ("", "")
    assert (fresh.idempotency_key, fresh.request_fingerprint) == ("fresh", "f")
    assert Submission("old", "other").replayed_case(partner) is None  # the key may make a new case
    assert Submission("fresh", "f").replayed_case(partner) == fresh
