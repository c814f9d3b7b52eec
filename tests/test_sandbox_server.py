"""The development server used by ``dev.py start`` (``manage.py runserver_sandbox``) lets exactly the
documented vendor headers with underscores through, and only to the simulators."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import requests
from django.core.servers.basehttp import WSGIRequestHandler

from liveness.management.commands.runserver_sandbox import Command
from liveness.sandbox.server import UNDERSCORE_HEADERS_KEY, VendorHeaderWSGIServer


def echo_app(environ, start_response):
    """Answers with what the WSGI environ holds: the kept underscore headers and every HTTP_* key."""
    body = json.dumps(
        {"kept": environ.get(UNDERSCORE_HEADERS_KEY), "http": sorted(k for k in environ if k.startswith("HTTP_"))}
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def server() -> Iterator[str]:
    httpd = VendorHeaderWSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    httpd.set_app(echo_app)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_runserver_sandbox_is_runserver_with_the_vendor_header_server():
    assert Command.server_cls is VendorHeaderWSGIServer
    assert "vendor sandbox" in Command.help


def test_kairos_headers_reach_sandbox_paths_only_and_never_as_http_keys(server):
    headers = {"app_id": "a", "app_key": "b", "x_forwarded_for": "10.1.1.1"}
    # The server is built with Django's plain handler class (as runserver's run() does) and uses ours anyway.
    sandbox = requests.get(f"{server}/sandbox/kairos/v0.2/liveness-verification", headers=headers, timeout=10).json()
    elsewhere = requests.get(f"{server}/api/v1/cases", headers=headers, timeout=10).json()
    assert sandbox["kept"] == {"app_id": "a", "app_key": "b"}
    assert elsewhere["kept"] == {}
    for seen in (sandbox, elsewhere):
        # Django's rule still holds for HTTP_*: no underscore header becomes an ambiguous environ key.
        assert not {"HTTP_APP_ID", "HTTP_APP_KEY", "HTTP_X_FORWARDED_FOR"} & set(seen["http"])
