"""Settings shared by every environment, read from the environment with django-environ.

Every value an operator may need to change is an environment variable; the defaults here are the
embedded, single-machine ones (SQLite, local file storage, the SQLAlchemy/SQLite Celery broker).
"""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("KYC_VAR_DIR", default=str(BASE_DIR / "var")))

VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite files and local evidence live here by default

env = environ.Env()
# A local .env file is read when present (never committed); real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "liveness",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kyc_portal.urls"
WSGI_APPLICATION = "kyc_portal.wsgi.application"
ASGI_APPLICATION = "kyc_portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to the same file: WAL lets readers proceed during a write,
    # IMMEDIATE transactions take the write lock up front instead of failing half-way with "locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and evidence storage ------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]

# Evidence images never sit under MEDIA_URL: they are encrypted at rest and served only through an
# authenticated, audited view. STORAGE_ROOT is where the local backend keeps the ciphertext.
STORAGE_ROOT = Path(env.str("STORAGE_ROOT", default=str(VAR_DIR / "evidence")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "evidence": {
        "BACKEND": env.str("EVIDENCE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": {"location": str(STORAGE_ROOT), "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Fernet keys (urlsafe base64, 32 bytes), newest first. The first encrypts; all decrypt, so a key is
# rotated by putting a new one in front and running ``manage.py rotate_evidence_key``.
EVIDENCE_ENCRYPTION_KEYS: list[str] = env.list("EVIDENCE_ENCRYPTION_KEYS", default=[])
EVIDENCE_RETENTION_DAYS = env.int("EVIDENCE_RETENTION_DAYS", default=30)

# --- Image intake ----------------------------------------------------------------------------------
INTAKE_MAX_BYTES = env.int("INTAKE_MAX_BYTES", default=15 * 1024 * 1024)
INTAKE_MAX_PIXELS = env.int("INTAKE_MAX_PIXELS", default=40_000_000)
INTAKE_MIN_SIDE = env.int("INTAKE_MIN_SIDE", default=64)
INTAKE_MAX_FRAMES = env.int("INTAKE_MAX_FRAMES", default=16)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=INTAKE_MAX_BYTES * 3)
FILE_UPLOAD_MAX_MEMORY_SIZE = INTAKE_MAX_BYTES

# --- Celery -----------------------------------------------------------------------------------------
# Default broker: kombu's SQLAlchemy transport on a SQLite file. It needs no server, keeps queued
# messages on disk across restarts of the web process and the worker, and hands each message to one
# consumer inside a database transaction. See the README ("Why this embedded broker").
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}")
CELERY_RESULT_BACKEND = None  # results live in the database models, not in a Celery backend
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"polling_interval": 0.5}
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=90)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
# Retries on retryable provider errors: exponential backoff with full jitter, capped.
CHECK_RETRY_BACKOFF_BASE = env.float("CHECK_RETRY_BACKOFF_BASE", default=2.0)
CHECK_RETRY_BACKOFF_MAX = env.float("CHECK_RETRY_BACKOFF_MAX", default=300.0)
CHECK_DEFAULT_MAX_ATTEMPTS = env.int("CHECK_DEFAULT_MAX_ATTEMPTS", default=5)
# A check claimed by a worker that died is claimable again after this many seconds.
CHECK_LEASE_SECONDS = env.int("CHECK_LEASE_SECONDS", default=CELERY_TASK_TIME_LIMIT + 30)
# The sweeper re-enqueues checks left queued longer than this (a lost message, a broker restart).
CHECK_STALE_QUEUED_SECONDS = env.int("CHECK_STALE_QUEUED_SECONDS", default=300)
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-checks": {"task": "liveness.tasks.requeue_stale_checks", "schedule": 60.0},
    "purge-expired-evidence": {"task": "liveness.tasks.purge_expired_evidence", "schedule": 3600.0},
}

# --- Providers --------------------------------------------------------------------------------------
# Which providers check which case kind, in order (the order is also the fallback order). A provider
# listed here runs only if it is enabled (ProviderSetting) and configured (credentials present).
LIVENESS_WORKFLOWS: dict[str, list[str]] = {
    "selfie": env.list("WORKFLOW_SELFIE", default=["local"]),
    "id_document": env.list("WORKFLOW_ID_DOCUMENT", default=["local"]),
    "active": env.list("WORKFLOW_ACTIVE", default=["local"]),
}
# Local engine: model files. LOCAL_ENGINE_DLIB_MODEL_DIR defaults to the face-recognition-models package.
LOCAL_ENGINE_DLIB_MODEL_DIR = env.str("LOCAL_ENGINE_DLIB_MODEL_DIR", default="")
# Optional passive presentation-attack models (MiniFASNet ONNX), comma-separated paths. Never committed.
LOCAL_ENGINE_PASSIVE_MODELS: list[str] = env.list("LOCAL_ENGINE_PASSIVE_MODELS", default=[])
LOCAL_ENGINE_DETECT_MAX_SIDE = env.int("LOCAL_ENGINE_DETECT_MAX_SIDE", default=1024)

# Vendor credentials and base URLs: environment only, never the database or the logs.
ACCURA_BASE_URL = env.str("ACCURA_BASE_URL", default="")
ACCURA_API_KEY = env.str("ACCURA_API_KEY", default="")
KAIROS_BASE_URL = env.str("KAIROS_BASE_URL", default="")
KAIROS_APP_ID = env.str("KAIROS_APP_ID", default="")
KAIROS_APP_KEY = env.str("KAIROS_APP_KEY", default="")
RISET_BASE_URL = env.str("RISET_BASE_URL", default="")
RISET_ACCESS_TOKEN = env.str("RISET_ACCESS_TOKEN", default="")
PROVIDER_HTTP_TIMEOUT = env.float("PROVIDER_HTTP_TIMEOUT", default=20.0)

# --- Sandbox simulators -----------------------------------------------------------------------------
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)

# --- Auth -------------------------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- Logging: structured enough to grep, never images or secrets -----------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

REST_FRAMEWORK: dict[str, object] = {}

# --- Decisions --------------------------------------------------------------------------------------
# Four-eyes: an operator's override matching an "automatic:operator" pair waits for a second supervisor.
FOUR_EYES_ENABLED = env.bool("FOUR_EYES_ENABLED", default=True)
FOUR_EYES_RULES: list[str] = env.list("FOUR_EYES_RULES", default=["spoof:live"])
MAX_RESUBMISSIONS = env.int("MAX_RESUBMISSIONS", default=3)
