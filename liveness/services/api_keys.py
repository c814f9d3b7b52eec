"""API keys: issued once, stored as a sha256, found by their visible prefix, rotated with a grace period.

A key looks like ``kyc_<8 hex>_<43 urlsafe chars>``. ``kyc_<8 hex>`` is the prefix shown in the admin
and in logs; the rest is 256 random bits. Because the secret part is that random, a single sha256 is a
sound way to store it (slow password hashes exist for guessable secrets and would cost every request).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import ApiKey, Partner
from .audit import audit_record
from .errors import Invalid

KEY_TAG = "kyc"
#: last_used_at is written at most this often per key.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    secret: str  # the full key: show it once, never store or log it


class ApiKeyError(Invalid):
    """A refusal of this service (see services.errors); ``code`` says which."""


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _split(raw: str) -> str | None:
    """The prefix of a well-formed key, or None."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_TAG or len(parts[1]) != 8 or len(parts[2]) < 32:
        return None
    return f"{parts[0]}_{parts[1]}"


def api_key_create(
    *,
    name: str,
    partner: Partner | None = None,
    user: User | None = None,
    created_by: User | None = None,
    expires_at: datetime | None = None,
) -> IssuedApiKey:
    """Issue a key for a partner system or for an operator (exactly one of the two)."""
    if (partner is None) == (user is None):
        raise ApiKeyError("a key belongs to exactly one partner or one user", code="owner_required")
    if not name.strip():
        raise ApiKeyError("give the key a name", code="name_required")
    for _ in range(5):
        prefix = f"{KEY_TAG}_{secrets.token_hex(4)}"
        raw = f"{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    partner=partner,
                    user=user,
                    name=name.strip()[:100],
                    prefix=prefix,
                    key_hash=_hash(raw),
                    created_by=created_by,
                    expires_at=expires_at,
                )
                audit_record(
                    action="api_key.created",
                    actor=created_by,
                    data={"prefix": prefix, "name": key.name, **_owner(key)},
                )
        except IntegrityError:
            continue  # a prefix collision (32 bits): draw again
        return IssuedApiKey(key, raw)
    raise RuntimeError("could not draw an unused API key prefix")


def _owner(key: ApiKey) -> dict[str, str]:
    if key.partner_id is not None:
        return {"partner": key.partner.slug if key.partner else str(key.partner_id)}
    return {"user": key.user.get_username() if key.user else str(key.user_id)}


def api_key_rotate(*, api_key: ApiKey, actor: User | None = None, grace: timedelta | None = None) -> IssuedApiKey:
    """Issue a successor with the same owner and name; the old key keeps working for ``grace``."""
    if api_key.revoked_at is not None:
        raise ApiKeyError("a revoked key cannot be rotated", code="revoked")
    grace = timedelta(hours=settings.API_KEY_ROTATION_GRACE_HOURS) if grace is None else grace
    with transaction.atomic():
        issued = api_key_create(
            name=api_key.name, partner=api_key.partner, user=api_key.user, created_by=actor, expires_at=None
        )
        old_end = timezone.now() + grace
        current = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if current.expires_at is None or current.expires_at > old_end:
            current.expires_at = old_end
        current.replaced_by = issued.api_key
        current.save(update_fields=["expires_at", "replaced_by"])
        audit_record(
            action="api_key.rotated",
            actor=actor,
            data={
                "prefix": current.prefix,
                "successor": issued.api_key.prefix,
                "old_key_expires_at": old_end.isoformat(),
            },
        )
    api_key.refresh_from_db()
    return issued


def api_key_revoke(*, api_key: ApiKey, actor: User | None = None) -> ApiKey:
    """Stop a key at once. Idempotent."""
    now = timezone.now()
    if ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now):
        audit_record(action="api_key.revoked", actor=actor, data={"prefix": api_key.prefix, **_owner(api_key)})
    api_key.refresh_from_db()
    return api_key


def api_key_is_usable(key: ApiKey, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > now)


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The usable key matching ``raw`` (owner loaded), or None. Compares hashes in constant time."""
    prefix = _split(raw.strip())
    if prefix is None:
        return None
    key = ApiKey.objects.select_related("partner", "user").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.key_hash, _hash(raw.strip())):
        return None
    now = timezone.now()
    if not api_key_is_usable(key, now=now):
        return None
    api_key_touch(key, now=now)
    return key


def api_key_touch(key: ApiKey, *, now: datetime) -> None:
    """Record use, but write only when the stored time is over a minute old."""
    if key.last_used_at is not None and now - key.last_used_at < TOUCH_INTERVAL:
        return
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_INTERVAL)
    ).update(last_used_at=now)
    key.last_used_at = now


def webhook_secret_rotate(*, partner: Partner, actor: User | None = None, grace: timedelta | None = None) -> str:
    """Give the partner a new webhook signing secret and return it (shown once; never logged).

    The secret it replaces keeps signing deliveries, next to the new one, for ``grace``
    (WEBHOOK_SECRET_ROTATION_GRACE_HOURS by default), so the partner's checks keep passing while they
    deploy the new secret. Only one previous secret is kept: rotating again within the grace period
    drops the oldest at once.
    """
    if grace is None:
        grace = timedelta(hours=settings.WEBHOOK_SECRET_ROTATION_GRACE_HOURS)
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        current = Partner.objects.select_for_update().only("pk", "slug", "webhook_secret").get(pk=partner.pk)
        previous, previous_until = "", None
        if current.webhook_secret and grace > timedelta(0):
            previous, previous_until = current.webhook_secret, timezone.now() + grace
        Partner.objects.filter(pk=partner.pk).update(
            webhook_secret=secret,
            webhook_secret_previous=previous,
            webhook_secret_previous_expires_at=previous_until,
        )
        audit_record(
            action="partner.webhook_secret_rotated",
            actor=actor,
            data={
                "partner": current.slug,
                "previous_secret_valid_until": previous_until.isoformat() if previous_until else None,
            },
        )
    partner.webhook_secret = secret
    partner.webhook_secret_previous = previous
    partner.webhook_secret_previous_expires_at = previous_until
    return secret
