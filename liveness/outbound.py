"""The one outbound HTTP seam of the portal: vendor calls and webhook deliveries, always with a timeout.

It knows nothing of providers or webhooks: failures are its own transport errors (:class:`OutboundTimeout`,
:class:`OutboundConnectionError`, :class:`BlockedAddress`), which each caller translates (a vendor call into
a retryable provider error, a webhook attempt into a recorded failure).

**Address guard.** ``send(..., public_only=True)`` refuses to talk to anything but a public address, checked on
the connection actually opened (the socket's peer), not on an earlier DNS answer: a name that resolves to a
public address when the URL is checked and to 127.0.0.1 when the request is made (DNS rebinding) is refused at
connect time, before a byte of the request is sent. (As healthchecks' ``hc/lib/curl.py`` does with libcurl's
open-socket callback.) Behind an outbound HTTP proxy the peer is the proxy; the guard then checks the proxy.

**Connection pool.** One session per kind of send and per process, with one keep-alive pool per host: a vendor
call reuses an idle connection to the same host instead of paying a TCP (and TLS) handshake each time, which
matters at volume. Each host's pool is bounded (``OUTBOUND_POOL_PER_HOST`` connections, ``pool_block``: a
thread that finds them all busy waits for one instead of opening more), and at most ``OUTBOUND_POOL_HOSTS``
hosts keep a pool (least recently used dropped). urllib3's pools are thread-safe: the I/O queue's thread pool
shares them. The address guard runs in ``_new_conn``, so it applies to every connection the pool opens; a
reused connection is one that already passed it.

**The environment, read once.** requests reads the proxy variables (``HTTPS_PROXY``, ``NO_PROXY``...) and the CA
bundle (``REQUESTS_CA_BUNDLE``) from ``os.environ`` on every request, scanning every variable twice: a tenth of
a vendor check's CPU in the I/O worker (bench.load). The sessions here read them once per process (the proxies
once per host) with requests' own functions, so they mean the same; ``~/.netrc`` is not consulted (vendor
credentials come from the settings).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

logger = logging.getLogger(__name__)

USER_AGENT = "kyc-liveness-portal/1.0"


class TransportError(Exception):
    """No HTTP response was had. ``latency_ms`` is how long it took to find out."""

    code = "transport_error"

    def __init__(self, message: str, *, latency_ms: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.latency_ms = latency_ms


class OutboundTimeout(TransportError):
    code = "timeout"


class OutboundConnectionError(TransportError):
    code = "connection_error"


class BlockedAddress(TransportError):
    """The connection reached a non-public address while ``public_only`` was asked for."""

    code = "blocked_address"


@dataclass
class OutboundRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    # bytes: a body sent exactly as given (webhooks sign the very bytes they send).
    data: Mapping[str, Any] | bytes | None = None
    files: Sequence[tuple[str, tuple[str, bytes, str]]] | None = None
    json_body: Any = None
    #: What the adapter did to build the request (re-encoding, fields sent); no secrets, no image bytes.
    #: Kept in the result's details under "request" so the operator sees what the vendor was shown.
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class HttpResponse:
    status_code: int
    headers: Mapping[str, str]
    body: bytes
    latency_ms: int

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


def is_public(address: str) -> bool:
    """True for a globally routable unicast address (IPv4-mapped IPv6 judged by its IPv4 address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_global) and not ip.is_multicast


class _BlockedPeer(Exception):
    """Raised inside urllib3 (not an OSError, so it is neither retried nor wrapped) and translated in send()."""

    def __init__(self, peer: str) -> None:
        super().__init__(peer)
        self.peer = peer


class _GuardMixin:
    def _new_conn(self) -> Any:
        sock = super()._new_conn()  # type: ignore[misc]
        peer = str(sock.getpeername()[0])
        if not is_public(peer):
            sock.close()
            raise _BlockedPeer(peer)
        return sock


class _GuardedHTTPConnection(_GuardMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardMixin, HTTPSConnection):
    pass


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def _pool_args() -> dict[str, Any]:
    return {
        "pool_connections": settings.OUTBOUND_POOL_HOSTS,
        "pool_maxsize": settings.OUTBOUND_POOL_PER_HOST,
        "pool_block": True,
    }


class _PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }


_sessions: dict[bool, requests.Session] = {}
_sessions_lock = threading.Lock()


def _session(public_only: bool) -> requests.Session:
    session = _sessions.get(public_only)
    if session is None:
        with _sessions_lock:
            session = _sessions.get(public_only)
            if session is None:
                session = requests.Session()
                session.trust_env = False  # read once instead: _environment_proxies, and the CA bundle here
                session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
                session.headers["User-Agent"] = USER_AGENT
                adapter = _PublicOnlyAdapter(**_pool_args()) if public_only else HTTPAdapter(**_pool_args())
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                _sessions[public_only] = session
    return session


@functools.lru_cache(maxsize=256)
def _environment_proxies(scheme: str, netloc: str) -> dict[str, str]:
    """The proxies requests would take from the environment for this host (none when NO_PROXY matches it)."""
    return dict(requests.utils.get_environ_proxies(f"{scheme}://{netloc}/"))


def reset_pools() -> None:
    """Close every pooled connection and forget the environment read (tests; a settings change of the pool
    bounds, or of the proxy variables, takes effect after it)."""
    with _sessions_lock:
        for session in _sessions.values():
            session.close()
        _sessions.clear()
        _environment_proxies.cache_clear()


def send(request: OutboundRequest, *, timeout: float, public_only: bool = False) -> HttpResponse:
    """Send one request (no redirects followed, no status check). Raises a TransportError without a response."""
    if timeout <= 0:
        raise ValueError("an outbound call always has a positive timeout")
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    parts = urlsplit(request.url)
    try:
        response = _session(public_only).request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.data,
            files=request.files,
            json=request.json_body,
            timeout=(min(5.0, timeout), timeout),
            allow_redirects=False,
            proxies=dict(_environment_proxies(parts.scheme, parts.netloc)),
        )
    except _BlockedPeer as exc:
        raise BlockedAddress(
            f"{parts.hostname} connected to the non-public address {exc.peer}", latency_ms=elapsed()
        ) from None
    except requests.Timeout as exc:
        raise OutboundTimeout(f"timed out after {timeout:g}s", latency_ms=elapsed()) from exc
    except requests.ConnectionError as exc:
        raise OutboundConnectionError(f"connection failed: {type(exc).__name__}", latency_ms=elapsed()) from exc
    latency = elapsed()
    logger.info("outbound %s %s -> %s in %sms", request.method, url_for_log(request.url), response.status_code, latency)
    return HttpResponse(response.status_code, response.headers, response.content, latency)


def url_for_log(url: str) -> str:
    # Scheme and host only: a query string or a path may carry a token (some webhook URLs do).
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
