"""Deployment checks: ``check --deploy`` is clean with the documented HTTPS switches, the process
refuses to start without a secret key, every response carries the security headers, and repeated
failed logins are slowed down with a clear 429.

The ``manage.py`` runs are real processes with a clean environment (only the variables under
test), so nothing from the test settings or the developer's shell leaks into the result.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

HTTPS_SWITCHES = {
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SESSION_COOKIE_SECURE": "true",
    "DJANGO_CSRF_COOKIE_SECURE": "true",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
}
#: What ``check --deploy`` says when each switch is missing.
WARNING_FOR = {
    "DJANGO_SECURE_HSTS_SECONDS": "security.W004",
    "DJANGO_SECURE_SSL_REDIRECT": "security.W008",
    "DJANGO_SESSION_COOKIE_SECURE": "security.W012",
    "DJANGO_CSRF_COOKIE_SECURE": "security.W016",
}


def manage(*args: str, tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python manage.py <args>`` with only ``env`` set (plus PATH and a throwaway database)."""
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy-check.sqlite3'}",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def secret_key() -> str:
    return secrets.token_urlsafe(64)


# --- check --deploy ------------------------------------------------------------------------------


def test_check_deploy_is_clean_with_the_https_switches(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        tmp_path=tmp_path, DJANGO_DEBUG="false", DJANGO_SECRET_KEY=secret_key(), **HTTPS_SWITCHES,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNINGS" not in output


def test_check_deploy_is_clean_with_hsts_preload_too(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        tmp_path=tmp_path, DJANGO_DEBUG="false", DJANGO_SECRET_KEY=secret_key(),
        DJANGO_SECURE_HSTS_PRELOAD="true", **HTTPS_SWITCHES,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout + result.stderr


def test_check_deploy_names_every_missing_switch(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        tmp_path=tmp_path, DJANGO_DEBUG="false", DJANGO_SECRET_KEY=secret_key(),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    found = set(re.findall(r"\(security\.W\d+\)", output))
    assert found == {f"({w})" for w in WARNING_FOR.values()}, output


@pytest.mark.parametrize("missing", sorted(HTTPS_SWITCHES))
def test_each_switch_silences_its_own_warning(tmp_path, missing):
    switches = {k: v for k, v in HTTPS_SWITCHES.items() if k != missing}
    result = manage(
        "check", "--deploy", tmp_path=tmp_path, DJANGO_DEBUG="false", DJANGO_SECRET_KEY=secret_key(), **switches
    )
    output = result.stdout + result.stderr
    assert set(re.findall(r"security\.W\d+", output)) == {WARNING_FOR[missing]}, output


# --- refusing to start ----------------------------------------------------------------------------


@pytest.mark.parametrize("debug", ["false", None])
def test_no_secret_key_outside_debug_refuses_to_start(tmp_path, debug):
    env = {} if debug is None else {"DJANGO_DEBUG": debug}
    result = manage("check", tmp_path=tmp_path, **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr
    assert "Traceback" not in result.stderr  # a sentence, not a stack


def test_a_typo_in_a_switch_refuses_to_start(tmp_path):
    result = manage("check", tmp_path=tmp_path, DJANGO_SECRET_KEY=secret_key(), DJANGO_SECURE_SSL_REDIRECT="ture")
    assert result.returncode != 0
    assert "DJANGO_SECURE_SSL_REDIRECT must be true or false" in result.stderr


def test_debug_is_off_unless_asked_for(tmp_path):
    result = manage(
        "shell", "-c", "from django.conf import settings; print('DEBUG', settings.DEBUG)",
        tmp_path=tmp_path, DJANGO_SECRET_KEY=secret_key(),
    )
    assert result.returncode == 0, result.stderr
    assert "DEBUG False" in result.stdout


# --- response headers ---------------------------------------------------------------------------


def _csp(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


def _assert_security_headers(response, where: str) -> None:
    csp = _csp(response)
    for directive in ("script-src", "style-src"):
        sources = csp.get(directive) or csp["default-src"]
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, (where, directive)
    assert csp.get("object-src") == ["'none'"], where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert response["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin", "no-referrer"), where
    # Either would stop framing; both are sent (old browsers know only X-Frame-Options).
    assert response.get("X-Frame-Options") == "DENY" and csp.get("frame-ancestors") == ["'none'"], where


def test_pages_carry_the_security_headers(client, viewer_client, nobody_client):
    from tests.factories import TrainingJobConfigFactory

    config = TrainingJobConfigFactory()
    responses = {
        "login page": client.get("/accounts/login/"),
        "login redirect": client.get("/configs/"),
        "overview": viewer_client.get("/"),
        "table": viewer_client.get("/configs/"),
        "detail": viewer_client.get(config.get_absolute_url()),
        "compare": viewer_client.get("/compare/"),
        "sync runs": viewer_client.get("/sync-runs/"),
        "export": viewer_client.get("/configs/export.csv"),
        "404": viewer_client.get("/no-such-page/"),
        "403": nobody_client.get("/"),
        "health": client.get("/healthz"),
        "admin login": client.get("/admin/login/"),
    }
    for where, response in responses.items():
        _assert_security_headers(response, where)
        if response.streaming:
            b"".join(response.streaming_content)  # read to the end: closes it (see test_bad_input.fetch)


def test_https_switches_take_effect(settings, viewer):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    client = Client()
    response = client.get("/configs/")
    assert response.status_code == 301 and response["Location"] == "https://testserver/configs/"
    secure = Client()
    response = secure.post("/accounts/login/", {"username": "viewer", "password": "pw"}, secure=True)
    assert response.status_code == 302
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.cookies["sessionid"]["secure"] and response.cookies["sessionid"]["httponly"]
    assert response.cookies["sessionid"]["samesite"] == "Lax"
    login_page = Client().get("/accounts/login/", secure=True)
    assert login_page.cookies["csrftoken"]["secure"]


# --- login rate limit ----------------------------------------------------------------------------


def _fail(client: Client, username: str, address: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": "wrong"}, REMOTE_ADDR=address)


@pytest.mark.parametrize("limit", [5, 2])
def test_failed_logins_per_user_are_limited_with_a_clear_429(client, viewer, settings, limit):
    settings.LOGIN_RATE_LIMIT = limit
    for attempt in range(limit):
        assert _fail(client, "viewer", f"10.0.0.{attempt}").status_code == 200, attempt
    # From yet another address, even the right password is not checked any more.
    response = client.post("/accounts/login/", {"username": "viewer", "password": "pw"}, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 429
    content = response.content.decode()
    assert "Too many failed logins. Wait a few minutes and try again." in content
    assert "_auth_user_id" not in client.session
    _assert_security_headers(response, "429")


def test_failed_logins_per_address_are_limited(client, db, settings):
    settings.LOGIN_RATE_LIMIT = 5
    for n in range(5):
        assert _fail(client, f"guess-{n}").status_code == 200
    assert _fail(client, "guess-next").status_code == 429
    assert _fail(client, "guess-next", address="10.0.0.2").status_code == 200  # another address is not blocked


def test_a_blocked_user_name_does_not_block_others(client, viewer, settings):
    settings.LOGIN_RATE_LIMIT = 3
    User.objects.create_user("other", password="pw")
    for n in range(3):
        _fail(client, "viewer", f"10.1.0.{n}")
    response = client.post("/accounts/login/", {"username": "other", "password": "pw"}, REMOTE_ADDR="10.2.0.1")
    assert response.status_code == 302
