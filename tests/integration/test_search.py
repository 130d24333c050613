"""Quick search through its index (FTS5 trigram on SQLite, pg_trgm on PostgreSQL).

Every test checks results against one reference, the meaning of a search written in Python (every
lower-cased term is a substring of ``search_text``), so the same queries give the same results on
SQLite and on PostgreSQL: run the suite on both (``DATABASE_URL=postgres://...``). Also: the index
follows the sync engine's bulk writes (the SQLite triggers), hostile input never fails, the index
is really used, and the migration degrades to a plain scan when the index cannot be built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configs_app import search
from configs_app.models import ConfigParameter, ConfigRevision, ConfigSource, TrainingJobConfig
from configs_app.records import config_fields, parameter_rows
from configs_app.selectors import config_search
from configs_app.sources import environment_source
from tests.factories import SourceFactory, TrainingJobConfigFactory, default_payload

pytestmark = pytest.mark.django_db

SQLITE = pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's FTS5 index")
POSTGRES = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's pg_trgm index")


def reference(q: str) -> set[str]:
    """What a search means, computed in Python over every config."""
    terms = search.search_terms(q)
    return {
        name
        for name, text in TrainingJobConfig.objects.values_list("config_name", "search_text")
        if all(term in text for term in terms)
    }


def found(q: str) -> set[str]:
    return set(config_search(TrainingJobConfig.objects.all(), q).values_list("config_name", flat=True))


@pytest.fixture
def catalogue() -> dict[str, TrainingJobConfig]:
    """Configs whose texts cover the cases: OBS paths, commands, images, parameters, secrets,
    Chinese and emoji, FTS5 syntax characters, LIKE wildcards, long and short words. Engines are
    set on every config: the factory's defaults vary with its sequence number."""
    source = SourceFactory(name="team-search")

    def make(name: str, **payload: Any) -> TrainingJobConfig:
        return TrainingJobConfigFactory(source=source, config_name=name, **payload)

    return {
        "bert": make(
            "bert-base-finetune",
            config_desc="BERT fine-tuning (中文) for the NLP team 🚀",
            engine_name="PyTorch",
            engine_version="PyTorch-1.8.0-python3.7",
            parameter=[{"label": "optimizer", "value": "AdamW"}, {"label": "max_seq_length", "value": "512"}],
        ),
        "resnet": make(
            "resnet50-imagenet",
            config_desc='ResNet-50 "baseline", 8 GPUs; NEAR(a b) -x *star* (parens)',
            engine_name="TensorFlow",
            engine_version="TF-2.1.0-python3.6",
            data_url="/team-a-ml/datasets/imagenet-2012/",
            parameter=[{"label": "learning_rate", "value": "0.1"}, {"label": "lr_schedule", "value": "cosine"}],
        ),
        "yolo": make(
            "yolo_v5_coco",
            config_desc="Detection 100% of the time_with_underscores and back\\slash",
            engine_name="Ascend-Powered-Engine",
            engine_version="Mindspore-1.1.1-python3.7-aarch64",
            user_image_url="swr.cn-north-4.myhuaweicloud.com/vision/yolo:5.0",
            user_command="bash run_train.sh --epochs=300 --db-password=Hunter2-Secret-Value",
            parameter=[{"label": "DB_PASSWORD", "value": "Pw-Xy7-Secret-Value"}, {"label": "img_size", "value": "640"}],
        ),
        "llm": make(
            "qwen-7b-sft",
            config_desc="大模型指令微调，勿删 — Größe straße",
            engine_name="PyTorch",
            engine_version="PyTorch-1.8.0-python3.7",
            parameter=[{"label": "TZ", "value": "Asia/Shanghai"}, {"label": "HF_TOKEN", "value": "hf_" + "a1" * 17}],
        ),
        "gone": make(
            "old-gone-config",
            config_desc="A config deleted upstream",
            engine_name="MXNet",
            engine_version="MXNet-1.2.1-python3.6",
            parameter=[{"label": "epochs", "value": "3"}],
            deleted_upstream_at=timezone.now(),
        ),
    }


