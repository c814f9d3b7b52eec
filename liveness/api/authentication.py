"""API-key authentication: ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``).

A partner's key authenticates as a :class:`PartnerClient` (not a Django user: it has no Django
permissions at all); an operator's personal key authenticates as that operator.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from ..models import ApiKey, Partner
from ..services.api_keys import api_key_authenticate

REALM = "kyc-portal"


class PartnerClient:
    """``request.user`` for a partner system. Duck-types the parts of a user DRF and Django look at."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, partner: Partner, api_key: ApiKey) -> None:
        self.partner = partner
        self.api_key = api_key

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def get_username(self) -> str:
        return f"partner:{self.partner.slug}"

    def __str__(self) -> str:
        return self.get_username()


def _raw_key(request: Request) -> str | None:
    header = get_authorization_header(request).split()
    if header:
        if header[0].lower() != b"bearer":
            return None  # another scheme: not ours to judge
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "malformed Authorization header: expected 'Bearer <key>'", code="invalid_api_key"
            )
        try:
            return header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("the API key is not ASCII", code="invalid_api_key") from None
    value = request.META.get("HTTP_X_API_KEY", "")
    return str(value) if value else None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[PartnerClient | User, ApiKey] | None:
        raw = _raw_key(request)
        if raw is None:
            return None
        key = api_key_authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("invalid, expired or revoked API key", code="invalid_api_key")
        if key.partner is not None:
            if not key.partner.is_active:
                raise exceptions.AuthenticationFailed("this partner account is disabled", code="partner_disabled")
            return PartnerClient(key.partner, key), key
        user = key.user
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("this user account is disabled", code="user_disabled")
        return user, key

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 when credentials are missing.
        return f'Bearer realm="{REALM}"'
