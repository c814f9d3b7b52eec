"""Concurrent duplicate submits on PostgreSQL: real threads, real connections, no ordering forced.

Six requests with the same Idempotency-Key and body are released together against the partner API;
exactly one case (with one check and one stored image) must exist, and every answer must name it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Stack, base_env, postgres_database, require_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

RACE = r"""
import base64, io, json, threading
from PIL import Image
from django.test import Client
from liveness.models import Partner
from liveness.services.api_keys import api_key_create

partner = Partner.objects.create(name="Racer", slug="racer")
secret = api_key_create(name="race", partner=partner).secret
out = io.BytesIO()
Image.new("RGB", (320, 320), (90, 120, 150)).save(out, format="JPEG")
body = {"kind": "selfie", "selfie": base64.b64encode(out.getvalue()).decode(), "external_ref": "race"}
# Warm-up: first-use writes (the key's last use, provider settings) happen before the race.
Client().get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Bearer {secret}")

N = 6
gate = threading.Barrier(N)
answers = [None] * N

def submit(i):
    from django.db import connection
    client = Client()
    gate.wait()
    try:
        r = client.post("/api/v1/cases/", body, content_type="application/json",
                        HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_IDEMPOTENCY_KEY="same-key-1")
        answers[i] = [r.status_code, r.json().get("id") or r.json().get("case_id") or r.json()]
    finally:
        connection.close()

threads = [threading.Thread(target=submit, args=(i,)) for i in range(N)]
for t in threads: t.start()
for t in threads: t.join()
print("RESULT " + json.dumps(answers))
"""


@pytest.fixture
def pg_stack(tmp_path: Path) -> Iterator[Stack]:
    require_server("PostgreSQL", 5432)
    with postgres_database() as db_url:
        env = base_env(tmp_path, database_url=db_url, broker_url="memory://")
        env["ALLOWED_HOSTS"] = "testserver,localhost"
        stack = Stack(env=env, db_kind="postgres", db_target=db_url)
        stack.manage("migrate", "--noinput", "-v", "0", "--skip-checks")
        yield stack


def test_concurrent_duplicate_submits_make_exactly_one_case(pg_stack: Stack) -> None:
    out = pg_stack.manage("shell", "-c", RACE)
    answers = json.loads(out.split("RESULT ", 1)[1])
    assert [a[0] for a in answers] == [202] * len(answers), answers
    ids = {a[1] for a in answers}
    assert len(ids) == 1, answers  # every answer names the same case
    assert pg_stack.query("SELECT COUNT(*) FROM liveness_case")[0][0] == 1
    assert pg_stack.query("SELECT COUNT(*) FROM liveness_check")[0][0] == 1
    assert pg_stack.query("SELECT COUNT(*) FROM liveness_evidence")[0][0] == 1
    stored = list((Path(pg_stack.env["KYC_VAR_DIR"]) / "evidence").rglob("*.bin"))
    assert len(stored) == 1  # the losers' images were removed again
