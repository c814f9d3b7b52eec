"""The provider registry: provider key -> one shared provider instance."""

from __future__ import annotations

from typing import TypeVar

from .base import Provider


class UnknownProvider(KeyError):
    pass


_REGISTRY: dict[str, Provider] = {}
P = TypeVar("P", bound=type[Provider])


def register(provider_cls: P) -> P:
    """Class decorator: make a provider available under its ``key``."""
    key = provider_cls.key
    if key in _REGISTRY and type(_REGISTRY[key]) is not provider_cls:
        raise ValueError(f"provider key {key!r} registered twice")
    _REGISTRY[key] = provider_cls()
    return provider_cls


def get_provider(key: str) -> Provider:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise UnknownProvider(key) from None


def all_providers() -> list[Provider]:
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def provider_keys() -> list[str]:
    return sorted(_REGISTRY)
