"""Embedded single-machine defaults: the portal runs with nothing but pip-installed packages."""

from __future__ import annotations

import base64
import hashlib

from .base import *  # noqa: F403
from .base import (
    ACCURA_API_KEY,
    ACCURA_BASE_URL,
    EVIDENCE_ENCRYPTION_KEYS,
    KAIROS_APP_ID,
    KAIROS_APP_KEY,
    KAIROS_BASE_URL,
    RISET_ACCESS_TOKEN,
    RISET_BASE_URL,
    env,
)

DEBUG = env.bool("DEBUG", default=True)
# A dev-only key. Production settings refuse to start without SECRET_KEY.
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")

if not EVIDENCE_ENCRYPTION_KEYS:
    # Dev only: derive a stable evidence key from the dev SECRET_KEY so a fresh clone works.
    EVIDENCE_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(("evidence:" + SECRET_KEY).encode()).digest()).decode()
    ]

SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=True)
# Where this portal serves the simulators (dev.py start sets it to the port it serves on).
SANDBOX_BASE_URL = env.str("SANDBOX_BASE_URL", default="http://127.0.0.1:8000/sandbox").rstrip("/")
if SANDBOX_ENABLED:
    # A vendor whose base URL is not set talks to the in-portal simulator, with sandbox credentials
    # (the simulators accept any non-empty one). A vendor set in the environment is left alone.
    if not ACCURA_BASE_URL:
        ACCURA_BASE_URL = f"{SANDBOX_BASE_URL}/accura"
        ACCURA_API_KEY = ACCURA_API_KEY or "sandbox-accura-api-key"
    if not KAIROS_BASE_URL:
        KAIROS_BASE_URL = f"{SANDBOX_BASE_URL}/kairos"
        KAIROS_APP_ID = KAIROS_APP_ID or "sandbox-kairos-app-id"
        KAIROS_APP_KEY = KAIROS_APP_KEY or "sandbox-kairos-app-key"
    if not RISET_BASE_URL:
        RISET_BASE_URL = f"{SANDBOX_BASE_URL}/riset"
        RISET_ACCESS_TOKEN = RISET_ACCESS_TOKEN or "sandbox-riset-access-token"
# Every case kind is checked by the local engine and each vendor that handles it (unconfigured ones
# are dropped when a case is created).
LIVENESS_WORKFLOWS = {
    "selfie": env.list("WORKFLOW_SELFIE", default=["local", "accura_face", "kairos", "riset"]),
    "id_document": env.list("WORKFLOW_ID_DOCUMENT", default=["local", "accura_id"]),
    "active": env.list("WORKFLOW_ACTIVE", default=["local", "riset"]),
}
# A local webhook receiver (http://127.0.0.1:...) is normal while developing.
WEBHOOK_ALLOW_INSECURE_URLS = env.bool("WEBHOOK_ALLOW_INSECURE_URLS", default=True)

# New audit actions must be added to liveness.models.AuditAction: refused here, warned about in production.
AUDIT_ACTIONS_STRICT = True
# New problem codes must be added to liveness.api.problem_codes.ProblemCode: refused here, warned about in production.
PROBLEM_CODES_STRICT = True