QUERIES = [
    # (q, names expected): the expectations are spelled out, and also checked against reference().
    ("bert", {"bert-base-finetune"}),
    ("BERT", {"bert-base-finetune"}),
    ("pytorch", {"bert-base-finetune", "qwen-7b-sft"}),
    ("PyTorch 中文", {"bert-base-finetune"}),
    ("中文", {"bert-base-finetune"}),
    ("🚀", {"bert-base-finetune"}),
    ("勿删", {"qwen-7b-sft"}),
    ("größe", {"qwen-7b-sft"}),
    ("adamw", {"bert-base-finetune"}),
    ("asia/shanghai", {"qwen-7b-sft"}),
    ("/team-a-ml/datasets/imagenet-2012/", {"resnet50-imagenet"}),
    ("imagenet-2012", {"resnet50-imagenet"}),
    ("swr.cn-north-4.myhuaweicloud.com/vision", {"yolo_v5_coco"}),
    ("run_train.sh --epochs=300", {"yolo_v5_coco"}),
    ("img_size 640", {"yolo_v5_coco"}),
    ('"baseline"', {"resnet50-imagenet"}),
    ("NEAR(a", {"resnet50-imagenet"}),
    ("*star*", {"resnet50-imagenet"}),
    ("-x", {"resnet50-imagenet"}),
    ("(parens)", {"resnet50-imagenet"}),
    ("100%", {"yolo_v5_coco"}),
    ("time_with", {"yolo_v5_coco"}),
    ("back\\slash", {"yolo_v5_coco"}),
    ("deleted upstream", {"old-gone-config"}),
    # Short terms (fewer than three characters) are not in a trigram index: checked by LIKE.
    ("lr", {"resnet50-imagenet"}),
    ("tz", {"qwen-7b-sft"}),
    ("v5", {"yolo_v5_coco"}),
    ("yolo 5", {"yolo_v5_coco"}),
    # Secret values are not in the searchable text at all.
    ("hunter2-secret-value", set()),
    ("pw-xy7-secret-value", set()),
    ("hf_a1a1", set()),
    # Nothing matches.
    ("no-such-config-anywhere", set()),
    ("bert resnet", set()),
    ("100%x", set()),
    ("_with_x", set()),
]


@pytest.mark.parametrize(("q", "expected"), QUERIES, ids=[q for q, _ in QUERIES])
def test_search_results(catalogue, q, expected):
    assert reference(q) == expected, "the expectation itself is wrong"
    assert found(q) == expected


def test_blank_search_keeps_every_config(catalogue):
    assert found("") == found("   \t\n ") == {c.config_name for c in catalogue.values()}


def test_only_the_first_ten_terms_count(catalogue):
    q = " ".join(["e"] * 10 + ["no-such-term"])
    assert found(q) == reference(q) != set()


def test_search_through_the_page_matches_the_selector(viewer_client, catalogue):
    response = viewer_client.get("/configs/", {"q": "pytorch", "status": "all"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "bert-base-finetune" in content and "qwen-7b-sft" in content
    assert "resnet50-imagenet" not in content


# --- hostile input ---------------------------------------------------------------------------------

NASTY = [
    '"',
    '""',
    "'",
    "*",
    "-",
    "- -",
    "NEAR",
    "NEAR(a b)",
    "NEAR(\"a\" \"b\", 2)",
    "(",
    ")",
    "((((",
    "AND",
    "OR",
    "NOT",
    "a AND b OR NOT c",
    "^bert",
    "config_name:bert",
    "{config_name}: bert",
    "bert*",
    "%",
    "_",
    "%%__%%",
    "\\",
    "\\%",
    "\x00",
    "bert\x00base",
    "\x01\x02\x1f",
    "'; DROP TABLE configs_app_trainingjobconfig; --",
    "\u202eevil",
    "e\u0301",
    "🚀🚀🚀",
    "\ufeff",
    "x" * 10_000,
    "bert " * 2_000,
    "中" * 10_000,
    '"' * 10_000,
    "(" * 5_000 + ")" * 5_000,
]


@pytest.mark.parametrize("q", NASTY, ids=[repr(q[:20]) + f"/{len(q)}" for q in NASTY])
def test_hostile_queries_never_fail_and_mean_the_same(viewer_client, catalogue, q):
    assert found(q) == reference(q)
    response = viewer_client.get("/configs/", {"q": q})
    assert response.status_code == 200


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40))
def test_any_text_gives_the_reference_result(catalogue, q):
    assert found(q) == reference(q)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_substring_of_a_config_finds_it(catalogue, data):
    config = data.draw(st.sampled_from(sorted(catalogue.values(), key=lambda c: c.pk)))
    text = config.search_text
    start = data.draw(st.integers(0, len(text) - 1))
    q = text[start : start + data.draw(st.integers(1, 30))]
    if not q.split():
        return
    assert config.config_name in found(q)
    assert found(q) == reference(q)


