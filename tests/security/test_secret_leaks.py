"""No secret leaves the dashboard: every page, export, admin page, error page and log record is
scanned for every secret the simulator planted and for the credentials that read it.

The simulator's seed data carries realistic secrets in parameters, commands and URLs
(``state.secret_values()``). They are synced into the cache for real (AK/SK, then an IAM user and
password, then a static token, so every auth path and its log lines run), changed upstream so
revisions with diffs of secrets exist, and a config is refreshed from the page. Then everything a
user or an admin can fetch is fetched and searched for each secret and credential, raw and in
every encoding a page might use (HTML, JSON, URL, XML escapes), including the XML inside the
XLSX export. Log records are captured at DEBUG for the whole test.

DEBUG error pages are out of scope: the dashboard never runs with DEBUG in production and the
tests run with DEBUG false.
"""

from __future__ import annotations

import html
import io
import json
import logging
import re
import urllib.parse
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape as xml_escape

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils.html import escape as django_escape

from configs_app.models import ConfigParameter, ConfigRevision, TrainingJobConfig

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.simulator]

#: A JWT's header is the same in every JWT; it is not a secret of its own.
_COMMON_PREFIXES = ("eyJhbGciOiJIUzI1",)


def variants(secret: str) -> set[str]:
    """``secret`` as it would appear in a page, a JSON body, a URL or an XML part."""
    forms = {
        secret,
        html.escape(secret),
        django_escape(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        xml_escape(secret),
    }
    # A long secret cut short (a truncated cell) still leaks: look for its first 16 characters.
    if len(secret) >= 24 and not secret.startswith(_COMMON_PREFIXES):
        forms.add(secret[:16])
    return forms


@dataclass
class LeakScanner:
    """Searches texts for any form of any secret and counts what it has seen."""

    secrets: set[str]
    caplog: pytest.LogCaptureFixture | None = None
    responses: int = 0
    log_records: int = 0
    leaks: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        short = {s for s in self.secrets if len(s) < 8}
        assert not short, f"secrets too short to scan for without false alarms: {short}"
        self._forms = {form: secret for secret in self.secrets for form in variants(secret)}
        self._seen = 0

    def text(self, where: str, text: str, *, echoed: Iterable[str] = ()) -> None:
        """Record every secret found in ``text``, except those the request itself sent (``echoed``):
        a search box showing what was typed into it is not a leak."""
        skip = set(echoed)
        for form, secret in self._forms.items():
            if secret not in skip and form in text:
                self.leaks.append(f"{where}: {secret[:6]}… (as {form[:10]}…)")

    def response(self, where: str, response, *, echoed: Iterable[str] = ()) -> None:
        self.responses += 1
        if response.streaming:
            body = b"".join(response.streaming_content)  # read to the end: closes it (see test_bad_input.fetch)
        else:
            body = response.content
        headers = "\n".join(f"{k}: {v}" for k, v in response.items())
        self.text(f"{where} (headers)", headers, echoed=echoed)
        if body[:2] == b"PK":  # XLSX: scan the XML parts inside the zip
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                for name in archive.namelist():
                    self.text(f"{where} [{name}]", archive.read(name).decode("utf-8", "replace"), echoed=echoed)
        else:
            self.text(where, body.decode("utf-8", "replace"), echoed=echoed)
        self.new_records(echoed=echoed)

    def new_records(self, *, echoed: Iterable[str] = ()) -> None:
        """Scan the log records written since the last call (during one request, they may
        echo that request's own query: django.template logs the context at DEBUG)."""
        if self.caplog is None:
            return
        records = self.caplog.get_records("call")
        self.records(records[self._seen:], echoed=echoed)
        self._seen = len(records)

    def records(self, records: Iterable[logging.LogRecord], *, echoed: Iterable[str] = ()) -> None:
        for record in records:
            self.log_records += 1
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            self.text(f"log {record.name}", text, echoed=echoed)


# --- Fill the cache from the simulator -----------------------------------------------------------

NEW_SECRET = "Rotated-Pw-7c1e9a44f2"  # planted by this test in an update upstream


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def synced(modelarts_sim, monkeypatch, settings, caplog):
    """The simulator's data synced with each auth mode, changed upstream in between, captured at
    DEBUG; returns the simulator and a scanner that knows every secret and credential."""
    caplog.set_level(logging.DEBUG)
    for name in ("configs_app", "configs_app.modelarts", "urllib3", "django", "django.request", "modelarts_sim"):
        caplog.set_level(logging.DEBUG, logger=name)
    state = modelarts_sim.state
    from configs_app.sources import environment_source
    from configs_app.sync import configs_sync

    def sync(mode: str, **extra):
        for name in ("MODELARTS_AK", "MODELARTS_SK", "MODELARTS_PASSWORD", "MODELARTS_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        env = modelarts_sim.env(mode)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        settings.MODELARTS = {
            **settings.MODELARTS,
            "ENDPOINT": modelarts_sim.url,
            "PROJECT_ID": modelarts_sim.project_id,
            "REGION": modelarts_sim.region,
            "USERNAME": env.get("MODELARTS_USERNAME", ""),
            "DOMAIN": env.get("MODELARTS_DOMAIN", ""),
            "IAM_ENDPOINT": env.get("MODELARTS_IAM_ENDPOINT", ""),
        }
        source = environment_source()
        assert source.auth_mode == {"aksk": "aksk", "password": "password", "token": "token"}[mode]
        result = configs_sync(source=source)
        assert result.status == "succeeded", (mode, result.error)
        return result

    sync("aksk")
    # Upstream changes: a secret rotated (a revision whose diff holds old and new secret), a
    # config deleted (kept as deleted upstream), new configs with secrets of their own.
    names = state.config_names()
    detail = state.get_config(names[0])
    params = [dict(p) for p in detail.get("parameter") or []]
    params.append({"label": "DB_PASSWORD", "value": NEW_SECRET})
    state.update_config(names[0], {"parameter": params, "config_desc": "rotated"})
    state.delete_config(names[1])
    state.generate_configs(3)
    sync("password")
    sync("token")

    issued_tokens = set(state._tokens) - {state.token}  # issued to the password sync (no public accessor)
    assert issued_tokens, "the password sync fetched no IAM token"
    credentials = {state.ak, state.sk, state.password, state.token, *state.credential_values(), *issued_tokens}
    scanner = LeakScanner(state.secret_values() | {NEW_SECRET} | credentials)
    # The test means something only if the cache holds the secrets (it is the system of record).
    raw = json.dumps(list(TrainingJobConfig.objects.values_list("raw", flat=True)))
    assert sum(secret in raw for secret in state.secret_values()) >= 10
    assert ConfigRevision.objects.filter(kind="changed").exists()
    assert TrainingJobConfig.objects.filter(deleted_upstream_at__isnull=False).exists()
    return modelarts_sim, scanner


@pytest.fixture
def reader(db) -> User:
    """A viewer by permission (the "Config viewers" group comes from a data migration, which a
    transactional test's flush removes)."""
    user = User.objects.create_user("leak-viewer", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="view_trainingjobconfig"))
    return user


