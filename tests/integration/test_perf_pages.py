"""What keeps the pages fast at 100,000 configs, checked without timing anything.

Cached counts and page fragments must never show stale data (a new sync is visible at once, from
this process or another), the CSRF token of a page served from the cache is the user's own, the
number of queries does not grow with the table or the page size, and the table's pages are read
from an index in order (no sort of every row). Timings are measured in ``bench/page_bench.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from configs_app import selectors
from configs_app.models import ConfigRevision, ConfigSource, TablePreference, TrainingJobConfig
from configs_app.records import config_fields
from configs_app.sources import environment_source
from tests.factories import SourceFactory, TrainingJobConfigFactory, default_payload

pytestmark = pytest.mark.django_db

URL = "/configs/"
SQLITE = pytest.mark.skipif("connection.vendor != 'sqlite'", reason="plans of SQLite without statistics")


def result_count(client: Client, url: str = URL, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return " ".join(re.search(r'id="result-count">(.*?)</span>', response.content.decode(), re.S).group(1).split())


def bump_generation() -> None:
    """What ``configs_app.sync`` does after it wrote."""
    try:
        cache.incr(selectors.GENERATION_KEY)
    except ValueError:
        cache.set(selectors.GENERATION_KEY, 1, timeout=None)


def write_like_a_sync(source: ConfigSource, name: str, **payload: Any) -> TrainingJobConfig:
    """A new config written as ``configs_sync`` does: bulk_create plus a "created" revision."""
    fields = config_fields({**default_payload(700), "config_name": name, **payload})
    (config,) = TrainingJobConfig.objects.bulk_create(
        [TrainingJobConfig(source=source, config_type="custom", config_name=name, **fields)]
    )
    ConfigRevision.objects.bulk_create(
        [ConfigRevision(config=config, kind=ConfigRevision.Kind.CREATED, content_hash=fields["content_hash"])]
    )
    return config


@pytest.fixture
def thirty():
    source = SourceFactory(name="perf")
    return [TrainingJobConfigFactory(source=source, config_name=f"perf-{i:02d}") for i in range(30)]


def test_the_generation_key_is_the_one_the_sync_engine_bumps():
    from configs_app.sync import GENERATION_KEY

    assert selectors.GENERATION_KEY == GENERATION_KEY


# --- a new sync is visible at once -------------------------------------------------------------


def test_a_sync_in_this_process_is_visible_at_once(viewer_client, thirty):
    assert result_count(viewer_client, per_page=25) == "1–25 of 30 configs"
    assert result_count(viewer_client, per_page=25, q="perf") == "1–25 of 30 configs"
    write_like_a_sync(thirty[0].source, "aaa-perf-new")
    bump_generation()
    assert result_count(viewer_client, per_page=25) == "1–25 of 31 configs"
    assert result_count(viewer_client, per_page=25, q="perf") == "1–25 of 31 configs"
    assert "aaa-perf-new" in viewer_client.get(URL, {"per_page": 25}).content.decode()


def test_a_sync_by_another_process_is_visible_without_the_generation(viewer_client, thirty):
    """With a per-process cache a cron sync cannot bump this process's generation: the data
    version also reads the newest revision and config ids from the database."""
    assert result_count(viewer_client) == "1–30 of 30 configs"
    config = write_like_a_sync(thirty[0].source, "perf-zz-other-process")
    assert result_count(viewer_client) == "1–31 of 31 configs"
    # A change to an existing config adds a revision (and nothing else the version reads).
    TrainingJobConfig.objects.filter(pk=config.pk).update(deleted_upstream_at=timezone.now())
    ConfigRevision.objects.create(config=config, kind=ConfigRevision.Kind.DELETED)
    assert result_count(viewer_client) == "1–30 of 30 configs"


def test_detail_and_overview_follow_a_sync(viewer_client, thirty):
    config = thirty[3]
    assert "a brand-new description" not in viewer_client.get(config.get_absolute_url()).content.decode()
    overview = viewer_client.get("/").content.decode()
    assert re.search(r'id="total-active"><a[^>]*>30<', overview)

    fields = config_fields({**config.raw, "config_desc": "a brand-new description"})
    TrainingJobConfig.objects.filter(pk=config.pk).update(raw=fields["raw"], config_desc=fields["config_desc"])
    ConfigRevision.objects.create(config=config, kind=ConfigRevision.Kind.CHANGED)
    write_like_a_sync(config.source, "perf-new-one")
    bump_generation()

    detail = viewer_client.get(config.get_absolute_url()).content.decode()
    assert detail.count("a brand-new description") >= 2  # the header and the cached fields
    assert re.search(r'id="total-active"><a[^>]*>31<', viewer_client.get("/").content.decode())


@pytest.fixture
def point_at(monkeypatch: pytest.MonkeyPatch, settings) -> Callable[[Any], ConfigSource]:
    def point(sim: Any) -> ConfigSource:
        env = sim.env("aksk")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings.MODELARTS = {
            **settings.MODELARTS,
            "ENDPOINT": env["MODELARTS_ENDPOINT"],
            "PROJECT_ID": env["MODELARTS_PROJECT_ID"],
            "REGION": env["MODELARTS_REGION"],
            "TIMEOUT": 2.0,
        }
        return environment_source()

    return point


def test_real_syncs_are_visible_at_once_on_every_cached_page(modelarts_sim_factory, point_at, viewer_client):
    from configs_app.sync import configs_sync

    sim = modelarts_sim_factory(configs=20, samples=0, seed=5)
    source = point_at(sim)
    configs_sync(source=source)
    name = sorted(sim.state.config_names())[0]
    config = TrainingJobConfig.objects.get(config_name=name)
    assert result_count(viewer_client) == "1–20 of 20 configs"
    assert result_count(viewer_client, q="platypus") == "0 configs"
    viewer_client.get(config.get_absolute_url())

    sim.state.update_config(name, {"config_desc": "platypus in the description"})
    sim.state.delete_config(sorted(sim.state.config_names())[-1])
    configs_sync(source=source)

    assert result_count(viewer_client) == "1–19 of 19 configs"
    assert result_count(viewer_client, q="platypus") == "1–1 of 1 configs"
    assert "platypus in the description" in viewer_client.get(config.get_absolute_url()).content.decode()


# --- cached fragments never carry someone else's state --------------------------------------------


def test_a_page_from_the_cache_carries_the_users_own_csrf_token(viewer, staff_user, thirty):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(viewer)
    second.force_login(staff_user)
    first.get(URL)  # fills the cache
    page = second.get(URL).content.decode()
    token = re.search(r'id="column-picker".*?name="csrfmiddlewaretoken" value="([^"]+)"', page, re.S).group(1)

    response = second.post("/configs/columns/", {"csrfmiddlewaretoken": token, "columns": ["engine"], "next": URL})

    assert response.status_code == 302
    assert TablePreference.objects.get(user=staff_user).columns == ["engine"]


# --- queries and counts ---------------------------------------------------------------------------


def queries(client: Client, url: str, **params) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
        assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize(
    "params", [{}, {"q": "perf"}, {"sort": "-created", "page": 2}, {"engine": "PyTorch", "parameter": "lr"}]
)
def test_queries_per_page_do_not_grow_with_table_or_page_size(viewer_client, params):
    source = SourceFactory(name="grow")
    for i in range(6):
        TrainingJobConfigFactory(source=source, config_name=f"perf-a-{i:02d}")
    bump_generation()
    small = len(queries(viewer_client, URL, per_page=25, **params))
    for i in range(60):
        TrainingJobConfigFactory(source=source, config_name=f"perf-b-{i:02d}")
    bump_generation()
    assert len(queries(viewer_client, URL, per_page=25, **params)) == small
    bump_generation()
    assert len(queries(viewer_client, URL, per_page=100, **params)) == small
    # The same request again is answered from the cache: fewer queries, none on the configs.
    warm = queries(viewer_client, URL, per_page=100, **params)
    assert len(warm) < small
    assert not [sql for sql in warm if "FROM \"configs_app_trainingjobconfig\"" in sql]


def test_detail_queries_do_not_grow_with_history_or_table(viewer_client, thirty):
    config = thirty[0]
    cold = len(queries(viewer_client, config.get_absolute_url()))
    for _ in range(5):
        ConfigRevision.objects.create(config=config, kind=ConfigRevision.Kind.CHANGED, diff=[])
    TrainingJobConfigFactory(source=config.source, config_name="perf-more")
    assert len(queries(viewer_client, config.get_absolute_url())) == cold


def test_the_table_is_counted_once_per_data_version_and_filter(viewer_client, thirty):
    def counts(**params) -> int:
        return sum("COUNT(" in sql for sql in queries(viewer_client, URL, **params))

    assert counts(per_page=25) == 1
    assert counts(per_page=25, page=2) == 0
    assert counts(per_page=25, sort="-workers") == 0
    assert counts(per_page=25, q="perf-1") == 1
    assert counts(per_page=25, q="perf-1", sort="name") == 0
    bump_generation()
    assert counts(per_page=25, page=2) == 1


# --- a search counts exactly only as far as the page needs -----------------------------------------


@pytest.fixture
def bound_of_30(monkeypatch):
    """A count bound of 30 (1,000 in production) against the 60 configs of ``sixty``."""
    monkeypatch.setattr("configs_app.views.COUNT_BOUND", 30)


@pytest.fixture
def sixty():
    source = SourceFactory(name="perf")
    return [TrainingJobConfigFactory(source=source, config_name=f"perf-{i:02d}") for i in range(60)]


def test_a_search_with_many_matches_counts_only_up_to_the_bound(viewer_client, sixty, bound_of_30):
    sql = queries(viewer_client, URL, per_page=25, q="perf")
    counts = [q for q in sql if "COUNT(" in q]
    assert len(counts) == 1 and "LIMIT 31" in counts[0]  # at most 31 rows counted, not 60
    assert result_count(viewer_client, per_page=25, q="perf") == "1–25 of more than 30 configs"


def test_a_page_past_the_bound_counts_exactly(viewer_client, sixty, bound_of_30):
    first = viewer_client.get(URL, {"per_page": 25, "q": "perf"})
    # The pages within the bound exist; the one just past it is linked.
    assert first.context["table"].paginator.num_pages == 2
    assert 'href="?per_page=25&amp;q=perf&amp;page=2"' in first.content.decode()
    assert result_count(viewer_client, per_page=25, q="perf", page=2) == "26–50 of 60 configs"
    assert result_count(viewer_client, per_page=25, q="perf", page=3) == "51–60 of 60 configs"
    # The exact count is now cached for this data version: a first page rendered from now on (here
    # sorted otherwise; the one above stays cached as rendered, and still true) says it too.
    assert result_count(viewer_client, per_page=25, q="perf", sort="-name") == "1–25 of 60 configs"


def test_a_search_within_the_bound_is_counted_exactly(viewer_client, sixty, bound_of_30):
    assert result_count(viewer_client, per_page=25, q="perf-1") == "1–10 of 10 configs"
    assert result_count(viewer_client, per_page=25, q="nothing-matches") == "0 configs"


def test_the_unfiltered_table_is_always_counted_exactly(viewer_client, sixty, bound_of_30):
    assert result_count(viewer_client, per_page=25) == "1–25 of 60 configs"


def test_a_bounded_count_follows_a_sync(viewer_client, sixty, bound_of_30):
    assert result_count(viewer_client, per_page=25, q="perf-0") == "1–10 of 10 configs"
    write_like_a_sync(sixty[0].source, "perf-0-new")
    assert result_count(viewer_client, per_page=25, q="perf-0") == "1–11 of 11 configs"


# --- pages are read from an index in order --------------------------------------------------------


def page_keys_plan(client: Client, **params) -> list[str]:
    """SQLite's plan for finding the keys of one page of ``/configs/`` (the subquery of the page
    query, see ``selectors.ConfigTableQuerySet``)."""
    sql = [
        q for q in queries(client, URL, per_page=25, **params)
        if 'FROM "configs_app_trainingjobconfig"' in q and "LIMIT" in q and "COUNT(" not in q
    ][0]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        steps = cursor.fetchall()  # (id, parent, notused, detail)
    subquery = next(step[0] for step in steps if step[3].startswith("LIST SUBQUERY"))
    inside, found = {subquery}, True
    while found:
        found = False
        for step in steps:
            if step[1] in inside and step[0] not in inside:
                inside.add(step[0])
                found = True
    return [step[3] for step in steps if step[0] in inside]


@SQLITE
@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({}, "cfg_active_name_idx"),
        ({"page": 2}, "cfg_active_name_idx"),
        ({"sort": "-created"}, "cfg_active_created_idx"),
        ({"sort": "last_changed"}, "cfg_active_changed_idx"),
        ({"sort": "workers"}, "cfg_active_workers_idx"),
        ({"sort": "engine"}, "cfg_active_engine_idx"),
        ({"sort": "spec"}, "cfg_active_spec_idx"),
        ({"sort": "config_type"}, "cfg_active_type_idx"),
        ({"status": "all"}, "cfg_name_idx"),
    ],
)
def test_the_tables_pages_are_read_in_index_order(viewer_client, thirty, params, index):
    plan = page_keys_plan(viewer_client, **params)
    assert any(f"USING INDEX {index}" in step or f"USING COVERING INDEX {index}" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan
