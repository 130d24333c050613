"""Who may reach what, proved for every URL the project has, not for a hand-picked list.

The test walks the URL configuration (``get_resolver()``, recursively through every
``URLResolver``: the project's pages, the accounts views, the whole admin), builds a concrete URL
for each pattern from real objects, checks that the URL resolves back to that very pattern, and
then asks each kind of user for it:

==============  =============================================================================
anonymous       a page: redirect to the login page; only ``PUBLIC`` answers without a login
nobody          logged in without the view permission: 403 on every config page and action
viewer          every page; the column picker; 403 on every staff action; no admin
staff           the staff actions (POST only); the admin is staff-only (its own login page)
any user        a POST without a CSRF token is refused 403 on every URL, whatever the view
==============  =============================================================================

Every pattern must have a decision in ``DECISIONS``: a URL added without one fails
``test_every_url_has_a_decision``, so nobody can add a page and forget who may see it.
Static files are not in the URL configuration (WhiteNoise serves them before URL resolution);
``test_static_files_need_no_login`` covers them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from configs_app.models import ConfigParameter, TablePreference, TrainingJobConfig
from tests.factories import RevisionFactory, SourceFactory, SyncRunFactory, TrainingJobConfigFactory

pytestmark = pytest.mark.django_db


# --- The walk -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern: its full route (as ``ResolverMatch.route`` spells it), name and view."""

    route: str
    name: str | None
    callback: Callable[..., Any]

    def __str__(self) -> str:
        return self.route


def _join(prefix: str, route: str) -> str:
    # The way URLResolver joins routes for ResolverMatch.route: a nested regex loses its "^".
    return route if not prefix else prefix + route.removeprefix("^")


