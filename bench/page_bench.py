"""Page benchmark: the dashboard's pages against three references, side by side, in one run.

For each database (SQLite, PostgreSQL) and table size (1k, 10k, 100k configs) a worker process
fills (or reuses) a database with realistic configs (``seed_configs.py``), then measures, with
``django.test.Client`` in-process (a logged-in staff viewer, the deployment's middleware):

* the dashboard: the table (25 rows: default order, sorted by every column, the last page),
  quick search (a common term, a rare term, a parameter value), filters, a detail page, compare
  of 6, the CSV export of ``min(N, 10,000)`` rows (one source), the overview;
* (a) the Django admin changelist of the same model with ``search_fields`` over the same columns,
  browsing and searching the same terms;
* (b) the floor: a bare view behind the same middleware and login returning static HTML as large
  as the table page;
* (c) the same 25-row table built live from the ModelArts simulator with 100 ms latency per
  request (1 list + 25 detail requests, sequential and with 8 threads), as a dashboard without a
  cache would.

Every round measures every page once, in a shuffled order, so the machine's noise hits all of them
alike; medians and p95 come from the rounds. Pages that cache per data version are measured twice
per round: *cold*, the first request of that page after a simulated sync bumped the generation
(for pages other than the table's first page and the overview, that first page was viewed once
after the bump, untimed, as a user arriving on the dashboard does: the filter choices and the
unfiltered count are then cached, this page's own count and fragment are not), and *warm*, the
same request again. SQL queries per page are counted once per page, cold and warm.

Usage (from the project root; PostgreSQL at 127.0.0.1:5432 as in the test setup)::

    .venv/bin/python bench/page_bench.py                          # all sizes, both databases
    .venv/bin/python bench/page_bench.py --sizes 1000 --backends sqlite --rounds 5   # a quick look
    .venv/bin/python bench/page_bench.py --report                 # tables and plot from saved runs

Databases are kept between runs (SQLite files in ``--data-dir``, PostgreSQL databases
``modelarts_bench_<N>``) and rebuilt with ``--rebuild``. Results go to ``bench/out/`` (JSON per
run, ``page_bench.md``); the plot to ``docs/benchmarks-page-latency.png`` (matplotlib, installed
from ``bench/requirements.txt`` into the virtualenv on first use).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
PLOT = ROOT / "docs" / "benchmarks-page-latency.png"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", "/tmp/modelarts-page-bench"))
PER_PAGE = 25
LATENCY_MS = 100
LIVE_THREADS = 8
#: A page stops being sampled once it has this many samples and took this long in total.
MIN_SAMPLES, TIME_BUDGET = 5, 40.0


# --- databases ---------------------------------------------------------------------------------


def database_url(backend: str, size: int, *, data_dir: Path, pg_url: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{data_dir / f'bench-{size}.sqlite3'}"
    base = pg_url.rsplit("/", 1)[0]
    return f"{base}/modelarts_bench_{size}"


def prepare_postgres(url: str, pg_url: str, *, rebuild: bool) -> None:
    """Create the benchmark database when it is missing (drop it first with ``rebuild``)."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(pg_url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and rebuild:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["BENCH_DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
    for path in (str(ROOT), str(BENCH)):
        if path not in sys.path:
            sys.path.insert(0, path)
    import django

    django.setup()


# --- measuring ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(samples: list[float]) -> dict[str, Any]:
    return {
        "n": len(samples),
        "median_ms": statistics.median(samples) * 1000 if samples else None,
        "p95_ms": percentile(samples, 0.95) * 1000 if samples else None,
        "min_ms": min(samples) * 1000 if samples else None,
    }


