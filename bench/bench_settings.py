"""Django settings for the page benchmark: the real settings, the benchmark's database and URLs.

The database comes from ``BENCH_DATABASE_URL`` (set per run by ``page_bench.py``); the URLs add
the two reference pages the dashboard is measured against (``bench_urls.py``). Everything else,
middleware included, is exactly what a deployment runs.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-any-deployment-0123456789")
os.environ["DJANGO_DEBUG"] = "false"
if os.environ.get("BENCH_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
# The benchmark must not pick up a real ModelArts account from the shell.
for _name in [n for n in os.environ if n.startswith("MODELARTS_")]:
    del os.environ[_name]

from dashboard.settings import *  # noqa: E402,F403

ROOT_URLCONF = "bench_urls"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Static files are not requested by the benchmark; plain storage needs no collectstatic manifest.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # the bench user logs in once
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