# --- the index follows the sync engine's writes ---------------------------------------------------


def write_like_a_sync(source: ConfigSource, payloads: list[dict[str, Any]]) -> list[TrainingJobConfig]:
    """Create configs the way ``configs_sync`` does: bulk_create, no signals."""
    objs = []
    for payload in payloads:
        fields = config_fields(payload)
        name = payload["config_name"]
        objs.append(TrainingJobConfig(source=source, config_type="custom", config_name=name, **fields))
    TrainingJobConfig.objects.bulk_create(objs, batch_size=200)
    ConfigParameter.objects.bulk_create(
        ConfigParameter(config=obj, **row) for obj in objs for row in parameter_rows(obj.parameters)
    )
    return objs


def assert_index_intact() -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:  # raises when the FTS index and the table disagree
            cursor.execute(f"INSERT INTO {search.FTS_TABLE}({search.FTS_TABLE}, rank) VALUES ('integrity-check', 1)")


def test_bulk_created_configs_are_found(catalogue):
    source = SourceFactory(name="bulk")
    write_like_a_sync(source, [{**default_payload(900 + i), "config_name": f"bulk-made-{i}"} for i in range(30)])
    assert found("bulk-made") == reference("bulk-made") == {f"bulk-made-{i}" for i in range(30)}
    assert found("bulk-made-17") == {"bulk-made-17"}
    assert_index_intact()


def test_bulk_updated_text_replaces_the_old_text_in_the_index(catalogue):
    """What ``configs_sync`` does to a changed config: ``bulk_update`` of the data fields."""
    rows = list(TrainingJobConfig.objects.filter(config_name__in=["bert-base-finetune", "resnet50-imagenet"]))
    for i, row in enumerate(rows):
        fields = config_fields({**row.raw, "config_desc": f"rewritten zebra-{i} description"})
        for name in ("config_desc", "search_text", "raw", "content_hash"):
            setattr(row, name, fields[name])
    TrainingJobConfig.objects.bulk_update(rows, ["config_desc", "search_text", "raw", "content_hash"], batch_size=1)

    assert found("zebra") == reference("zebra") == {"bert-base-finetune", "resnet50-imagenet"}
    assert found("fine-tuning") == set()  # bert's old description left the index
    assert found('"baseline"') == set()
    assert_index_intact()


def test_updates_that_leave_the_text_alone_keep_it_findable(catalogue):
    """``update()`` of other columns (a sync marking a config deleted) does not touch the index."""
    TrainingJobConfig.objects.filter(config_name="qwen-7b-sft").update(
        deleted_upstream_at=timezone.now(), config_desc="changed without its search text"
    )
    assert found("勿删") == {"qwen-7b-sft"}
    assert_index_intact()


def test_deleted_rows_leave_the_index(catalogue):
    catalogue["yolo"].delete()
    TrainingJobConfig.objects.filter(config_name="bert-base-finetune").delete()
    assert found("yolo") == found("bert") == set()
    assert found("pytorch") == reference("pytorch") == {"qwen-7b-sft"}
    assert_index_intact()


@pytest.fixture
def point_at(monkeypatch: pytest.MonkeyPatch, settings) -> Callable[[Any], ConfigSource]:
    """The environment source, aimed at a running simulator (AK/SK)."""

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


def test_search_follows_real_syncs(modelarts_sim_factory, point_at):
    """The sync engine itself: create, change (bulk_update), delete upstream, and find each state."""
    from configs_app.sync import configs_sync

    sim = modelarts_sim_factory(configs=15, samples=3, seed=3)
    source = point_at(sim)
    configs_sync(source=source)
    names = sim.state.config_names()
    assert found(names[0]) >= {names[0]}
    assert found("") == reference("")

    sim.state.update_config(names[0], {"config_desc": "quokka-marker in the new description"})
    sim.state.update_config(names[1], {"parameter": [{"label": "wombat_factor", "value": "42"}]})
    sim.state.delete_config(names[2])
    configs_sync(source=source)

    assert found("quokka-marker") == {names[0]}
    assert found("wombat_factor 42") == {names[1]}
    assert names[2] in found(names[2])  # deleted upstream, still cached and searchable
    for q in ("quokka", "wombat", "sample", "train", "a"):
        assert found(q) == reference(q)
    assert ConfigRevision.objects.filter(kind="changed").count() == 2
    assert_index_intact()