def fetch(client, url: str) -> tuple[int, int, float]:
    """(status, body bytes, seconds) of one GET, a streamed body read to its end."""
    started = time.perf_counter()
    response = client.get(url)
    if response.streaming:
        size = sum(len(chunk) for chunk in response.streaming_content)
    else:
        size = len(response.content)
    elapsed = time.perf_counter() - started
    response.close()
    return response.status_code, size, elapsed


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Prepare one database and measure every page on it; returns the results."""
    backend, size = args.backend, args.size
    url = database_url(backend, size, data_dir=args.data_dir, pg_url=args.pg_url)
    if backend == "sqlite":
        args.data_dir.mkdir(parents=True, exist_ok=True)
        path = Path(urlsplit(url).path)
        if args.rebuild:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        prepare_postgres(url, args.pg_url, rebuild=args.rebuild)
    setup_django(url)

    from django.core.management import call_command
    from django.db import connection

    import seed_configs

    call_command("migrate", verbosity=0)
    seeded_in = None
    if not seed_configs.is_seeded(size):
        from configs_app.models import TrainingJobConfig

        if TrainingJobConfig.objects.exists():
            raise SystemExit(f"{url} holds other data; run with --rebuild")
        print(f"[{backend} {size:,}] seeding ...", flush=True)
        started = time.perf_counter()
        seed_configs.seed(size)
        seeded_in = time.perf_counter() - started
    results = measure(args, backend, size)
    results["seeded_in_s"] = seeded_in
    results["database"] = database_info(connection)
    return results


def database_info(connection) -> dict[str, Any]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            version = "SQLite " + cursor.fetchone()[0]
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            size = pages * cursor.fetchone()[0]
        else:
            cursor.execute("SHOW server_version")
            version = "PostgreSQL " + cursor.fetchone()[0]
            cursor.execute("SELECT pg_database_size(current_database())")
            size = cursor.fetchone()[0]
    return {"version": version, "bytes": size}


def explain(sql: str, params: tuple) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return [row[-1] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, params)
        return [row[0] for row in cursor.fetchall()]


def scenarios(size: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The pages to measure at this size: (list of {name, url, group, cached}, facts)."""
    from configs_app.models import TrainingJobConfig
    from configs_app.tables import TrainingJobConfigTable

    import bench_urls
    import seed_configs

    active = TrainingJobConfig.objects.filter(deleted_upstream_at__isnull=True)
    n_active = active.count()
    last_page = (n_active + PER_PAGE - 1) // PER_PAGE
    rare = active.order_by("config_name", "pk").values_list("config_name", flat=True)[n_active // 2]
    detail = active.select_related("source").get(config_name=rare)
    step = max(1, n_active // 6)
    compare_ids = list(active.order_by("pk").values_list("pk", flat=True)[::step][:6])
    common, param_value = "pytorch", "bert-base-chinese"
    source = seed_configs.source_name(0)
    export_rows = TrainingJobConfig.objects.filter(source__name=source).count()

    def page(**params) -> str:
        return "/configs/?" + urlencode({"per_page": PER_PAGE, **params})

    def admin(**params) -> str:
        query = urlencode(params)
        return "/bench-admin/configs_app/trainingjobconfig/" + (f"?{query}" if query else "")

    table = TrainingJobConfigTable
    sortable = [name for name, column in table.base_columns.items() if column.orderable is not False]
    pages: list[dict[str, Any]] = [
        {"name": "table", "url": page(), "group": "table", "cached": True},
        {"name": "table, 50 rows (default size)", "url": "/configs/", "group": "table", "cached": True},
        *(
            {"name": f"table sorted by {name}", "url": page(sort=name), "group": "sort", "cached": True}
            for name in sortable
        ),
        {"name": "table sorted by -created", "url": page(sort="-created"), "group": "sort", "cached": True},
        {"name": "table, last page", "url": page(page=last_page), "group": "table", "cached": True},
        {"name": "search: common term", "url": page(q=common), "group": "search", "cached": True},
        {"name": "search: rare term", "url": page(q=rare), "group": "search", "cached": True},
        {"name": "search: parameter value", "url": page(q=param_value), "group": "search", "cached": True},
        {"name": "search: two terms", "url": page(q=f"{common} nchw"), "group": "search", "cached": True},
        {
            "name": "filters: engine + workers + created",
            "url": page(engine="PyTorch", workers_min=2, created_from="2023-01-01"),
            "group": "filters",
            "cached": True,
        },
        {
            "name": "filters: parameter label = value",
            "url": page(parameter="optimizer", parameter_value="adamw"),
            "group": "filters",
            "cached": True,
        },
        {"name": "filters: deleted upstream", "url": page(status="deleted"), "group": "filters", "cached": True},
        {"name": "detail", "url": detail.get_absolute_url(), "group": "detail", "cached": True},
        {
            "name": "compare 6",
            "url": "/compare/?" + urlencode([("c", pk) for pk in compare_ids]),
            "group": "compare",
            "cached": False,
        },
        {
            "name": f"export CSV ({export_rows:,} rows)",
            "url": "/configs/export.csv?" + urlencode({"source": source, "status": "all"}),
            "group": "export",
            "cached": False,
        },
        {"name": "overview", "url": "/", "group": "overview", "cached": True},
        {"name": "(a) admin changelist", "url": admin(), "group": "admin", "cached": False},
        {"name": "(a) admin search: common term", "url": admin(q=common), "group": "admin", "cached": False},
        {"name": "(a) admin search: rare term", "url": admin(q=rare), "group": "admin", "cached": False},
        {"name": "(a) admin search: parameter value", "url": admin(q=param_value), "group": "admin", "cached": False},
        {"name": "(b) floor", "url": "/bench/floor/", "group": "floor", "cached": False},
    ]
    facts = {
        "configs": TrainingJobConfig.objects.count(),
        "active": n_active,
        "last_page": last_page,
        "rare_term": rare,
        "common_term": common,
        "parameter_value": param_value,
        "export_rows": export_rows,
        "admin_per_page": bench_urls.ADMIN_PER_PAGE,
    }
    return pages, facts


def bump_generation() -> None:
    """What a sync does after it wrote: every cached fragment and count goes stale."""
    from django.core.cache import cache

    from configs_app.sync import GENERATION_KEY

    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 1, timeout=None)


def measure(args: argparse.Namespace, backend: str, size: int) -> dict[str, Any]:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    import bench_urls
    import seed_configs

    pages, facts = scenarios(size)
    client = Client()
    client.force_login(seed_configs.bench_user())

    # Warm up every page once; the floor serves as many bytes as the table page.
    info: dict[str, dict[str, Any]] = {}
    for page in pages:
        status, nbytes, _ = fetch(client, page["url"])
        if status != 200:
            raise SystemExit(f"{page['name']}: {page['url']} answered {status}")
        info[page["name"]] = {"url": page["url"], "bytes": nbytes}
    bench_urls.FLOOR_BYTES = info["table"]["bytes"]
    info["(b) floor"]["bytes"] = fetch(client, "/bench/floor/")[1]

    # SQL queries per page, cold (after a sync) and warm.
    for page in pages:
        if page["cached"]:
            bump_generation()
            with CaptureQueriesContext(connection) as cold:
                fetch(client, page["url"])  # the first request after a sync: every cache misses
            info[page["name"]]["queries_cold"] = len(cold.captured_queries)
        with CaptureQueriesContext(connection) as warm:
            fetch(client, page["url"])
        info[page["name"]]["queries"] = len(warm.captured_queries)
        if page["group"] == "search" or page["name"] in ("table", "table, last page"):
            bump_generation()
            fetch(client, pages[0]["url"])
            with CaptureQueriesContext(connection) as cold:
                fetch(client, page["url"])
            plans = []
            for query in cold.captured_queries:
                sql = query["sql"]
                if sql.lstrip().startswith("SELECT") and "configs_app_trainingjobconfig" in sql:
                    plans.append({"sql": sql[:600], "ms": float(query["time"]) * 1000})
            info[page["name"]]["sql"] = plans
    reset_queries()

    # Rounds: every page once per round, shuffled; cold passes first (each after a bump), then a
    # warm-up pass, then the warm pass, so a bump never falls between a warm-up and its sample.
    samples: dict[str, list[float]] = {p["name"]: [] for p in pages}
    cold_samples: dict[str, list[float]] = {p["name"]: [] for p in pages if p["cached"]}
    rng = random.Random(size)
    started = time.perf_counter()
    landing = pages[0]["url"]
    for round_no in range(args.rounds):
        order = pages[:]
        rng.shuffle(order)
        for page in order:
            if page["cached"] and not _done(cold_samples[page["name"]], args.rounds):
                bump_generation()
                if page["url"] not in (landing, "/"):
                    fetch(client, landing)  # users arrive on the table: its shared parts are warm
                cold_samples[page["name"]].append(fetch(client, page["url"])[2])
        for page in order:
            if page["cached"]:
                fetch(client, page["url"])
        for page in order:
            if not _done(samples[page["name"]], args.rounds):
                samples[page["name"]].append(fetch(client, page["url"])[2])
        elapsed = time.perf_counter() - started
        print(f"[{backend} {size:,}] round {round_no + 1}/{args.rounds} ({elapsed:.0f} s)", flush=True)
    for name in samples:
        info[name]["warm"] = summary(samples[name])
        if name in cold_samples:
            info[name]["cold"] = summary(cold_samples[name])

    export = next(p for p in pages if p["group"] == "export")
    info[export["name"]]["peak_python_mib"] = export_peak_memory(client, export["url"])
    live = {} if args.skip_live else measure_live(size, rounds=args.live_rounds)
    return {
        "backend": backend,
        "size": size,
        "per_page": PER_PAGE,
        "facts": facts,
        "pages": info,
        "live": live,
        "machine": machine_info(),
    }


def _done(samples: list[float], rounds: int) -> bool:
    return len(samples) >= rounds or (len(samples) >= MIN_SAMPLES and sum(samples) > TIME_BUDGET)


def export_peak_memory(client, url: str) -> float:
    """Peak Python memory (MiB, tracemalloc) while the export is streamed and read to the end."""
    gc.collect()
    tracemalloc.start()
    try:
        response = client.get(url)
        for _chunk in response.streaming_content:
            pass
        response.close()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure_live(size: int, *, rounds: int) -> dict[str, Any]:
    """(c): the 25-row table assembled live from the simulator with 100 ms latency per request."""
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from configs_app.modelarts import AkSkAuth, ModelArtsClient
    from configs_app.models import ConfigSource, TrainingJobConfig
    from configs_app.records import config_fields
    from configs_app.tables import TrainingJobConfigTable
    from modelarts_sim.server import SimulatorServer
    from modelarts_sim.state import SimulatorState

    import seed_configs

    state = SimulatorState.seeded(configs=size, samples=0, seed=seed_configs.DATA_SEED)
    server = SimulatorServer(state).start()
    source = ConfigSource(name="live", endpoint=server.url, project_id=state.project_id)
    request = RequestFactory().get("/configs/")
    try:
        client = ModelArtsClient(
            endpoint=server.url,
            project_id=state.project_id,
            auth=AkSkAuth(ak=state.ak, sk=state.sk, project_id=state.project_id),
            pool_size=LIVE_THREADS * 2,
        )
        state.add_fault("latency", ms=LATENCY_MS)

        def build(threads: int) -> str:
            listing = client.list_configs(page=1, per_page=PER_PAGE, sort_by="config_name", order="asc")
            names = [item.config_name for item in listing.configs]

            def row(name: str) -> TrainingJobConfig:
                fields = config_fields(dict(client.get_config(name).raw))
                return TrainingJobConfig(source=source, config_name=name, **fields)

            if threads == 1:
                rows = [row(name) for name in names]
            else:
                with ThreadPoolExecutor(threads) as pool:
                    rows = list(pool.map(row, names))
            table = TrainingJobConfigTable(rows)
            return render_to_string("django_tables2/bootstrap5-responsive.html", {"table": table}, request)

        results = {}
        for label, threads in (("sequential", 1), (f"{LIVE_THREADS} threads", LIVE_THREADS)):
            build(threads)  # connections opened, simulator's sorted listing cached
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                build(threads)
                times.append(time.perf_counter() - started)
            results[label] = summary(times)
        client.close()
        return {"latency_ms": LATENCY_MS, "requests": 1 + PER_PAGE, **results}
    finally:
        server.stop()


def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import django

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "platform": platform.platform(),
    }


