"""Secrets and images never reach the logs, nor what is stored and shown from vendor answers.

Runs real vendor calls over HTTP to the simulators (success and every kind of failure) and a partner
API submission with DEBUG logging on for every logger, then searches everything logged and stored.
"""

from __future__ import annotations

import base64
import json
import logging

import pytest
from django.test import Client

from liveness import services
from liveness.models import Check, Partner
from liveness.services.api_keys import api_key_create
from tests.helpers import LIVE_SAMPLE
from tests.helpers import testdata_bytes as shared_bytes

pytestmark = pytest.mark.django_db(transaction=True)

SECRETS = ("test-accura-api-key", "test-kairos-app-id", "test-kairos-app-key", "test-riset-access-token")


def image_fingerprints(data: bytes) -> list[str]:
    """Pieces that would show up if image bytes were logged, raw or base64-encoded."""
    encoded = base64.b64encode(data).decode()
    return [encoded[:24], encoded[len(encoded) // 2 : len(encoded) // 2 + 24], repr(data[100:116])[2:-1]]


@pytest.mark.parametrize("fault", ["", "5xx", "403", "malformed", "content-type", "429"])
def test_vendor_calls_log_and_store_no_secret_and_no_image(sandbox, no_broker, settings, caplog, fault):
    caplog.set_level(logging.DEBUG)
    settings.LIVENESS_WORKFLOWS = {"selfie": ["accura_face", "kairos", "riset"], "id_document": ["accura_id"]}
    settings.SANDBOX_FAULTS = {"accura": fault, "kairos": fault, "riset": fault} if fault else {}
    data = shared_bytes(LIVE_SAMPLE)
    selfie = services.case_create(kind="selfie", images=[services.IncomingImage("selfie", data)]).case
    id_case = services.case_create(
        kind="id_document", images=[services.IncomingImage("id_front", data)], country_code="UTO", card_code="P"
    ).case
    for check in Check.objects.filter(case__in=[selfie, id_case]):
        services.check_execute(check_id=check.pk)
    stored = json.dumps(
        list(Check.objects.values("raw_response", "error_message", "details", "vendor_label", "reason")), default=str
    )
    assert caplog.records, "expected the calls to log something"
    for secret in SECRETS:
        assert secret not in caplog.text
        assert secret not in stored
    for piece in image_fingerprints(data):
        assert piece not in caplog.text


def test_api_submissions_log_no_api_key_and_no_image(scripted, no_broker, settings, caplog):
    caplog.set_level(logging.DEBUG)
    partner = Partner.objects.create(name="Quiet Bank", slug="quiet-bank", webhook_secret="whsec-never-logged")
    secret = api_key_create(name="k", partner=partner).secret
    data = shared_bytes(LIVE_SAMPLE)
    client = Client()
    ok = client.post(
        "/api/v1/cases/",
        {"kind": "selfie", "selfie": base64.b64encode(data).decode()},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert ok.status_code == 202
    bad = client.post("/api/v1/cases/", {"kind": "selfie"}, content_type="application/json",
                      HTTP_AUTHORIZATION=f"Bearer {secret}x")  # fmt: skip
    assert bad.status_code == 401
    assert secret not in caplog.text
    assert secret not in bad.content.decode()
    assert "whsec-never-logged" not in caplog.text
    for piece in image_fingerprints(data):
        assert piece not in caplog.text


def test_outbound_calls_log_only_scheme_and_host(caplog):
    """A webhook URL may carry a token in its path or query: neither reaches the log."""
    import http.server
    import threading

    from liveness.providers.http import OutboundRequest, send

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        caplog.set_level(logging.DEBUG)
        url = f"http://127.0.0.1:{server.server_port}/hooks/tok-path-secret?sig=tok-query-secret"
        response = send(OutboundRequest("POST", url, data=b"{}"), timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 204
    assert f"127.0.0.1:{server.server_port}" in caplog.text
    assert "tok-path-secret" not in caplog.text
    assert "tok-query-secret" not in caplog.text
