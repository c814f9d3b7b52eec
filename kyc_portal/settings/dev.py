"""Embedded single-machine defaults: the portal runs with nothing but pip-installed packages."""

from __future__ import annotations

import base64
import hashlib

from .base import *  # noqa: F403
from .base import BASE_DIR, EVIDENCE_ENCRYPTION_KEYS, LOCAL_ENGINE_PASSIVE_MODELS, env

DEBUG = env.bool("DEBUG", default=True)
# A dev-only key. Production settings refuse to start without SECRET_KEY.
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")

if not EVIDENCE_ENCRYPTION_KEYS:
    # Dev only: derive a stable evidence key from the dev SECRET_KEY so a fresh clone works.
    EVIDENCE_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(("evidence:" + SECRET_KEY).encode()).digest()).decode()
    ]

SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=True)

# The optional passive attack models: in a checkout beside ../shared, use the ones there.
_shared_models = BASE_DIR.parent / "shared" / "models"
if not LOCAL_ENGINE_PASSIVE_MODELS and _shared_models.is_dir():
    LOCAL_ENGINE_PASSIVE_MODELS = [str(p) for p in sorted(_shared_models.glob("MiniFASNet*.onnx"))]
