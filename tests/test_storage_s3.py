"""Evidence in an S3-compatible object store (EVIDENCE_STORAGE=s3), against moto's S3 server on this machine.

Retention, purge and key rotation run on both stores in test_storage_and_retention.py; these are what only
an object store needs shown: only ciphertext reaches the bucket, a shared bucket's prefix is kept, an
unreachable store is an outage (503, nothing half-written), and the environment alone configures it.
"""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from storages.backends.s3 import S3Storage

from liveness import services, storage
from liveness.models import Case, Evidence
from liveness.storage import StorageUnavailable
from tests.api_helpers import CASES_URL, client_for, make_partner, partner_key, submission
from tests.helpers import image_bytes
from tests.storage_support import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    S3Evidence,
    manage_py,
    point_evidence_at,
    s3_client,
    use_s3_evidence,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("liveness.tasks.run_check.apply_async"):
        yield


def test_only_ciphertext_reaches_the_bucket(scripted, s3_evidence: S3Evidence):
    assert isinstance(storage.evidence_storage(), S3Storage)
    raw_image = image_bytes()
    case = services.case_create(kind="selfie", images=[services.IncomingImage("selfie", raw_image)]).case
    evidence = case.evidence.get()

    assert s3_evidence.object_names() == [evidence.storage_key]
    in_bucket = s3_evidence.raw(evidence.storage_key)
    plain = storage.get(evidence.storage_key)
    assert plain[:2] == b"\xff\xd8"  # the stored image is a JPEG ...
    assert plain not in in_bucket  # ... and the bucket holds none of it
    assert in_bucket[:2] != b"\xff\xd8"
    assert storage.fernet().decrypt(in_bucket) == plain  # a Fernet token of exactly those bytes


def test_a_shared_buckets_prefix_holds_every_object(settings, s3_server):
    store = use_s3_evidence(settings, s3_server, prefix="kyc/evidence")
    key = storage.put(b"some image bytes", prefix="2026/11/28")

    assert key.startswith("2026/11/28/")  # the database keeps names relative to the store
    assert store.object_names() == [f"kyc/evidence/{key}"]
    assert storage.get(key) == b"some image bytes"
    storage.delete(key)
    assert store.object_names() == []


def test_a_missing_object_is_unavailable_evidence_not_an_outage(s3_evidence):
    with pytest.raises(storage.EvidenceUnavailable, match="not in storage"):
        storage.get("2026/01/01/0123456789abcdef0123456789abcdef.bin")
    storage.delete("2026/01/01/0123456789abcdef0123456789abcdef.bin")  # deleting what is gone is fine


def _unreachable_store(settings) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    point_evidence_at(settings, f"http://127.0.0.1:{port}", "evidence", timeout=1.0)


def test_an_unreachable_store_is_an_outage(settings):
    _unreachable_store(settings)
    with pytest.raises(StorageUnavailable):
        storage.put(b"x", prefix="p")
    with pytest.raises(StorageUnavailable):
        storage.get("p/0123.bin")


def test_a_bucket_that_is_not_there_is_an_outage_on_write(settings, s3_evidence):
    s3_evidence.client.delete_bucket(Bucket=s3_evidence.bucket)
    with pytest.raises(StorageUnavailable):
        storage.put(b"x", prefix="p")


def test_an_unreachable_store_at_intake_is_a_503_and_writes_nothing(scripted, settings):
    _unreachable_store(settings)
    client = client_for(partner_key(make_partner(slug="acme")))
    response = client.post(CASES_URL, *submission("selfie", "json"))
    assert response.status_code == 503
    assert "evidence store" in response.json()["detail"]
    assert (Case.objects.count(), Evidence.objects.count()) == (0, 0)


def test_the_health_probe_writes_reads_and_removes_an_object(s3_evidence):
    response = client_for().get("/api/v1/health")
    assert response.json()["checks"]["storage"]["status"] == "ok", response.json()
    assert s3_evidence.object_names() == []


def test_the_environment_alone_configures_the_s3_store(s3_server, tmp_path):
    """A separate process with EVIDENCE_STORAGE=s3 and the EVIDENCE_S3_* variables stores and reads evidence
    in the bucket, encrypted with its key."""
    bucket = "env-configured"
    client = s3_client(s3_server)
    client.create_bucket(Bucket=bucket)
    key = Fernet.generate_key().decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EVIDENCE_", "AWS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="kyc_portal.settings.dev",
        KYC_VAR_DIR=str(tmp_path),
        EVIDENCE_ENCRYPTION_KEYS=key,
        EVIDENCE_STORAGE="s3",
        EVIDENCE_S3_BUCKET=bucket,
        EVIDENCE_S3_ENDPOINT_URL=s3_server,
        EVIDENCE_S3_REGION=REGION,
        EVIDENCE_S3_ACCESS_KEY_ID=ACCESS_KEY,
        EVIDENCE_S3_SECRET_ACCESS_KEY=SECRET_KEY,
        EVIDENCE_S3_PREFIX="kyc",
        EVIDENCE_S3_ADDRESSING_STYLE="path",
    )
    code = (
        "from liveness import storage; "
        "name = storage.put(b'plain evidence', prefix='2026/11/28'); "
        "print(type(storage.evidence_storage()).__name__, name, storage.get(name) == b'plain evidence')"
    )
    result = manage_py("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    backend, name, round_trip = result.stdout.split()[-3:]
    assert (backend, round_trip) == ("S3Storage", "True")
    [stored] = [item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert stored == f"kyc/{name}"
    token = client.get_object(Bucket=bucket, Key=stored)["Body"].read()
    assert b"plain evidence" not in token
    assert Fernet(key.encode()).decrypt(token) == b"plain evidence"
