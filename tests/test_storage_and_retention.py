"""Encryption at rest, key rotation, and purging images after the retention period, on both evidence stores."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.utils import timezone

from liveness import enqueue, services, storage
from liveness.models import AuditEvent, CaseStatus, Evidence
from liveness.services.retention import evidence_purge_expired
from liveness.storage import EvidenceUnavailable
from tests.helpers import enqueued, image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=["file", "s3"])
def evidence_backend(request):
    """Every test here runs against the local file store and against an S3 bucket on a local moto server."""
    if request.param == "s3":
        request.getfixturevalue("s3_evidence")
    return request.param


@pytest.fixture(autouse=True)
def no_broker():
    with enqueued(enqueue.RUN_CHECK):
        yield


def new_evidence(scripted) -> Evidence:
    case = services.case_create(kind="selfie", images=[services.IncomingImage("selfie", image_bytes())]).case
    return case.evidence.get()


def test_an_unknown_key_cannot_read_the_evidence(scripted, settings):
    evidence = new_evidence(scripted)
    settings.EVIDENCE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(EvidenceUnavailable, match="cannot be decrypted"):
        storage.get(evidence.storage_key)


def test_rotation_reencrypts_with_the_newest_key_and_removes_the_old_copy(scripted, settings, capsys):
    old_key = settings.EVIDENCE_ENCRYPTION_KEYS[0]
    evidence = new_evidence(scripted)
    plain = storage.get(evidence.storage_key)
    old_name = evidence.storage_key
    new_key = Fernet.generate_key().decode()
    settings.EVIDENCE_ENCRYPTION_KEYS = [new_key, old_key]
    assert not storage.is_current(old_name)
    call_command("rotate_evidence_key")
    evidence.refresh_from_db()
    assert evidence.storage_key != old_name
    assert not storage.evidence_storage().exists(old_name)
    settings.EVIDENCE_ENCRYPTION_KEYS = [new_key]  # the old key can now be dropped
    assert storage.get(evidence.storage_key) == plain
    call_command("rotate_evidence_key")
    assert "re-encrypted 0 images; 1 were already on the newest key" in capsys.readouterr().out


def test_expired_evidence_of_closed_cases_is_purged_and_audited(scripted):
    evidence = new_evidence(scripted)
    evidence.case.__class__.objects.filter(pk=evidence.case_id).update(status=CaseStatus.DECIDED)
    Evidence.objects.filter(pk=evidence.pk).update(purge_after=timezone.now() - timedelta(seconds=1))
    assert evidence_purge_expired() == 1
    evidence.refresh_from_db()
    assert evidence.is_purged
    assert not storage.evidence_storage().exists(evidence.storage_key)
    assert AuditEvent.objects.filter(case=evidence.case, action="evidence.purged").count() == 1
    assert evidence_purge_expired() == 0  # idempotent


def test_evidence_of_open_cases_and_unexpired_evidence_is_kept(scripted):
    in_review = new_evidence(scripted)
    in_review.case.__class__.objects.filter(pk=in_review.case_id).update(status=CaseStatus.NEEDS_REVIEW)
    Evidence.objects.filter(pk=in_review.pk).update(purge_after=timezone.now() - timedelta(seconds=1))
    fresh = new_evidence(scripted)
    fresh.case.__class__.objects.filter(pk=fresh.case_id).update(status=CaseStatus.DECIDED)
    assert evidence_purge_expired() == 0
    assert storage.evidence_storage().exists(in_review.storage_key)
    assert storage.evidence_storage().exists(fresh.storage_key)


def test_the_audit_trail_takes_only_the_listed_actions(settings):
    import re
    from pathlib import Path

    from liveness.models import AuditAction
    from liveness.services.audit import audit_record

    with pytest.raises(ValueError, match="unknown audit action"):
        audit_record(action="case.decidde")
    # Every action written as a literal in the code is on the list (dynamic ones are covered by their tests).
    source = Path(settings.BASE_DIR) / "liveness"
    written = {
        match
        for path in source.rglob("*.py")
        for match in re.findall(
            r'action="([a-z_]+\.[a-z_.]+)"(?: if .*? else "([a-z_]+\.[a-z_.]+)")?', path.read_text()
        )
        for match in match
        if match
    }
    assert written <= set(AuditAction.values), written - set(AuditAction.values)
