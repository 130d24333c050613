"""The overview page, the freshness banner on every page, and the sync runs page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from configs_app.models import SyncRun
from tests.factories import RevisionFactory, SourceFactory, SyncRunFactory, TrainingJobConfigFactory

pytestmark = pytest.mark.django_db


# --- overview ------------------------------------------------------------------------------------


@pytest.fixture
def data():
    a, b = SourceFactory(name="alpha"), SourceFactory(name="beta")
    made = [
        TrainingJobConfigFactory(source=a, engine_name="PyTorch", create_time=1704067200000),  # 2024-01
        TrainingJobConfigFactory(source=a, engine_name="PyTorch", create_time=1704153600000),  # 2024-01
        TrainingJobConfigFactory(source=b, engine_name="MXNet", config_type="sample", create_time=1717200000000),
        TrainingJobConfigFactory(source=b, engine_name="MXNet", deleted_upstream_at=timezone.now()),
    ]
    RevisionFactory(config=made[0])
    return made


def test_overview_totals(viewer_client, data):
    response = viewer_client.get("/")
    assert response.status_code == 200
    overview = response.context["overview"]
    assert overview.total == 3 and overview.deleted == 1
    assert [(r.label, r.count, r.extra) for r in overview.by_source] == [("alpha", 2, 0), ("beta", 1, 1)]
    assert [(r.label, r.count) for r in overview.by_type] == [("Custom", 2), ("Sample", 1)]
    assert [(r.label, r.count) for r in overview.by_engine] == [("PyTorch", 2), ("MXNet", 1)]
    assert [(r.label, r.count) for r in overview.by_month] == [("2024-01", 2), ("2024-06", 1)]
    content = response.content.decode()
    assert 'id="chart-engine"' in content and "<svg" in content
    assert " style=" not in content


def test_overview_links_latest_changes(viewer_client, data):
    content = viewer_client.get("/").content.decode()
    recent = content[content.index('id="recent-changes"') :]
    assert f'href="{data[0].get_absolute_url()}"' in recent


def test_overview_escapes_names(viewer_client):
    config = TrainingJobConfigFactory(config_name="<img src=x onerror=alert(1)>", engine_name="<b>eng</b>")
    RevisionFactory(config=config)
    content = viewer_client.get("/").content.decode()
    assert "<img src=x" not in content and "<b>eng</b>" not in content


def test_overview_query_count_is_constant(viewer_client):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert viewer_client.get("/").status_code == 200
        return len(queries)

    source = SourceFactory(name="q")
    config = TrainingJobConfigFactory(source=source)
    RevisionFactory(config=config)
    few = count()
    for i in range(30):
        other = TrainingJobConfigFactory(source=SourceFactory(name=f"q{i % 3}"), engine_name=f"E{i}")
        RevisionFactory(config=other)
    assert count() == few
    assert few <= 12


# --- freshness banner ----------------------------------------------------------------------------


def banner(client, url: str = "/configs/") -> str:
    content = client.get(url).content.decode()
    start = content.index('id="freshness"')
    return content[start : content.index("</header>", start)]


def test_banner_says_never_synced(viewer_client):
    text = banner(viewer_client)
    assert "never synced" in text


def test_banner_shows_data_age(viewer_client):
    source = SourceFactory(name="fresh")
    SyncRunFactory(
        source=source,
        started_at=timezone.now() - dt.timedelta(minutes=5),
        finished_at=timezone.now() - dt.timedelta(minutes=4, seconds=1),
    )
    text = banner(viewer_client)
    assert re.search(r"data as of 4\xa0minutes ago", text)


def test_banner_explains_a_failed_sync(viewer_client):
    source = SourceFactory(name="flaky")
    SyncRunFactory(source=source, started_at=timezone.now() - dt.timedelta(hours=2))
    SyncRunFactory(
        source=source,
        status=SyncRun.Status.FAILED,
        error="ModelArts unavailable: HTTP 503 <gateway>",
        started_at=timezone.now() - dt.timedelta(minutes=10),
    )
    text = banner(viewer_client, "/").replace("\xa0", " ")
    assert "data as of an hour ago" in text
    assert "last sync failed" in text
    assert "ModelArts unavailable: HTTP 503 &lt;gateway&gt;" in text


def test_banner_explains_a_partial_sync(viewer_client):
    source = SourceFactory(name="half")
    SyncRunFactory(source=source, status=SyncRun.Status.PARTIAL, error="3 details could not be read")
    text = banner(viewer_client, "/sync-runs/")
    assert "was partial" in text and "3 details could not be read" in text


def test_banner_shows_a_running_sync(viewer_client, staff_client):
    source = SourceFactory(name="busy")
    SyncRunFactory(source=source, status=SyncRun.Status.RUNNING)
    assert "sync running" in banner(viewer_client)
    assert "Sync now" not in banner(staff_client).split('data-source="busy"')[1].split("freshness-source")[0]


def test_banner_is_on_every_page(viewer_client):
    config = TrainingJobConfigFactory()
    for url in ("/", "/configs/", config.get_absolute_url(), "/compare/", "/sync-runs/"):
        assert 'id="freshness"' in viewer_client.get(url).content.decode(), url


def test_banner_offers_sync_now_to_staff_only(viewer_client, staff_client):
    assert "Sync now" not in banner(viewer_client)
    assert "Sync now" in banner(staff_client)


# --- sync runs -----------------------------------------------------------------------------------


def test_sync_runs_page_lists_runs(viewer_client):
    source = SourceFactory(name="runs")
    SyncRunFactory(source=source, listed=812, created=3, updated=2, unchanged=807)
    SyncRunFactory(source=source, status=SyncRun.Status.FAILED, error="list page 3 failed: <503>")
    response = viewer_client.get("/sync-runs/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="sync-run-table"' in content
    assert "812" in content and "42.0 s" in content
    assert "text-bg-danger" in content and "text-bg-success" in content
    assert "list page 3 failed: &lt;503&gt;" in content


@pytest.mark.parametrize("params", [{"page": "-1"}, {"per_page": "-5"}, {"sort": "bogus"}, {"sort": "-duration"}])
def test_sync_runs_page_survives_bad_input(viewer_client, params):
    SyncRunFactory()
    assert viewer_client.get("/sync-runs/", params).status_code == 200


def test_staff_starts_a_sync(staff_client, fake_sync):
    source = SourceFactory(name="go")
    fake_sync.start_result = SyncRunFactory(source=source, status=SyncRun.Status.RUNNING, trigger="web")
    response = staff_client.post("/sync-runs/start/", {"source": source.pk}, follow=True)
    assert fake_sync.start_calls == [(source, "web")]
    assert response.redirect_chain[-1][0] == "/sync-runs/"
    assert f"Sync #{fake_sync.start_result.pk} of go started." in response.content.decode()


def test_sync_already_running_is_a_message(staff_client, fake_sync):
    source = SourceFactory(name="twice")
    response = staff_client.post("/sync-runs/start/", {"source": source.pk, "next": "/configs/?q=x"}, follow=True)
    assert response.redirect_chain[-1][0] == "/configs/?q=x"
    assert "A sync of twice is already running." in response.content.decode()


@pytest.mark.parametrize("value", ["", "abc", "999999", "-1", "99999999999999999999999"])
def test_sync_start_with_a_bad_source_is_404(staff_client, fake_sync, value):
    assert staff_client.post("/sync-runs/start/", {"source": value}).status_code == 404
    assert fake_sync.start_calls == []


def test_disabled_sources_cannot_be_synced(staff_client, fake_sync):
    source = SourceFactory(name="off", enabled=False)
    assert staff_client.post("/sync-runs/start/", {"source": source.pk}).status_code == 404


def test_sync_now_buttons_on_the_runs_page(staff_client, viewer_client):
    SourceFactory(name="one")
    assert 'id="sync-now"' in staff_client.get("/sync-runs/").content.decode()
    assert 'id="sync-now"' not in viewer_client.get("/sync-runs/").content.decode()
