"""Who may see and do what: login, permission, staff-only POSTs, CSRF, admin, health check."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import DatabaseError
from django.test import Client

from tests.factories import SourceFactory, SyncRunFactory, TrainingJobConfigFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def config():
    return TrainingJobConfigFactory(source=SourceFactory(name="acl"), config_name="acl-config")


def page_urls(config) -> list[str]:
    return [
        "/",
        "/configs/",
        "/configs/?q=x&engine=PyTorch",
        "/configs/export.csv",
        "/configs/?_export=json",
        config.get_absolute_url(),
        f"/compare/?c={config.pk}&c={config.pk + 1}",
        "/compare/",
        "/sync-runs/",
    ]


def test_anonymous_users_are_sent_to_login(client, config):
    for url in page_urls(config):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_users_without_the_permission_get_403(nobody_client, config):
    for url in page_urls(config):
        response = nobody_client.get(url)
        assert response.status_code == 403, url
    assert b'id="forbidden"' in nobody_client.get("/").content


def test_viewers_see_every_page(viewer_client, config):
    for url in page_urls(config):
        assert viewer_client.get(url).status_code == 200, url


def test_the_permission_alone_is_enough(config):
    from django.contrib.auth.models import Permission

    user = User.objects.create_user("direct", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="view_trainingjobconfig"))
    client = Client()
    client.force_login(user)
    assert client.get("/configs/").status_code == 200


def test_viewer_group_is_created_by_a_migration():
    group = Group.objects.get(name="Config viewers")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert "view_trainingjobconfig" in codenames
    assert not any(c.startswith(("add_", "change_", "delete_")) for c in codenames)


def test_no_pending_migrations():
    call_command("makemigrations", "configs_app", "--check", "--dry-run", verbosity=0)


# --- staff-only actions --------------------------------------------------------------------------


def test_staff_only_posts_are_403_for_viewers(viewer_client, config, fake_sync):
    source = config.source
    assert viewer_client.post("/sync-runs/start/", {"source": source.pk}).status_code == 403
    assert viewer_client.post(f"/configs/refresh/{config.pk}/").status_code == 403
    assert fake_sync.start_calls == [] and fake_sync.refresh_calls == []


def test_staff_only_posts_send_anonymous_users_to_login(client, config):
    for url in ("/sync-runs/start/", f"/configs/refresh/{config.pk}/", "/configs/columns/"):
        response = client.post(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_csrf_is_enforced_on_every_post(staff_user, config, fake_sync):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    for url in ("/sync-runs/start/", f"/configs/refresh/{config.pk}/", "/configs/columns/", "/accounts/logout/"):
        assert client.post(url, {"source": config.source.pk}).status_code == 403, url
    assert fake_sync.start_calls == []
    # With the token from a page, the same POST goes through.
    content = client.get("/sync-runs/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', content).group(1)
    fake_sync.start_result = SyncRunFactory(source=config.source, status="running")
    response = client.post("/sync-runs/start/", {"source": config.source.pk, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert fake_sync.start_calls == [(config.source, "web")]


def test_login_form_needs_csrf(db):
    User.objects.create_user("someone", password="pw")
    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/login/", {"username": "someone", "password": "pw"}).status_code == 403


# --- login and logout ----------------------------------------------------------------------------


def test_login_page_is_clear(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="login-form"' in content
    assert re.search(r'<label class="form-label" for="id_username">User name</label>', content)
    assert re.search(r'<label class="form-label" for="id_password">Password</label>', content)
    assert 'id="freshness"' not in content  # nothing about the data before login


def test_login_and_logout(client, viewer):
    response = client.post(
        "/accounts/login/?next=/configs/", {"username": "viewer", "password": "pw", "next": "/configs/"}
    )
    assert response.status_code == 302 and response["Location"] == "/configs/"
    assert client.get("/configs/").status_code == 200
    assert client.get("/accounts/logout/").status_code == 405  # logout is POST only
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/configs/").status_code == 302


def test_wrong_password_says_so(client, viewer):
    response = client.post("/accounts/login/", {"username": "viewer", "password": "nope"})
    assert response.status_code == 200
    assert b'id="login-error"' in response.content


def test_repeated_failed_logins_are_blocked(client, viewer, settings):
    settings.LOGIN_RATE_LIMIT = 3
    for _ in range(3):
        assert client.post("/accounts/login/", {"username": "viewer", "password": "nope"}).status_code == 200
    response = client.post("/accounts/login/", {"username": "viewer", "password": "pw"})
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert client.get("/configs/").status_code == 302  # still not logged in


def test_logout_button_is_a_post_form(viewer_client):
    content = viewer_client.get("/").content.decode()
    assert re.search(r'<form method="post" action="/accounts/logout/"', content)


# --- navigation ----------------------------------------------------------------------------------


def test_navigation_and_admin_link(viewer_client, staff_client):
    content = viewer_client.get("/").content.decode()
    for label, url in (
        ("Overview", "/"),
        ("Configs", "/configs/"),
        ("Compare", "/compare/"),
        ("Sync runs", "/sync-runs/"),
    ):
        assert re.search(rf'href="{re.escape(url)}">{label}</a>', content), label
    assert "/admin/" not in content
    assert 'href="/admin/">Admin</a>' in staff_client.get("/").content.decode()


# --- admin ---------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_with_data(config):
    from tests.factories import RevisionFactory

    RevisionFactory(config=config)
    SyncRunFactory(source=config.source)
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    "model", ["trainingjobconfig", "configparameter", "configrevision", "syncrun", "configsource", "tablepreference"]
)
def test_admin_lists_every_model(admin_client_with_data, model):
    assert admin_client_with_data.get(f"/admin/configs_app/{model}/").status_code == 200


@pytest.mark.parametrize("model", ["trainingjobconfig", "configparameter", "configrevision", "syncrun"])
def test_admin_cache_is_read_only(admin_client_with_data, model):
    assert admin_client_with_data.get(f"/admin/configs_app/{model}/add/").status_code == 403


def test_admin_sources_are_editable(admin_client_with_data, config):
    assert admin_client_with_data.get("/admin/configs_app/configsource/add/").status_code == 200
    response = admin_client_with_data.get(f"/admin/configs_app/configsource/{config.source.pk}/change/")
    assert b'name="endpoint"' in response.content


def test_admin_config_page_shows_no_secret(admin_client_with_data, config):
    response = admin_client_with_data.get(f"/admin/configs_app/trainingjobconfig/{config.pk}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    for secret in config.secret_values:
        assert secret not in content
    for url in ("/admin/configs_app/configparameter/", "/admin/configs_app/configrevision/"):
        page = admin_client_with_data.get(url).content.decode()
        for secret in config.secret_values:
            assert secret not in page, (url, secret)


# --- health check --------------------------------------------------------------------------------


def test_healthz_needs_no_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]


def test_healthz_reports_a_broken_database(client, monkeypatch):
    import configs_app.views

    class BrokenConnection:
        def cursor(self):
            raise DatabaseError("gone")

    monkeypatch.setattr(configs_app.views, "connection", BrokenConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.content == b"database unavailable"


# --- security headers on pages -------------------------------------------------------------------


def test_pages_carry_the_csp(viewer_client):
    response = viewer_client.get("/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_vendored_assets_are_served(viewer_client):
    for path in (
        "/static/vendor/bootstrap/css/bootstrap.min.css",
        "/static/vendor/bootstrap/js/bootstrap.bundle.min.js",
        "/static/configs_app/app.js",
        "/static/configs_app/app.css",
    ):
        response = viewer_client.get(path)
        assert response.status_code == 200, path
        response.close()
