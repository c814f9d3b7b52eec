"""What the fault suite puts around the portal: a TCP proxy it can cut, and a webhook receiver it can stop.

Standard library only (threads), so the suite needs nothing beyond the portal's own requirements.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream (PostgreSQL). ``cut()`` drops every open connection and
    refuses new ones (a network partition as the client sees it); ``restore()`` lets them through again."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._cut = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stopped = False
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                _close(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, server))
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                _close(sock)
                with self._lock:
                    self._open.discard(sock)

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            sockets = list(self._open)
            self._open.clear()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        self._cut.clear()

    def stop(self) -> None:
        self._stopped = True
        self.cut()
        _close(self._listener)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@dataclass
class Delivery:
    event_id: str
    event: str
    case_id: str
    verdict: str | None
    received_at: float


@dataclass
class WebhookReceiver:
    """Answers 200 to every POST and records it (event id, type, case, verdict, time). ``stop()`` closes the
    port (connections are refused: "receiver down"); ``start()`` opens it again on the same port."""

    port: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body: Any = json.loads(self.rfile.read(length) or b"{}")
                case = (body.get("data") or {}).get("case") or {}
                with receiver._lock:
                    receiver.deliveries.append(Delivery(
                        event_id=self.headers.get("Kyc-Event-Id", ""), event=body.get("type", ""),
                        case_id=str(case.get("id", "")), verdict=case.get("verdict"), received_at=time.monotonic(),
                    ))  # fmt: skip
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        for _ in range(50):  # the port may linger for a moment after a stop
            try:
                self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"cannot listen on 127.0.0.1:{self.port}")
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def for_case(self, case_id: str, event: str = "case.decided") -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.case_id == case_id and d.event == event]
