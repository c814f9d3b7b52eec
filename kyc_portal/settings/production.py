"""Production settings: no insecure defaults. ``manage.py check --deploy`` passes with no warning."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from liveness.system_checks import encryption_key_problems

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")  # required: ImproperlyConfigured when missing
EVIDENCE_ENCRYPTION_KEYS = env.list("EVIDENCE_ENCRYPTION_KEYS")  # required
# Refuse to start (gunicorn runs no system checks) rather than fail the first upload.
_key_problems = encryption_key_problems(EVIDENCE_ENCRYPTION_KEYS)
if _key_problems:
    raise ImproperlyConfigured(
        "; ".join(_key_problems) + " (EVIDENCE_ENCRYPTION_KEYS: comma-separated Fernet keys, newest first)"
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}
HOSTED_FIXED_CHALLENGE = list[str]()  # a fixed challenge is for tests only, never in production