def _finish(scanner: LeakScanner, caplog, label: str) -> None:
    scanner.records(caplog.get_records("setup"))  # the syncs
    scanner.new_records()  # anything after the last request
    print(f"\n{label}: {scanner.responses} responses, {scanner.log_records} log records, "
          f"{len(scanner.secrets)} secrets and credentials, {len(scanner.leaks)} leaks")
    assert scanner.leaks == []


# --- Pages and exports ---------------------------------------------------------------------------


def test_no_page_or_export_shows_a_secret(synced, reader, caplog):
    sim, scanner = synced
    scanner.caplog = caplog
    client = _client_for(reader)
    configs = list(TrainingJobConfig.objects.order_by("pk"))
    assert len(configs) >= 50

    def get(url, params=None, *, echoed=()):
        response = client.get(url, params or {})
        assert response.status_code == 200, (url, params)
        scanner.response(f"GET {url} {params or ''}", response, echoed=echoed)
        return response

    get("/")
    for params in ({}, {"status": "all"}, {"status": "deleted"}, {"status": "all", "per_page": "500"},
                   {"q": "password"}, {"q": "token"}, {"parameter": "DB_PASSWORD"}, {"sort": "-description"}):
        get("/configs/", params)
    # Searching for a secret finds nothing, by quick search or by parameter value.
    for secret in sorted(scanner.secrets):
        for params in ({"q": secret, "status": "all"}, {"parameter_value": secret, "status": "all"}):
            response = get("/configs/", params, echoed=[secret])
            assert re.search(rb'id="result-count">\s*0\s+configs', response.content), (
                f"a search for a secret matched: {secret[:6]}…"
            )
    for config in configs:
        get(config.get_absolute_url())
    ids = [c.pk for c in configs]
    for start in range(0, len(ids), 6):
        chunk = ids[start:start + 6]
        if len(chunk) >= 2:
            get("/compare/", {"c": chunk})
            get("/compare/", {"c": chunk, "diff": "1"})
    get("/sync-runs/")
    for fmt in ("csv", "json", "xlsx"):
        get(f"/configs/export.{fmt}", {"status": "all"})
        get("/configs/", {"_export": fmt, "status": "deleted"})
    _finish(scanner, caplog, "pages and exports")


