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
# django-axes needs the request in authenticate(); Client.login() has none. Lockout tests turn it on.
AXES_ENABLED = False
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}  # noqa: F405
# Hermetic: no vendor is configured (vendor tests point one at the live server's simulators) and every
# workflow is the local engine alone, as in base.py, whatever dev.py defaults to.
ACCURA_BASE_URL = ACCURA_API_KEY = ""
KAIROS_BASE_URL = KAIROS_APP_ID = KAIROS_APP_KEY = ""
RISET_BASE_URL = RISET_ACCESS_TOKEN = ""
LIVENESS_WORKFLOWS = {"selfie": ["local"], "id_document": ["local"], "active": ["local"]}
SANDBOX_FAULTS = {}
# The suite's cases use synthetic images with no face; the face-search tests turn the step on themselves.
FACE_SEARCH_ENABLED = False
SANDBOX_OUTCOMES = {}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A page loading several audited images at once (the case page's faces side by side) writes from several
    # live-server threads together. SQLite's in-memory test database (shared cache) refuses a second writer
    # outright ("database table is locked"); a file waits for the lock (WAL and the timeout from base.py).
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.mkdtemp(prefix="kyc-test-db-")) / "test.sqlite3")}  # noqa: F405
