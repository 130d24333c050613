"""Shared fixtures: users and logged-in clients, and the guard against outgoing HTTP.

Users (all with password ``pw``):

``viewer``      in the "Config viewers" group (created by a data migration): may view configs.
``staff_user``  staff and a viewer: may also start syncs and refresh configs.
``nobody``      logged in, no permission: gets 403 on every page.

Clients: ``viewer_client``, ``staff_client``, ``nobody_client`` (logged in), and Django's
``client`` (anonymous).

``fake_sync`` stands in for ``configs_app.sync`` in view tests (see ``FakeSync``).

Every test runs under ``no_outgoing_http``: pages read only the cache, so a test that makes an
HTTP request (requests or http.client) fails, even when the code under test swallows the error.
Exempt are tests marked ``simulator`` and tests using ``modelarts_sim``, ``modelarts_sim_factory``
or ``live_server`` (they talk to loopback servers on purpose).
"""

from __future__ import annotations

import http.client
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests.adapters
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.test import Client

pytest_plugins = ["tests.simulator_plugin"]

VIEWER_GROUP = "Config viewers"
PASSWORD = "pw"
_HTTP_FIXTURES = frozenset({"modelarts_sim", "modelarts_sim_factory", "live_server"})


class OutgoingHTTPBlocked(AssertionError):
    """Raised when a test that must stay offline makes an HTTP request."""


@pytest.fixture(autouse=True)
def no_outgoing_http(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail the test on any HTTP request through ``requests`` or ``http.client``.

    Yields the list of attempts; a test of the guard itself empties it after checking it.
    """
    attempts: list[str] = []
    if request.node.get_closest_marker("simulator") or _HTTP_FIXTURES & set(request.fixturenames):
        yield attempts
        return

    def blocked_send(self, prepared, *args, **kwargs):
        attempts.append(f"requests {prepared.method} {prepared.url}")
        raise OutgoingHTTPBlocked(f"test tried an HTTP request: {prepared.method} {prepared.url}")

    def blocked_connect(self, *args, **kwargs):
        attempts.append(f"http.client connect {self.host}:{self.port}")
        raise OutgoingHTTPBlocked(f"test tried to connect to {self.host}:{self.port}")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", blocked_send)
    monkeypatch.setattr(http.client.HTTPConnection, "connect", blocked_connect)
    yield attempts
    if attempts:
        pytest.fail(
            "outgoing HTTP attempted (the code under test may have swallowed the error): " + "; ".join(attempts)
        )


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """The cache (login failure counters, generation key) starts empty in every test."""
    cache.clear()


def _user(username: str, *, staff: bool = False, viewer: bool = True) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=staff)
    if viewer:
        user.groups.add(Group.objects.get(name=VIEWER_GROUP))
    return user


@pytest.fixture
def viewer(db) -> User:
    return _user("viewer")


@pytest.fixture
def staff_user(db) -> User:
    return _user("staff", staff=True)


@pytest.fixture
def nobody(db) -> User:
    return _user("nobody", viewer=False)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(viewer) -> Client:
    return _client(viewer)


@pytest.fixture
def staff_client(staff_user) -> Client:
    return _client(staff_user)


@pytest.fixture
def nobody_client(nobody) -> Client:
    return _client(nobody)


@dataclass
class FakeSync:
    """What the views' calls into ``configs_app.sync`` did, and what they get back.

    Set ``refresh_result`` (anything with ``.outcome`` and ``.message``; see ``refresh_result()``)
    and ``start_result`` (a ``SyncRun`` or None for "already running") before the request.
    """

    refresh_calls: list[Any] = field(default_factory=list)
    start_calls: list[tuple[Any, str]] = field(default_factory=list)
    refresh_result: Any = None
    start_result: Any = None

    @staticmethod
    def result(outcome: str, message: str) -> types.SimpleNamespace:
        """A stand-in for ``configs_app.sync.RefreshResult``."""
        return types.SimpleNamespace(outcome=outcome, message=message)


@pytest.fixture
def fake_sync(monkeypatch: pytest.MonkeyPatch) -> FakeSync:
    """Replace ``configs_app.sync`` for the test with a module that records calls.

    The views import ``config_refresh`` and ``start_background_sync`` inside the view, so the
    module found in ``sys.modules`` is the one they use; the real sync engine (and the API client
    it loads) is never imported by these tests.
    """
    fake = FakeSync(refresh_result=FakeSync.result("unchanged", "The config is unchanged in ModelArts."))
    module = types.ModuleType("configs_app.sync")

    def config_refresh(config):
        fake.refresh_calls.append(config)
        return fake.refresh_result

    def start_background_sync(source, *, trigger: str = "web", config_type: str = "all"):
        fake.start_calls.append((source, trigger))
        return fake.start_result

    module.config_refresh = config_refresh
    module.start_background_sync = start_background_sync
    monkeypatch.setitem(sys.modules, "configs_app.sync", module)
    return fake
