"""Which providers run for a case, and with which threshold, margin, timeout and retry budget."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings

from ..models import Partner, ProviderSetting
from ..providers import Provider, UnknownProvider, all_providers, get_provider
from .errors import Invalid


@dataclass(frozen=True)
class ProviderConfig:
    key: str
    enabled: bool
    threshold: float
    review_margin: float
    timeout_seconds: float
    max_attempts: int


def provider_setting_get(key: str) -> ProviderSetting:
    """The ProviderSetting row of a provider, created with the provider's defaults on first use."""
    provider = get_provider(key)
    setting, _ = ProviderSetting.objects.get_or_create(
        provider=key,
        defaults={
            "threshold": provider.default_threshold,
            "review_margin": provider.default_review_margin,
            "timeout_seconds": settings.PROVIDER_HTTP_TIMEOUT,
            "max_attempts": settings.CHECK_DEFAULT_MAX_ATTEMPTS,
        },
    )
    return setting


@dataclass
class _Snapshot:
    rows: dict[str, ProviderSetting] | None = field(default=None)


_snapshot: ContextVar[_Snapshot | None] = ContextVar("provider_settings_snapshot", default=None)


@contextmanager
def provider_settings_snapshot() -> Iterator[None]:
    """Inside the block every provider's settings come from one read of the table (one query, at first use).

    A submission asks for them a dozen times (availability of every provider for the kind, the workflow, the
    fallback candidates, each check's retry budget): one consistent read instead of one query each. Outside a
    block each call reads the table, so a change is seen at once; nested blocks share the outer read.
    """
    if _snapshot.get() is not None:
        yield
        return
    token = _snapshot.set(_Snapshot())
    try:
        yield
    finally:
        _snapshot.reset(token)


def _setting_row(key: str) -> ProviderSetting | None:
    snapshot = _snapshot.get()
    if snapshot is None:
        return ProviderSetting.objects.filter(provider=key).first()
    if snapshot.rows is None:
        snapshot.rows = {row.provider: row for row in ProviderSetting.objects.all()}
    return snapshot.rows.get(key)


def provider_config(key: str) -> ProviderConfig:
    """The settings in force for a provider: its stored row, or the provider's defaults when it has none yet.

    A read never writes (a GET of a page or the API must not create rows); the row is created when a
    supervisor first saves the provider's settings (``provider_setting_get``)."""
    s = _setting_row(key)
    if s is None:
        provider = get_provider(key)
        return ProviderConfig(
            key,
            True,
            provider.default_threshold,
            provider.default_review_margin,
            settings.PROVIDER_HTTP_TIMEOUT,
            settings.CHECK_DEFAULT_MAX_ATTEMPTS,
        )
    return ProviderConfig(key, s.enabled, s.threshold, s.review_margin, s.timeout_seconds, s.max_attempts)


def provider_is_available(provider: Provider, kind: str) -> bool:
    return provider.supports(kind) and provider.is_configured() and provider_config(provider.key).enabled


def providers_available(kind: str) -> list[str]:
    return [p.key for p in all_providers() if provider_is_available(p, kind)]


class ProviderSelectionError(Invalid):
    """A refusal of this service (see services.errors); ``code`` says which."""


def workflow_providers(*, kind: str, partner: Partner | None, requested: list[str] | None) -> list[str]:
    """The providers a new case of ``kind`` is checked by, in order.

    ``requested`` (from the partner's request) must be a subset of the available providers; otherwise
    the partner's workflow for the kind, else settings.LIVENESS_WORKFLOWS. Unavailable providers of a
    configured workflow are dropped; an empty result is an error (a case nobody can check is refused).
    """
    if requested:
        unknown = [k for k in requested if not _known(k)]
        if unknown:
            raise ProviderSelectionError(f"unknown providers: {', '.join(unknown)}", code="unknown_provider")
        unavailable = [k for k in requested if not provider_is_available(get_provider(k), kind)]
        if unavailable:
            raise ProviderSelectionError(
                f"providers not available for {kind} cases: {', '.join(unavailable)}", code="provider_unavailable"
            )
        return list(dict.fromkeys(requested))
    configured = (
        partner.workflow.get(kind) if partner and partner.workflow else None
    ) or settings.LIVENESS_WORKFLOWS.get(kind, [])
    chosen = [k for k in dict.fromkeys(configured) if _known(k) and provider_is_available(get_provider(k), kind)]
    if not chosen:
        raise ProviderSelectionError(f"no provider is available for {kind} cases", code="no_provider")
    return chosen


def _known(key: str) -> bool:
    try:
        get_provider(key)
    except UnknownProvider:
        return False
    return True
