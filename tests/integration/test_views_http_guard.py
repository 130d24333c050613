"""The guard of tests/conftest.py: a view test that makes an HTTP request fails."""

from __future__ import annotations

import http.client
import sys

import pytest
import requests

from tests.conftest import OutgoingHTTPBlocked
from tests.factories import TrainingJobConfigFactory

pytestmark = pytest.mark.django_db


def test_requests_is_blocked(no_outgoing_http):
    with pytest.raises(OutgoingHTTPBlocked):
        requests.get("http://127.0.0.1:9/", timeout=1)
    assert no_outgoing_http == ["requests GET http://127.0.0.1:9/"]
    no_outgoing_http.clear()  # this test provoked it on purpose


def test_http_client_is_blocked(no_outgoing_http):
    with pytest.raises(OutgoingHTTPBlocked):
        http.client.HTTPConnection("127.0.0.1", 9, timeout=1).request("GET", "/")
    assert no_outgoing_http
    no_outgoing_http.clear()


def test_a_view_that_swallows_the_error_is_still_caught(staff_client, monkeypatch, fake_sync, no_outgoing_http):
    def refresh_over_http(config):
        try:
            requests.get("https://modelarts.example.com/v1/x/training-job-configs/y", timeout=1)
        except Exception:  # noqa: BLE001 - the point: code that hides the failure
            pass
        return fake_sync.result("failed", "could not reach ModelArts")

    monkeypatch.setattr(sys.modules["configs_app.sync"], "config_refresh", refresh_over_http)
    config = TrainingJobConfigFactory()
    assert staff_client.post(f"/configs/refresh/{config.pk}/").status_code == 302
    # The guard recorded the attempt; at teardown it would fail this test.
    assert no_outgoing_http == ["requests GET https://modelarts.example.com/v1/x/training-job-configs/y"]
    no_outgoing_http.clear()


def test_pages_make_no_http_requests(viewer_client, no_outgoing_http):
    config = TrainingJobConfigFactory()
    for url in ("/", "/configs/", config.get_absolute_url(), "/sync-runs/", "/configs/export.xlsx"):
        assert viewer_client.get(url).status_code == 200
    assert no_outgoing_http == []
