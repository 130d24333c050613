"""Reads for pages: querysets and the "data as of" status. No HTTP calls, no writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, Subquery

from configs_app.models import ConfigSource, SyncRun


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


def sync_status() -> list[SourceStatus]:
    """Freshness of every enabled source, in two queries whatever the number of sources."""
    finished = [SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL, SyncRun.Status.FAILED]
    sources = list(
        ConfigSource.objects.filter(enabled=True)
        .annotate(
            last_success_id=_latest_run_id(status__in=[SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL]),
            last_run_id=_latest_run_id(status__in=finished),
            running_id=_latest_run_id(status=SyncRun.Status.RUNNING),
        )
        .order_by("name")
    )
    ids = {i for s in sources for i in (s.last_success_id, s.last_run_id, s.running_id) if i}
    runs = SyncRun.objects.in_bulk(ids) if ids else {}
    return [
        SourceStatus(s, runs.get(s.last_success_id), runs.get(s.last_run_id), runs.get(s.running_id)) for s in sources
    ]