# --- the report --------------------------------------------------------------------------------


def load_results(out: Path) -> list[dict[str, Any]]:
    runs = []
    for path in sorted(out.glob("page_bench-*.json")):
        runs.append(json.loads(path.read_text()))
    order = {"sqlite": 0, "postgres": 1}
    return sorted(runs, key=lambda r: (order.get(r["backend"], 9), r["size"]))


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    return f"{a / b:.2f}×" if a / b < 10 else f"{a / b:.0f}×"


def report(runs: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    sizes = sorted({r["size"] for r in runs})
    backends = [b for b in ("sqlite", "postgres") if any(r["backend"] == b for r in runs)]

    def run_of(backend: str, size: int) -> dict[str, Any] | None:
        return next((r for r in runs if r["backend"] == backend and r["size"] == size), None)

    def med(run: dict[str, Any], name: str, kind: str = "warm") -> float | None:
        page = run["pages"].get(name) or {}
        return (page.get(kind) or {}).get("median_ms")

    lines.append("### Ratios (medians of the same run)\n")
    lines.append(
        "| database | configs | table ÷ floor (aim ≤ 3) | table ÷ admin (aim ≤ 0.5) | table cold ÷ floor "
        "| table cold ÷ admin "
        "| detail ÷ floor (aim ≤ 1.5) | search, PostgreSQL aim < 50 ms: common / rare / value (cold) "
        "| live sequential ÷ table | live 8 threads ÷ table |"
    )
    lines.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for backend in backends:
        for size in sizes:
            run = run_of(backend, size)
            if not run:
                continue
            table, floor, admin = med(run, "table"), med(run, "(b) floor"), med(run, "(a) admin changelist")
            live = run.get("live") or {}
            seq = (live.get("sequential") or {}).get("median_ms")
            par = (live.get(f"{LIVE_THREADS} threads") or {}).get("median_ms")
            searches = " / ".join(
                _ms(med(run, f"search: {kind}", "cold")) for kind in ("common term", "rare term", "parameter value")
            )
            lines.append(
                f"| {backend} | {size:,} | {_ratio(table, floor)} | {_ratio(table, admin)} "
                f"| {_ratio(med(run, 'table', 'cold'), floor)} | {_ratio(med(run, 'table', 'cold'), admin)} "
                f"| {_ratio(med(run, 'detail'), floor)} "
                f"| {searches} ms | {_ratio(seq, table)} | {_ratio(par, table)} |"
            )
    lines.append("")
    for backend in backends:
        for size in sizes:
            run = run_of(backend, size)
            if not run:
                continue
            facts = run["facts"]
            lines.append(f"### {run['database']['version']}, {size:,} configs\n")
            lines.append(
                f"{facts['active']:,} active configs ({facts['last_page']:,} pages of {run['per_page']}); "
                f"database {run['database']['bytes'] / 2**20:,.0f} MiB. Rare term `{facts['rare_term']}`, "
                f"common term `{facts['common_term']}`, parameter value `{facts['parameter_value']}`.\n"
            )
            lines.append(
                "| page | warm median ms | warm p95 ms | cold median ms | cold p95 ms | ÷ floor (warm) "
                "| SQL queries warm / cold | KiB |"
            )
            lines.append("|---|--:|--:|--:|--:|--:|--:|--:|")
            floor = med(run, "(b) floor")
            for name, page in run["pages"].items():
                warm, cold = page.get("warm") or {}, page.get("cold") or {}
                queries = str(page.get("queries", "–"))
                if "queries_cold" in page:
                    queries += f" / {page['queries_cold']}"
                extra = f" (peak {page['peak_python_mib']:.1f} MiB)" if "peak_python_mib" in page else ""
                lines.append(
                    f"| {name}{extra} | {_ms(warm.get('median_ms'))} | {_ms(warm.get('p95_ms'))} "
                    f"| {_ms(cold.get('median_ms'))} | {_ms(cold.get('p95_ms'))} "
                    f"| {_ratio(warm.get('median_ms'), floor)} | {queries} | {page['bytes'] / 1024:,.0f} |"
                )
            live = run.get("live") or {}
            for label in ("sequential", f"{LIVE_THREADS} threads"):
                if label in live:
                    s = live[label]
                    lines.append(
                        f"| (c) live from the simulator, {label} | {_ms(s['median_ms'])} | {_ms(s['p95_ms'])} "
                        f"| | | {_ratio(s['median_ms'], floor)} | 0 | |"
                    )
            lines.append("")
    return "\n".join(lines)


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Latency against table size, log-log, one line per page and database."""
    ensure_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pages = [
        ("table", "warm", "table (warm)"),
        ("table", "cold", "table (cold)"),
        ("table, last page", "cold", "last page (cold)"),
        ("search: common term", "cold", "search common (cold)"),
        ("search: rare term", "cold", "search rare (cold)"),
        ("detail", "warm", "detail"),
        ("(a) admin changelist", "warm", "(a) admin changelist"),
        ("(a) admin search: common term", "warm", "(a) admin search common"),
        ("(b) floor", "warm", "(b) floor"),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), sharey=True)
    for ax, backend in zip(axes, ("sqlite", "postgres"), strict=True):
        chosen = sorted((r for r in runs if r["backend"] == backend), key=lambda r: r["size"])
        for name, kind, label in pages:
            xs, ys = [], []
            for run in chosen:
                value = ((run["pages"].get(name) or {}).get(kind) or {}).get("median_ms")
                if value:
                    xs.append(run["size"])
                    ys.append(value)
            if xs:
                style = "--" if label.startswith(("(a)", "(b)")) else "-"
                ax.plot(xs, ys, style, marker="o", label=label)
        xs = [r["size"] for r in chosen if r.get("live")]
        ys = [r["live"][f"{LIVE_THREADS} threads"]["median_ms"] for r in chosen if r.get("live")]
        if xs:
            ax.plot(xs, ys, ":", marker="s", color="black", label=f"(c) live, {LIVE_THREADS} threads")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("cached configs")
        title = chosen[0]["database"]["version"] if chosen else backend
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("median latency per page, ms (log)")
    handles, labels = axes[0].get_legend_handles_labels()
    if not handles:
        handles, labels = axes[1].get_legend_handles_labels()
    axes[1].legend(handles, labels, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle(f"Server-side page latency against table size ({PER_PAGE} rows per page)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}")


def ensure_matplotlib() -> None:
    """Install bench/requirements.txt (matplotlib, pinned) into this virtualenv when it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("installing bench/requirements.txt (matplotlib) into the virtualenv ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
             str(BENCH / "requirements.txt")],
            check=True,
        )


