"""The outbound seam's keep-alive pool: connections to a host are reused, bounded, and shared by threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from liveness import outbound
from liveness.outbound import BlockedAddress, OutboundRequest


class CountingServer(ThreadingHTTPServer):
    """An HTTP/1.1 keep-alive server that counts the TCP connections it accepted and the most open at once."""

    daemon_threads = True

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay = delay
        self.lock = threading.Lock()
        self.accepted = 0
        self.open = 0
        self.most_open = 0

    def process_request_thread(self, request, client_address):
        with self.lock:
            self.accepted += 1
            self.open += 1
            self.most_open = max(self.most_open, self.open)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.lock:
                self.open -= 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def do_GET(self) -> None:
        time.sleep(self.server.delay)  # type: ignore[attr-defined]
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[CountingServer]:
    outbound.reset_pools()
    srv = CountingServer(delay=getattr(request, "param", 0.0))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    outbound.reset_pools()  # closes the kept-alive connections, so the server threads end
    srv.shutdown()
    srv.server_close()


def url(srv: CountingServer) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/"


def test_calls_to_one_host_reuse_one_kept_alive_connection(server):
    for _ in range(5):
        response = outbound.send(OutboundRequest("GET", url(server)), timeout=5)
        assert response.status_code == 200
        assert response.body == b"ok"
    assert server.accepted == 1


@pytest.mark.parametrize("server", [0.2], indirect=True)
def test_the_pool_per_host_is_bounded_and_shared_by_threads(server, settings):
    settings.OUTBOUND_POOL_PER_HOST = 2
    outbound.reset_pools()
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda _: outbound.send(OutboundRequest("GET", url(server)), timeout=5), range(6)))
    assert [r.status_code for r in statuses] == [200] * 6
    # Six threads, at most two connections: the others waited for one to come back to the pool.
    assert server.most_open <= 2
    assert server.accepted == 2


def test_every_new_pooled_connection_still_passes_the_address_guard(server):
    # The pooled public-only session refuses the loopback server every time (no connection is kept to retry).
    for _ in range(2):
        with pytest.raises(BlockedAddress):
            outbound.send(OutboundRequest("GET", url(server)), timeout=5, public_only=True)
    # The same host without the guard is reachable: what refused it was the guard, not the server.
    assert outbound.send(OutboundRequest("GET", url(server)), timeout=5).status_code == 200


class _RecordingHandler(_Handler):
    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        super().do_GET()


def test_the_environments_proxy_settings_still_apply_though_read_once_per_host(monkeypatch):
    """HTTP_PROXY sends a call through the proxy (absolute URL in the request line), NO_PROXY exempts a host;
    the sessions read them once per host instead of requests scanning os.environ on every call."""
    servers = []
    for _ in range(2):
        srv = CountingServer()
        srv.RequestHandlerClass = _RecordingHandler
        srv.paths = []  # type: ignore[attr-defined]
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    proxy, direct = servers
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    outbound.reset_pools()
    try:
        via_proxy = outbound.send(OutboundRequest("GET", "http://vendor.example/v1/check"), timeout=5)
        straight = outbound.send(OutboundRequest("GET", f"http://127.0.0.1:{direct.server_port}/ping"), timeout=5)
    finally:
        outbound.reset_pools()
        for srv in servers:
            srv.shutdown()
            srv.server_close()
    assert (via_proxy.status_code, straight.status_code) == (200, 200)
    assert proxy.paths == ["http://vendor.example/v1/check"]  # type: ignore[attr-defined]
    assert direct.paths == ["/ping"]  # type: ignore[attr-defined]


def test_the_environment_is_read_once_per_host_not_on_every_call(server, monkeypatch):
    import requests.utils

    reads = []
    real = requests.utils.get_environ_proxies

    def counted(*args, **kwargs):
        reads.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(requests.utils, "get_environ_proxies", counted)
    for _ in range(3):
        assert (
            outbound.send(OutboundRequest("GET", f"http://127.0.0.1:{server.server_port}/"), timeout=5).status_code
            == 200
        )
    assert len(reads) == 1