def test_refreshing_a_config_shows_no_secret(synced, reader, caplog):
    """A staff refresh goes to ModelArts for real; its message and the page after it are clean."""
    sim, scanner = synced
    scanner.caplog = caplog
    staff = User.objects.create_user("leak-staff", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_trainingjobconfig"))
    client = _client_for(staff)
    changed = TrainingJobConfig.objects.filter(config_name=sim.state.config_names()[0]).first()
    sim.state.update_config(changed.config_name, {"user_command": f"python train.py --db-password={NEW_SECRET}"})
    for config in (changed, TrainingJobConfig.objects.exclude(pk=changed.pk).first()):
        response = client.post(reverse("configs:refresh", kwargs={"pk": config.pk}), follow=True)
        assert response.status_code == 200
        scanner.response(f"refresh {config.config_name}", response)
    _finish(scanner, caplog, "refresh")


# --- The admin -----------------------------------------------------------------------------------


def test_no_admin_page_shows_a_secret(synced, caplog):
    sim, scanner = synced
    scanner.caplog = caplog
    root = User.objects.create_superuser("leak-root", "root@example.com", "pw")
    client = _client_for(root)
    models = [m for m in admin.site._registry if m._meta.app_label == "configs_app"]
    assert {m._meta.model_name for m in models} >= {"trainingjobconfig", "configparameter", "configrevision",
                                                     "syncrun", "configsource", "tablepreference"}
    for model in models:
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        for params in ({}, {"all": ""}, {"q": "password"}):
            response = client.get(changelist, params)
            assert response.status_code == 200, (changelist, params)
            scanner.response(f"admin {changelist} {params}", response)
        for pk in model.objects.values_list("pk", flat=True):
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
            response = client.get(url)
            assert response.status_code == 200, url
            scanner.response(f"admin {url}", response)
    assert ConfigParameter.objects.filter(is_secret=True).exists()
    _finish(scanner, caplog, "admin")


# --- Error pages ---------------------------------------------------------------------------------


def test_error_pages_show_no_secret(synced, reader, caplog, monkeypatch):
    sim, scanner = synced
    scanner.caplog = caplog
    viewer = _client_for(reader)
    nobody = _client_for(User.objects.create_user("leak-nobody", password="pw"))
    config = TrainingJobConfig.objects.exclude(parameters=[]).first()
    url = config.get_absolute_url()
    checks = [
        ("404 unknown config", viewer.get(url.replace(config.config_name, "no-such-config")), 404),
        ("404 unknown page", viewer.get("/no-such-page/"), 404),
        ("403 no permission", nobody.get(url), 403),
        ("400 bad host", viewer.get(url, HTTP_HOST="evil.example"), 400),
        ("405 wrong method", viewer.post(url), 405),
    ]
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(reader)
    checks.append(("403 csrf", csrf.post("/configs/columns/", {"columns": ["engine"]}), 403))
    from configs_app.views import ConfigDetailView

    def broken(*args, **kwargs):
        raise RuntimeError("selector failed")

    monkeypatch.setattr(ConfigDetailView, "get_object", broken)
    quiet = Client(raise_request_exception=False)
    quiet.force_login(reader)
    checks.append(("500 server error", quiet.get(url), 500))
    for label, response, status in checks:
        assert response.status_code == status, label
        scanner.response(label, response)
    _finish(scanner, caplog, "error pages")
