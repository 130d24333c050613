"""Reads for pages: querysets, the "data as of" status, and counts cached per data version.

No HTTP calls, no writes to the database (the cache is written: counts and filter choices keyed by
``data_version()``, so a new sync is visible at once).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncMonth
from django.db.models.sql.where import WhereNode
from django.http import Http404

from configs_app.models import (
    ConfigParameter,
    ConfigRevision,
    ConfigSource,
    SyncRun,
    TablePreference,
    TrainingJobConfig,
)
from configs_app.search import filter_by_terms, search_terms


@dataclass(frozen=True)
class SourceStatus:
    """How fresh one source's cache is."""

    source: ConfigSource
    last_success: SyncRun | None
    last_run: SyncRun | None
    running: SyncRun | None

    @property
    def data_as_of(self) -> datetime | None:
        """When the cache of this source was last confirmed by a (complete or partial) sync."""
        return self.last_success.finished_at if self.last_success else None

    @property
    def last_failed(self) -> SyncRun | None:
        """The latest finished run when it failed or was partial, else None."""
        if self.last_run and self.last_run.status in (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL):
            return self.last_run
        return None


def _latest_run_id(**filters):
    return Subquery(
        SyncRun.objects.filter(source=OuterRef("pk"), **filters).order_by("-finished_at", "-pk").values("pk")[:1]
    )


#: SQL of ``_sources_with_latest_runs_sql`` per database vendor.
_SYNC_STATUS_SQL: dict[str, tuple[str, tuple]] = {}


def _sources_with_latest_runs_sql() -> tuple[str, tuple]:
    """SQL of the enabled sources with the ids of their latest runs, compiled once per database
    vendor: it never changes, and compiling its three subqueries took most of the time this
    banner, on every page, cost (4 of 5 ms)."""
    vendor = connection.vendor
    if vendor not in _SYNC_STATUS_SQL:
        finished = [SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL, SyncRun.Status.FAILED]
        queryset = (
            ConfigSource.objects.filter(enabled=True)
            .annotate(
                last_success_id=_latest_run_id(status__in=[SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL]),
                last_run_id=_latest_run_id(status__in=finished),
                running_id=_latest_run_id(status=SyncRun.Status.RUNNING),
            )
            .order_by("name")
        )
        _SYNC_STATUS_SQL[vendor] = queryset.query.sql_with_params()
    return _SYNC_STATUS_SQL[vendor]


def sync_status() -> list[SourceStatus]:
    """Freshness of every enabled source, in two queries whatever the number of sources."""
    sql, params = _sources_with_latest_runs_sql()
    sources = list(ConfigSource.objects.raw(sql, params))
    ids = sorted({i for s in sources for i in (s.last_success_id, s.last_run_id, s.running_id) if i})
    runs = {}
    if ids:
        placeholders = ", ".join(["%s"] * len(ids))
        sql = f"SELECT * FROM {SyncRun._meta.db_table} WHERE id IN ({placeholders})"
        runs = {run.pk: run for run in SyncRun.objects.raw(sql, ids)}
    return [
        SourceStatus(s, runs.get(s.last_success_id), runs.get(s.last_run_id), runs.get(s.running_id)) for s in sources
    ]


# --- Data version: what cached counts and page fragments are keyed by -----------------------------

#: The cache key ``configs_app.sync`` bumps after every write (``sync.GENERATION_KEY``; spelled out
#: here so that pages never import the sync engine and its API client).
GENERATION_KEY = "configs:generation"
#: Seconds a cached count, list of filter choices or page fragment is kept. They are keyed by the
#: data version, so this only bounds how long unused entries take memory.
PAGE_CACHE_TIMEOUT = 600


def data_version() -> str:
    """A short string that changes whenever the cached configs change, in one cheap query.

    Made of the generation the sync engine bumps after every write (seen at once by every process
    when the cache is shared, e.g. Redis) and the newest revision and config ids, read from the
    database: every change a sync or a refresh writes adds a revision in the same transaction, so
    a sync run by another process (cron) is seen at once even with a per-process cache.
    """
    generation = cache.get(GENERATION_KEY) or 0
    revisions, configs = ConfigRevision._meta.db_table, TrainingJobConfig._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT (SELECT MAX(id) FROM {revisions}), (SELECT MAX(id) FROM {configs})")
        newest_revision, newest_config = cursor.fetchone()
    return f"{generation}.{newest_revision or 0}.{newest_config or 0}"


