"""Load test: the deployed dashboard (gunicorn + WhiteNoise) under wrk, idle and while a sync writes.

For each database (SQLite by default; ``--backends sqlite,postgres`` adds PostgreSQL) it:

1. makes a throwaway database (a SQLite file under a temporary folder, or a PostgreSQL database
   ``modelarts_load_<pid>`` that is dropped afterwards), migrates it, collects static files into
   the temporary folder;
2. reads every config from the ModelArts simulator (``manage.py modelarts_simulator``, started
   once, ``--configs`` configs, ``--latency-ms`` per request) with ``manage.py sync_configs``;
3. creates a viewer and a session for it, picks table, search and detail URLs from the data;
4. starts ``gunicorn dashboard.wsgi`` (``--workers``, DEBUG false, a random secret key,
   ``DJANGO_ALLOWED_HOSTS=127.0.0.1``) and checks that every kind of URL answers 200;
5. runs three wrk processes at once (table, search, detail; ``--connections`` each, ``--duration``
   seconds), once idle and once while ``manage.py sync_configs`` runs back to back in parallel,
   each sync after the simulator changed ``--changes`` configs (and added and deleted a few),
   so every sync writes;
6. writes the figures to ``docs/load.md`` (and the raw numbers to ``bench/out/load.json``).

Every request counts: a Lua script counts answers other than 200 (a redirect to the login page
would otherwise pass as success), and wrk counts socket errors and timeouts (``--timeout 10s``, so
a slow answer is measured, not dropped).

Usage, from the project root (about four minutes for SQLite and PostgreSQL on two cores)::

    apt-get install -y wrk        # once
    .venv/bin/python bench/load_test.py
    .venv/bin/python bench/load_test.py --backends sqlite --duration 10 --configs 1000   # quick look

Everything runs on 127.0.0.1 and stops at the end (processes are stopped by their own ids).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
LOAD_AT_START = " / ".join(f"{x:.1f}" for x in os.getloadavg())


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    """The environment of every child: no DJANGO_*/MODELARTS_*/DATABASE_URL from the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MODELARTS_", "DATABASE_", "REDIS_"))}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def manage(env: dict[str, str], *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def wait_for(url: str, *, timeout: float = 90, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.3)