# --- the index exists and is used -------------------------------------------------------------------


@SQLITE
def test_sqlite_fts_table_and_its_triggers_exist_after_every_migration():
    with connection.cursor() as cursor:
        cursor.execute("SELECT type, name FROM sqlite_master WHERE name LIKE %s", [search.FTS_TABLE + "%"])
        objects = set(cursor.fetchall())
    assert ("table", search.FTS_TABLE) in objects
    # A later migration that rebuilds the configs table drops these: it must create them again.
    for trigger in ("insert", "delete", "update"):
        assert ("trigger", f"{search.FTS_TABLE}_{trigger}") in objects


@SQLITE
def test_sqlite_search_reads_the_fts_index(catalogue):
    queryset = config_search(TrainingJobConfig.objects.order_by("config_name", "pk"), "imagenet")
    with CaptureQueriesContext(connection) as queries:
        list(queryset)
    assert "MATCH" in queries.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        sql, params = queryset.query.sql_with_params()
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = [row[-1] for row in cursor.fetchall()]
    assert any(f"{search.FTS_TABLE} VIRTUAL TABLE" in step for step in plan), plan
    assert "SCAN configs_app_trainingjobconfig" not in plan, plan  # no read of every row


@POSTGRES
def test_postgresql_trigram_index_exists_and_serves_like():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'cfg_search_trgm_idx'")
        (definition,) = cursor.fetchone()
        assert "gin" in definition and "gin_trgm_ops" in definition
        sql, params = config_search(TrainingJobConfig.objects.order_by(), "imagenet").query.sql_with_params()
        # A tiny table is read faster without an index: forbid the other plans to see it can be used.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "cfg_search_trgm_idx" in plan


def test_long_terms_are_looked_up_by_their_prefix_and_checked_in_full(catalogue):
    long_text = "Z" * 200
    TrainingJobConfigFactory(source=catalogue["bert"].source, config_name="long-one", config_desc=long_text)
    assert found("z" * 150) == {"long-one"}
    assert found("z" * 150 + "y") == set()
    assert found("z" * 201) == set()


# --- without the index -------------------------------------------------------------------------------


def test_search_without_the_index_gives_the_same_results(catalogue, monkeypatch):
    expected = {q: reference(q) for q, _ in QUERIES}
    monkeypatch.setattr(search, "sqlite_fts_available", lambda alias="default": False)
    for q, names in expected.items():
        assert found(q) == names, q


@SQLITE
def test_migration_degrades_with_a_message_when_fts5_trigram_is_missing(monkeypatch, caplog):
    migration = __import__("configs_app.migrations.0004_search_index", fromlist=["install_sqlite_fts"])
    broken = [migration.SQLITE_FTS[0].replace("fts5(", "fts5_missing(").replace(search.FTS_TABLE, "fts_probe")]
    monkeypatch.setattr(migration, "SQLITE_FTS", broken + migration.SQLITE_FTS[1:])

    with caplog.at_level(logging.WARNING, logger="configs_app.migrations"):
        migration.install_sqlite_fts(connection.schema_editor())

    assert "Quick search index not created" in caplog.text and "still works" in caplog.text


@POSTGRES
def test_migration_degrades_with_a_message_when_pg_trgm_may_not_be_created(caplog):
    migration = __import__("configs_app.migrations.0004_search_index", fromlist=["install_postgresql_trgm"])
    with connection.cursor() as cursor:
        cursor.execute("DROP EXTENSION pg_trgm CASCADE")  # rolled back with the test's transaction
        cursor.execute("DROP ROLE IF EXISTS search_test_nobody")
        cursor.execute("CREATE ROLE search_test_nobody NOSUPERUSER")
        cursor.execute("SET LOCAL ROLE search_test_nobody")
        try:
            with caplog.at_level(logging.WARNING, logger="configs_app.migrations"):
                migration.install_postgresql_trgm(connection.schema_editor())
        finally:
            cursor.execute("RESET ROLE")
    assert "Quick search index not created" in caplog.text and "CREATE EXTENSION pg_trgm" in caplog.text
