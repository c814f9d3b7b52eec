"""Fixed-window request counters for the applicant's page, per client IP and per session, in the cache
(shared between processes when CACHE_URL points at Redis, like the API throttles)."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'60/minute' -> (60, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[0]]


def _hit(scope: str, ident: str, rate: str) -> int | None:
    """Count one request; the seconds until the window ends when over the limit, else None."""
    limit, period = parse_rate(rate)
    window = int(time.time() // period)
    key = f"hosted:{scope}:{ident}:{period}:{window}"
    try:
        cache.add(key, 0, timeout=period + 1)
        count = cache.incr(key)
    except (RedisError, OSError, ValueError) as exc:
        logger.warning("hosted rate-limit cache unavailable (%s); request not limited", type(exc).__name__)
        return None
    if count > limit:
        return max(1, int((window + 1) * period - time.time()))
    return None


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only, like the API's throttles with NUM_PROXIES = 0: a client cannot choose its bucket.
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def over_limit(request: HttpRequest, session_key: str | None) -> int | None:
    """Retry-After seconds when this request is over the per-IP or the per-session rate, else None."""
    wait = _hit("ip", client_ip(request), settings.HOSTED_RATE_IP)
    if wait is None and session_key:
        wait = _hit("session", session_key, settings.HOSTED_RATE_SESSION)
    return wait
