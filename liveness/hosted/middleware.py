"""The Permissions-Policy of the hosted capture page: the camera for this origin, nothing else. Every other
response gets the portal's default (everything off) from kyc_portal.middleware.SecurityHeadersMiddleware."""

from __future__ import annotations

CAPTURE_POLICY = "camera=(self), microphone=(), geolocation=(), payment=(), usb=(), display-capture=()"