def walk(resolver: URLResolver | None = None, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    """Every URL pattern under ``resolver`` (the root URLconf by default), depth first."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = _join(prefix, str(entry.pattern))
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace or ""]))
            yield from walk(entry, route, inner)
        else:
            assert isinstance(entry, URLPattern)
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield Route(route, name, entry.callback)


def _view_chain(callback: Callable[..., Any]) -> list[str]:
    """Qualified names of a view and of everything it wraps (decorators keep ``__wrapped__``)."""
    names = []
    while callback is not None:
        names.append(getattr(callback, "__qualname__", ""))
        callback = getattr(callback, "__wrapped__", None)
    return names


ROUTES = list(walk())
ROUTE_IDS = [r.route for r in ROUTES]

# --- The decisions ------------------------------------------------------------------------------

PUBLIC = "public"  # answers without a login (the allowlist)
SESSION = "session"  # logging out: POST only, for whoever is logged in
PAGE = "page"  # GET, needs the view permission
VIEWER_POST = "viewer-post"  # POST, needs the view permission (a user's own settings)
STAFF_POST = "staff-post"  # POST, staff only: reaches ModelArts
ADMIN = "admin"  # Django admin: staff only, behind the admin's own login

DECISIONS: dict[str, str] = {
    "accounts/login/": PUBLIC,
    "healthz": PUBLIC,
    "admin/login/": PUBLIC,
    "accounts/logout/": SESSION,
    "": PAGE,
    "configs/": PAGE,
    r"^configs/export\.(?P<fmt>csv|json|xlsx)$": PAGE,
    "configs/<str:source>/<str:config_type>/<path:config_name>/": PAGE,
    "compare/": PAGE,
    "sync-runs/": PAGE,
    "configs/columns/": VIEWER_POST,
    "configs/refresh/<int:pk>/": STAFF_POST,
    "sync-runs/start/": STAFF_POST,
}


def _admin_routes() -> dict[str, str]:
    """The admin's own URLs (site views and six per registered model) are decided as a block:
    they are all behind ``AdminSite.admin_view``, which the tests below check URL by URL. A URL
    a ModelAdmin adds through ``get_urls`` is not in this block and needs its own decision."""
    site_views = [
        "",
        "logout/",
        "password_change/",
        "password_change/done/",
        "autocomplete/",
        "jsi18n/",
        "r/<path:content_type_id>/<path:object_id>/",
        "(?P<app_label>auth|configs_app)/$",
        "(?P<url>.*)$",
    ]
    routes = {f"admin/{r}": ADMIN for r in site_views}
    for model in admin.site._registry:
        base = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        for suffix in ("", "add/", "<path:object_id>/history/", "<path:object_id>/delete/",
                       "<path:object_id>/change/", "<path:object_id>/"):
            routes[base + suffix] = ADMIN
    routes["admin/auth/user/<id>/password/"] = ADMIN  # UserAdmin's password form
    return routes


DECISIONS.update(_admin_routes())
DECISIONS["admin/login/"] = PUBLIC

#: URLs that answer without a login, and why.
ALLOWLIST = {
    "accounts/login/": "the login page itself",
    "admin/login/": "the admin's login page (it only sends staff on to the admin)",
    "healthz": "load balancers' health check; answers ok or database unavailable, nothing else",
}


def routes_with(decision: str) -> list[Route]:
    return [r for r in ROUTES if DECISIONS.get(r.route) == decision]


def test_every_url_has_a_decision():
    """A new URL without a decision here fails: decide who may see it first."""
    seen = set(ROUTE_IDS)
    assert len(seen) == len(ROUTE_IDS), "two patterns with the same route"
    assert seen - set(DECISIONS) == set(), "URLs without an access decision"
    assert set(DECISIONS) - seen == set(), "decisions for URLs that no longer exist"


def test_only_the_allowlist_is_exempt_from_login():
    """``login_not_required`` (what LoginRequiredMiddleware honours) is on exactly the allowlist."""
    exempt = {r.route for r in ROUTES if getattr(r.callback, "login_required", True) is False}
    assert exempt == set(ALLOWLIST)
    assert {r.route for r in routes_with(PUBLIC)} == set(ALLOWLIST)


def test_every_staff_required_view_is_a_staff_post():
    """Views wrapped in ``staff_required`` are exactly the STAFF_POST decisions, and POST only."""
    staff = {r.route for r in ROUTES if any("staff_required" in n for n in _view_chain(r.callback))}
    assert staff == {r.route for r in routes_with(STAFF_POST)}
    assert staff, "staff_required is no longer found: update this test"


# --- Concrete URLs from real objects -------------------------------------------------------------


@pytest.fixture
def objects(viewer, staff_user, nobody) -> dict[str, Any]:
    """One row of every model, so every admin change page and every detail URL has a target."""
    source = SourceFactory(name="team-a")
    config = TrainingJobConfigFactory(source=source, config_name="acl-config")
    revision = RevisionFactory(config=config)
    run = SyncRunFactory(source=source)
    preference = TablePreference.objects.create(user=viewer, table_name="configs", columns=["engine"])
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    return {
        "config": config,
        "source": source,
        "run": run,
        "root": root,
        "pk_by_model": {
            "configsource": source.pk,
            "trainingjobconfig": config.pk,
            "configparameter": ConfigParameter.objects.filter(config=config).first().pk,
            "configrevision": revision.pk,
            "syncrun": run.pk,
            "tablepreference": preference.pk,
            "user": viewer.pk,
            "group": viewer.groups.first().pk,
        },
    }


def url_for(route: Route, objects: dict[str, Any]) -> str:
    """A concrete URL for ``route`` that resolves back to it."""
    config: TrainingJobConfig = objects["config"]
    path = route.route
    if route.name == "configs:detail":
        url = config.get_absolute_url()
    elif route.name == "configs:export":
        url = reverse(route.name, kwargs={"fmt": "json"})
    elif route.name == "configs:refresh":
        url = reverse(route.name, kwargs={"pk": config.pk})
    elif route.name == "admin:view_on_site":
        ct = ContentType.objects.get_for_model(TrainingJobConfig)
        url = reverse(route.name, kwargs={"content_type_id": ct.pk, "object_id": config.pk})
    elif route.name == "admin:app_list":
        url = reverse(route.name, kwargs={"app_label": "configs_app"})
    elif route.name == "admin:auth_user_password_change":
        url = reverse(route.name, kwargs={"id": objects["pk_by_model"]["user"]})
    elif path == "admin/(?P<url>.*)$":
        url = "/admin/no-such-page/"
    elif path.startswith("admin/") and "<path:object_id>" in path:
        model = path.split("/")[2]
        pk = objects["pk_by_model"][model]
        url = "/" + path.replace("<path:object_id>", str(pk))
    else:
        url = reverse(route.name)
    assert resolve(urlsplit(url).path).route == route.route, (url, route.route)
    return url


def _client(user: User | None = None, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client


def _read(response) -> bytes:
    """The body; a streamed one read to the end, which also closes it (see test_bad_input.fetch)."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def _is_login_redirect(response, url: str, login: str = "/accounts/login/") -> bool:
    """A redirect to ``login`` that brings the user back to ``url`` afterwards."""
    if response.status_code != 302:
        return False
    location = urlsplit(response["Location"])
    return location.path == login and parse_qs(location.query).get("next") == [url]


# --- Anonymous ----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_anonymous_users_get_nothing_but_the_allowlist(client, objects, route):
    url = url_for(route, objects)
    decision = DECISIONS[route.route]
    response = client.get(url)
    body = _read(response)
    if decision == PUBLIC:
        assert response.status_code == 200, url
        return
    if decision == ADMIN:
        # The admin sends strangers to its own login page (or the site's: either asks for a login).
        assert _is_login_redirect(response, url, "/admin/login/") or _is_login_redirect(response, url), url
        return
    # Pages send people to the login page; anything that is not HTML may answer 401/403 instead.
    non_html = not response.get("Content-Type", "text/html").startswith("text/html")
    assert _is_login_redirect(response, url) or (non_html and response.status_code in (401, 403)), url
    assert b"acl-config" not in body, url
    post = client.post(url)
    assert _is_login_redirect(post, url) or post.status_code in (401, 403, 405), url


# --- Logged in without the permission ------------------------------------------------------------


@pytest.mark.parametrize("route", routes_with(PAGE) + routes_with(VIEWER_POST) + routes_with(STAFF_POST),
                         ids=lambda r: r.route)
def test_users_without_the_permission_get_403(nobody_client, objects, fake_sync, route):
    url = url_for(route, objects)
    method = "get" if DECISIONS[route.route] == PAGE else "post"
    response = getattr(nobody_client, method)(url)
    _read(response)
    assert response.status_code == 403, url
    assert fake_sync.start_calls == [] and fake_sync.refresh_calls == []


@pytest.mark.parametrize("route", routes_with(ADMIN), ids=lambda r: r.route)
def test_the_admin_is_closed_to_viewers_and_nobody(viewer_client, nobody_client, objects, route):
    url = url_for(route, objects)
    for client in (viewer_client, nobody_client):
        response = client.get(url, follow=True)
        # Non-staff users end on the admin's login page (logout/ goes there through /admin/);
        # a 403 would do too. Never an admin page.
        final = response.redirect_chain[-1][0] if response.redirect_chain else url
        assert response.status_code == 403 or urlsplit(final).path == "/admin/login/", (url, final)
        assert b"acl-config" not in response.content, url


# --- Viewers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", routes_with(PAGE), ids=lambda r: r.route)
def test_viewers_see_every_page_and_cannot_post_to_it(viewer_client, objects, route):
    url = url_for(route, objects)
    response = viewer_client.get(url)
    _read(response)
    assert response.status_code == 200, url
    assert viewer_client.post(url).status_code == 405, url  # pages change nothing


@pytest.mark.parametrize("route", routes_with(STAFF_POST), ids=lambda r: r.route)
def test_staff_actions_are_refused_to_viewers(viewer_client, objects, fake_sync, route):
    url = url_for(route, objects)
    response = viewer_client.post(url, {"source": objects["source"].pk})
    assert response.status_code == 403, url
    assert fake_sync.start_calls == [] and fake_sync.refresh_calls == []


@pytest.mark.parametrize("route", routes_with(STAFF_POST) + routes_with(VIEWER_POST), ids=lambda r: r.route)
def test_actions_are_post_only(staff_client, objects, fake_sync, route):
    url = url_for(route, objects)
    assert staff_client.get(url).status_code == 405, url
    assert fake_sync.start_calls == [] and fake_sync.refresh_calls == []


@pytest.mark.parametrize("route", routes_with(STAFF_POST), ids=lambda r: r.route)
def test_staff_may_use_the_staff_actions(staff_client, objects, fake_sync, route):
    fake_sync.start_result = SyncRunFactory(source=objects["source"], status="running")
    url = url_for(route, objects)
    response = staff_client.post(url, {"source": objects["source"].pk})
    assert response.status_code == 302, url
    assert len(fake_sync.start_calls) + len(fake_sync.refresh_calls) == 1


@pytest.mark.parametrize("route", routes_with(ADMIN), ids=lambda r: r.route)
def test_superusers_reach_every_admin_url(objects, route):
    url = url_for(route, objects)
    response = _client(objects["root"]).get(url)
    # Pages, redirects (object URLs, view on site), 403 for adding to or deleting from the
    # read-only cache, 404 for the catch-all, 405 for GET on logout/ (POST only). Never a 5xx.
    assert response.status_code in (200, 302, 403, 404, 405), (url, response.status_code)


# --- CSRF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_csrf_is_enforced_on_every_post(objects, fake_sync, route):
    """A POST without the CSRF token is refused on every URL, by anyone, before any view runs."""
    url = url_for(route, objects)
    before = (TrainingJobConfig.objects.count(), TablePreference.objects.count(), User.objects.count())
    data = {"source": objects["source"].pk, "username": "root", "password": "pw", "columns": ["engine"]}
    for user in (None, objects["root"]):
        response = _client(user, csrf=True).post(url, data)
        assert response.status_code == 403, (url, user)
        assert b"CSRF" in response.content, (url, user)
    assert fake_sync.start_calls == [] and fake_sync.refresh_calls == []
    assert (TrainingJobConfig.objects.count(), TablePreference.objects.count(), User.objects.count()) == before


# --- Static files -------------------------------------------------------------------------------


def test_static_files_need_no_login(client):
    for path in ("/static/configs_app/app.css", "/static/configs_app/app.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        b"".join(response.streaming_content)  # read to the end: closes the file
