"""Response headers and session lifetimes every page gets (CSP itself comes from django-csp).

- ``Permissions-Policy``: every powerful browser feature off by default (SECURITY_PERMISSIONS_POLICY); a view
  that needs one (the hosted verification page needs the camera) sets its own header, which is kept.
- ``Cache-Control: no-store`` on every dynamic response that did not choose its own caching: console pages and
  API JSON hold personal data and must not sit in a browser's or a proxy's cache. Static files are served by
  WhiteNoise before this middleware runs and keep their long-lived caching.
- Console sessions: an idle timeout (SESSION_COOKIE_AGE, renewed by each request) and an absolute lifetime
  (SESSION_ABSOLUTE_SECONDS from the login), suitable for an application that shows biometric data.

Django has no setting for the first two and the policy is one line each, so they live here rather than in a
dependency; the session rule needs the login time, which Django does not keep.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

SESSION_STARTED_KEY = "_session_started_at"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Permissions-Policy" not in response:
            response["Permissions-Policy"] = settings.SECURITY_PERMISSIONS_POLICY
        if "Cache-Control" not in response:
            patch_cache_control(response, no_store=True, private=True)
        return response


class SessionLifetimeMiddleware:
    """Ends a logged-in session past its absolute lifetime (the idle timeout is Django's SESSION_COOKIE_AGE
    with SESSION_SAVE_EVERY_REQUEST). Must come after the authentication middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            started = request.session.get(SESSION_STARTED_KEY)
            now = time.time()
            if started is None:
                request.session[SESSION_STARTED_KEY] = now
            elif now - float(started) > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
        return self.get_response(request)


class RequestBodyLimitMiddleware:
    """Refuses a request whose declared body is larger than any valid submission (every image at its maximum)
    with 413, before anything reads it: the CSRF check would otherwise parse a console upload of any size,
    and the form would read it into memory. API requests get a problem+json answer; the parsers also bound
    bodies sent without a Content-Length while reading, and the upload form bounds each file by its size."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from liveness.api.parsers import multipart_body_limit

        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = multipart_body_limit()
        if declared > limit:
            detail = f"the request body ({declared} bytes) is over the limit of {limit} bytes"
            if request.path_info.startswith("/api/"):
                body = {
                    "type": "urn:kyc-portal:problem:payload_too_large",
                    "title": "Payload Too Large",
                    "status": 413,
                    "detail": detail,
                    "code": "payload_too_large",
                }
                return JsonResponse(body, status=413, content_type="application/problem+json")
            response = render(request, "413.html", {"detail": detail, "limit_mb": limit // 1_000_000}, status=413)
            response["Connection"] = "close"  # the unread body is not for this connection to carry on with
            return response
        return self.get_response(request)
