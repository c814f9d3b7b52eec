"""Liveness providers behind one interface, and the registry that finds them by key.

Importing this package registers every built-in provider.
"""

from .. import vendors  # noqa: F401  (registers accura_face, accura_id, kairos, riset)
from . import local  # noqa: F401  (registers "local")
from .base import (
    CheckRequest,
    EvidenceImage,
    Finding,
    PermanentProviderError,
    Provider,
    ProviderError,
    ProviderInputError,
    ProviderResult,
    RetryableProviderError,
)
from .registry import UnknownProvider, all_providers, get_provider, provider_keys, register

__all__ = [
    "CheckRequest",
    "EvidenceImage",
    "Finding",
    "PermanentProviderError",
    "Provider",
    "ProviderError",
    "ProviderInputError",
    "ProviderResult",
    "RetryableProviderError",
    "UnknownProvider",
    "all_providers",
    "get_provider",
    "provider_keys",
    "register",
]
