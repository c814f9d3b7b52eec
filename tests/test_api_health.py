"""Health: readiness (200 when every dependency answers, 503 naming the one that does not; throttled per
client IP) and liveness (200 whenever the process answers, touching nothing)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import OperationalError

from kyc_portal.celery import app as celery_app
from liveness.api import health
from liveness.engine import models as engine_models
from tests.api_helpers import PROBLEM, client_for

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


# --- liveness: /api/v1/health/live ------------------------------------------------------------------

LIVE_URL = "/api/v1/health/live"


def test_the_liveness_probe_answers_200_without_touching_any_dependency(monkeypatch, django_assert_num_queries):
    touched: list[str] = []

    def recorder(name: str):
        def touch(*args, **kwargs):
            touched.append(name)
            raise RuntimeError(f"{name} is down")

        return touch

    for name in list(health.PROBES):
        monkeypatch.setitem(health.PROBES, name, recorder(name))
    for method in ("get", "add", "set"):  # nor the cache, where throttle counters live
        monkeypatch.setattr(cache, method, recorder(f"cache.{method}"))

    with django_assert_num_queries(0):
        response = client_for().get(LIVE_URL)

    assert touched == []
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_the_liveness_probe_stays_200_while_readiness_is_503(monkeypatch, settings):
    settings.EVIDENCE_ENCRYPTION_KEYS = []
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    assert get_health()[0] == 503
    assert client_for().get(LIVE_URL).status_code == 200


def test_the_liveness_probe_is_never_throttled(settings):
    throttle_health(settings, "1/minute")
    client = client_for()
    assert {client.get(LIVE_URL).status_code for _ in range(5)} == {200}


# --- throttling of the full check -----------------------------------------------------------------


def throttle_health(settings, rate: str, **extra) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "health": rate},
        **extra,
    }


@pytest.fixture
def cheap_probes(monkeypatch):
    monkeypatch.setattr(health, "PROBES", {"database": health.probe_database})


def test_the_full_check_is_throttled_per_client_ip_with_retry_after(settings, cheap_probes):
    throttle_health(settings, "2/minute")
    client = client_for()
    assert [client.get(URL, REMOTE_ADDR="198.51.100.7").status_code for _ in range(2)] == [200, 200]

    response = client.get(URL, REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 429
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    assert client.get(URL, REMOTE_ADDR="198.51.100.8").status_code == 200  # another address, its own bucket


def test_a_forged_x_forwarded_for_does_not_buy_a_fresh_bucket(settings, cheap_probes):
    throttle_health(settings, "2/minute")  # NUM_PROXIES 0: the header is ignored
    client = client_for()
    statuses = [
        client.get(URL, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code for i in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_behind_a_proxy_the_forwarded_client_address_is_counted(settings, cheap_probes):
    throttle_health(settings, "1/minute", NUM_PROXIES=1)
    client = client_for()
    proxy = "10.0.0.2"
    assert client.get(URL, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
    assert client.get(URL, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 429
    # The load balancer probing the instance directly (no header) is not starved by that client.
    assert client.get(URL, REMOTE_ADDR=proxy).status_code == 200
    # Only the entry our proxy appended counts: whatever the client put before it is ignored.
    spoofed = client.get(URL, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.1")
    assert spoofed.status_code == 429


def test_the_default_rate_is_generous_enough_for_a_load_balancer(cheap_probes):
    client = client_for()
    statuses = [client.get(URL).status_code for _ in range(61)]
    assert statuses == [200] * 60 + [429]
