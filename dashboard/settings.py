"""Settings for the ModelArts Config Dashboard, read from environment variables.

Every variable is listed in README.md and .env.example. Without any, the project runs on a SQLite
file in the project folder; ``DATABASE_URL`` switches to PostgreSQL. Outside debug mode a
``DJANGO_SECRET_KEY`` is required: the process refuses to start on a built-in key.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from dashboard.env import env_bool, env_float, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is not true "
            "(set it, or DJANGO_SECRET_KEY_FILE, to a long random string)."
        )
    SECRET_KEY = "django-insecure-debug-only-key-never-used-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tables2",
    "django_filters",
    "configs_app",
]
# The simulator is a development and test tool. It brings only a management command, and the
# application code never imports it; a deployment can leave it out.
if env_bool("MODELARTS_SIMULATOR_APP", True):
    INSTALLED_APPS.append("modelarts_sim")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "configs_app.middleware.SecurityHeadersMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "dashboard.urls"

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
                "configs_app.context_processors.freshness",
            ],
        },
    },
]

WSGI_APPLICATION = "dashboard.wsgi.application"
ASGI_APPLICATION = "dashboard.asgi.application"

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets pages read while a sync writes; IMMEDIATE makes writers queue for the lock at
        # BEGIN instead of failing half-way with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dashboard"}}

# --- Auth ---------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
# Failed logins allowed per username and per client address in LOGIN_RATE_WINDOW seconds.
LOGIN_RATE_LIMIT = env_int("DJANGO_LOGIN_RATE_LIMIT", 5, minimum=1)
LOGIN_RATE_WINDOW = env_int("DJANGO_LOGIN_RATE_WINDOW", 300, minimum=1)

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files (vendored, served by whitenoise) ----------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security (the HTTPS switches are off by default so plain HTTP on 127.0.0.1 works) ----------
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
if env_bool("DJANGO_BEHIND_HTTPS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SILENCED_SYSTEM_CHECKS = env_list("DJANGO_SILENCED_SYSTEM_CHECKS", [])
if not SECURE_HSTS_PRELOAD:
    # HSTS preload is an explicit opt-in (DJANGO_SECURE_HSTS_PRELOAD=true), a commitment for the
    # whole registrable domain; without it, "check --deploy" would warn (W021) on every deployment
    # that has otherwise done everything right.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# --- Tables -------------------------------------------------------------------------------------
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5-responsive.html"

# --- ModelArts ----------------------------------------------------------------------------------
# The source described by these variables is created automatically (see configs_app.sources).
# Secrets are read here only to build clients; they are never stored in the database.
MODELARTS = {
    "SOURCE_NAME": env_str("MODELARTS_SOURCE_NAME", "default"),
    "ENDPOINT": env_str("MODELARTS_ENDPOINT"),
    "PROJECT_ID": env_str("MODELARTS_PROJECT_ID"),
    "REGION": env_str("MODELARTS_REGION"),
    "IAM_ENDPOINT": env_str("MODELARTS_IAM_ENDPOINT"),
    "DOMAIN": env_str("MODELARTS_DOMAIN"),
    "USERNAME": env_str("MODELARTS_USERNAME"),
    "TIMEOUT": env_float("MODELARTS_TIMEOUT", 15.0, minimum=0.1),
    "MAX_RETRIES": env_int("MODELARTS_MAX_RETRIES", 3, minimum=0, maximum=10),
    "VERIFY_SSL": env_bool("MODELARTS_VERIFY_SSL", True),
    "SYNC_CONCURRENCY": env_int("MODELARTS_SYNC_CONCURRENCY", 8, minimum=1, maximum=64),
}
# Names of the variables that hold secrets for the default source. Other sources name their own.
MODELARTS_SECRET_ENV = {
    "AK": "MODELARTS_AK",
    "SK": "MODELARTS_SK",
    "PASSWORD": "MODELARTS_PASSWORD",
    "TOKEN": "MODELARTS_TOKEN",
}

# --- Logging: to stderr; the client logs paths, statuses and error codes, never credentials ----
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
