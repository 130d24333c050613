"""The sync engine and the ``sync_configs`` command against the running simulator.

Every path of the cache issue: first sync, unchanged re-sync (no writes), change, delete, come
back, a vanished config, a failed listing (first and last page), failed details, token expiry
mid-sync, 429 bursts, timeouts, malformed and soft-failed bodies, the lock, dry runs, the command's
exit status and output, refreshing one config and the background sync started from the web.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from configs_app.models import ConfigParameter, ConfigRevision, ConfigSource, SyncRun, TrainingJobConfig
from configs_app.sources import environment_source
from configs_app.sync import (
    AdaptiveLimiter,
    LimiterStopped,
    THROTTLE_ATTEMPTS,
    SyncAlreadyRunning,
    acquire_sync_lock,
    config_refresh,
    configs_sync,
    start_background_sync,
)

pytestmark = pytest.mark.django_db

CONFIG_TABLES = ("configs_app_trainingjobconfig", "configs_app_configparameter", "configs_app_configrevision")


@pytest.fixture
def point_at(monkeypatch: pytest.MonkeyPatch, settings) -> Callable[..., ConfigSource]:
    """``point_at(sim, mode="aksk", **modelarts)``: the environment source, aimed at ``sim``."""

    def point(sim: Any, mode: str = "aksk", **modelarts: Any) -> ConfigSource:
        env = sim.env(mode)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings.MODELARTS = {
            **settings.MODELARTS,
            "ENDPOINT": env["MODELARTS_ENDPOINT"],
            "PROJECT_ID": env["MODELARTS_PROJECT_ID"],
            "REGION": env["MODELARTS_REGION"],
            "IAM_ENDPOINT": env.get("MODELARTS_IAM_ENDPOINT", ""),
            "USERNAME": env.get("MODELARTS_USERNAME", ""),
            "DOMAIN": env.get("MODELARTS_DOMAIN", ""),
            "TIMEOUT": 2.0,
            "MAX_RETRIES": 2,
            **{k.upper(): v for k, v in modelarts.items()},
        }
        return environment_source()

    return point


@pytest.fixture
def sim(modelarts_sim_factory):
    """12 custom and 5 sample configs: small enough that every test runs in well under a second."""
    return modelarts_sim_factory(configs=12, samples=5, seed=7)


def snapshot() -> dict[tuple[str, str], tuple]:
    """Everything a sync may touch, per config, plus the child row counts."""
    rows = {
        (c.config_type, c.config_name): (
            c.content_hash, c.deleted_upstream_at, c.last_synced_at, c.last_changed_at, c.raw, c.parameters
        )
        for c in TrainingJobConfig.objects.all()
    }
    return {"rows": rows, "revisions": ConfigRevision.objects.count(), "params": ConfigParameter.objects.count()}


def writes_to_config_tables(queries: list[dict[str, str]]) -> list[str]:
    pattern = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
    return [
        q["sql"] for q in queries
        if pattern.match(q["sql"]) and any(table in q["sql"] for table in CONFIG_TABLES)
    ]


# -- the happy paths ---------------------------------------------------------------------------------


def test_first_sync_stores_every_config_with_a_first_revision_and_parameter_rows(sim, point_at) -> None:
    source = point_at(sim)
    result = configs_sync(source=source)

    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert result.exit_code == 0
    assert result.counts == {
        "listed": 17, "created": 17, "updated": 0, "unchanged": 0, "deleted": 0, "restored": 0, "failed": 0,
    }
    assert TrainingJobConfig.objects.filter(config_type="custom").count() == 12
    assert TrainingJobConfig.objects.filter(config_type="sample").count() == 5
    for config in TrainingJobConfig.objects.all():
        upstream = sim.state.get_config(config.config_name, config.config_type)
        upstream.pop("is_success", None)
        assert {k: v for k, v in config.raw.items() if k != "is_success"} == upstream
        assert config.config_desc == upstream.get("config_desc", "")
        assert [p["label"] for p in config.parameters] == [p["label"] for p in upstream.get("parameter", [])]
        assert config.parameter_rows.count() == len(upstream.get("parameter", []))
        assert list(config.revisions.values_list("kind", flat=True)) == [ConfigRevision.Kind.CREATED]
        assert config.first_seen_at == config.last_synced_at
        assert config.deleted_upstream_at is None
    run = SyncRun.objects.get()
    assert (run.status, run.listed, run.created, run.error) == (SyncRun.Status.SUCCEEDED, 17, 17, "")
    assert run.finished_at is not None


@pytest.mark.parametrize("mode", ["aksk", "password", "token"])
def test_every_auth_mode_syncs(sim, point_at, mode: str) -> None:
    result = configs_sync(source=point_at(sim, mode))
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert TrainingJobConfig.objects.count() == 17


def test_an_unchanged_resync_writes_no_config_rows(sim, point_at) -> None:
    source = point_at(sim)
    configs_sync(source=source)
    before = snapshot()

    with CaptureQueriesContext(connection) as ctx:
        result = configs_sync(source=source)

    assert result.status == SyncRun.Status.SUCCEEDED
    assert result.counts["unchanged"] == 17
    assert result.counts["created"] == result.counts["updated"] == result.counts["deleted"] == 0
    assert writes_to_config_tables(ctx.captured_queries) == []
    assert snapshot() == before


def test_a_changed_config_gets_its_new_state_and_a_revision_with_a_field_diff(sim, point_at) -> None:
    source = point_at(sim)
    configs_sync(source=source)
    name = sim.state.config_names()[0]
    old = TrainingJobConfig.objects.get(config_name=name, config_type="custom")
    sim.state.update_config(
        name, {"config_desc": "now with 8 workers", "worker_server_num": 8, "parameter": [{"label": "lr", "value": "0.5"}]}
    )

    result = configs_sync(source=source)

    assert result.counts["updated"] == 1 and result.counts["unchanged"] == 16
    config = TrainingJobConfig.objects.get(pk=old.pk)
    assert config.config_desc == "now with 8 workers" and config.worker_server_num == 8
    assert config.content_hash != old.content_hash
    assert config.last_changed_at > old.last_changed_at
    assert list(config.parameter_rows.values_list("label", "value")) == [("lr", "0.5")]
    revision = config.revisions.order_by("-observed_at", "-pk").first()
    assert revision.kind == ConfigRevision.Kind.CHANGED
    assert revision.sync_run == result.run
    assert revision.previous_payload == old.raw and revision.payload == config.raw
    changed_paths = {change["field"] for change in revision.diff}
    assert {"config_desc", "worker_server_num"} <= changed_paths
    assert any(path.startswith("parameter") for path in changed_paths)


def test_a_deleted_config_is_marked_and_kept_then_restored_when_it_comes_back(sim, point_at) -> None:
    source = point_at(sim)
    configs_sync(source=source)
    name = sim.state.config_names()[3]
    payload = sim.state.get_config(name)
    config = TrainingJobConfig.objects.get(config_name=name, config_type="custom")
    sim.state.delete_config(name)

    gone = configs_sync(source=source)

    assert gone.status == SyncRun.Status.SUCCEEDED and gone.counts["deleted"] == 1
    config.refresh_from_db()
    assert config.deleted_upstream_at is not None
    assert config.raw["config_name"] == name and config.parameter_rows.exists()  # kept, with its data
    assert config.revisions.filter(kind=ConfigRevision.Kind.DELETED).count() == 1
    assert TrainingJobConfig.objects.count() == 17  # nothing deleted from the database

    again = configs_sync(source=source)  # still gone: not marked twice
    assert again.counts["deleted"] == 0
    assert config.revisions.filter(kind=ConfigRevision.Kind.DELETED).count() == 1

    sim.state.add_config(payload)  # it comes back, unchanged
    back = configs_sync(source=source)

    assert back.counts["restored"] == 1
    config.refresh_from_db()
    assert config.deleted_upstream_at is None
    assert config.revisions.filter(kind=ConfigRevision.Kind.RESTORED).count() == 1


def test_a_config_that_comes_back_changed_is_restored_with_its_new_state(sim, point_at) -> None:
    source = point_at(sim)
    configs_sync(source=source)
    name = sim.state.config_names()[1]
    payload = sim.state.get_config(name)
    sim.state.delete_config(name)
    configs_sync(source=source)
    sim.state.add_config({**payload, "config_desc": "rebuilt"})

    result = configs_sync(source=source)

    assert result.counts["restored"] == 1
    config = TrainingJobConfig.objects.get(config_name=name, config_type="custom")
    assert config.deleted_upstream_at is None and config.config_desc == "rebuilt"
    latest = config.revisions.order_by("-observed_at", "-pk").first()
    assert latest.kind == ConfigRevision.Kind.RESTORED and latest.diff


def test_a_config_that_vanishes_between_list_and_detail_counts_as_deleted_not_failed(sim, point_at) -> None:
    source = point_at(sim)
    configs_sync(source=source)
    name = sim.state.config_names()[2]
    sim.add_fault("vanish", names=[name])

    result = configs_sync(source=source)

    assert result.status == SyncRun.Status.SUCCEEDED and result.exit_code == 0
    assert result.counts["deleted"] == 1 and result.counts["failed"] == 0
    assert TrainingJobConfig.objects.get(config_name=name, config_type="custom").deleted_upstream_at is not None


def test_a_new_config_that_vanishes_before_its_detail_is_not_created(sim, point_at) -> None:
    source = point_at(sim)
    configs_sync(source=source)
    [name] = sim.state.generate_configs(1)
    sim.add_fault("vanish", names=[name])

    result = configs_sync(source=source)

    assert result.status == SyncRun.Status.SUCCEEDED
    assert not TrainingJobConfig.objects.filter(config_name=name).exists()


def test_syncing_one_config_type_leaves_the_other_alone(sim, point_at) -> None:
    source = point_at(sim)
    result = configs_sync(source=source, config_type="custom")
    assert result.counts["listed"] == 12
    assert not TrainingJobConfig.objects.filter(config_type="sample").exists()
    configs_sync(source=source, config_type="sample")
    configs_sync(source=source, config_type="custom")
    assert TrainingJobConfig.objects.filter(config_type="sample", deleted_upstream_at__isnull=True).count() == 5


def test_a_dry_run_reports_what_it_would_do_and_writes_nothing(sim, point_at) -> None:
    source = point_at(sim)
    configs_sync(source=source)
    sim.state.update_config(sim.state.config_names()[0], {"config_desc": "dry"})
    sim.state.delete_config(sim.state.config_names()[1])
    sim.state.generate_configs(2)
    before, runs = snapshot(), SyncRun.objects.count()

    result = configs_sync(source=source, dry_run=True)

    assert result.dry_run and result.run is None
    assert (result.counts["created"], result.counts["updated"], result.counts["deleted"]) == (2, 1, 1)
    assert snapshot() == before and SyncRun.objects.count() == runs


# -- failures upstream never damage the cache -------------------------------------------------------


def _assert_failed_and_untouched(result, before) -> None:
    assert result.status == SyncRun.Status.FAILED and result.exit_code == 1
    assert result.error
    assert snapshot() == before
    assert result.run.status == SyncRun.Status.FAILED and result.run.error == result.error[:4000]


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"kind": "fail_list_pages", "pages": [1], "status": 500}, "500"),
        ({"kind": "error", "endpoint": "list", "status": 503}, "503"),
        ({"kind": "malformed", "endpoint": "list"}, "JSON"),
        ({"kind": "truncated", "endpoint": "list", "mode": "half_json"}, ""),
        ({"kind": "is_success_false", "endpoint": "list"}, "ModelArts.0010"),
        ({"kind": "down"}, ""),
        ({"kind": "reject_aksk"}, "APIG.0301"),
    ],
    ids=["page1-500", "list-503", "malformed", "truncated", "is_success-false", "down", "aksk-rejected"],
)
def test_a_failed_listing_leaves_every_cached_row_as_it_was(sim, point_at, fault: dict, expected: str) -> None:
    source = point_at(sim, max_retries=1)
    configs_sync(source=source)
    sim.state.update_config(sim.state.config_names()[0], {"config_desc": "changed upstream"})
    sim.state.delete_config(sim.state.config_names()[1])
    before = snapshot()
    sim.add_fault(**fault)

    result = configs_sync(source=source)

    _assert_failed_and_untouched(result, before)
    assert expected in result.error
    for secret in (sim.sk, sim.ak, sim.password, sim.token):
        assert secret not in result.error


def test_a_failed_last_page_leaves_every_cached_row_as_it_was(modelarts_sim_factory, point_at) -> None:
    big = modelarts_sim_factory(configs=1_100, samples=0, seed=3)
    source = point_at(big, max_retries=0)
    configs_sync(source=source, config_type="custom", concurrency=16)
    for name in big.state.config_names()[:5]:
        big.state.delete_config(name)
    before = snapshot()
    lists, details = len(big.requests("list")), len(big.requests("detail"))
    big.add_fault("fail_list_pages", pages=[-1], status=502)

    result = configs_sync(source=source, config_type="custom", concurrency=16)

    _assert_failed_and_untouched(result, before)
    assert len(big.requests("list")) - lists == 2  # page 1 was read, page 2 (the last) failed
    assert len(big.requests("detail")) == details  # no detail is fetched after a failed listing


def test_a_config_whose_detail_keeps_failing_keeps_its_state_and_the_run_is_partial(sim, point_at) -> None:
    source = point_at(sim, max_retries=0)
    configs_sync(source=source, config_type="custom")
    for name in sim.state.config_names():
        sim.state.update_config(name, {"config_desc": f"v2 of {name}"})
    previous = {c.config_name: c.content_hash for c in TrainingJobConfig.objects.all()}
    sim.add_fault("error", endpoint="detail", status=500, count=2)

    result = configs_sync(source=source, config_type="custom", concurrency=1)

    assert result.status == SyncRun.Status.PARTIAL and result.exit_code == 2
    assert result.counts["failed"] == 2 and result.counts["updated"] == 10
    assert len(result.failed_names) == 2 and result.run.failed_names == result.failed_names
    assert "keep their cached state" in result.error
    for config in TrainingJobConfig.objects.all():
        if config.config_name in result.failed_names:
            assert config.content_hash == previous[config.config_name]
            assert not config.config_desc.startswith("v2 of")
            assert config.deleted_upstream_at is None
        else:
            assert config.config_desc == f"v2 of {config.config_name}"


def test_every_detail_failing_is_a_failed_run(sim, point_at) -> None:
    source = point_at(sim, max_retries=0)
    configs_sync(source=source)
    before = snapshot()
    sim.add_fault("error", endpoint="detail", status=503)

    result = configs_sync(source=source)

    _assert_failed_and_untouched(result, before)
    assert result.counts["failed"] == 17


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "truncated", "endpoint": "detail", "mode": "content_length", "count": 1},
        {"kind": "malformed", "endpoint": "detail", "count": 1},
        {"kind": "is_success_false", "endpoint": "detail", "count": 1},
        {"kind": "reset", "endpoint": "detail", "count": 1},
    ],
    ids=["truncated", "malformed", "is_success-false", "reset"],
)
def test_a_bad_detail_body_fails_only_that_config(sim, point_at, fault: dict) -> None:
    source = point_at(sim, max_retries=0)
    sim.add_fault(**fault)

    result = configs_sync(source=source, config_type="custom", concurrency=1)

    assert result.status == SyncRun.Status.PARTIAL, result.error
    assert result.counts["failed"] == 1 and result.counts["created"] == 11
    assert not TrainingJobConfig.objects.filter(config_name__in=result.failed_names).exists()


def test_a_transient_detail_failure_is_retried_by_the_client_and_the_run_succeeds(sim, point_at) -> None:
    source = point_at(sim, max_retries=2)
    # Two 502s: within the client's two retries even if both land on the same config (the pool
    # starts one request wide).
    sim.add_fault("error", endpoint="detail", status=502, count=2)

    result = configs_sync(source=source)

    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert result.counts["created"] == 17


def test_timeouts_are_retried_and_a_detail_that_never_answers_fails_only_itself(sim, point_at) -> None:
    source = point_at(sim, timeout=0.3, max_retries=1)
    sim.add_fault("slow", endpoint="detail", seconds=1.0, count=1)  # the retry succeeds

    first = configs_sync(source=source, config_type="custom", concurrency=4)
    assert first.status == SyncRun.Status.SUCCEEDED, first.error

    sim.state.update_config(sim.state.config_names()[0], {"config_desc": "slow one"})
    sim.add_fault("slow", endpoint="detail", seconds=1.0, count=2)  # both tries of one config time out
    second = configs_sync(source=source, config_type="custom", concurrency=1)
    assert second.status == SyncRun.Status.PARTIAL
    assert second.counts["failed"] == 1 and len(second.failed_names) == 1
    assert second.run.error.startswith("1 config(s) could not be read")


def test_a_listing_that_times_out_fails_the_run_and_keeps_the_cache(sim, point_at) -> None:
    source = point_at(sim, timeout=0.3, max_retries=1)
    configs_sync(source=source)
    before = snapshot()
    sim.add_fault("slow", endpoint="list", seconds=1.0)

    _assert_failed_and_untouched(configs_sync(source=source), before)


def test_token_expiry_mid_sync_renews_the_token_once_and_completes(sim, point_at) -> None:
    source = point_at(sim, "password")
    expired = []

    def progress(stage: str, done: int, total: int | None, config_type: str) -> None:
        if stage == "details" and done == 0 and config_type == "custom" and not expired:
            expired.append(sim.state.expire_tokens())

    result = configs_sync(source=source, progress=progress, concurrency=1)

    assert expired and expired[0] >= 1
    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert result.counts["created"] == 17
    assert len(sim.requests("iam")) == 2  # the first token, and one renewal after the 401
    assert any(r.status == 401 for r in sim.requests("detail"))


def test_429_bursts_slow_the_pool_down_and_every_config_is_still_read(sim, point_at) -> None:
    source = point_at(sim, max_retries=0)
    # One fewer than a config's throttle budget: every config is read even if the whole burst
    # lands on the first one (the pool starts one request wide).
    burst = THROTTLE_ATTEMPTS - 1
    sim.add_fault("throttle", endpoint="detail", retry_after=0, count=burst)

    result = configs_sync(source=source, concurrency=8)

    assert result.status == SyncRun.Status.SUCCEEDED, result.error
    assert result.counts["created"] == 17 and result.counts["failed"] == 0
    assert sum(1 for r in sim.requests("detail") if r.status == 429) == burst


def test_the_limiter_halves_its_width_on_throttling_and_widens_again() -> None:
    limiter = AdaptiveLimiter(8)
    limiter.throttle(0)
    assert limiter.limit == 4
    limiter.throttle(0)
    assert limiter.limit == 2
    for _ in range(2 * 4 + 3 * 4):
        limiter.success()
    assert limiter.limit == 4
    with limiter:
        assert limiter.in_flight == 1
    assert limiter.in_flight == 0


def test_the_limiter_starts_narrow_and_doubles_until_the_first_throttle() -> None:
    limiter = AdaptiveLimiter(8, start=1)
    widths = []
    for _ in range(7):
        widths.append(limiter.limit)
        limiter.success()
    assert widths == [1, 2, 3, 4, 5, 6, 7] and limiter.limit == 8
    limiter.throttle(0)
    assert limiter.limit == 4
    limiter.success()
    assert limiter.limit == 4  # after a throttle it widens by one per 4 x width successes


def test_a_stopped_limiter_refuses_new_requests() -> None:
    limiter = AdaptiveLimiter(2)
    limiter.stop()
    with pytest.raises(LimiterStopped):
        with limiter:
            pass
    assert limiter.in_flight == 0


def test_the_limiter_pauses_every_worker_for_retry_after() -> None:
    limiter = AdaptiveLimiter(2)
    limiter.throttle(0.3)
    started = time.monotonic()
    with limiter:
        waited = time.monotonic() - started
    assert waited >= 0.25


def test_a_config_error_records_a_failed_run_without_calling_out(db, settings, monkeypatch) -> None:
    settings.MODELARTS = {**settings.MODELARTS, "ENDPOINT": "", "PROJECT_ID": ""}
    result = configs_sync(source=environment_source())
    assert result.status == SyncRun.Status.FAILED
    assert "MODELARTS_ENDPOINT" in result.error
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED


# -- one sync at a time -----------------------------------------------------------------------------


def test_a_second_sync_of_the_same_source_is_refused_while_one_runs(sim, point_at) -> None:
    source = point_at(sim)
    running = acquire_sync_lock(source, trigger="schedule")

    with pytest.raises(SyncAlreadyRunning) as caught:
        configs_sync(source=source)

    assert f"run #{running.pk}" in str(caught.value) and "already running" in str(caught.value)
    assert not sim.requests("list")
    assert SyncRun.objects.filter(status=SyncRun.Status.RUNNING).count() == 1


def test_a_dead_sync_whose_heartbeat_stopped_is_taken_over(sim, point_at) -> None:
    source = point_at(sim)
    dead = acquire_sync_lock(source)
    SyncRun.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=30))

    result = configs_sync(source=source)

    assert result.status == SyncRun.Status.SUCCEEDED
    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.FAILED and "no heartbeat" in dead.error


@pytest.mark.django_db(transaction=True)
def test_concurrent_syncs_from_two_threads_run_one_at_a_time(sim, point_at) -> None:
    source = point_at(sim)
    sim.add_fault("latency", endpoint="list", ms=300)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        barrier.wait()
        try:
            outcomes.append(configs_sync(source=source).status)
        except SyncAlreadyRunning:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["refused", SyncRun.Status.SUCCEEDED]
    assert TrainingJobConfig.objects.count() == 17


@pytest.mark.django_db(transaction=True)
def test_a_background_sync_from_the_web_runs_and_a_second_one_is_not_started(sim, point_at) -> None:
    source = point_at(sim)
    sim.add_fault("latency", endpoint="list", ms=200, count=1)

    run = start_background_sync(source, trigger="web")
    assert run is not None and run.trigger == "web"
    assert start_background_sync(source, trigger="web") is None

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status != SyncRun.Status.RUNNING:
            break
        time.sleep(0.05)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.created == 17 and TrainingJobConfig.objects.count() == 17


# -- refreshing one config --------------------------------------------------------------------------


def test_refresh_one_config_unchanged_changed_deleted_and_failed(sim, point_at) -> None:
    source = point_at(sim, max_retries=0)
    configs_sync(source=source)
    name = sim.state.config_names()[0]
    config = TrainingJobConfig.objects.get(config_name=name, config_type="custom")

    assert config_refresh(config).outcome == "unchanged"

    sim.state.update_config(name, {"config_desc": "refreshed"})
    changed = config_refresh(config)
    assert changed.outcome == "changed"
    config.refresh_from_db()
    assert config.config_desc == "refreshed"
    assert config.revisions.filter(kind=ConfigRevision.Kind.REFRESHED).count() == 1

    sim.add_fault("down", count=1)
    before = snapshot()
    failed = config_refresh(config)
    assert failed.outcome == "failed" and name in failed.message
    assert snapshot() == before

    sim.state.delete_config(name)
    assert config_refresh(config).outcome == "deleted"
    config.refresh_from_db()
    assert config.deleted_upstream_at is not None


# -- the command ------------------------------------------------------------------------------------


def test_command_success_prints_progress_lines_and_a_summary(sim, point_at, capsys) -> None:
    point_at(sim)
    call_command("sync_configs", "--progress", "lines")
    out = capsys.readouterr().out
    assert "default custom: list 0" in out
    assert "default custom: details 12/12" in out
    assert re.search(r"default: succeeded in \d+\.\ds: listed 17, created 17, updated 0, unchanged 0", out)


def test_command_progress_bar_on_a_terminal(sim, point_at, capsys) -> None:
    point_at(sim)
    call_command("sync_configs", "--progress", "bar", "--config-type", "sample")
    out = capsys.readouterr().out
    assert "[##############################] 5/5" in out


def test_command_exits_1_when_the_sync_fails(sim, point_at, capsys) -> None:
    point_at(sim, max_retries=0)
    sim.add_fault("error", endpoint="list", status=500)
    with pytest.raises(SystemExit) as exited:
        call_command("sync_configs", "--progress", "lines")
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert "default: failed" in captured.out and "500" in captured.err


def test_command_exits_2_when_the_sync_is_partial(sim, point_at, capsys) -> None:
    point_at(sim, max_retries=0)
    sim.add_fault("error", endpoint="detail", status=500, count=1)
    with pytest.raises(SystemExit) as exited:
        call_command("sync_configs", "--progress", "lines", "--concurrency", "1")
    assert exited.value.code == 2
    assert "partial" in capsys.readouterr().out


def test_command_exits_1_and_says_so_when_a_sync_is_running(sim, point_at, capsys) -> None:
    source = point_at(sim)
    acquire_sync_lock(source)
    with pytest.raises(SystemExit) as exited:
        call_command("sync_configs")
    assert exited.value.code == 1
    assert "already running" in capsys.readouterr().err


def test_command_dry_run_and_bad_arguments(sim, point_at, capsys) -> None:
    point_at(sim)
    call_command("sync_configs", "--dry-run", "--progress", "lines")
    assert "dry run, nothing written" in capsys.readouterr().out
    assert not TrainingJobConfig.objects.exists() and not SyncRun.objects.exists()
    with pytest.raises(CommandError, match="No source named 'nope'"):
        call_command("sync_configs", "--source", "nope")
    with pytest.raises(CommandError, match="between 1 and 64"):
        call_command("sync_configs", "--concurrency", "0")


# -- memory ----------------------------------------------------------------------------------------


class _BigPayloadClient:
    """A client stand-in serving ``count`` configs, each with a 40 KB undocumented field, without HTTP."""

    def __init__(self, count: int) -> None:
        self.count = count

    def iter_configs(self, *, config_type: str):
        for i in range(self.count):
            yield type("Summary", (), {"config_name": f"cfg_{i:06d}"})()

    def get_config(self, name: str, *, config_type: str):
        payload = {
            "config_name": name,
            "config_desc": name,
            "engine_name": "PyTorch",
            "parameter": [{"label": "lr", "value": "0.01"}],
            "x_blob": name + "x" * 40_000,
        }
        return type("Detail", (), {"raw": payload})()


def _peak_traced_bytes(count: int) -> int:
    import tracemalloc

    source = ConfigSource.objects.create(name=f"mem-{count}", endpoint="http://unused", project_id="p")
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = configs_sync(source=source, config_type="custom", client=_BigPayloadClient(count), concurrency=4)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == SyncRun.Status.SUCCEEDED and result.counts["created"] == count
    return peak


def test_memory_is_bounded_by_the_batch_not_by_the_number_of_configs(monkeypatch) -> None:
    """The sync holds one write batch and the fetch window, plus the listed names, whatever the
    number of configs. With batches of 25, holding every payload would peak near 4x as high for
    4x the configs (about 10 MB against 40 MB of payloads here)."""
    monkeypatch.setattr("configs_app.sync.BATCH_SIZE", 25)
    small = _peak_traced_bytes(250)
    large = _peak_traced_bytes(1_000)
    assert large < small * 1.5, f"peak {large / 1e6:.1f} MB for 1,000 configs vs {small / 1e6:.1f} MB for 250"
