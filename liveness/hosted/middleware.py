"""Permissions-Policy for every response: no camera, microphone or location, except where a view (the
hosted capture page) sets its own policy allowing the camera for this origin."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

DEFAULT_POLICY = "camera=(), microphone=(), geolocation=()"
CAPTURE_POLICY = "camera=(self), microphone=(), geolocation=()"


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Permissions-Policy" not in response:
            response["Permissions-Policy"] = DEFAULT_POLICY
        return response
