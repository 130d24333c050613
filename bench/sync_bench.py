"""Sync benchmark: ``manage.py sync_configs`` against the simulator with latency per request.

For each concurrency it starts a fresh database, runs the simulator in its own process (so the
two do not share a GIL), runs a first sync and then an unchanged re-sync as separate processes,
and reports:

* wall time of the first sync against the floor ``(list requests + detail requests) x latency /
  concurrency`` (the list pages are read one after another, so the reachable floor is a little
  higher and the ratio a little pessimistic),
* the peak resident memory of the sync process (``wait4`` rusage of that one child),
* the wall time of an unchanged re-sync and the rows it wrote (it must write none: the counts of
  configs, parameter rows and revisions, the newest ``last_synced_at`` and the run's counters are
  compared before and after).

Usage (from the project root, with the project's virtualenv)::

    .venv/bin/python bench/sync_bench.py                       # 10,000 configs, 50 ms, c = 1, 8, 16
    .venv/bin/python bench/sync_bench.py --configs 2000 --concurrency 8 --markdown out.md
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/sync_bench.py

The markdown table is printed and, with ``--markdown FILE``, written to FILE.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
AK = "BENCHAK000000000BENCH"
SK = "bench-secret-key-for-the-local-simulator"
PER_PAGE = 1000  # the client's page size for a full listing


@dataclass
class Run:
    concurrency: int
    configs: int
    list_requests: int
    detail_requests: int
    wall: float
    sync_seconds: float
    peak_rss_mb: float
    resync_wall: float
    resync_peak_rss_mb: float
    resync_rows_written: int
    status: str
    resync_status: str

    @property
    def floor(self) -> float:
        return (self.list_requests + self.detail_requests) * LATENCY / self.concurrency


LATENCY = 0.05


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_child(args: list[str], env: dict[str, str]) -> tuple[int, float, float, str]:
    """Run a child; its exit status, wall time, peak RSS in MB (this child only) and output."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    return proc.returncode, wall, usage.ru_maxrss / 1024, text


def db_fingerprint(env: dict[str, str]) -> tuple:
    """What a write would change: row counts, the newest sync stamp and the highest ids."""
    code = (
        "import django, json; django.setup();"
        "from django.db.models import Max, Count;"
        "from configs_app.models import TrainingJobConfig as C, ConfigParameter as P, ConfigRevision as R;"
        "a = C.objects.aggregate(n=Count('id'), s=Max('last_synced_at'), c=Max('last_changed_at'), i=Max('id'));"
        "print(json.dumps([a['n'], str(a['s']), str(a['c']), a['i'], P.objects.count(),"
        " P.objects.aggregate(m=Max('id'))['m'], R.objects.count(), R.objects.aggregate(m=Max('id'))['m']]))"
    )
    out = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return tuple(__import__("json").loads(out.stdout.strip().splitlines()[-1]))


def start_simulator(configs: int, latency_ms: float, env: dict[str, str]) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    args = [
        PYTHON, "manage.py", "modelarts_simulator", "--port", str(port), "--configs", str(configs),
        "--samples", "0", "--latency", str(latency_ms), "--ak", AK, "--sk", SK,
    ]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    project_id = ""
    deadline = time.monotonic() + 120
    for line in proc.stdout:  # the banner prints the env lines, then "Ctrl-C to stop."
        if line.startswith("MODELARTS_PROJECT_ID=") and not project_id:
            project_id = line.strip().split("=", 1)[1]
        if line.startswith("Ctrl-C to stop") or time.monotonic() > deadline:
            break
    if not project_id:
        proc.kill()
        raise RuntimeError("the simulator did not start")
    return proc, f"http://127.0.0.1:{port}", project_id


