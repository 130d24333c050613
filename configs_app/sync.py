"""The one writer of the cache: reads ModelArts through the client and stores what it finds.

A sync of one source runs in three steps:

1. **List** every page of every config type asked for, keeping only the names (a few MB at 100,000
   configs). A listing that fails on any page stops the run before anything is written, so the
   cache stays exactly as it was and the run is recorded as failed.
2. **Fetch details** concurrently through a bounded pool that halves its width and pauses when
   ModelArts throttles, and **write** them in batches, each in its own transaction: a config whose
   content hash is unchanged writes nothing; a changed one writes its new state and a revision; a
   new one is created with a first revision; one that comes back is restored. A detail that answers
   "not found" between list and detail counts as deleted upstream. A detail that still fails after
   the client's retries keeps the config's cached state and makes the run partial. A detail
   rejected for its credentials (401/403) stops the run instead: every later request would be
   rejected too, and an AK/SK is locked after 5 failures (reference §5.4). The pool starts one
   request wide and widens with each success, so bad credentials cost one rejected request.
3. **Mark** configs absent from the complete listing as deleted upstream (kept, with history).

Nothing is ever deleted from the database here. One sync per source runs at a time on any process
or machine: the ``SyncRun`` row in status ``running`` is the lock (a partial unique constraint).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from configs_app.diffing import diff_payloads
from configs_app.modelarts import ModelArtsAuthError, ModelArtsError, ModelArtsNotFound, ModelArtsThrottled
from configs_app.models import ConfigParameter, ConfigRevision, ConfigSource, SyncRun, TrainingJobConfig
from configs_app.records import config_fields, parameter_rows
from configs_app.sources import client_for_source

logger = logging.getLogger(__name__)

#: A running sync whose heartbeat is older than this is taken to be dead (killed process, lost
#: machine) and may be taken over by the next sync.
STALE_AFTER = timedelta(minutes=10)
#: Configs written per transaction.
BATCH_SIZE = 500
#: How often a throttled detail is tried again by the sync (on top of the client's own retries).
THROTTLE_ATTEMPTS = 6
#: Cache key bumped after every sync that wrote something, so cached page fragments go stale.
GENERATION_KEY = "configs:generation"
CONFIG_TYPES = ("custom", "sample")

# Columns copied from ``records.config_fields`` into the model on create and update.
_DATA_FIELDS = (
    "config_desc", "create_time", "worker_server_num", "app_url", "boot_file_url", "model_id", "spec_id", "spec_code",
    "gpu_type", "gpu_num", "cpu", "core", "data_url", "dataset_id", "dataset_version_id", "dataset_name",
    "dataset_version_name", "data_source", "engine_type", "engine_name", "engine_id", "engine_version", "train_url",
    "log_url", "user_image_url", "user_command", "pool_id", "pool_name", "volumes", "nas_mount_path",
    "nas_share_addr", "nas_type", "parameters", "raw", "is_custom_image", "search_text", "content_hash",
)


class SyncAlreadyRunning(Exception):
    """Another sync of the same source holds the lock."""

    def __init__(self, run: SyncRun | None, source: ConfigSource) -> None:
        self.run = run
        self.source = source
        if run is not None:
            when = timezone.localtime(run.started_at).strftime("%Y-%m-%d %H:%M:%S %Z")
            text = f"a sync of source {source.name!r} is already running (run #{run.pk}, started {when}, trigger {run.trigger})"
        else:
            text = f"a sync of source {source.name!r} is already running"
        super().__init__(text)


@dataclass
class SyncResult:
    """What one sync did. ``run`` is None for a dry run (which records nothing)."""

    source: ConfigSource
    status: str
    counts: dict[str, int]
    duration: float
    error: str = ""
    run: SyncRun | None = None
    dry_run: bool = False
    failed_names: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 on success, 1 on failure, 2 when partial (the sync_configs command's exit status)."""
        return {SyncRun.Status.SUCCEEDED: 0, SyncRun.Status.PARTIAL: 2}.get(self.status, 1)


@dataclass
class RefreshResult:
    """What refreshing one config from ModelArts did: unchanged, changed, deleted or failed."""

    outcome: str
    message: str


#: Progress callback: ``progress(stage, done, total, detail)`` with stage "list" or "details".
ProgressCallback = Callable[[str, int, int | None, str], None]


