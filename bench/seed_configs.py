"""Fill an empty, migrated database with N realistic cached configs, fast (for the page benchmark).

The payloads are the simulator's (``SimulatorState.seeded(configs=N)``: curated and generated
configs with hyper-parameters, environment variables, secrets, custom images, Chinese and emoji
descriptions) turned into rows by ``configs_app.records`` exactly as a sync does, with their
parameter rows and a "created" revision each. Rows are written with ``bulk_create`` in batches, so
100,000 configs take a few minutes rather than the hours a sync against a 100 ms API would.

Layout of the data (so pages and exports can be aimed at known sizes):

* configs are spread over sources ``project-01``, ``project-02``, ... in blocks of 10,000, so one
  source holds ``min(N, 10,000)`` configs (the export benchmark exports one source);
* every 50th config (index % 50 == 7) is deleted upstream (kept, with a "deleted" revision);
* each source has one successful sync run, so the freshness banner looks like production.

Run through ``page_bench.py``; ``seed(n)`` needs Django set up on the target database.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.utils import timezone

from configs_app.models import ConfigParameter, ConfigRevision, ConfigSource, SyncRun, TrainingJobConfig
from configs_app.records import config_fields, parameter_rows
from modelarts_sim.state import SimulatorState

#: Configs per source ("project").
SOURCE_BLOCK = 10_000
#: Seed of the simulator's generated data: the same N gives the same configs.
DATA_SEED = 1
BENCH_USER = "bench-viewer"
BENCH_PASSWORD = "bench-password-not-secret"
_DELETED_EVERY, _DELETED_AT = 50, 7


def source_name(index: int) -> str:
    """The source of config number ``index``."""
    return f"project-{index // SOURCE_BLOCK + 1:02d}"


def is_seeded(n: int) -> bool:
    """True when the database already holds exactly this benchmark's ``n`` configs."""
    return (
        TrainingJobConfig.objects.count() == n
        and SyncRun.objects.filter(trigger="bench-seed").exists()
        and User.objects.filter(username=BENCH_USER).exists()
    )


def bench_user() -> User:
    """The benchmark's user: staff (for the admin changelist) and a "Config viewer", not superuser."""
    user, created = User.objects.get_or_create(username=BENCH_USER, defaults={"is_staff": True})
    if created:
        user.set_password(BENCH_PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name="Config viewers"))
    return user


def seed(n: int, *, batch: int = 1000, progress: Callable[[str], None] = print) -> None:
    """Write ``n`` configs (plus parameter rows, revisions, sources, sync runs, the bench user).

    The database must be migrated and hold no configs.
    """
    if TrainingJobConfig.objects.exists():
        raise RuntimeError("seed() needs a database without configs")
    started = time.perf_counter()
    state = SimulatorState.seeded(configs=n, samples=0, seed=DATA_SEED)
    names = state.config_names("custom")
    now = timezone.now()
    sources: dict[str, ConfigSource] = {}
    for index in range(0, n, SOURCE_BLOCK):
        name = source_name(index)
        sources[name], _ = ConfigSource.objects.get_or_create(
            name=name,
            defaults={"endpoint": "https://modelarts.cn-north-4.myhuaweicloud.com", "project_id": "0" * 32},
        )
    for start in range(0, n, batch):
        configs: list[TrainingJobConfig] = []
        fields_of: list[dict] = []
        for index in range(start, min(start + batch, n)):
            payload = state.get_config(names[index])
            fields = config_fields(payload)
            created = fields["create_time"] or now - dt.timedelta(days=400)
            changed = min(now, created + dt.timedelta(days=index % 97))
            deleted = index % _DELETED_EVERY == _DELETED_AT
            configs.append(
                TrainingJobConfig(
                    source=sources[source_name(index)],
                    config_type=TrainingJobConfig.ConfigType.CUSTOM,
                    config_name=names[index],
                    first_seen_at=changed,
                    last_synced_at=now,
                    last_changed_at=now if deleted else changed,
                    deleted_upstream_at=now if deleted else None,
                    **fields,
                )
            )
            fields_of.append(fields)
        with transaction.atomic():
            TrainingJobConfig.objects.bulk_create(configs, batch_size=500)
            ConfigParameter.objects.bulk_create(
                (
                    ConfigParameter(config=config, **row)
                    for config, fields in zip(configs, fields_of, strict=True)
                    for row in parameter_rows(fields["parameters"])
                ),
                batch_size=2000,
            )
            revisions = []
            for config, fields in zip(configs, fields_of, strict=True):
                revisions.append(
                    ConfigRevision(
                        config=config, observed_at=config.first_seen_at, kind=ConfigRevision.Kind.CREATED,
                        content_hash=fields["content_hash"], payload=fields["raw"],
                    )
                )
                if config.deleted_upstream_at:
                    revisions.append(
                        ConfigRevision(
                            config=config, observed_at=now, kind=ConfigRevision.Kind.DELETED,
                            content_hash=fields["content_hash"],
                        )
                    )
            ConfigRevision.objects.bulk_create(revisions, batch_size=500)
        done = min(start + batch, n)
        if done % 10_000 == 0 or done == n:
            progress(f"  seeded {done:,}/{n:,} configs ({time.perf_counter() - started:.0f} s)")
    for source in sources.values():
        SyncRun.objects.create(
            source=source, trigger="bench-seed", status=SyncRun.Status.SUCCEEDED, started_at=now,
            heartbeat_at=now, finished_at=now, listed=min(n, SOURCE_BLOCK),
        )
    bench_user()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum does soon after a bulk load
