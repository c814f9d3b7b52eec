"""Settings for the test suite: dev defaults, fast hashing, isolated storage."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .dev import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGE_ROOT = Path(tempfile.mkdtemp(prefix="kyc-test-evidence-"))
STORAGES = {**STORAGES, "evidence": {**STORAGES["evidence"], "OPTIONS": {"location": str(STORAGE_ROOT)}}}  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = "memory://"
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}  # noqa: F405
