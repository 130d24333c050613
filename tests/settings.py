"""Settings for the test suite: the real settings with a test-only secret and plain static files."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-not-for-any-deployment-0123456789")
os.environ.setdefault("DJANGO_DEBUG", "false")
# Tests must not pick up a developer's real ModelArts account from the shell.
for _name in [n for n in os.environ if n.startswith("MODELARTS_")]:
    del os.environ[_name]

from dashboard.settings import *  # noqa: E402,F403

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise finds files through the staticfiles finders on each request instead of scanning
# STATIC_ROOT once: tests run without collectstatic, and the missing folder's warning would be an
# error here (filterwarnings = error).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A test database in a file, like production's, rather than Django's shared-cache in-memory
    # default: shared cache locks whole tables and fails at once ("database table is locked")
    # instead of waiting out busy_timeout, so tests with several threads would see errors that no
    # deployment sees.
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"modelarts-dashboard-tests-{os.getpid()}.sqlite3")
    }