def fresh_database(base_env: dict[str, str], workdir: Path, label: str) -> dict[str, str]:
    env = dict(base_env)
    if not base_env.get("DATABASE_URL", "").startswith("postgres"):
        env["DATABASE_URL"] = f"sqlite:///{workdir / f'bench-{label}.sqlite3'}"
    else:  # start from an empty schema on PostgreSQL
        subprocess.run([PYTHON, "manage.py", "flush", "--no-input"], cwd=ROOT, env=env, check=False, capture_output=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([PYTHON, "manage.py", "flush", "--no-input"], cwd=ROOT, env=env, check=True)
    return env


def bench_one(concurrency: int, configs: int, base_env: dict[str, str], workdir: Path) -> Run:
    env = fresh_database(base_env, workdir, f"c{concurrency}")
    sim, url, project_id = start_simulator(configs, LATENCY * 1000, base_env)
    try:
        env.update(
            MODELARTS_ENDPOINT=url, MODELARTS_PROJECT_ID=project_id, MODELARTS_AK=AK, MODELARTS_SK=SK,
            MODELARTS_TIMEOUT="30", MODELARTS_MAX_RETRIES="3",
        )
        sync = [PYTHON, "manage.py", "sync_configs", "--config-type", "custom", "--concurrency", str(concurrency),
                "--progress", "lines"]
        code, wall, rss, out = run_child(sync, env)
        status = _status(out, code)
        before = db_fingerprint(env)
        code2, wall2, rss2, out2 = run_child(sync, env)
        after = db_fingerprint(env)
        written = _rows_written(before, after, out2)
        print(f"  c={concurrency}: first {wall:.1f}s ({status}), re-sync {wall2:.1f}s ({_status(out2, code2)}), "
              f"written {written}, rss {rss:.0f}/{rss2:.0f} MB", flush=True)
        return Run(concurrency, configs, math.ceil(configs / PER_PAGE), configs, wall, _seconds(out), rss, wall2, rss2,
                   written,
                   status, _status(out2, code2))
    finally:
        sim.terminate()
        sim.wait(10)


def _status(output: str, code: int) -> str:
    match = re.search(r"^\S+: (succeeded|partial|failed)", output, re.MULTILINE)
    return (match.group(1) if match else "no summary") + ("" if code == 0 else f" (exit {code})")


def _seconds(output: str) -> float:
    """The sync's own duration from the command's summary (without process start-up)."""
    match = re.search(r"^\S+: \w+ in (\d+(?:\.\d+)?)s", output, re.MULTILINE)
    return float(match.group(1)) if match else float("nan")


def _rows_written(before: tuple, after: tuple, output: str) -> int:
    """Rows the re-sync wrote to the config tables: 0 when nothing moved."""
    changed = sum(1 for a, b in zip(before, after, strict=True) if a != b)
    counters = re.search(r"created (\d+), updated (\d+), unchanged \d+, deleted upstream (\d+), restored (\d+)", output)
    counted = sum(int(n) for n in counters.groups()) if counters else -1
    return changed + counted if counted >= 0 else -1


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}")


def markdown(runs: list[Run], backend: str, command: str) -> str:
    lines = [
        f"Backend: {backend}. Machine: {machine()}. Simulator latency {LATENCY * 1000:.0f} ms per request, "
        f"in its own process.",
        "",
        f"Command: `{command}`",
        "",
        "| concurrency | configs | requests (list + detail) | floor | first sync (process) | sync itself | "
        "ratio to floor | peak RSS | unchanged re-sync | re-sync rows written | status |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r.concurrency} | {r.configs:,} | {r.list_requests} + {r.detail_requests:,} | {r.floor:.1f} s | "
            f"{r.wall:.1f} s | {r.sync_seconds:.1f} s | {r.sync_seconds / r.floor:.2f}x | {r.peak_rss_mb:.0f} MB | {r.resync_wall:.1f} s "
            f"(peak {r.resync_peak_rss_mb:.0f} MB) | {r.resync_rows_written} | {r.status} / {r.resync_status} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    global LATENCY
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--markdown", type=Path, help="Also write the table to this file.")
    args = parser.parse_args(argv)
    LATENCY = args.latency_ms / 1000
    base_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MODELARTS_")},
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    backend = "PostgreSQL" if base_env.get("DATABASE_URL", "").startswith("postgres") else "SQLite (WAL)"
    command = "python bench/sync_bench.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"{backend}: {args.configs} configs, {args.latency_ms} ms latency, concurrency {args.concurrency}", flush=True)
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        runs = [bench_one(c, args.configs, base_env, Path(tmp)) for c in args.concurrency]
    table = markdown(runs, backend, command.strip())
    print(table)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
