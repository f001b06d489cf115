"""One settings module, configured from the environment.

With no environment at all it runs: a SQLite file in the project, Celery tasks run eagerly,
DEBUG on. `DATABASE_URL` and `CELERY_BROKER_URL` switch to PostgreSQL and Redis; with DEBUG off
`SECRET_KEY` must be set.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-dev-key-only-for-debug"  # noqa: S105 - never used with DEBUG off

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from static (no CDN)
    "annotations",
    "analysis",
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

ROOT_URLCONF = "judgeapp.urls"
WSGI_APPLICATION = "judgeapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "judgeapp" / "templates"],
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

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while an eager import writes; a busy timeout instead of
    # "database is locked" when two requests write at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_PREPARED_STATEMENTS", True
):
    # Django turns psycopg's prepared statements off (threshold None), which also ignores an
    # explicit execute(prepare=True). Django's own cursors bind on the client and never
    # prepare, so a threshold only enables the annotator fast path's prepared statements
    # (annotations/annotate/queue_sql), and generic plans apply to those alone: PostgreSQL
    # otherwise planned the queue's claim statement anew on every call, which cost as much as
    # running it. Behind a transaction-mode pooler (PgBouncer < 1.21), set
    # DATABASE_PREPARED_STATEMENTS=0.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        prepare_threshold=5, options="-c plan_cache_mode=force_generic_plan"
    )

# A transaction-mode pooler (PgBouncer) hands each transaction to any server connection, so a
# named cursor (QuerySet.iterator() on PostgreSQL) opened outside a transaction would be lost:
# set DATABASE_SERVER_SIDE_CURSORS=0 there (with DATABASE_PREPARED_STATEMENTS=0).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = not env_bool(
        "DATABASE_SERVER_SIDE_CURSORS", True
    )

# A read replica for report chunks (DATABASE_REPLICA_URL): a streamed report's chunks only read
# (items, raters, judgements of one item range), so they read there and leave the primary to
# annotators and imports. Everything else, the run's rows and the chunks' sums included, stays
# on the primary. Tests mirror it onto the default database.
REPORT_READ_DATABASE = "default"
if env_str("DATABASE_REPLICA_URL", ""):
    DATABASES["replica"] = dj_database_url.parse(
        env_str("DATABASE_REPLICA_URL", ""), conn_max_age=env_int("CONN_MAX_AGE", 60)
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    REPORT_READ_DATABASE = "replica"

# The annotator queue's next and submit as hand-written PostgreSQL statements (queue_sql);
# off, PostgreSQL runs the ORM engine that SQLite always runs. Same rules either way.
ANNOTATE_SQL_QUEUE = env_bool("ANNOTATE_SQL_QUEUE", True)

# Model judges. The base URLs a lead who is not staff may send prompts to (comma-separated):
# nothing a lead types reaches the network otherwise. API keys come from the environment of
# the process that runs the judge (OPENAI_API_KEY, ANTHROPIC_API_KEY), never the database.
JUDGE_ALLOWED_BASE_URLS = env_list("JUDGE_ALLOWED_BASE_URLS", [])
JUDGE_TIMEOUT_S = float(env_int("JUDGE_TIMEOUT_S", 120))
JUDGE_MAX_RETRIES = env_int("JUDGE_MAX_RETRIES", 5)
# A running judge chunk whose heartbeat (every 5 s) is older than this lost its worker: the
# reaper queues it again, and gives the run up after JUDGE_CHUNK_MAX_ATTEMPTS attempts.
JUDGE_CHUNK_STALE_S = env_int("JUDGE_CHUNK_STALE_S", 60)
JUDGE_CHUNK_MAX_ATTEMPTS = env_int("JUDGE_CHUNK_MAX_ATTEMPTS", 3)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "judgeapp" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "media/"
# Uploads above this size go to a temporary file, never into memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "annotations:project-list"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    # Token first: DRF answers a call without credentials with the first class's challenge,
    # so it is a 401 with `WWW-Authenticate: Token` (session first made it a bare 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "annotations.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's JSON parser, refusing a body nested too deeply with a 400 instead of a 500.
    "DEFAULT_PARSER_CLASSES": [
        "annotations.api_parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}

# The OpenAPI schema (/api/schema/) and its docs page (/api/docs/), from the code.
SPECTACULAR_SETTINGS = {
    "TITLE": "judgeapp API",
    "DESCRIPTION": (
        "Projects, imports, agreement reports, the annotator queue and external judges. "
        "Authenticate with `Authorization: Token <key>` (make a key on the *API tokens* page) "
        "or a logged-in session; external judges post with `Authorization: Bearer <key>`."
    ),
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",  # its schemas are JSON Schema, so tests validate with jsonschema
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AssignmentStatusEnum": "annotations.models.Assignment.Status",
        "JobStatusEnum": "annotations.models.JobStatus",
    },
}

# Debug pages hide every URL with credentials (broker, cache), not only settings named *KEY*.
DEFAULT_EXCEPTION_REPORTER_FILTER = "judgeapp.debug.CredentialsHidingFilter"

# Live progress of long jobs goes through the cache (an import holds its transaction open).
# Without CACHE_URL: in-process memory, which is right for eager Celery in one process.
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# An item claimed but not submitted for this long goes back to the pool (hourly beat task).
ASSIGNMENT_TIMEOUT_HOURS = env_int("ASSIGNMENT_TIMEOUT_HOURS", 24)

# Celery: without a broker every task runs eagerly in-process (the embedded default).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or None
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60 * 60)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
# A judge chunk may run for hours (a slow model, a low rate limit): its own, longer limit.
JUDGE_CHUNK_SOFT_TIME_LIMIT = env_int("JUDGE_CHUNK_SOFT_TIME_LIMIT", 3 * 60 * 60)
# Redis redelivers a message not acknowledged within the visibility timeout, to another worker,
# while the first may still run it: the timeout must outlast the longest task.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": max(CELERY_TASK_TIME_LIMIT, JUDGE_CHUNK_SOFT_TIME_LIMIT + 60) + 60
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # The model SDKs' HTTP clients log every request at INFO: thousands per judge run.
    "loggers": {name: {"level": "WARNING"} for name in ("httpx", "httpx2", "httpcore")},
}

# ---- Hardening (issue 11, ops11): job recovery, login lockout, throttles, CSP -----------------
# Every background job (import, report run, judge chunk) beats every JOB_HEARTBEAT_S; a
# running one silent for JOB_STALE_S lost its worker, and the reapers (every JOB_REAP_EVERY_S,
# on the beat) queue it again or fail it with the reason: a killed job is recovered within
# JOB_STALE_S + JOB_REAP_EVERY_S (90 s). A pending job the broker never took (it was down) is
# sent again after JOB_RESEND_AFTER_S; one it took but never ran (a Redis restart loses the
# queue) after JOB_RESEND_QUEUED_AFTER_S. A message sent twice is harmless: tasks claim rows.
JOB_HEARTBEAT_S = env_int("JOB_HEARTBEAT_S", 10)
JOB_STALE_S = env_int("JOB_STALE_S", 60)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3)
JOB_REAP_EVERY_S = env_int("JOB_REAP_EVERY_S", 30)
JOB_RESEND_AFTER_S = env_int("JOB_RESEND_AFTER_S", 30)
JOB_RESEND_QUEUED_AFTER_S = env_int("JOB_RESEND_QUEUED_AFTER_S", 15 * 60)
if JOB_HEARTBEAT_S * 3 > JOB_STALE_S:
    raise ImproperlyConfigured("JOB_STALE_S must be at least three JOB_HEARTBEAT_S")
CELERY_BEAT_SCHEDULE = {
    "reap-agreement-runs": {
        "task": "analysis.tasks.agreement_runs_reap_task",
        "schedule": JOB_REAP_EVERY_S,
    },
    "reap-judge-chunks": {
        "task": "annotations.tasks.judge_chunks_reap_task",
        "schedule": JOB_REAP_EVERY_S,
    },
    "reap-import-jobs": {
        "task": "annotations.tasks.import_jobs_reap_task",
        "schedule": JOB_REAP_EVERY_S,
    },
    "reap-export-jobs": {
        "task": "annotations.tasks.export_jobs_reap_task",
        "schedule": JOB_REAP_EVERY_S,
    },
    "release-stale-assignments": {
        "task": "annotations.tasks.assignments_release_stale_task",
        "schedule": 3600,
    },
}
# A web request that queues a job waits at most this long for an unreachable broker before
# answering 503 (the job is saved and the reaper sends it later).
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECTION_TIMEOUT", 4)
CELERY_BROKER_TRANSPORT_OPTIONS |= {"socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT}
MIDDLEWARE.append("judgeapp.middleware.JobQueueUnavailableMiddleware")

# Login lockout (django-axes): AXES_FAILURE_LIMIT wrong passwords for one username from one
# address lock that pair out for AXES_COOLOFF_MINUTES, on the login page and the admin alike
# (both authenticate through the backend below). Keyed on username and address together, so
# a stranger cannot lock a user out from everywhere. Behind a proxy, set AXES_IPWARE_PROXY_COUNT.
INSTALLED_APPS.append("axes")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: it refuses a locked-out login
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last: it answers a lockout
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env_int("AXES_IPWARE_PROXY_COUNT", 0) or None
AXES_VERBOSE = False

# API throttles (judgeapp/throttles.py reads the rates per request; None turns a scope off).
# 100 requests/s per user is ~2.5x what each of the load benchmark's annotators sends
# (benchmarks/annotate_load.py: 24 annotators, ~900 requests/s in all) and stops a runaway
# client; anonymous callers get 1 a second (the API needs a login anyway).
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "judgeapp.throttles.AnonThrottle",
    "judgeapp.throttles.UserBurstThrottle",
]
API_THROTTLE_RATES = {
    "anon": env_str("API_THROTTLE_ANON", "60/min") or None,
    "user": env_str("API_THROTTLE_USER", "100/s") or None,
}

# Content-Security-Policy (django-csp): scripts and styles from this site only, no inline
# scripts or handlers (every page's JavaScript is a static file), nothing framed, no plugins.
# Styles allow 'unsafe-inline': KaTeX and vega write style attributes into the markup they
# render. Vendored KaTeX, vega and htmx are served from 'self'.
INSTALLED_APPS.append("csp")
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
MIDDLEWARE.append("judgeapp.middleware.PermissionsPolicyMiddleware")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# ---- end of the issue 11 (ops11) block ----------------------------------------------------
