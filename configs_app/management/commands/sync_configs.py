"""``manage.py sync_configs``: bring the cache up to date with ModelArts (for people and cron).

Exit status: 0 when every source synced, 2 when a sync was partial (some configs could not be read
and keep their cached state), 1 when a sync failed or could not start. On a terminal it draws a
progress bar; otherwise (cron, CI) it writes plain progress lines.
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from configs_app.models import ConfigSource, SyncRun
from configs_app.sources import environment_source
from configs_app.sync import SyncAlreadyRunning, SyncResult, configs_sync


# Failure outranks partial, which outranks success, whatever the order of the sources.
_SEVERITY = {0: 0, 2: 1, 1: 2}


class Command(BaseCommand):
    help = "Read training job configs from ModelArts into the dashboard's cache."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--source", help="Name of the source to sync (default: every enabled source).")
        parser.add_argument(
            "--config-type", choices=["custom", "sample", "all"], default="all", help="Which configs to read (default all)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Fetch and compare, but write nothing.")
        parser.add_argument("--concurrency", type=int, help="Detail requests in flight (default MODELARTS_SYNC_CONCURRENCY).")
        parser.add_argument("--progress", choices=["auto", "bar", "lines"], default="auto", help="Progress display.")

    def handle(self, *args, **options) -> None:
        if options["concurrency"] is not None and not 1 <= options["concurrency"] <= 64:
            raise CommandError("--concurrency must be between 1 and 64.")
        environment_source()  # keep the MODELARTS_* source current
        sources = ConfigSource.objects.filter(enabled=True)
        if options["source"]:
            sources = ConfigSource.objects.filter(name=options["source"])
            if not sources.exists():
                known = ", ".join(ConfigSource.objects.values_list("name", flat=True)) or "none"
                raise CommandError(f"No source named {options['source']!r} (known: {known}).")
        mode = options["progress"]
        if mode == "auto":
            mode = "bar" if getattr(self.stdout, "isatty", lambda: False)() else "lines"
        worst = 0
        for source in sources:
            try:
                result = configs_sync(
                    source=source,
                    config_type=options["config_type"],
                    dry_run=options["dry_run"],
                    concurrency=options["concurrency"],
                    trigger="command",
                    progress=self._progress_for(source, mode, options["verbosity"]),
                )
            except SyncAlreadyRunning as exc:
                self.stderr.write(self.style.ERROR(f"{exc}. Not starting another; try again when it has finished."))
                worst = 1
                continue
            self._summary(result)
            worst = max(worst, result.exit_code, key=_SEVERITY.__getitem__)
        if worst:
            sys.exit(worst)

    def _progress_for(self, source: ConfigSource, mode: str, verbosity: int):
        state = {"last": 0.0}

        def progress(stage: str, done: int, total: int | None, config_type: str) -> None:
            if verbosity == 0:
                return
            label = f"{source.name} {config_type}"
            if mode == "bar":
                if total:
                    width = 30
                    filled = int(width * done / total) if total else width
                    bar = "#" * filled + "-" * (width - filled)
                    self.stdout.write(f"\r{label} {stage:<7} [{bar}] {done}/{total}", ending="")
                    if done >= total:
                        self.stdout.write("")
                else:
                    self.stdout.write(f"\r{label} {stage:<7} {done} listed", ending="")
                self.stdout.flush()
                return
            now = time.monotonic()
            finished = total is not None and done >= total
            if finished or now - state["last"] >= 2 or done == 0:
                state["last"] = now
                of = f"/{total}" if total is not None else ""
                self.stdout.write(f"{label}: {stage} {done}{of}")

        return progress

    def _summary(self, result: SyncResult) -> None:
        c = result.counts
        line = (
            f"{result.source.name}: {result.status}{' (dry run, nothing written)' if result.dry_run else ''} in "
            f"{result.duration:.1f}s: listed {c['listed']}, created {c['created']}, updated {c['updated']}, "
            f"unchanged {c['unchanged']}, deleted upstream {c['deleted']}, restored {c['restored']}, failed {c['failed']}"
        )
        style = {SyncRun.Status.SUCCEEDED: self.style.SUCCESS, SyncRun.Status.PARTIAL: self.style.WARNING}.get(
            result.status, self.style.ERROR
        )
        self.stdout.write(style(line))
        if result.error:
            self.stderr.write(style(result.error))
