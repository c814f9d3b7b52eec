"""The health endpoint: 200 when every dependency answers, 503 naming the one that does not."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from kyc_portal.celery import app as celery_app
from liveness.api import health
from liveness.engine import models as engine_models
from tests.api_helpers import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/health"


def get_health():
    response = client_for().get(URL)
    assert response["Cache-Control"] == "no-store"
    return response.status_code, response.json()


def test_everything_up_is_200_without_credentials():
    status, body = get_health()
    assert status == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "cache", "storage", "engine"}
    assert all(c["status"] == "ok" and c["latency_ms"] >= 0 for c in body["checks"].values())


def test_broken_engine_models_are_503(settings, tmp_path):
    settings.LOCAL_ENGINE_DLIB_MODEL_DIR = str(tmp_path)  # no model files there
    engine_models.reset_models()
    try:
        status, body = get_health()
    finally:
        engine_models.reset_models()
    assert status == 503
    assert body["status"] == "error"
    assert body["checks"]["engine"] == {
        "status": "error",
        "latency_ms": body["checks"]["engine"]["latency_ms"],
        "error": "EngineConfigurationError",
    }
    assert str(tmp_path) not in str(body)  # paths stay in the log
    assert body["checks"]["database"]["status"] == "ok"


def test_an_unreachable_broker_is_503_and_its_password_is_never_shown(monkeypatch, caplog):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://kyc:hunter2@127.0.0.1:1/0")
    status, body = get_health()
    assert status == 503
    assert body["checks"]["broker"]["status"] == "error"
    assert "hunter2" not in str(body)
    assert "hunter2" not in caplog.text


def test_evidence_storage_without_encryption_keys_is_503(settings):
    settings.EVIDENCE_ENCRYPTION_KEYS = []
    status, body = get_health()
    assert status == 503
    assert body["checks"]["storage"]["status"] == "error"


def test_a_database_failure_is_503(monkeypatch):
    class DeadConnection:
        def cursor(self):
            raise OperationalError("could not connect to server")

    monkeypatch.setattr(health, "connection", DeadConnection())
    status, body = get_health()
    assert status == 503
    assert body["checks"]["database"]["error"] == "OperationalError"


def test_the_health_probe_leaves_no_file_in_evidence_storage():
    from liveness import storage

    get_health()
    root = storage.evidence_storage()
    assert not root.exists("health") or root.listdir("health") == ([], [])
