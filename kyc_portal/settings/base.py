"""Settings shared by every environment, read from the environment with django-environ.

Every value an operator may need to change is an environment variable; the defaults here are the
embedded, single-machine ones (SQLite, local file storage, the SQLAlchemy/SQLite Celery broker).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from liveness.storage import s3_evidence_storage
from liveness.vocabulary import DEFAULT_FINDING_VERDICTS

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
    "axes",
    "csp",
    "liveness",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "kyc_portal.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "kyc_portal.middleware.SecurityHeadersMiddleware",
    "kyc_portal.middleware.SessionLifetimeMiddleware",
    # Last, as django-axes asks: turns a lockout flagged during authentication into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Audit actions outside liveness.models.AuditAction: refused when strict (development and tests), recorded with
# a warning otherwise (production never loses an event to a missing list entry).
AUDIT_ACTIONS_STRICT = env.bool("AUDIT_ACTIONS_STRICT", default=False)
# The same for the API's problem codes (liveness.api.problem_codes.ProblemCode): refused when strict, answered
# with a warning otherwise.
PROBLEM_CODES_STRICT = env.bool("PROBLEM_CODES_STRICT", default=False)

# An outage of the database, the broker or the evidence store answers 503 with this Retry-After (seconds).
OUTAGE_RETRY_AFTER_SECONDS = env.int("OUTAGE_RETRY_AFTER_SECONDS", default=30)

# --- Browser security headers ------------------------------------------------------------------------
# Content-Security-Policy (django-csp): scripts and styles only from the portal itself (no CDN, no inline
# script); inline style *attributes* are allowed (score bars and face boxes are positioned by them), style
# *elements* are not. A view that needs more (ReDoc injects its styles) widens it for itself with csp_update.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-elem": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Every powerful feature off unless a view says otherwise (kyc_portal/middleware.py).
SECURITY_PERMISSIONS_POLICY = env.str(
    "SECURITY_PERMISSIONS_POLICY",
    default="camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "display-capture=(), interest-cohort=()",
)
# Console sessions: an idle timeout and an absolute lifetime (biometric data on screen).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

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
# A pool of PostgreSQL connections per process (Django's psycopg pool), for the I/O queue's thread pool: without
# it each task opens (and closes) a connection of its own, and a hundred threads hold a hundred connections
# (PostgreSQL's default max_connections) through their vendor calls. With it a thread holds one only while it
# talks to the database (services.checks releases it around the vendor call). Off (0) unless set.
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=0)
if DATABASE_POOL_MAX_SIZE and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(4, DATABASE_POOL_MAX_SIZE),
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": 30,
    }
    # The pool replaces persistent connections (Django refuses both): DATABASE_URL's conn_max_age, which web
    # hosts and prefork workers should set (README, production), does not apply to a pooled process.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The applicant's page (hosted verification) is translated through Django's i18n: a session's locale
# must be one of these; add a language here and its messages under locale/<code>/LC_MESSAGES/.
LANGUAGES = [("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and evidence storage ------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns at start-up when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]

# Evidence images never sit under MEDIA_URL: they are encrypted at rest and served only through an
# authenticated, audited view. The portal encrypts before the bytes leave the process (liveness/storage.py),
# whichever store holds them. EVIDENCE_STORAGE picks the store:
#   file  the local file system under STORAGE_ROOT (one host, or a shared file system);
#   s3    an S3-compatible object store (AWS S3, MinIO, Ceph, ...) through django-storages, so that several
#         web and worker hosts share one evidence store. EVIDENCE_S3_BUCKET is required; the endpoint is
#         needed for anything but AWS; keys may also come from the usual AWS variables or an instance role.
STORAGE_ROOT = Path(env.str("STORAGE_ROOT", default=str(VAR_DIR / "evidence")))
EVIDENCE_STORAGE = env.str("EVIDENCE_STORAGE", default="file")
if EVIDENCE_STORAGE == "file":
    _evidence_storage: dict[str, Any] = {
        "BACKEND": env.str("EVIDENCE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": {"location": str(STORAGE_ROOT), "base_url": None},
    }
elif EVIDENCE_STORAGE == "s3":
    _evidence_storage = s3_evidence_storage(
        bucket=env.str("EVIDENCE_S3_BUCKET"),  # required: ImproperlyConfigured when missing
        endpoint_url=env.str("EVIDENCE_S3_ENDPOINT_URL", default=""),
        region=env.str("EVIDENCE_S3_REGION", default=""),
        access_key=env.str("EVIDENCE_S3_ACCESS_KEY_ID", default=""),
        secret_key=env.str("EVIDENCE_S3_SECRET_ACCESS_KEY", default=""),
        prefix=env.str("EVIDENCE_S3_PREFIX", default=""),
        addressing_style=env.str("EVIDENCE_S3_ADDRESSING_STYLE", default="auto"),
        timeout=env.float("EVIDENCE_S3_TIMEOUT_SECONDS", default=10.0),
    )
else:
    raise ImproperlyConfigured(f"EVIDENCE_STORAGE must be 'file' or 's3', not {EVIDENCE_STORAGE!r}")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "evidence": _evidence_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Fernet keys (urlsafe base64, 32 bytes), newest first. The first encrypts; all decrypt, so a key is
# rotated by putting a new one in front and running ``manage.py rotate_evidence_key``.
EVIDENCE_ENCRYPTION_KEYS: list[str] = env.list("EVIDENCE_ENCRYPTION_KEYS", default=[])
EVIDENCE_RETENTION_DAYS = env.int("EVIDENCE_RETENTION_DAYS", default=30)

# --- Image intake ----------------------------------------------------------------------------------
INTAKE_MAX_BYTES = env.int("INTAKE_MAX_BYTES", default=15 * 1024 * 1024)
# Files chosen on the console's upload form are kept (encrypted, in the evidence store) across a
# validation error for at most this long (liveness/console/upload_drafts.py).
UPLOAD_DRAFT_MAX_MINUTES = env.int("UPLOAD_DRAFT_MAX_MINUTES", default=60)
INTAKE_MAX_PIXELS = env.int("INTAKE_MAX_PIXELS", default=40_000_000)
INTAKE_MIN_SIDE = env.int("INTAKE_MIN_SIDE", default=64)
INTAKE_MAX_FRAMES = env.int("INTAKE_MAX_FRAMES", default=16)
# Bounded decoding (liveness/intake.py): all images of one request together (16 frames of 12 MP photos fit),
# and pixels per byte of file beyond a free allowance (photos carry < 10 px/byte; decompression amplifiers
# carry thousands).
INTAKE_MAX_REQUEST_PIXELS = env.int("INTAKE_MAX_REQUEST_PIXELS", default=200_000_000)
INTAKE_FREE_PIXELS = env.int("INTAKE_FREE_PIXELS", default=4_000_000)
INTAKE_MAX_PIXELS_PER_BYTE = env.int("INTAKE_MAX_PIXELS_PER_BYTE", default=200)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=INTAKE_MAX_BYTES * 3)
FILE_UPLOAD_MAX_MEMORY_SIZE = INTAKE_MAX_BYTES

# --- Celery -----------------------------------------------------------------------------------------
# Default broker: kombu's SQLAlchemy transport on a SQLite file. It needs no server, keeps queued
# messages on disk across restarts of the web process and the worker, and hands each message to one
# consumer inside a database transaction. See the README ("Why this embedded broker").
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}")
CELERY_RESULT_BACKEND = None  # results live in the database models, not in a Celery backend
CELERY_TASK_IGNORE_RESULT = True
# One queue name per deployment (several portals, or test runs, may share one Redis / RabbitMQ).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="kyc-portal")
# Two kinds of work, two queues (liveness.enqueue): vendor checks, webhook deliveries and the sweepers wait on
# the network -> the I/O queue (the default queue), served by a thread pool with high concurrency; local-engine
# checks and the face step spend CPU -> the CPU queue, served by prefork with one process per core. A worker
# started without -Q serves both; `-Q` picks a host's role (README, "Throughput and scale-out").
CELERY_IO_QUEUE = CELERY_TASK_DEFAULT_QUEUE
CELERY_CPU_QUEUE = env.str("CELERY_CPU_QUEUE", default=f"{CELERY_TASK_DEFAULT_QUEUE}-cpu")
CELERY_TASK_QUEUES = (Queue(CELERY_IO_QUEUE), Queue(CELERY_CPU_QUEUE))
CELERY_TASK_ROUTES = ("liveness.enqueue.route_task",)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=90)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
# Retries on retryable provider errors: exponential backoff with full jitter, capped.
CHECK_RETRY_BACKOFF_BASE = env.float("CHECK_RETRY_BACKOFF_BASE", default=2.0)
CHECK_RETRY_BACKOFF_MAX = env.float("CHECK_RETRY_BACKOFF_MAX", default=300.0)
CHECK_DEFAULT_MAX_ATTEMPTS = env.int("CHECK_DEFAULT_MAX_ATTEMPTS", default=5)
# A check claimed by a worker that died is claimable again after this many seconds. The running task renews
# the lease every CHECK_LEASE_RENEW_SECONDS while its provider call is in flight, so a slow vendor call keeps
# its claim up to the task's time limit, and a dead worker's check is free again within one lease.
CHECK_LEASE_SECONDS = env.int("CHECK_LEASE_SECONDS", default=30)
CHECK_LEASE_RENEW_SECONDS = env.float("CHECK_LEASE_RENEW_SECONDS", default=10.0)
# The sweeper (every SWEEP_SECONDS) re-enqueues checks left queued longer than this (a lost message, a broker
# restart) and webhook deliveries overdue by WEBHOOK_STALE_SECONDS. Recovery after a worker kill: at most a
# lease plus a sweep (~45 s); after a broker loss: the stale period plus a sweep (~75 s).
CHECK_STALE_QUEUED_SECONDS = env.int("CHECK_STALE_QUEUED_SECONDS", default=60)
WEBHOOK_STALE_SECONDS = env.int("WEBHOOK_STALE_SECONDS", default=60)
SWEEP_SECONDS = env.float("SWEEP_SECONDS", default=15.0)
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-checks": {"task": "liveness.tasks.requeue_stale_checks", "schedule": SWEEP_SECONDS},
    "purge-expired-evidence": {"task": "liveness.tasks.purge_expired_evidence", "schedule": 3600.0},
    "requeue-due-webhooks": {"task": "liveness.tasks.requeue_due_webhooks", "schedule": SWEEP_SECONDS},
    "expire-idempotency-keys": {"task": "liveness.tasks.expire_idempotency_keys", "schedule": 3600.0},
    "expire-verification-sessions": {"task": "liveness.tasks.expire_verification_sessions", "schedule": 60.0},
    "purge-upload-drafts": {"task": "liveness.tasks.purge_upload_drafts", "schedule": 600.0},
    # The dashboard's daily summaries: how much of a long range is read from summary rows (never what
    # the figures are: a day not yet rebuilt is aggregated from the raw rows).
    "refresh-dashboard-summaries": {
        "task": "liveness.tasks.refresh_dashboard_summaries",
        "schedule": env.float("DASHBOARD_SUMMARY_SECONDS", default=300.0),
    },
}

# The outbound seam's keep-alive pools (liveness.outbound): connections kept per vendor / webhook host (at
# least the I/O pool's thread count, or threads wait for a connection), and how many hosts keep a pool.
OUTBOUND_POOL_PER_HOST = env.int("OUTBOUND_POOL_PER_HOST", default=100)
OUTBOUND_POOL_HOSTS = env.int("OUTBOUND_POOL_HOSTS", default=32)

# --- Providers --------------------------------------------------------------------------------------
# Which providers check which case kind, in order (the order is also the fallback order). A provider
# listed here runs only if it is enabled (ProviderSetting) and configured (credentials present).
LIVENESS_WORKFLOWS: dict[str, list[str]] = {
    "selfie": env.list("WORKFLOW_SELFIE", default=["local"]),
    "id_document": env.list("WORKFLOW_ID_DOCUMENT", default=["local"]),
    "active": env.list("WORKFLOW_ACTIVE", default=["local"]),
}
# Local engine: model files. MediaPipe's face detection and mesh ship in liveness/engine/weights/mediapipe/
# (sha256-checked at load); LOCAL_ENGINE_MEDIAPIPE_DIR may point at another folder with the same files.
LOCAL_ENGINE_MEDIAPIPE_DIR = env.str("LOCAL_ENGINE_MEDIAPIPE_DIR", default="")
# The face descriptor (dlib's network converted to ONNX) ships in liveness/engine/weights/dlib_resnet/ (sha256-checked
# at load); LOCAL_ENGINE_DLIB_MODEL_DIR may point at another folder with the same file.
LOCAL_ENGINE_DLIB_MODEL_DIR = env.str("LOCAL_ENGINE_DLIB_MODEL_DIR", default="")
# Passive presentation-attack models (MiniFASNet ONNX), comma-separated paths: by default the files shipped in
# liveness/engine/weights/minifasnet/ (Apache-2.0, sha256 checked at load). An empty value turns passive
# detection off ("unavailable" on every result).
_WEIGHTS_DIR = BASE_DIR / "liveness" / "engine" / "weights"
LOCAL_ENGINE_PASSIVE_MODELS: list[str] = env.list(
    "LOCAL_ENGINE_PASSIVE_MODELS",
    default=[str(_WEIGHTS_DIR / "minifasnet" / name) for name in ("MiniFASNetV2.onnx", "MiniFASNetV1SE.onnx")],
)
# MiniFAS-128, an opt-in second passive model averaged with MiniFASNet (README, engine section). Off by
# default: its weights are Apache-2.0 but were trained on CelebA-Spoof, whose terms allow non-commercial
# research use only; whoever turns it on decides whether their use fits those terms.
LOCAL_ENGINE_MINIFAS128 = env.bool("LOCAL_ENGINE_MINIFAS128", default=False)
LOCAL_ENGINE_MINIFAS128_MODEL = env.str(
    "LOCAL_ENGINE_MINIFAS128_MODEL", default=str(_WEIGHTS_DIR / "minifas128" / "best_model.onnx")
)
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
# Circuit breaker per vendor provider (derived from the attempt log, shared by every process): open after
# CIRCUIT_FAILURES consecutive failed calls, or a failure rate >= CIRCUIT_FAILURE_RATE over at least
# CIRCUIT_MIN_CALLS calls in the last CIRCUIT_WINDOW_SECONDS; one probe is let through after the cool-down.
CIRCUIT_FAILURES = env.int("CIRCUIT_FAILURES", default=5)
CIRCUIT_FAILURE_RATE = env.float("CIRCUIT_FAILURE_RATE", default=0.5)
CIRCUIT_MIN_CALLS = env.int("CIRCUIT_MIN_CALLS", default=10)
CIRCUIT_WINDOW_SECONDS = env.int("CIRCUIT_WINDOW_SECONDS", default=300)
CIRCUIT_COOLDOWN_SECONDS = env.int("CIRCUIT_COOLDOWN_SECONDS", default=60)

# --- Sandbox simulators -----------------------------------------------------------------------------
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)
# Per-vendor fault modes and forced outcomes as JSON, e.g. SANDBOX_FAULTS='{"kairos": "5xx*2"}' (README).
SANDBOX_FAULTS: dict[str, str] = env.json("SANDBOX_FAULTS", default={})
SANDBOX_OUTCOMES: dict[str, str] = env.json("SANDBOX_OUTCOMES", default={})
# How long the "timeout" fault holds a request: longer than the adapters wait by default.
SANDBOX_TIMEOUT_SECONDS = env.float("SANDBOX_TIMEOUT_SECONDS", default=PROVIDER_HTTP_TIMEOUT + 5)
SANDBOX_MAX_BODY_BYTES = env.int("SANDBOX_MAX_BODY_BYTES", default=40 * 1024 * 1024)

# --- Auth -------------------------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
# django-axes first: it refuses a locked-out username/IP pair before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours
# Lock the username from the address that failed, so a stranger cannot lock an operator out everywhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind a proxy, name the header it sets (e.g. HTTP_X_FORWARDED_FOR) and how many proxies there are.
AXES_IPWARE_META_PRECEDENCE_ORDER = env.list("AXES_IPWARE_META_PRECEDENCE_ORDER", default=["REMOTE_ADDR"])
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=None)

# --- Logging: structured enough to grep, never images or secrets -----------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Hosted-verification link tokens (in /v/<token>/ paths) are credentials: removed from every line.
    "filters": {"hosted_tokens": {"()": "liveness.hosted.logfilter.RedactHostedTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["hosted_tokens"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # urllib3 logs each request line (path and query) at DEBUG; a webhook URL may carry a token there.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}

# --- Partner REST API and webhooks -----------------------------------------------------------------
# The cache holds the API throttle counters. The default LocMem cache lives inside one process: with
# several gunicorn workers or hosts each counts alone and a partner gets N times its rate. Production
# sets CACHE_URL=redis://host:6379/1 so every process shares one count.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

REST_FRAMEWORK: dict[str, object] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "liveness.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser", "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_THROTTLE_CLASSES": ["liveness.api.throttling.ClientRateThrottle"],
    # Per partner (all its keys together) or per operator; "<n>/<second|minute|hour|day>".
    "DEFAULT_THROTTLE_RATES": {
        "partner": env.str("API_RATE_PARTNER", default="600/minute"),
        "partner_submit": env.str("API_RATE_PARTNER_SUBMIT", default="120/minute"),
        "operator": env.str("API_RATE_OPERATOR", default="600/minute"),
        # The full health check (GET /api/v1/health) per client IP: it writes to storage and the broker.
        "health": env.str("API_RATE_HEALTH", default="60/minute"),
    },
    # How many reverse proxies append to X-Forwarded-For in front of the app: the client IP the health
    # throttle counts is the entry the nearest trusted proxy added. 0 (the default) uses REMOTE_ADDR and
    # ignores the header, which a client could otherwise set to anything to get a fresh bucket.
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "liveness.api.exceptions.problem_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS: dict[str, object] = {
    "TITLE": "KYC liveness portal API",
    "DESCRIPTION": "Submit liveness cases, poll their outcome, receive signed webhooks; operator review.",
    "VERSION": "1.0.0",
    # 3.1 for its top-level `webhooks`: the events the portal POSTs to partners (liveness/api/webhook_schema.py).
    "OAS_VERSION": "3.1.0",
    "WEBHOOKS": "liveness.api.webhook_schema.WEBHOOKS",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI and ReDoc assets come from drf-spectacular-sidecar: served by the app, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "liveness.api.schema.add_problem_responses",
        "liveness.api.schema.document_empty_query_values",
        "liveness.api.webhook_schema.add_webhook_headers",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "liveness.models.CaseStatus",
        "VerdictEnum": "liveness.models.Verdict",
        "CaseKindEnum": "liveness.models.CaseKind",
        "CheckStatusEnum": "liveness.models.CheckStatus",
        "VerificationSessionStatusEnum": "liveness.models.VerificationSessionStatus",
        "HealthStatusEnum": [("ok", "ok"), ("error", "error")],
        "ResubmissionReasonEnum": "liveness.vocabulary.RESUBMISSION_REASONS",
    },
}
# After a rotation the old key keeps working this long, so a partner can deploy the new one.
API_KEY_ROTATION_GRACE_HOURS = env.int("API_KEY_ROTATION_GRACE_HOURS", default=24)
# An Idempotency-Key answers with its case for at least this long; after that it may be reused.
IDEMPOTENCY_KEY_RETENTION_HOURS = env.int("IDEMPOTENCY_KEY_RETENTION_HOURS", default=24)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Retries: exponential backoff (base * 2**n, capped) with jitter, until the window or the limit ends.
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=60.0)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=3 * 3600.0)
WEBHOOK_RETRY_WINDOW_HOURS = env.float("WEBHOOK_RETRY_WINDOW_HOURS", default=24.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=20)
# After a signing-secret rotation, deliveries carry a signature with the old secret too for this long,
# so the partner's checks keep passing until they deploy the new one.
WEBHOOK_SECRET_ROTATION_GRACE_HOURS = env.float("WEBHOOK_SECRET_ROTATION_GRACE_HOURS", default=24.0)
# Plain-http targets and targets resolving to private/loopback addresses are refused unless allowed
# (a partner-given callback URL must not reach into the portal's own network).
WEBHOOK_ALLOW_INSECURE_URLS = env.bool("WEBHOOK_ALLOW_INSECURE_URLS", default=False)

# --- Hosted verification (the link a partner sends its applicant) --------------------------------------
HOSTED_SESSION_DEFAULT_SECONDS = env.int("HOSTED_SESSION_DEFAULT_SECONDS", default=30 * 60)
HOSTED_SESSION_MIN_SECONDS = env.int("HOSTED_SESSION_MIN_SECONDS", default=5 * 60)
HOSTED_SESSION_MAX_SECONDS = env.int("HOSTED_SESSION_MAX_SECONDS", default=7 * 24 * 3600)
# The challenge: front + 2..4 more prompts; each a burst of frames that must arrive within the window.
HOSTED_CHALLENGE_MIN = env.int("HOSTED_CHALLENGE_MIN", default=3)
HOSTED_CHALLENGE_MAX = env.int("HOSTED_CHALLENGE_MAX", default=5)
HOSTED_BURST_FRAMES = env.int("HOSTED_BURST_FRAMES", default=3)
HOSTED_PROMPT_SECONDS = env.int("HOSTED_PROMPT_SECONDS", default=20)
HOSTED_CHALLENGE_ATTEMPTS = env.int("HOSTED_CHALLENGE_ATTEMPTS", default=3)
# Test-only: a fixed challenge instead of a random draw (production settings force it empty).
HOSTED_FIXED_CHALLENGE: list[str] = []
# Requests to the applicant's page and its endpoints, per client IP and per session ("<n>/<period>").
HOSTED_RATE_IP = env.str("HOSTED_RATE_IP", default="300/minute")
HOSTED_RATE_SESSION = env.str("HOSTED_RATE_SESSION", default="60/minute")

# --- Decisions --------------------------------------------------------------------------------------
# Four-eyes: an operator's override matching an "automatic:operator" pair waits for a second supervisor.
FOUR_EYES_ENABLED = env.bool("FOUR_EYES_ENABLED", default=True)
FOUR_EYES_RULES: list[str] = env.list("FOUR_EYES_RULES", default=["spoof:live"])
MAX_RESUBMISSIONS = env.int("MAX_RESUBMISSIONS", default=3)
# Findings (liveness/vocabulary.py FINDINGS) are never a pass; each leads to "needs_review" or "spoof".
# FINDING_VERDICTS=face_mismatch=needs_review,challenge_failed=spoof,... overrides the defaults one by one.
FINDING_VERDICTS: dict[str, str] = {
    **DEFAULT_FINDING_VERDICTS,
    **env.dict("FINDING_VERDICTS", default={}),
}

# --- Face templates, repeat search and the blocklist (liveness/services/faces.py) ------------------------
# Each case's faces become templates (encrypted descriptors); the automatic verdict waits for the search.
FACE_SEARCH_ENABLED = env.bool("FACE_SEARCH_ENABLED", default=True)
# Off: a partner's cases are searched against that partner's templates only. On: against every partner's
# (for a portal that serves one organisation).
FACE_SEARCH_ACROSS_PARTNERS = env.bool("FACE_SEARCH_ACROSS_PARTNERS", default=False)
# A template step not finished this long after it was claimed is given up (the case is decided without it).
FACE_SEARCH_LEASE_SECONDS = env.int("FACE_SEARCH_LEASE_SECONDS", default=CELERY_TASK_TIME_LIMIT + 30)
FACE_SEARCH_MAX_ATTEMPTS = env.int("FACE_SEARCH_MAX_ATTEMPTS", default=2)
# Earlier cases listed per finding (the nearest first).
FACE_SEARCH_MAX_MATCHES = env.int("FACE_SEARCH_MAX_MATCHES", default=10)

# --- Operator console -------------------------------------------------------------------------------
# A case waiting for review longer than this is shown (and counted) as over its SLA.
REVIEW_SLA_MINUTES = env.int("REVIEW_SLA_MINUTES", default=60)
# A claim on a case lapses after this long, so an abandoned case returns to the queue by itself.
CLAIM_MINUTES = env.int("CLAIM_MINUTES", default=30)
CONSOLE_PAGE_SIZE = env.int("CONSOLE_PAGE_SIZE", default=50)
# While checks run, the case page asks for fresh check states this often (htmx polling).
CONSOLE_POLL_SECONDS = env.int("CONSOLE_POLL_SECONDS", default=2)
