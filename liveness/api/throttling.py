"""Per-partner throttling: one bucket per partner (all its keys together), one per operator.

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] and are read per request, so a change of
settings applies without a restart of the class. The counters live in the Django cache: per process
with the default LocMem cache, shared across processes when CACHE_URL points at Redis.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .authentication import PartnerClient

logger = logging.getLogger(__name__)


class _ScopedThrottle(SimpleRateThrottle):
    def __init__(self) -> None:
        # SimpleRateThrottle reads its rate at construction; ours is chosen per request instead.
        self.rate: str | None = None

    def scope_and_ident(self, request: Request) -> tuple[str, str] | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        chosen = self.scope_and_ident(request)
        if chosen is None:
            return True
        self.scope, self._ident = chosen
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        self.rate = str(rate) if rate is not None else None
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            # An unreachable cache must not take the API down with it: let the request through.
            logger.warning("throttle cache unavailable (%s); request not throttled", type(exc).__name__)
            return True

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self._ident}


class ClientRateThrottle(_ScopedThrottle):
    """Every API call: per partner, or per operator."""

    def scope_and_ident(self, request: Request) -> tuple[str, str] | None:
        user = request.user
        if isinstance(user, PartnerClient):
            return "partner", str(user.partner.pk)
        if user is not None and user.is_authenticated and user.pk is not None:
            return "operator", str(user.pk)
        return None


class SubmitRateThrottle(_ScopedThrottle):
    """Case submissions on top (they store images and start vendor calls): per partner."""

    def scope_and_ident(self, request: Request) -> tuple[str, str] | None:
        if request.method == "POST" and isinstance(request.user, PartnerClient):
            return "partner_submit", str(request.user.partner.pk)
        return None


class HealthRateThrottle(_ScopedThrottle):
    """The full health check, per client IP: it is public and writes to storage, broker and cache, so
    it must not become a way to hammer them. Load balancers probe far below the rate; the liveness
    probe (``/health/live``) is not throttled at all."""

    def scope_and_ident(self, request: Request) -> tuple[str, str] | None:
        # get_ident honours REST_FRAMEWORK["NUM_PROXIES"]: with 0 it is REMOTE_ADDR alone.
        return "health", self.get_ident(request)