def page_cache_key(kind: str, version: str | None, *parts: object) -> str:
    """A cache key for something computed from the configs at ``version`` (a count, a fragment)."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"configs:{kind}:{version}:{digest}"


#: A search or filter counts its matches exactly up to this many; beyond, its first pages say
#: "more than 1,000" and the exact count waits until a page past the bound is asked for.
COUNT_BOUND = 1000


def config_count(queryset: QuerySet[TrainingJobConfig], *, version: str | None, bound: int | None = None) -> int | None:
    """``queryset.count()``, cached per data version and SQL (ordering left out), so paging,
    sorting and re-visiting a filtered table count the rows once per sync, exactly.

    With a ``bound``, counts at most ``bound + 1`` rows (``SELECT COUNT(*) FROM (... LIMIT n)``)
    and returns None when there are more than ``bound``: a search term in a quarter of 100,000
    configs is then counted in a few ms instead of a scan of the whole table. An exact count
    already cached is returned as it is.

    Without a ``version`` the count is not cached.
    """
    queryset = queryset.order_by()
    if version is None:
        counted = queryset.count() if bound is None else queryset[: bound + 1].count()
        return None if bound is not None and counted > bound else counted
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return 0
    key = page_cache_key("count", version, queryset.db, sql, params)
    count = cache.get(key)
    if count is not None:
        return count
    if bound is not None:
        bounded_key = page_cache_key("count-bounded", version, queryset.db, sql, params, bound)
        count = cache.get_or_set(bounded_key, lambda: queryset[: bound + 1].count(), PAGE_CACHE_TIMEOUT)
        if count > bound:
            return None
    else:
        count = queryset.count()
    cache.set(key, count, PAGE_CACHE_TIMEOUT)
    return count


# --- Configs: list, search, detail, compare, overview --------------------------------------------

#: Columns the list, table and export never read: large JSON kept for the detail page.
_LIST_DEFERRED = ("raw", "search_text", "volumes", "data_source")


class ConfigTableQuerySet(QuerySet):
    """The configs of a table: a page (a slice) is read in two steps, the primary keys of the page
    first, then those rows.

    The first step reads only what the WHERE and ORDER BY need, so an index can answer it alone
    (an index-only scan on PostgreSQL); the rows skipped to reach a deep page are never fetched
    (the last page of 100,000: 0.5 s in one step, 20 ms in two, on PostgreSQL).
    """

    def __getitem__(self, k):
        if not isinstance(k, slice) or self._result_cache is not None or k.stop is None or k.step is not None:
            return super().__getitem__(k)
        keys = super().__getitem__(k).values("pk")
        rows = self._chain()
        rows.query.where = WhereNode()  # the keys already satisfy every condition
        return rows.filter(pk__in=keys)


def config_list() -> QuerySet[TrainingJobConfig]:
    """Every cached config (active and deleted upstream) for tables and exports, with its source
    and the large JSON columns left out. Ordered by name, then pk; pages are read by primary key
    first (``ConfigTableQuerySet``).

    Sources come from one more query per page rather than a join: with a join, a database must
    read every row it skips to reach a deep page (the source id is in the row), where without one
    the page is found in an index (the last of 100,000 rows: 0.5 s against 10 ms on SQLite).
    Exports, which read every row anyway, join them instead.
    """
    return (
        ConfigTableQuerySet(TrainingJobConfig)
        .prefetch_related("source")
        .defer(*_LIST_DEFERRED)
        .order_by("config_name", "pk")
    )


def config_search(queryset: QuerySet[TrainingJobConfig], q: str) -> QuerySet[TrainingJobConfig]:
    """Configs of ``queryset`` whose quick-search text contains every whitespace-separated term of
    ``q``, ignoring case. Blank ``q`` leaves the queryset as it is.

    Matches ``TrainingJobConfig.search_text`` (name, description, engine, image, command, OBS paths,
    parameter labels and non-secret values; built by ``records.search_text``), so a secret value is
    never findable. An index finds the candidates (FTS5 trigram on SQLite, pg_trgm on PostgreSQL;
    see ``configs_app.search``); the result is the same with or without it, on every database.
    """
    return filter_by_terms(queryset, search_terms(q))


def config_parameter_filter(
    queryset: QuerySet[TrainingJobConfig], *, label: str = "", value: str = "", match: str = "contains"
) -> QuerySet[TrainingJobConfig]:
    """Configs that have one parameter row with ``label`` (any case) and, when given, ``value``
    (``match`` "exact" or "contains", any case).

    Values are matched on non-secret rows only: matching a secret's value would let anyone guess it
    one character at a time.
    """
    label, value = (label or "").strip(), (value or "").strip()
    if not label and not value:
        return queryset
    rows = ConfigParameter.objects.filter(config=OuterRef("pk"))
    if label:
        rows = rows.filter(label__iexact=label)
    if value:
        rows = rows.filter(is_secret=False)
        rows = rows.filter(value__iexact=value) if match == "exact" else rows.filter(value__icontains=value)
    return queryset.filter(Exists(rows))


def config_distinct_values(field_name: str, *, version: str | None = None) -> list[str]:
    """The distinct non-blank values of one text column of the configs (for filter choices),
    cached per data version when one is given."""
    key = page_cache_key("distinct", version, field_name) if version is not None else None
    values = cache.get(key) if key else None
    if values is None:
        values = list(
            TrainingJobConfig.objects.exclude(**{field_name: ""})
            .order_by(field_name)
            .values_list(field_name, flat=True)
            .distinct()
        )
        if key:
            cache.set(key, values, PAGE_CACHE_TIMEOUT)
    return values


def config_get(*, source: str, config_type: str, config_name: str) -> TrainingJobConfig:
    """The cached config identified like ModelArts does (source, config type, name).

    Raises:
        Http404: no such config, or a name no config can have (too long, NUL characters).
    """
    if len(config_name) > 128 or "\x00" in config_name or "\x00" in source or "\x00" in config_type:
        raise Http404("No such config.")
    try:
        return TrainingJobConfig.objects.select_related("source").get(
            source__name=source, config_type=config_type, config_name=config_name
        )
    except TrainingJobConfig.DoesNotExist:
        raise Http404("No such config.") from None


def config_revisions(config: TrainingJobConfig, *, limit: int = 200) -> list[ConfigRevision]:
    """The newest ``limit`` revisions of a config, newest first, without their stored payloads."""
    return list(config.revisions.defer("payload", "previous_payload").order_by("-observed_at", "-pk")[:limit])


def configs_by_ids(ids: Iterable[int]) -> list[TrainingJobConfig]:
    """The configs with these primary keys in the order given; unknown ids are left out."""
    wanted = list(ids)
    found = TrainingJobConfig.objects.select_related("source").in_bulk(wanted)
    return [found[pk] for pk in wanted if pk in found]


def table_columns_get(*, user, table_name: str) -> list[str] | None:
    """The columns ``user`` chose to show in ``table_name``, or None when they never chose."""
    if not getattr(user, "is_authenticated", False):
        return None
    pref = TablePreference.objects.filter(user=user, table_name=table_name).only("columns").first()
    return list(pref.columns) if pref is not None else None


@dataclass(frozen=True)
class CountRow:
    """One bar of an overview chart."""

    label: str
    count: int
    extra: int = 0


@dataclass(frozen=True)
class Overview:
    """What the overview page shows; see ``overview_get``."""

    total: int
    deleted: int
    by_source: Sequence[CountRow]
    by_type: Sequence[CountRow]
    by_engine: Sequence[CountRow]
    by_month: Sequence[CountRow]
    recent_changes: Sequence[ConfigRevision] = field(default_factory=list)


def overview_get(*, months: int = 24, engines: int = 12, changes: int = 15) -> Overview:
    """Totals per source (active and deleted upstream), per config type and per engine, configs
    created per month (the last ``months`` months that have any) and the latest revisions.

    Five queries whatever the number of configs.
    """
    active = Q(deleted_upstream_at__isnull=True)
    per_source = list(
        TrainingJobConfig.objects.values("source__name")
        .annotate(active=Count("pk", filter=active), deleted=Count("pk", filter=~active))
        .order_by("source__name")
    )
    live = TrainingJobConfig.objects.filter(active)
    per_type = list(live.values("config_type").annotate(n=Count("pk")).order_by("-n", "config_type"))
    per_engine = list(live.values("engine_name").annotate(n=Count("pk")).order_by("-n", "engine_name"))
    per_month = list(
        live.filter(create_time__isnull=False)
        .annotate(month=TruncMonth("create_time"))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by("-month")[:months]
    )
    recent = list(
        ConfigRevision.objects.select_related("config__source")
        .defer("payload", "previous_payload", "config__raw", "config__search_text", "config__parameters",
               "config__volumes", "config__data_source")
        .order_by("-observed_at", "-pk")[:changes]
    )
    type_labels = dict(TrainingJobConfig.ConfigType.choices)
    engine_rows = [CountRow(r["engine_name"] or "(none)", r["n"]) for r in per_engine[:engines]]
    if len(per_engine) > engines:
        engine_rows.append(CountRow("other", sum(r["n"] for r in per_engine[engines:])))
    return Overview(
        total=sum(r["active"] for r in per_source),
        deleted=sum(r["deleted"] for r in per_source),
        by_source=[CountRow(r["source__name"], r["active"], r["deleted"]) for r in per_source],
        by_type=[CountRow(type_labels.get(r["config_type"], r["config_type"]), r["n"]) for r in per_type],
        by_engine=engine_rows,
        by_month=[CountRow(f"{r['month']:%Y-%m}", r["n"]) for r in reversed(per_month) if r["month"]],
        recent_changes=recent,
    )


def sync_run_list() -> QuerySet[SyncRun]:
    """Every sync run, newest first, with its source joined (for the sync runs table)."""
    return SyncRun.objects.select_related("source").defer("failed_names").order_by("-started_at", "-pk")