class Processes:
    """Children started here, stopped here (each by its own process group id)."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        handle = log.open("w")
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            self.stop(proc)


# --- simulator ----------------------------------------------------------------------------------


def sim_call(url: str, method: str = "GET", body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read() or b"null")


def mutate_upstream(sim_url: str, round_no: int, changes: int) -> int:
    """Change ``changes`` configs (a new description), add 20 and delete 10: the next sync writes."""
    names = sim_call(f"{sim_url}/_sim/configs?config_type=custom")["names"]
    rng = random.Random(round_no)
    chosen = rng.sample(names, min(changes, len(names)))
    actions: list[dict[str, Any]] = [
        {"action": "update", "config_name": name, "changes": {"config_desc": f"load-test edit {round_no}.{i}"}}
        for i, name in enumerate(chosen)
    ]
    untouched = [n for n in names if n not in set(chosen)]
    actions += [{"action": "delete", "config_name": name} for name in rng.sample(untouched, min(10, len(untouched)))]
    actions.append({"action": "generate", "count": 20})
    sim_call(f"{sim_url}/_sim/configs", "POST", actions)
    return len(actions)


# --- wrk ----------------------------------------------------------------------------------------

LUA = """
local paths = {%(paths)s}
local counter = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  counter = math.random(#paths)
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end

function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

function done(summary, latency, requests)
  local non = 0
  for _, t in ipairs(threads) do non = non + t:get("non200") end
  local e = summary.errors
  io.write(string.format(
    'LOADJSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, "write": %%d, ' ..
    '"status": %%d, "timeout": %%d, "non200": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
    '"mean_us": %%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout, non,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


@dataclass
class WrkResult:
    kind: str
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non200: int
    socket_errors: int
    timeouts: int


def write_lua(path: Path, paths: list[str]) -> None:
    path.write_text(LUA % {"paths": ", ".join(json.dumps(p) for p in paths)})


def run_wrk(kind: str, base: str, lua: Path, cookie: str, duration: int, connections: int) -> subprocess.Popen:
    return subprocess.Popen(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency",
         "-H", f"Cookie: sessionid={cookie}", "-s", str(lua), base],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def wrk_result(kind: str, proc: subprocess.Popen) -> WrkResult:
    output, _ = proc.communicate(timeout=600)
    match = re.search(r"LOADJSON (\{.*\})", output)
    if proc.returncode != 0 or not match:
        raise RuntimeError(f"wrk ({kind}) failed:\n{output}")
    r = json.loads(match.group(1))
    duration = r["duration_us"] / 1e6
    return WrkResult(
        kind=kind,
        requests=r["requests"],
        duration_s=round(duration, 1),
        rps=round(r["requests"] / duration, 1),
        p50_ms=round(r["p50_us"] / 1000, 1),
        p90_ms=round(r["p90_us"] / 1000, 1),
        p99_ms=round(r["p99_us"] / 1000, 1),
        max_ms=round(r["max_us"] / 1000, 1),
        non200=r["non200"],
        socket_errors=r["connect"] + r["read"] + r["write"],
        timeouts=r["timeout"],
    )


# --- one backend --------------------------------------------------------------------------------


@dataclass
class SyncRound:
    started_s: float
    duration_s: float
    exit_code: int
    summary: str
    cpu_s: float = 0.0


@dataclass
class Condition:
    name: str
    results: list[WrkResult]
    syncs: list[SyncRound] = field(default_factory=list)
    sync_busy_share: float | None = None


@dataclass
class BackendRun:
    backend: str
    database: str
    journal_mode: str
    configs_cached: int
    initial_sync_s: float
    initial_sync: str
    url_counts: dict[str, int]
    single_ms: dict[str, float]
    conditions: list[Condition]


SETUP_CODE = r"""
import json, random, secrets
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from configs_app.models import TrainingJobConfig

user, _ = User.objects.get_or_create(username="load-viewer")
user.set_password(secrets.token_urlsafe(30))  # never typed: the session below logs it in
user.save()
user.groups.add(Group.objects.get(name="Config viewers"))
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
rng = random.Random(7)
rows = list(TrainingJobConfig.objects.select_related("source").order_by("pk"))
sample = rng.sample(rows, min(300, len(rows)))
parts = (w for c in rows for w in c.config_name.lower().replace("_", "-").split("-"))
words = sorted({w for w in parts if len(w) >= 4 and not w.isdigit()})
engines = sorted({c.engine_name for c in rows if c.engine_name})
journal = ""
if connection.vendor == "sqlite":
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
print("SETUPJSON " + json.dumps({
    "session": session.session_key,
    "count": len(rows),
    "details": [c.get_absolute_url() for c in sample],
    "words": words,
    "engines": engines,
    "journal": journal,
}))
"""


def table_paths(pages: int, engines: list[str]) -> list[str]:
    sorts = ["name", "-name", "created", "-created", "engine", "workers", "-last_changed", "spec", "source"]
    paths = ["/configs/"] + [f"/configs/?page={p}" for p in range(2, pages + 1)]
    paths += [f"/configs/?sort={s}" for s in sorts] + [f"/configs/?sort={s}&page=3" for s in sorts]
    paths += [f"/configs/?engine={urllib.request.quote(e)}" for e in engines] + ["/configs/?per_page=100"]
    return paths


def search_paths(words: list[str]) -> list[str]:
    rng = random.Random(3)
    chosen = rng.sample(words, min(60, len(words)))
    paths = [f"/configs/?q={w}" for w in chosen]
    paths += [f"/configs/?q={a}+{b}" for a, b in zip(chosen[::2], chosen[1::2], strict=False)]
    paths += ["/configs/?parameter=learning_rate", "/configs/?parameter=batch_size&parameter_value=32",
              "/configs/?q=pytorch&status=all", "/configs/?q=no-such-config-anywhere"]
    return paths


def check_urls(base: str, cookie: str, paths: dict[str, list[str]]) -> None:
    """Every kind of URL answers 200 to the session (not a redirect to the login page)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    for kind, group in paths.items():
        for path in group[:5] + group[-3:]:
            request = urllib.request.Request(base + path, headers={"Cookie": f"sessionid={cookie}"})
            try:
                with opener.open(request, timeout=60) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            if status != 200:
                raise RuntimeError(f"{kind} URL {path} answered {status}, not 200")


def sequential_ms(base: str, cookie: str, paths: list[str], count: int = 15) -> float:
    """Median time of ``count`` requests one after another (no concurrency): the page's own cost."""
    times = []
    for path in paths[:count]:
        request = urllib.request.Request(base + path, headers={"Cookie": f"sessionid={cookie}"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
        times.append((time.perf_counter() - started) * 1000)
    return round(sorted(times)[len(times) // 2], 1)


def sync_loop(env: dict[str, str], sim_url: str, changes: int, stop: threading.Event, t0: float,
              rounds: list[SyncRound]) -> None:
    """Change the upstream data and sync it, again and again, until ``stop``."""
    number = 0
    while not stop.is_set():
        number += 1
        mutate_upstream(sim_url, 1000 + number + int(t0), changes)
        started = time.monotonic()
        with tempfile.TemporaryFile("w+") as output:
            proc = subprocess.Popen([PYTHON, "manage.py", "sync_configs", "--progress", "lines"], cwd=ROOT, env=env,
                                    stdout=output, stderr=subprocess.STDOUT, text=True)
            # wait4 gives this child's own CPU time: how much of the machine the sync took.
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            output.seek(0)
            text = output.read()
        summary = next((line for line in reversed(text.splitlines()) if " in " in line and "listed" in line),
                       text.strip()[-300:])
        took = round(time.monotonic() - started, 1)
        cpu = round(usage.ru_utime + usage.ru_stime, 1)
        rounds.append(SyncRound(round(started - t0, 1), took, proc.returncode, summary, cpu))


def run_backend(backend: str, args, sim_url: str, sim_env: dict[str, str], work: Path, procs: Processes) -> BackendRun:
    print(f"\n== {backend} ==", flush=True)
    if backend == "sqlite":
        database = f"sqlite:///{work / 'load.sqlite3'}"
        shown = "SQLite file (WAL) in a temporary folder"
    else:
        import psycopg

        name = f"modelarts_load_{os.getpid()}"
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        database = f"{PG_SERVER}/{name}"
        shown = f"PostgreSQL database {name} (dropped afterwards)"
    static_root = work / f"static-{backend}"
    env = base_env(
        DJANGO_SETTINGS_MODULE="bench.load_settings",
        LOAD_STATIC_ROOT=str(static_root),
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_LOG_LEVEL="WARNING",
        DATABASE_URL=database,
        **sim_env,
    )
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    print("migrated, static files collected; initial sync ...", flush=True)
    started = time.monotonic()
    first = manage(env, "sync_configs", "--progress", "lines", timeout=900)
    initial_sync_s = round(time.monotonic() - started, 1)
    initial = next(line for line in reversed(first.stdout.splitlines()) if "listed" in line)
    print(f"initial sync {initial_sync_s} s: {initial}", flush=True)
    setup = manage(env, "shell", "-c", SETUP_CODE)
    data = json.loads(re.search(r"SETUPJSON (\{.*\})", setup.stdout).group(1))
    cookie = data["session"]
    pages = max(1, min(100, data["count"] // 50))
    paths = {
        "table": table_paths(pages, data["engines"]),
        "search": search_paths(data["words"]),
        "detail": data["details"],
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = procs.start(
        [GUNICORN, "dashboard.wsgi", "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}", "--timeout", "60"],
        env, work / f"gunicorn-{backend}.log",
    )
    try:
        wait_for(f"{base}/healthz")
        wait_for(f"{base}/static/configs_app/app.css")  # WhiteNoise serves the collected files
        check_urls(base, cookie, paths)
        single = {kind: sequential_ms(base, cookie, group[5:]) for kind, group in paths.items()}
        print(f"one request at a time (median ms): {single}", flush=True)
        luas = {}
        for kind, group in paths.items():
            luas[kind] = work / f"{backend}-{kind}.lua"
            write_lua(luas[kind], group)
        conditions = []
        for condition in ("idle", "sync running"):
            rounds: list[SyncRound] = []
            stop = threading.Event()
            t0 = time.monotonic()
            syncer = None
            if condition == "sync running":
                syncer = threading.Thread(target=sync_loop, args=(env, sim_url, args.changes, stop, t0, rounds))
                syncer.start()
                time.sleep(2)  # the first sync is past start-up and reading when the load begins
            load_start = time.monotonic() - t0
            print(f"wrk {condition}: {args.duration} s, 3 x {args.connections} connections ...", flush=True)
            runs = {kind: run_wrk(kind, base, luas[kind], cookie, args.duration, args.connections) for kind in paths}
            results = [wrk_result(kind, proc) for kind, proc in runs.items()]
            load_end = time.monotonic() - t0
            share = None
            if syncer is not None:
                stop.set()
                syncer.join()
                busy = 0.0
                for r in rounds:
                    busy += max(0.0, min(load_end, r.started_s + r.duration_s) - max(load_start, r.started_s))
                share = round(busy / (load_end - load_start), 2)
            for r in results:
                print(f"  {r.kind:7} {r.rps:7.1f} req/s  p50 {r.p50_ms} ms  p99 {r.p99_ms} ms  max {r.max_ms} ms  "
                      f"non-200 {r.non200}  errors {r.socket_errors + r.timeouts}", flush=True)
            for s in rounds:
                print(f"  sync at {s.started_s}s for {s.duration_s}s ({s.cpu_s} CPU s) exit {s.exit_code}: {s.summary}",
                      flush=True)
            conditions.append(Condition(condition, results, rounds, share))
    finally:
        procs.stop(gunicorn)
        if backend != "sqlite":
            import psycopg

            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database.rsplit("/", 1)[1]}" WITH (FORCE)')
    return BackendRun(
        backend=backend,
        database=shown,
        journal_mode=data["journal"],
        configs_cached=data["count"],
        initial_sync_s=initial_sync_s,
        initial_sync=initial,
        url_counts={k: len(v) for k, v in paths.items()},
        single_ms=single,
        conditions=conditions,
    )


# --- report -------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    mem = ""
    try:
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        pass
    packages = ("Django", "gunicorn", "whitenoise", "django-tables2", "psycopg")
    versions = {name: metadata.version(name) for name in packages}
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[0].split(" [")[0]
    import sqlite3

    os_name = platform.platform()
    try:
        os_name = next(line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
                       if line.startswith("PRETTY_NAME="))
    except (OSError, StopIteration):
        pass
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "configs_app", "dashboard", "templates"],
                           cwd=ROOT, capture_output=True, text=True).stdout.split()
    dirty_files = sorted({p for p in dirty if "/" in p})
    code = f"commit {head}" + (f" plus uncommitted changes to {', '.join(dirty_files)}" if dirty_files else "")
    return {
        "load": LOAD_AT_START,
        "code": code,
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": mem,
        "os": f"{os_name}, kernel {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "software": ", ".join(f"{k} {v}" for k, v in versions.items()) + f", {wrk}",
    }


def markdown(runs: list[BackendRun], args, info: dict[str, str], command: str, total_s: float) -> str:
    out = [
        "# Load test",
        "",
        "What the deployed dashboard serves under load, and whether a sync that writes slows the pages down.",
        "Written by `bench/load_test.py`; run it again to refresh these figures (numbers from another machine",
        "are not comparable). Raw numbers: `bench/out/load.json`.",
        "",
        "## Result",
        "",
    ]
    verdict = []
    for run in runs:
        idle, busy = run.conditions
        failures = sum(r.non200 + r.socket_errors + r.timeouts for c in run.conditions for r in c.results)
        sync_ok = all(s.exit_code == 0 for s in busy.syncs)
        ratio = max(b.p99_ms / i.p99_ms for i, b in zip(idle.results, busy.results, strict=True) if i.p99_ms)
        worst = max(r.max_ms for r in busy.results)
        verdict.append(
            f"- **{run.backend}**: {failures} failed requests out of "
            f"{sum(r.requests for c in run.conditions for r in c.results):,}; "
            f"{len(busy.syncs)} syncs during the load, {'all' if sync_ok else 'NOT all'} succeeded, writing "
            f"{_written(busy.syncs):,} configs, "
            f"busy {busy.sync_busy_share:.0%} of the load window; "
            f"p99 during the sync at most {ratio:.1f}x the idle p99, slowest request {worst:,.0f} ms."
        )
    out += verdict
    out += ["", "Were reads blocked by the sync? No request failed or timed out while syncs wrote. Per database:", ""]
    for run in runs:
        idle, busy = run.conditions
        slowdown = ", ".join(
            f"{b.kind} {b.p50_ms / i.p50_ms:.1f}x" for i, b in zip(idle.results, busy.results, strict=True) if i.p50_ms
        )
        cores = sum(x.cpu_s for x in busy.syncs) / max(0.1, sum(x.duration_s for x in busy.syncs))
        out.append(
            f"- {run.backend}: median latency during the sync vs idle: {slowdown}; the sync process used "
            f"{cores:.1f} of the {os.cpu_count()} cores while it ran."
        )
    out += [
        "",
        "The single-row detail page slows down about as much as the table and search pages, and the slowest",
        "request stayed far below SQLite's 20 s busy timeout. The sync process (and the simulator answering",
        "it) take CPU from the four workers on a two-core machine, where gunicorn, wrk and the simulator share",
        "the cores.",
    ]
    factors = {run.backend: _median_slowdown(run) for run in runs}
    if {"sqlite", "postgres"} <= set(factors):
        lite, pg = factors["sqlite"], factors["postgres"]
        if lite <= pg * 1.3:
            out.append(
                f"PostgreSQL readers never wait for a writer (MVCC), so its slowdown ({pg:.1f}x median) is CPU alone;"
                f" SQLite in WAL mode slows down no more than that ({lite:.1f}x), so its readers are not waiting"
                " for the sync's write locks either."
            )
        else:
            out.append(
                f"SQLite slowed down more ({lite:.1f}x median) than PostgreSQL ({pg:.1f}x), where readers never"
                " wait for a writer: look for readers waiting on the sync's write locks."
            )
    out += [
        f"Absolute figures are low because the machine was shared (load average {info['load']} at the",
        "start); compare conditions within one run, not across machines.",
        "",
        "## Machine",
        "",
        f"- CPU: {info['cpu']}; memory {info['memory']}",
        f"- OS: {info['os']}; Python {info['python']}; SQLite {info['sqlite']}",
        f"- {info['software']}",
        f"- Code measured: {info['code']}",
        "- Shared with other work while measured; everything on loopback.",
        "",
        "## Command",
        "",
        "```sh",
        command,
        "```",
        "",
        f"Total run time {total_s / 60:.1f} min. Per database: {args.configs:,} custom configs (+20 samples) in the",
        f"simulator with {args.latency_ms:g} ms latency per request; three wrk processes at once (table, search,",
        f"detail), {args.connections} connections each, {args.duration} s, `--timeout 10s`, the viewer's session",
        "cookie, rotating through the URLs below; first idle, then while `manage.py sync_configs` runs",
        "back to back,"
        f" each time after {args.changes:,} configs were edited upstream (plus 20 added and 10 deleted).",
        "",
    ]
    for run in runs:
        out += [
            f"## {run.backend}: {run.database}",
            "",
            f"{run.configs_cached:,} configs cached; first full sync {run.initial_sync_s} s (`{run.initial_sync}`)."
            + (f" Journal mode: `{run.journal_mode}`." if run.journal_mode else ""),
            f"URLs rotated: table {run.url_counts['table']} (every page, sorts, engine filters), search "
            f"{run.url_counts['search']} (one and two words, parameter filters, no match), detail "
            f"{run.url_counts['detail']} (random configs).",
            "One request at a time, before the load (median of 15): "
            + ", ".join(f"{kind} {ms:,.0f} ms" for kind, ms in run.single_ms.items()) + ".",
            "",
            "| Condition | URLs | Requests | Req/s | p50 ms | p90 ms | p99 ms | Max ms | Non-200 | Socket errors "
            "| Timeouts |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for condition in run.conditions:
            for r in condition.results:
                out.append(
                    f"| {condition.name} | {r.kind} | {r.requests:,} | {r.rps:,.1f} | {r.p50_ms:,.1f} | "
                    f"{r.p90_ms:,.1f} | "
                    f"{r.p99_ms:,.1f} | {r.max_ms:,.1f} | {r.non200} | {r.socket_errors} | {r.timeouts} |"
                )
        busy = run.conditions[1]
        out += ["", f"Syncs during the load (busy {busy.sync_busy_share:.0%} of the window):", ""]
        for s in busy.syncs:
            out.append(
                f"- at {s.started_s} s, {s.duration_s} s ({s.cpu_s} s of CPU), exit {s.exit_code}: `{s.summary}`"
            )
        out.append("")
    out += DEPLOYMENT.format(workers=args.workers).splitlines()
    return "\n".join(out) + "\n"


def _median_slowdown(run: BackendRun) -> float:
    """Median latency during the sync over median latency idle, averaged over the URL kinds."""
    idle, busy = run.conditions
    ratios = [b.p50_ms / i.p50_ms for i, b in zip(idle.results, busy.results, strict=True) if i.p50_ms]
    return sum(ratios) / len(ratios)


def _written(rounds: list[SyncRound]) -> int:
    total = 0
    for s in rounds:
        for key in ("created", "updated", "deleted upstream", "restored"):
            match = re.search(rf"{key} (\d+)", s.summary)
            total += int(match.group(1)) if match else 0
    return total


DEPLOYMENT = """## The deployment that was measured

- `gunicorn dashboard.wsgi --workers {workers} --bind 127.0.0.1:<port> --timeout 60` (sync workers), with
  `DJANGO_DEBUG=false`, a random `DJANGO_SECRET_KEY`, `DJANGO_ALLOWED_HOSTS=127.0.0.1`, logging at WARNING.
- Static files: `manage.py collectstatic` into a temporary `STATIC_ROOT` (`bench/load_settings.py` changes
  only that), served by WhiteNoise from the compressed manifest storage: no separate static server.
- SQLite: one file, `journal_mode=WAL` (set on every connection by the settings), `synchronous=NORMAL`,
  `busy_timeout` 20 s and `BEGIN IMMEDIATE` for writers. WAL lets the workers read the last committed
  state while the sync writes its batches; writers queue for the lock instead of failing.
- PostgreSQL: `DATABASE_URL=postgres://...`, connections kept for `DATABASE_CONN_MAX_AGE` (60 s).
- The sync is a separate process (`manage.py sync_configs`), as cron would run it; it writes in
  batches, each in its own transaction, so a page sees either the old or the new batch, never half.
- Sessions in the database, the cache per process (no `REDIS_URL`).

## PostgreSQL: several app instances

For more than one machine (or for failover), run the same image several times behind a proxy:

```
              ┌─ app 1: gunicorn dashboard.wsgi --workers 4 ─┐
 proxy/LB ────┼─ app 2: gunicorn dashboard.wsgi --workers 4 ─┼──► PostgreSQL (one database)
 (TLS, /healthz) └─ app N ...                                  ┘    Redis (REDIS_URL, shared cache)
 cron on every instance: */15 * * * * manage.py sync_configs
```

- Every instance gets the same `DATABASE_URL`, `REDIS_URL`, `DJANGO_SECRET_KEY` and
  `DJANGO_ALLOWED_HOSTS`, plus the HTTPS switches and `DJANGO_BEHIND_HTTPS_PROXY=true` behind a TLS proxy.
  The load balancer checks `GET /healthz` (200 when the database answers, 503 otherwise).
- Sessions live in the database, so any instance serves any user; with `REDIS_URL` the login rate limit
  and the page caches are shared too (without it each process counts and caches on its own).
- Cron may run `sync_configs` on one instance or on all of them: the lock is a row in the database (a
  running `SyncRun`, unique per source), so only one sync per source runs at a time across all
  machines; the others say a sync is running and exit 1. A sync whose process died is taken over once
  its heartbeat is stale.
- Reads need no coordination: pages read committed rows only, and the sync's batches are short
  transactions, so more instances add read capacity up to what the database serves.
"""


def rewrite_report(saved: Path, output: Path) -> None:
    """The markdown again from ``bench/out/load.json`` (after a change to the report's wording)."""
    data = json.loads(saved.read_text())
    runs = []
    for raw in data["runs"]:
        conditions = [
            Condition(c["name"], [WrkResult(**r) for r in c["results"]], [SyncRound(**x) for x in c["syncs"]],
                      c["sync_busy_share"])
            for c in raw.pop("conditions")
        ]
        runs.append(BackendRun(**raw, conditions=conditions))
    args = argparse.Namespace(**data["args"])
    output.write_text(markdown(runs, args, data["machine"], data["command"], data["total_s"]))
    print(f"wrote {output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both (default both)")
    parser.add_argument("--configs", type=int, default=5000, help="custom configs in the simulator (default 5000)")
    parser.add_argument("--latency-ms", type=float, default=20, help="simulator latency per request (default 20)")
    parser.add_argument("--duration", type=int, default=30, help="seconds per wrk run (default 30)")
    parser.add_argument("--connections", type=int, default=4, help="connections per URL kind (default 4)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--changes", type=int, default=1000, help="configs edited upstream before each sync")
    parser.add_argument("--output", default=str(ROOT / "docs" / "load.md"), help="markdown report")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    parser.add_argument("--from-json", metavar="FILE", help="only rewrite the report from a saved load.json")
    args = parser.parse_args()
    if args.from_json:
        rewrite_report(Path(args.from_json), Path(args.output))
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    command = "python bench/load_test.py " + " ".join(sys.argv[1:]) if sys.argv[1:] else "python bench/load_test.py"
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="modelarts-load-"))
    procs = Processes()
    print(f"working in {work}", flush=True)
    try:
        sim_port = free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        env = base_env(DJANGO_SETTINGS_MODULE="dashboard.settings", DJANGO_DEBUG="false",
                       DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DATABASE_URL=f"sqlite:///{work / 'sim.sqlite3'}")
        procs.start(
            [PYTHON, "manage.py", "modelarts_simulator", "--port", str(sim_port), "--configs", str(args.configs),
             "--samples", "20", "--latency", str(args.latency_ms)],
            env, work / "simulator.log",
        )
        wait_for(f"{sim_url}/_sim/", timeout=120)
        sim_env = sim_call(f"{sim_url}/_sim/")["env"]["aksk"]
        runs = [run_backend(b, args, sim_url, sim_env, work, procs) for b in backends]
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    total = time.monotonic() - began
    info = machine()
    report = markdown(runs, args, info, command, total)
    Path(args.output).write_text(report)
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "load.json").write_text(json.dumps(
        {"when": datetime.now(UTC).isoformat(), "command": command, "total_s": total, "args": vars(args),
         "machine": info, "runs": [asdict(r) for r in runs]},
        indent=2,
    ))
    print(f"\nwrote {args.output} ({total / 60:.1f} min)")


if __name__ == "__main__":
    main()