class LimiterStopped(Exception):
    """The limiter was stopped: no more requests may start."""


class AdaptiveLimiter:
    """Bounds concurrent detail requests and backs off when ModelArts throttles.

    Allows ``start`` requests in flight at first (default ``limit``). Until the first throttling,
    each success widens the pool by one (a slow start: the width doubles with each round of
    requests) up to ``limit``. A throttled request halves the allowed width and pauses every worker
    for the time the server asked (``Retry-After``, or one second when it did not say); after that,
    each run of successes widens it again by one, up to ``limit``. ``stop()`` refuses every request
    not yet started.
    """

    def __init__(self, limit: int, *, start: int | None = None) -> None:
        self.max_limit = max(1, limit)
        self.limit = self.max_limit if start is None else min(max(1, start), self.max_limit)
        self.in_flight = 0
        self.pause_until = 0.0
        self.successes = 0
        self.throttled = 0
        self.stopped = False
        self._cond = threading.Condition()

    def __enter__(self) -> AdaptiveLimiter:
        with self._cond:
            while True:
                if self.stopped:
                    raise LimiterStopped
                wait_for = self.pause_until - time.monotonic()
                if wait_for <= 0 and self.in_flight < self.limit:
                    self.in_flight += 1
                    return self
                self._cond.wait(timeout=wait_for if wait_for > 0 else None)

    def __exit__(self, *exc_info) -> None:
        with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def success(self) -> None:
        with self._cond:
            self.successes += 1
            if self.limit < self.max_limit and not self.throttled:
                self.limit += 1
                self.successes = 0
                self._cond.notify_all()
            elif self.limit < self.max_limit and self.successes >= self.limit * 4:
                self.limit += 1
                self.successes = 0
                self._cond.notify_all()

    def throttle(self, retry_after: float | None) -> None:
        with self._cond:
            self.throttled += 1
            self.limit = max(1, self.limit // 2)
            self.successes = 0
            pause = 1.0 if retry_after is None else min(max(retry_after, 0.0), 60.0)
            self.pause_until = max(self.pause_until, time.monotonic() + pause)
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self._cond.notify_all()


@dataclass
class _Fetched:
    """The outcome of one detail request: a payload, not found, or an error message."""

    name: str
    payload: dict[str, Any] | None = None
    not_found: bool = False
    error: str = ""
    #: Not fetched because the run stopped (rejected credentials): the config keeps its cached state.
    skipped: bool = False


class _Counts:
    def __init__(self) -> None:
        self.listed = self.created = self.updated = self.unchanged = self.deleted = self.restored = self.failed = 0
        self.failed_names: list[str] = []

    def as_dict(self) -> dict[str, int]:
        return {
            "listed": self.listed, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "deleted": self.deleted, "restored": self.restored, "failed": self.failed,
        }


def _types(config_type: str) -> tuple[str, ...]:
    if config_type == "all":
        return CONFIG_TYPES
    if config_type not in CONFIG_TYPES:
        raise ValueError(f"config_type must be custom, sample or all, not {config_type!r}")
    return (config_type,)


def _bump_generation() -> None:
    """Tell cached page fragments that the data changed."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 1, timeout=None)


def acquire_sync_lock(source: ConfigSource, *, config_type: str = "all", trigger: str = "command") -> SyncRun:
    """Start a run of ``source``, which is also its lock; take over a run whose heartbeat stopped.

    Raises:
        SyncAlreadyRunning: another live sync of this source holds the lock.
    """
    now = timezone.now()
    stale = SyncRun.objects.filter(source=source, status=SyncRun.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
    for run in stale:
        taken = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.FAILED,
            finished_at=now,
            error=f"abandoned: no heartbeat since {run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC (process stopped?)",
        )
        if taken:
            logger.warning("sync run #%s of %s had no heartbeat since %s; marked failed", run.pk, source, run.heartbeat_at)
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                source=source, config_type=config_type, trigger=trigger, started_at=now, heartbeat_at=now
            )
    except IntegrityError:
        running = SyncRun.objects.filter(source=source, status=SyncRun.Status.RUNNING).first()
        raise SyncAlreadyRunning(running, source) from None


def configs_sync(
    *,
    source: ConfigSource,
    config_type: str = "all",
    dry_run: bool = False,
    concurrency: int | None = None,
    trigger: str = "command",
    progress: ProgressCallback | None = None,
    client: Any = None,
    run: SyncRun | None = None,
) -> SyncResult:
    """Bring the cache of ``source`` up to date with ModelArts.

    Args:
        source: the project to read.
        config_type: "custom", "sample" or "all".
        dry_run: fetch and compare, write nothing (no run is recorded and no lock taken).
        concurrency: detail requests in flight (default ``MODELARTS_SYNC_CONCURRENCY``).
        trigger: recorded on the run ("command", "web", "schedule").
        progress: called as the listing and the details advance.
        client: a ModelArts client to use instead of building one from the source (tests).
        run: a run already acquired with ``acquire_sync_lock`` (background syncs).

    Returns:
        The result, also recorded as a ``SyncRun`` unless ``dry_run``.

    Raises:
        SyncAlreadyRunning: another sync of this source is running.
    """
    types = _types(config_type)
    concurrency = concurrency or settings.MODELARTS["SYNC_CONCURRENCY"]
    started = time.monotonic()
    if run is None and not dry_run:
        run = acquire_sync_lock(source, config_type=config_type, trigger=trigger)
    engine = _SyncEngine(source=source, run=run, dry_run=dry_run, concurrency=concurrency, progress=progress)
    status, error = SyncRun.Status.FAILED, ""
    try:
        if client is None:
            client = client_for_source(source)
        status, error = engine.execute(client, types)
    except ImproperlyConfigured as exc:
        error = f"configuration: {exc}"
    except ModelArtsError as exc:
        error = str(exc)
    except Exception as exc:  # a bug or a database failure: record it, never leave the lock held
        logger.exception("sync of %s stopped by an unexpected error", source)
        error = f"internal error: {type(exc).__name__}"
        raise
    finally:
        counts = engine.counts
        if run is not None:
            SyncRun.objects.filter(pk=run.pk).update(
                status=status,
                finished_at=timezone.now(),
                heartbeat_at=timezone.now(),
                error=error[:4000],
                failed_names=counts.failed_names[:200],
                **counts.as_dict(),
            )
            run.refresh_from_db()
        if engine.wrote:
            _bump_generation()
    result = SyncResult(
        source=source,
        status=status,
        counts=counts.as_dict(),
        duration=time.monotonic() - started,
        error=error,
        run=run,
        dry_run=dry_run,
        failed_names=counts.failed_names[:200],
    )
    log = logger.info if status == SyncRun.Status.SUCCEEDED else logger.warning
    log("sync of %s %s in %.1fs: %s%s", source, status, result.duration, result.counts, f" ({error})" if error else "")
    return result


class _SyncEngine:
    """The state of one sync: counts, the limiter, and the batch writer."""

    def __init__(self, *, source, run, dry_run, concurrency, progress) -> None:
        self.source = source
        self.run = run
        self.dry_run = dry_run
        self.concurrency = concurrency
        self.progress = progress or (lambda *args: None)
        self.counts = _Counts()
        self.wrote = False
        self.limiter = AdaptiveLimiter(concurrency, start=1)
        #: The auth error that stopped the detail stage (401/403 on a detail request).
        self.stopped_by: ModelArtsAuthError | None = None
        self._stop_lock = threading.Lock()
        self._last_heartbeat = time.monotonic()

    # -- orchestration ---------------------------------------------------------------------------

    def execute(self, client, types: Iterable[str]) -> tuple[str, str]:
        listings: dict[str, list[str]] = {}
        for config_type in types:  # step 1: every listing completes before anything is written
            listings[config_type] = self._list(client, config_type)
        for config_type, names in listings.items():  # steps 2 and 3
            self._fetch_and_write(client, config_type, names)
            self._mark_missing(config_type, set(names))
        if self.counts.failed:
            ok = self.counts.listed - self.counts.failed
            status = SyncRun.Status.PARTIAL if ok > 0 else SyncRun.Status.FAILED
            shown = ", ".join(self.counts.failed_names[:5])
            more = f" and {self.counts.failed - 5} more" if self.counts.failed > 5 else ""
            return status, f"{self.counts.failed} config(s) could not be read and keep their cached state: {shown}{more}"
        return SyncRun.Status.SUCCEEDED, ""

    def _list(self, client, config_type: str) -> list[str]:
        names: list[str] = []
        self.progress("list", 0, None, config_type)
        for summary in client.iter_configs(config_type=config_type):
            names.append(summary.config_name)
            if len(names) % 1000 == 0:
                self.progress("list", len(names), None, config_type)
                self._heartbeat()
        self.counts.listed += len(names)
        self.progress("list", len(names), len(names), config_type)
        return names

    # -- details -------------------------------------------------------------------------------

    def _fetch_one(self, client, config_type: str, name: str) -> _Fetched:
        """One detail request through the limiter; never raises."""
        for attempt in range(THROTTLE_ATTEMPTS):
            try:
                with self.limiter:
                    detail = client.get_config(name, config_type=config_type)
                self.limiter.success()
                return _Fetched(name, payload=dict(detail.raw))
            except LimiterStopped:
                return _Fetched(name, skipped=True)
            except ModelArtsNotFound:
                return _Fetched(name, not_found=True)
            except ModelArtsAuthError as exc:
                # The credentials are rejected: so would every other request be. Stop here.
                with self._stop_lock:
                    if self.stopped_by is None:
                        self.stopped_by = exc
                self.limiter.stop()
                return _Fetched(name, skipped=True)
            except ModelArtsThrottled as exc:
                self.limiter.throttle(exc.retry_after)
                if attempt == THROTTLE_ATTEMPTS - 1:
                    return _Fetched(name, error=str(exc))
            except ModelArtsError as exc:
                return _Fetched(name, error=str(exc))
            except Exception as exc:  # never let one config stop the others
                logger.exception("unexpected error fetching a config detail")
                return _Fetched(name, error=f"internal error: {type(exc).__name__}")
        return _Fetched(name, error="throttled")  # pragma: no cover (loop always returns)

    def _fetched(self, client, config_type: str, names: list[str]) -> Iterator[_Fetched]:
        """Detail results as they complete, with at most a batch and a few pool widths queued.

        The window is wider than a write batch so the pool keeps fetching while a batch is written.
        """
        window = BATCH_SIZE + self.concurrency * 4
        pending: set[Future] = set()
        remaining = iter(names)
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="sync-detail") as pool:
            exhausted = False
            while True:
                while not exhausted and len(pending) < window and self.stopped_by is None:
                    name = next(remaining, None)
                    if name is None:
                        exhausted = True
                        break
                    pending.add(pool.submit(self._fetch_one, client, config_type, name))
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()

    def _fetch_and_write(self, client, config_type: str, names: list[str]) -> None:
        total = len(names)
        done = 0
        batch: list[_Fetched] = []
        self.progress("details", 0, total, config_type)
        for fetched in self._fetched(client, config_type, names):
            done += 1
            if fetched.skipped:
                continue
            batch.append(fetched)
            if len(batch) >= BATCH_SIZE:
                self._write_batch(config_type, batch)
                batch = []
                self.progress("details", done, total, config_type)
        if batch:
            self._write_batch(config_type, batch)
        self.progress("details", done, total, config_type)
        if self.stopped_by is not None:
            # What was fetched before the rejection is stored; the rest keeps its cached state, and
            # nothing is marked deleted (the run did not see every config).
            raise self.stopped_by

    # -- writing -------------------------------------------------------------------------------

    def _heartbeat(self, force: bool = False) -> None:
        if self.run is None or self.dry_run:
            return
        if force or time.monotonic() - self._last_heartbeat > 5:
            SyncRun.objects.filter(pk=self.run.pk).update(heartbeat_at=timezone.now(), **self.counts.as_dict())
            self._last_heartbeat = time.monotonic()

    def _write_batch(self, config_type: str, batch: list[_Fetched]) -> None:
        names = [f.name for f in batch]
        existing = {
            row.config_name: row
            for row in TrainingJobConfig.objects.filter(
                source=self.source, config_type=config_type, config_name__in=names
            ).only("id", "config_name", "content_hash", "deleted_upstream_at")
        }
        now = timezone.now()
        to_create: list[tuple[TrainingJobConfig, dict]] = []
        to_update: list[tuple[TrainingJobConfig, dict, str]] = []  # (row, fields, revision kind)
        to_restore: list[TrainingJobConfig] = []
        to_delete: list[TrainingJobConfig] = []
        for fetched in batch:
            row = existing.get(fetched.name)
            if fetched.error:
                self.counts.failed += 1
                if len(self.counts.failed_names) < 200:
                    self.counts.failed_names.append(fetched.name)
                continue
            if fetched.not_found:  # listed, then gone before its detail was read
                if row is not None and row.deleted_upstream_at is None:
                    to_delete.append(row)
                    self.counts.deleted += 1
                continue
            fields = config_fields(fetched.payload)
            if row is None:
                to_create.append((TrainingJobConfig(source=self.source, config_type=config_type, config_name=fetched.name), fields))
                self.counts.created += 1
            elif row.content_hash != fields["content_hash"]:
                kind = ConfigRevision.Kind.RESTORED if row.deleted_upstream_at else ConfigRevision.Kind.CHANGED
                to_update.append((row, fields, kind))
                if row.deleted_upstream_at:
                    self.counts.restored += 1
                else:
                    self.counts.updated += 1
            elif row.deleted_upstream_at is not None:
                to_restore.append(row)
                self.counts.restored += 1
            else:
                self.counts.unchanged += 1
        if not self.dry_run and (to_create or to_update or to_restore or to_delete):
            with transaction.atomic():
                self._apply(now, to_create, to_update, to_restore, to_delete)
            self.wrote = True
        self._heartbeat()

    def _apply(self, now, to_create, to_update, to_restore, to_delete) -> None:
        revisions: list[ConfigRevision] = []
        params: list[ConfigParameter] = []
        if to_create:
            objs = []
            for obj, fields in to_create:
                for name in _DATA_FIELDS:
                    setattr(obj, name, fields[name])
                obj.first_seen_at = obj.last_synced_at = obj.last_changed_at = now
                objs.append(obj)
            TrainingJobConfig.objects.bulk_create(objs, batch_size=200)
            if any(o.pk is None for o in objs):  # a backend without RETURNING: look the ids up
                ids = dict(
                    TrainingJobConfig.objects.filter(
                        source=self.source, config_type=objs[0].config_type, config_name__in=[o.config_name for o in objs]
                    ).values_list("config_name", "id")
                )
                for o in objs:
                    o.pk = o.id = ids[o.config_name]
            for obj, fields in to_create:
                revisions.append(
                    ConfigRevision(
                        config=obj, sync_run=self.run, observed_at=now, kind=ConfigRevision.Kind.CREATED,
                        content_hash=fields["content_hash"], payload=fields["raw"],
                    )
                )
                params.extend(ConfigParameter(config=obj, **p) for p in parameter_rows(fields["parameters"]))
        if to_update:
            previous = dict(
                TrainingJobConfig.objects.filter(pk__in=[row.pk for row, _, _ in to_update]).values_list("pk", "raw")
            )
            for row, fields, kind in to_update:
                for name in _DATA_FIELDS:
                    setattr(row, name, fields[name])
                row.last_synced_at = row.last_changed_at = now
                row.deleted_upstream_at = None
                old = previous.get(row.pk) or {}
                revisions.append(
                    ConfigRevision(
                        config=row, sync_run=self.run, observed_at=now, kind=kind, content_hash=fields["content_hash"],
                        previous_payload=old, payload=fields["raw"], diff=diff_payloads(old, fields["raw"]),
                    )
                )
                params.extend(ConfigParameter(config=row, **p) for p in parameter_rows(fields["parameters"]))
            TrainingJobConfig.objects.bulk_update(
                [row for row, _, _ in to_update],
                [*_DATA_FIELDS, "last_synced_at", "last_changed_at", "deleted_upstream_at"],
                batch_size=100,
            )
            ConfigParameter.objects.filter(config_id__in=[row.pk for row, _, _ in to_update]).delete()
        if to_restore:
            TrainingJobConfig.objects.filter(pk__in=[r.pk for r in to_restore]).update(
                deleted_upstream_at=None, last_synced_at=now, last_changed_at=now
            )
            revisions.extend(
                ConfigRevision(config=r, sync_run=self.run, observed_at=now, kind=ConfigRevision.Kind.RESTORED,
                               content_hash=r.content_hash)
                for r in to_restore
            )
        if to_delete:
            self._mark_deleted(now, to_delete, revisions)
        ConfigParameter.objects.bulk_create(params, batch_size=1000)
        ConfigRevision.objects.bulk_create(revisions, batch_size=200)

    def _mark_deleted(self, now, rows: list[TrainingJobConfig], revisions: list[ConfigRevision]) -> None:
        TrainingJobConfig.objects.filter(pk__in=[r.pk for r in rows], deleted_upstream_at__isnull=True).update(
            deleted_upstream_at=now, last_synced_at=now, last_changed_at=now
        )
        revisions.extend(
            ConfigRevision(config=r, sync_run=self.run, observed_at=now, kind=ConfigRevision.Kind.DELETED,
                           content_hash=r.content_hash)
            for r in rows
        )

    def _mark_missing(self, config_type: str, listed: set[str]) -> None:
        """Mark cached configs of this type that the complete listing did not contain."""
        missing: list[TrainingJobConfig] = []
        rows = (
            TrainingJobConfig.objects.filter(source=self.source, config_type=config_type, deleted_upstream_at__isnull=True)
            .only("id", "config_name", "content_hash")
            .order_by()
            .iterator(chunk_size=5000)
        )
        for row in rows:
            if row.config_name not in listed:
                missing.append(row)
        self.counts.deleted += len(missing)
        if self.dry_run or not missing:
            return
        now = timezone.now()
        for start in range(0, len(missing), BATCH_SIZE):
            chunk = missing[start : start + BATCH_SIZE]
            revisions: list[ConfigRevision] = []
            with transaction.atomic():
                self._mark_deleted(now, chunk, revisions)
                ConfigRevision.objects.bulk_create(revisions, batch_size=200)
        self.wrote = True


def config_refresh(config: TrainingJobConfig, *, client: Any = None) -> RefreshResult:
    """Read one config from ModelArts again and store it (staff "Refresh from ModelArts").

    A failure upstream changes nothing in the cache.
    """
    try:
        if client is None:
            client = client_for_source(config.source)
        detail = client.get_config(config.config_name, config_type=config.config_type)
    except ModelArtsNotFound:
        if config.deleted_upstream_at is None:
            now = timezone.now()
            with transaction.atomic():
                TrainingJobConfig.objects.filter(pk=config.pk).update(
                    deleted_upstream_at=now, last_synced_at=now, last_changed_at=now
                )
                ConfigRevision.objects.create(
                    config=config, observed_at=now, kind=ConfigRevision.Kind.DELETED, content_hash=config.content_hash
                )
            _bump_generation()
        return RefreshResult("deleted", f"{config.config_name} no longer exists in ModelArts; the cached copy is kept.")
    except (ModelArtsError, ImproperlyConfigured) as exc:
        return RefreshResult("failed", f"Could not read {config.config_name} from ModelArts: {exc}")
    fields = config_fields(dict(detail.raw))
    now = timezone.now()
    with transaction.atomic():
        current = TrainingJobConfig.objects.select_for_update().get(pk=config.pk)
        if current.content_hash == fields["content_hash"] and current.deleted_upstream_at is None:
            return RefreshResult("unchanged", f"{config.config_name} is unchanged in ModelArts.")
        old = current.raw
        kind = ConfigRevision.Kind.RESTORED if current.deleted_upstream_at else ConfigRevision.Kind.REFRESHED
        for name in _DATA_FIELDS:
            setattr(current, name, fields[name])
        current.last_synced_at = current.last_changed_at = now
        current.deleted_upstream_at = None
        current.save()
        ConfigParameter.objects.filter(config=current).delete()
        ConfigParameter.objects.bulk_create(ConfigParameter(config=current, **p) for p in parameter_rows(fields["parameters"]))
        ConfigRevision.objects.create(
            config=current, observed_at=now, kind=kind, content_hash=fields["content_hash"],
            previous_payload=old, payload=fields["raw"], diff=diff_payloads(old, fields["raw"]),
        )
    _bump_generation()
    return RefreshResult("changed", f"{config.config_name} was updated from ModelArts.")


def start_background_sync(source: ConfigSource, *, trigger: str = "web", config_type: str = "all") -> SyncRun | None:
    """Take the lock now and run the sync in a background thread (staff "Sync now").

    Returns the new run, or None when a sync of this source is already running.
    """
    try:
        run = acquire_sync_lock(source, config_type=config_type, trigger=trigger)
    except SyncAlreadyRunning:
        return None

    def work() -> None:
        close_old_connections()
        try:
            configs_sync(source=source, config_type=config_type, trigger=trigger, run=run)
        except Exception:  # already logged and recorded by configs_sync
            pass
        finally:
            connection.close()

    threading.Thread(target=work, name=f"sync-{source.name}", daemon=True).start()
    return run

