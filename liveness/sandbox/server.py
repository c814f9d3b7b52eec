"""Letting the Kairos sample's ``app_id`` / ``app_key`` headers reach the Kairos simulator.

Django's development server (and the test live server built on it), gunicorn's default ``header_map``
and nginx all drop request headers whose names contain an underscore: in a WSGI environ ``app_id`` and
``app-id`` would both become ``HTTP_APP_ID``, so a proxy that filters one spelling could be bypassed with
the other. Kairos' own code samples send exactly such headers, so a simulator behind those servers never
sees the credentials and would refuse every documented request.

The request handler here keeps Django's rule for every header except the documented vendor ones, and only
for ``/sandbox/`` paths; those it puts in a separate environ key (:data:`UNDERSCORE_HEADERS_KEY`), not in
``HTTP_*``, so nothing else in the portal can be confused by them. Use it through
``manage.py runserver_sandbox`` (development) or, in tests, :func:`install_on_live_server`. Behind
gunicorn, start it with ``--header-map dangerous`` instead (sandbox only; production never mounts it).
"""

from __future__ import annotations

from typing import Any

from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

#: environ key holding the vendor headers with underscores, as {lower-case name: value}.
UNDERSCORE_HEADERS_KEY = "kyc.sandbox.underscore_headers"
#: Documented vendor header names containing underscores (Kairos' code samples).
VENDOR_UNDERSCORE_HEADERS = frozenset({"app_id", "app_key"})
SANDBOX_PATH_PREFIX = "/sandbox/"


class VendorHeaderRequestHandler(WSGIRequestHandler):
    def get_environ(self) -> dict[str, Any]:
        kept: dict[str, str] = {}
        if self.path.startswith(SANDBOX_PATH_PREFIX):
            for name, value in self.headers.items():
                if name.lower() in VENDOR_UNDERSCORE_HEADERS:
                    kept[name.lower()] = value
        environ: dict[str, Any] = super().get_environ()  # drops every underscore header, as Django does
        environ[UNDERSCORE_HEADERS_KEY] = kept
        return environ


class QuietVendorHeaderRequestHandler(VendorHeaderRequestHandler):
    """The same, without a log line per request (the test live server's behaviour)."""

    def log_message(self, *args: Any) -> None:
        pass


class VendorHeaderWSGIServer(WSGIServer):
    """A development server whose requests are handled by :class:`VendorHeaderRequestHandler`."""

    def __init__(self, server_address: Any, handler_class: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(server_address, VendorHeaderRequestHandler, *args, **kwargs)


def install_on_live_server(live_server: Any) -> Any:
    """Swap the handler of a running pytest-django ``live_server``; returns the previous one to restore.

    socketserver builds one handler object per request from ``RequestHandlerClass``, so the swap takes
    effect with the next request.
    """
    httpd = live_server.thread.httpd
    previous = httpd.RequestHandlerClass
    httpd.RequestHandlerClass = QuietVendorHeaderRequestHandler
    return previous