# --- command line ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="table sizes, comma-separated")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite and/or postgres")
    parser.add_argument("--rounds", type=int, default=25, help="samples per page (fewer for slow pages)")
    parser.add_argument("--live-rounds", type=int, default=5, help="samples of each live variant")
    parser.add_argument("--skip-live", action="store_true", help="leave out (c), the live simulator page")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="where the SQLite files live")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL server (any database; a superuser role)")
    parser.add_argument("--rebuild", action="store_true", help="drop and refill the databases")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the JSON results and page_bench.md")
    parser.add_argument("--plot", type=Path, default=PLOT, help="PNG of latency against table size")
    parser.add_argument("--report", action="store_true", help="only rebuild the report and plot from --out")
    parser.add_argument("--worker", nargs=2, metavar=("BACKEND", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    if args.worker:
        args.backend, args.size = args.worker[0], int(args.worker[1])
        results = worker(args)
        path = args.out / f"page_bench-{args.backend}-{args.size}.json"
        path.write_text(json.dumps(results, indent=1))
        print(f"[{args.backend} {args.size:,}] results in {path}", flush=True)
        return 0

    if not args.report:
        for backend in args.backends.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                command = [sys.executable, __file__, "--worker", backend, str(size), "--rounds", str(args.rounds),
                           "--live-rounds", str(args.live_rounds), "--data-dir", str(args.data_dir),
                           "--pg-url", args.pg_url, "--out", str(args.out)]
                command += ["--rebuild"] if args.rebuild else []
                command += ["--skip-live"] if args.skip_live else []
                subprocess.run(command, check=True, cwd=ROOT)
    runs = load_results(args.out)
    text = report(runs)
    (args.out / "page_bench.md").write_text(text + "\n")
    print(text)
    if runs:
        plot(runs, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
