"""The fault matrix: what a sync does to the cache, and what the pages show, for each upstream fault.

One parametrized test runs every scenario of :data:`SCENARIOS` the same way:

1. a clean sync fills the cache from the simulator (30 custom configs);
2. the simulator moves on: one config changes, one is deleted (so "correctly updated" is checked
   wherever the listing still succeeds);
3. the scenario's fault is injected and a second sync runs;
4. the sync's status, exit code and error (present, secret-free) are checked, and every cached row
   against the snapshot taken before the fault: exactly unchanged when the listing failed; changed,
   marked deleted upstream or kept as it was, config by config, when the listing succeeded;
5. ``/``, ``/configs/`` and a detail page still answer 200 from the cache, without calling
   ModelArts, and the freshness banner (``#freshness``) says what happened.

Each scenario's outcome is collected; with ``WRITE_RELIABILITY_DOC=1`` the module writes them to
``docs/reliability.md`` after the last scenario (normal runs never write files)::

    WRITE_RELIABILITY_DOC=1 .venv/bin/python -m pytest -q -p no:randomly tests/integration/test_fault_matrix.py
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from configs_app.modelarts import ModelArtsClient
from configs_app.models import ConfigRevision, SyncRun, TrainingJobConfig
from configs_app.sources import environment_source
from configs_app.sync import configs_sync

pytestmark = [pytest.mark.django_db, pytest.mark.simulator]

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
DOC_COMMAND = (
    "WRITE_RELIABILITY_DOC=1 .venv/bin/python -m pytest -q -p no:randomly tests/integration/test_fault_matrix.py"
)
CONFIGS = 30
#: Settings of every scenario unless it says otherwise (small, so the matrix runs in seconds).
TIMEOUT, MAX_RETRIES, CONCURRENCY = 1.0, 1, 8


def _expire_tokens_when_details_start(sim: Any) -> Callable[..., None]:
    """A progress callback that expires every token as the detail stage begins (mid-sync)."""
    fired: list[int] = []

    def progress(stage: str, done: int, total: int | None, config_type: str) -> None:
        if stage == "details" and done == 0 and not fired:
            fired.append(sim.state.expire_tokens())

    return progress


@dataclass(frozen=True)
class Scenario:
    """One fault and what the second sync must make of it.

    Attributes:
        id: pytest id.
        fault: what went wrong, as the issue names it (the doc's first column).
        faults: ``add_fault`` specs added after the clean sync.
        mode: auth mode of the source (aksk, password, token).
        status, exit_code: what the sync must report.
        effect: "unchanged" (every row exactly as before), "applied" (the listing succeeded:
            the change and the deletion are stored, except for configs whose detail failed) or
            "no-loss" (each row either as before or correctly updated; for runs that may stop early).
        failed_details: how many configs' details must fail (they keep their cached state);
            None: not checked.
        error: a text the sync's error must contain ("" = no error).
        vanish: one listed config's detail answers 404: it must count as deleted upstream.
        refuse: nothing listens on the simulator's port during the sync.
        expire_tokens: every token expires when the detail stage starts.
        iam_calls: IAM token requests the second sync must make (None: not checked).
        timeout, max_retries: the client's settings for this scenario.
        max_rejected_details: most detail requests answered 401/403 that the sync may send (an
            AK that fails signature checks more than 5 times in a row is locked for 5 minutes).
        known_bug: set when production code does not behave yet; the scenario is then an
            ``xfail(strict=True)`` with this reason, and the doc lists it under known problems.
    """

    id: str
    fault: str
    faults: tuple[dict[str, Any], ...] = ()
    mode: str = "aksk"
    status: str = SyncRun.Status.SUCCEEDED
    exit_code: int = 0
    effect: str = "applied"
    failed_details: int | None = 0
    error: str = ""
    vanish: bool = False
    refuse: bool = False
    expire_tokens: bool = False
    iam_calls: int | None = None
    timeout: float = TIMEOUT
    max_retries: int = MAX_RETRIES
    max_rejected_details: int | None = None
    known_bug: str = ""

    @property
    def injected(self) -> str:
        """How the fault is injected, as code (the doc's second column)."""
        parts = []
        for spec in self.faults:
            spec = dict(spec)
            kind = spec.pop("kind")
            args = ", ".join([repr(kind), *(f"{k}={v!r}" for k, v in spec.items())])
            parts.append(f"`add_fault({args})`")
        if self.vanish:
            parts.append("`add_fault('vanish', names=[<one listed config>])`")
        if self.refuse:
            parts.append("`server.refuse_connections()`")
        if self.expire_tokens:
            parts.append("`state.expire_tokens()` when the detail stage starts")
        notes = []
        if self.mode != "aksk":
            notes.append({"password": "IAM password token", "token": "static token"}[self.mode])
        if self.timeout != TIMEOUT:
            notes.append(f"timeout {self.timeout:g} s")
        if self.max_retries != MAX_RETRIES:
            notes.append(f"{self.max_retries} retries")
        return " + ".join(parts) + (f" ({', '.join(notes)})" if notes else "")


FAILED, PARTIAL, SUCCEEDED = SyncRun.Status.FAILED, SyncRun.Status.PARTIAL, SyncRun.Status.SUCCEEDED

#: Rejected detail requests a sync may send: fewer than the 5 failures in a row that lock an AK
#: (§5.4), even with several requests in flight when the first rejection arrives.
REJECTED_LIMIT = 4

SCENARIOS = [
    Scenario("list-500", "list page 500", ({"kind": "fail_list_pages", "pages": [1], "status": 500},),
             status=FAILED, exit_code=1, effect="unchanged", error="HTTP 500"),
    Scenario("list-502", "list page 502", ({"kind": "fail_list_pages", "pages": [1], "status": 502},),
             status=FAILED, exit_code=1, effect="unchanged", error="HTTP 502"),
    Scenario("list-503", "list page 503", ({"kind": "fail_list_pages", "pages": [1], "status": 503},),
             status=FAILED, exit_code=1, effect="unchanged", error="HTTP 503"),
    Scenario("list-500-once", "list page 500, once (retried)",
             ({"kind": "fail_list_pages", "pages": [1], "status": 500, "count": 1},)),
    Scenario("list-timeout", "timeout (listing)", ({"kind": "slow", "endpoint": "list", "seconds": 2},),
             status=FAILED, exit_code=1, effect="unchanged", error="timed out", timeout=0.3),
    Scenario("detail-timeout", "timeout (one config's detail)",
             ({"kind": "slow", "endpoint": "detail", "seconds": 2, "count": 1},),
             status=PARTIAL, exit_code=2, failed_details=1, error="could not be read", timeout=0.3, max_retries=0),
    Scenario("list-reset", "connection reset (listing)", ({"kind": "reset", "endpoint": "list"},),
             status=FAILED, exit_code=1, effect="unchanged", error="could not connect"),
    Scenario("detail-reset-once", "connection reset (one detail, retried)",
             ({"kind": "reset", "endpoint": "detail", "count": 1},)),
    Scenario("list-malformed", "malformed body (listing)", ({"kind": "malformed", "endpoint": "list"},),
             status=FAILED, exit_code=1, effect="unchanged", error="not valid JSON"),
    Scenario("detail-malformed", "malformed body (one detail)",
             ({"kind": "malformed", "endpoint": "detail", "count": 1},),
             status=PARTIAL, exit_code=2, failed_details=1, error="could not be read"),
    Scenario("list-is-success-false", "HTTP 200 with is_success: false (listing)",
             ({"kind": "is_success_false", "endpoint": "list"},),
             status=FAILED, exit_code=1, effect="unchanged", error="ModelArts.0010"),
    Scenario("detail-429-burst", "429 burst (6 detail requests)",
             ({"kind": "throttle", "endpoint": "detail", "retry_after": 0, "count": 6},)),
    Scenario("list-429-storm", "429 on every list request (outlasts retries)",
             ({"kind": "throttle", "endpoint": "list", "retry_after": 0},),
             status=FAILED, exit_code=1, effect="unchanged", error="APIG.0308"),
    Scenario("token-expiry", "token expiry mid-sync", mode="password", expire_tokens=True, iam_calls=2),
    Scenario("aksk-rejected", "AK/SK rejected", ({"kind": "reject_aksk"},),
             status=FAILED, exit_code=1, effect="unchanged", error="APIG.0301"),
    Scenario("aksk-rejected-details", "AK/SK rejected after the listing (detail requests)",
             ({"kind": "reject_aksk", "endpoint": "detail"},), status=FAILED, exit_code=1, effect="no-loss",
             failed_details=None, error="APIG.0301", max_rejected_details=REJECTED_LIMIT),
    Scenario("static-token-expired", "static token expired mid-sync", mode="token", expire_tokens=True,
             status=FAILED, exit_code=1, effect="no-loss", failed_details=None, error="token expires",
             max_rejected_details=REJECTED_LIMIT),
    Scenario("vanished", "a vanished config (listed, detail 404)", vanish=True),
    Scenario("details-503", "every detail 503 (listing fine)",
             ({"kind": "error", "endpoint": "detail", "status": 503},),
             status=FAILED, exit_code=1, failed_details=CONFIGS - 1, error="could not be read"),
    Scenario("down", "ModelArts down (connections dropped)", ({"kind": "down", "endpoint": "any"},),
             status=FAILED, exit_code=1, effect="unchanged", error="could not connect"),
    Scenario("refused", "ModelArts down (connection refused)", refuse=True,
             status=FAILED, exit_code=1, effect="unchanged", error="could not connect"),
]


@dataclass
class Outcome:
    """What one scenario did, for the doc."""

    scenario: Scenario
    status: str
    exit_code: int
    cache: str
    banner: str
    pages: str
    counts: dict[str, int] = field(default_factory=dict)


OUTCOMES: dict[str, Outcome] = {}


# --- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def reliability_doc() -> Iterator[None]:
    """After the last scenario, write docs/reliability.md when WRITE_RELIABILITY_DOC=1."""
    OUTCOMES.clear()
    yield
    if os.environ.get("WRITE_RELIABILITY_DOC") != "1":
        return
    missing = [s.id for s in SCENARIOS if s.id not in OUTCOMES and not s.known_bug]
    if missing:
        raise RuntimeError(
            f"docs/reliability.md not written: scenario(s) {', '.join(missing)} did not pass or did not run; "
            f"run the whole module: {DOC_COMMAND}"
        )
    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOC_PATH.write_text(
        render_doc([OUTCOMES[s.id] for s in SCENARIOS if s.id in OUTCOMES], [s for s in SCENARIOS if s.known_bug]),
        encoding="utf-8",
    )


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff waits of at most 20 ms (the schedule is the client's; only the scale changes)."""
    monkeypatch.setattr(ModelArtsClient, "backoff_base", 0.01)
    monkeypatch.setattr(ModelArtsClient, "backoff_max", 0.02)


def point_at(sim: Any, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, settings) -> Any:
    """The environment source, aimed at ``sim`` in the scenario's auth mode."""
    env = sim.env(scenario.mode)
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
        "TIMEOUT": scenario.timeout,
        "MAX_RETRIES": scenario.max_retries,
        "SYNC_CONCURRENCY": CONCURRENCY,
    }
    return environment_source()


# --- helpers ------------------------------------------------------------------------------------------


def snapshot() -> dict[str, tuple]:
    """Per cached config: what a sync may change."""
    return {
        c.config_name: (c.content_hash, c.deleted_upstream_at, c.last_synced_at, c.last_changed_at)
        for c in TrainingJobConfig.objects.all()
    }


def revisions() -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for name, kind in ConfigRevision.objects.order_by("observed_at", "pk").values_list("config__config_name", "kind"):
        kinds.setdefault(name, []).append(kind)
    return kinds


def banner_text(content: str) -> str:
    """The freshness banner of a page as plain text (tags dropped, entities decoded, spaces collapsed)."""
    start = content.index('<div id="freshness"')
    chunk = content[start : content.index("</header>", start)]
    text = html.unescape(re.sub(r"<[^>]+>", " ", chunk)).replace("\xa0", " ")
    # Ages ("now", "a second ago", "2 seconds ago") depend on timing; the test and the doc don't.
    text = re.sub(r"\b(now|(an?|\d+) (second|minute)s? ago)\b", "‹when›", " ".join(text.split()))
    return text


def secrets_of(sim: Any) -> set[str]:
    state = sim.state
    return {state.sk, state.password, state.token, *state.credential_values(), *state.secret_values()}


def assert_secret_free(texts: dict[str, str], secrets: set[str]) -> None:
    for where, text in texts.items():
        leaked = sorted(s[:6] + "…" for s in secrets if s and s in text)
        assert not leaked, f"secret(s) starting {leaked} in {where}"


def _for_doc(text: str, names: list[str]) -> str:
    """Text stable across runs: request ids and config names (which depend on thread timing) generalised."""
    text = re.sub(r"request id [0-9a-f]{32}", "request id …", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?", "‹time›", text)
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, "<config>")
    return text.replace("|", "\\|")


# --- the matrix ---------------------------------------------------------------------------------------


def _params() -> list[Any]:
    return [
        pytest.param(s, id=s.id, marks=[pytest.mark.xfail(strict=True, reason=s.known_bug)] if s.known_bug else [])
        for s in SCENARIOS
    ]


@pytest.mark.parametrize("scenario", _params())
def test_fault_matrix(
    scenario: Scenario, modelarts_sim_factory, viewer_client, monkeypatch: pytest.MonkeyPatch, settings
) -> None:
    sim = modelarts_sim_factory(configs=CONFIGS, samples=0, seed=11)
    source = point_at(sim, scenario, monkeypatch, settings)

    # 1. A clean sync fills the cache.
    clean = configs_sync(source=source)
    assert clean.status == SUCCEEDED and clean.counts["created"] == CONFIGS, clean.error

    # 2. ModelArts moves on: one config changes, one is deleted; one more may vanish.
    names = sim.state.config_names()
    # The last names in listing order: details are requested in that order, so a fault that hits
    # "the first detail request" never lands on these, and the doc reads the same on every run.
    changed, deleted, vanished = sorted(names)[-1], sorted(names)[-2], sorted(names)[-3]
    sim.state.update_config(changed, {"config_desc": "changed upstream after the clean sync", "worker_server_num": 3})
    sim.state.delete_config(deleted)
    before, revisions_before = snapshot(), revisions()
    assert len(before) == CONFIGS

    # 3. The fault, then the second sync.
    for spec in scenario.faults:
        sim.add_fault(**spec)
    if scenario.vanish:
        sim.add_fault("vanish", names=[vanished])
    if scenario.refuse:
        sim.server.refuse_connections()
    progress = _expire_tokens_when_details_start(sim) if scenario.expire_tokens else None
    iam_before = len(sim.requests("iam"))

    result = configs_sync(source=source, progress=progress)

    if scenario.refuse:
        sim.server.accept_connections()

    # 4a. What the sync reports.
    assert (result.status, result.exit_code) == (scenario.status, scenario.exit_code), result.error
    if scenario.max_rejected_details is not None:
        rejected = [r for r in sim.requests("detail") if r.status in (401, 403)]
        assert len(rejected) <= scenario.max_rejected_details, f"{len(rejected)} detail requests rejected"
        assert not sim.state.ak_locked(sim.ak), "the sync got the AK locked"
    run = SyncRun.objects.get(pk=result.run.pk)
    assert run.status == scenario.status and run.error == result.error
    if scenario.error:
        assert scenario.error in result.error
    else:
        assert result.error == ""
    assert_secret_free({"sync error": result.error, "run error": run.error}, secrets_of(sim))
    if scenario.iam_calls is not None:
        assert len(sim.requests("iam")) - iam_before == scenario.iam_calls

    # 4b. The cache: untouched when the listing failed, else updated config by config.
    after, revisions_after = snapshot(), revisions()
    assert set(after) == set(before)  # nothing is ever removed from (or added to) the cache here
    failed = set(result.failed_names)
    assert len(failed) == result.counts["failed"]
    if scenario.failed_details is not None:
        assert len(failed) == scenario.failed_details
    if scenario.effect == "unchanged":
        assert after == before and revisions_after == revisions_before
        cache = f"unchanged: all {len(before)} rows identical (hash, deleted mark, sync times), no revision"
    else:
        gone = {deleted, vanished} if scenario.vanish else {deleted}
        lenient = scenario.effect == "no-loss"
        kept_early = set()  # rows a run that stopped early left as they were
        for name, row in after.items():
            new_revisions = revisions_after.get(name, [])[len(revisions_before.get(name, [])) :]
            if lenient and row == before[name] and new_revisions == []:
                if name in gone or name == changed:
                    kept_early.add(name)
                continue  # a run that stops early may leave any row as it was, never damage it
            if name in gone:
                assert row[1] is not None and before[name][1] is None, f"{name} not marked deleted upstream"
                assert new_revisions == [ConfigRevision.Kind.DELETED]
            elif name in failed:
                assert row == before[name] and new_revisions == [], f"{name}'s detail failed but its row changed"
            elif name == changed:
                assert row[0] != before[name][0] and row[1] is None and row[2] > before[name][2]
                assert new_revisions == [ConfigRevision.Kind.CHANGED]
            else:
                assert row == before[name] and new_revisions == [], f"{name} changed without a reason"
        if not lenient:
            assert result.counts["deleted"] == len(gone)
            assert result.counts["updated"] == (0 if changed in failed else 1)
        assert result.counts["created"] == 0
        parts = []
        if kept_early:
            parts.append(
                "stopped before storing anything: the changed and the deleted config keep their cached state"
                if kept_early == gone | {changed}
                else f"stopped early: {len(kept_early)} of the changed and deleted configs keep their cached state"
            )
        if changed not in failed and changed not in kept_early:
            parts.append("the changed config updated with a new revision")
        if not gone & kept_early:
            parts.append(
                "the deleted config marked deleted upstream" if not scenario.vanish
                else "the deleted and the vanished config marked deleted upstream (not failures)"
            )
        if failed:
            parts.append(f"{len(failed)} config(s) whose detail failed keep their cached state")
        untouched = len(after) - len(gone) - len(failed) - (0 if changed in failed else 1)
        if untouched:
            parts.append(f"{untouched} other rows untouched")
        cache = "; ".join(parts)

    # 5. Pages keep serving from the cache, without calling ModelArts, and say what happened.
    requests_before = len(sim.requests())
    detail_url = TrainingJobConfig.objects.get(config_name=changed).get_absolute_url()
    pages = {
        "/": viewer_client.get("/"),
        "/configs/": viewer_client.get("/configs/"),
        "/configs/?status=all": viewer_client.get("/configs/", {"status": "all", "per_page": 100}),
        "detail": viewer_client.get(detail_url),
    }
    assert len(sim.requests()) == requests_before  # pages read only the cache
    for url, response in pages.items():
        assert response.status_code == 200, url
    everything = pages["/configs/?status=all"].content.decode()
    for name in before:
        assert name in everything, f"{name} not shown"
    active = TrainingJobConfig.objects.filter(deleted_upstream_at__isnull=True)
    shown_active = sum(1 for c in active if c.config_name in pages["/configs/"].content.decode())
    assert shown_active == active.count()
    detail = pages["detail"].content.decode()
    expected_desc = TrainingJobConfig.objects.get(config_name=changed).config_desc
    assert changed in detail and html.escape(expected_desc) in detail

    banner = banner_text(pages["/"].content.decode())
    assert banner == banner_text(pages["detail"].content.decode())  # the same banner on every page
    assert "data as of" in banner  # the clean sync (and a partial one) confirmed the data
    if scenario.status == FAILED:
        assert "last sync failed" in banner
        assert result.error[:120] in banner
    elif scenario.status == PARTIAL:
        assert "last sync was partial" in banner and result.error[:120] in banner
    else:
        assert "last sync" not in banner
    assert_secret_free({url: r.content.decode() for url, r in pages.items()}, secrets_of(sim))

    OUTCOMES[scenario.id] = Outcome(
        scenario=scenario,
        status=result.status,
        exit_code=result.exit_code,
        cache=cache,
        banner=_for_doc(banner, names),
        pages=f"200 from the cache: {active.count()} active rows"
        + (f" + {len(before) - active.count()} deleted upstream" if len(before) > active.count() else "")
        + ", detail page shown; no request to ModelArts",
        counts=dict(result.counts),
    )


# --- the doc ------------------------------------------------------------------------------------------


def render_doc(outcomes: list[Outcome], known: list[Scenario]) -> str:
    lines = [
        "# Reliability: what a sync does when ModelArts misbehaves",
        "",
        "<!-- Generated by tests/integration/test_fault_matrix.py; do not edit by hand. -->",
        "",
        "Every row below is a scenario of the fault matrix test, run against the project's ModelArts",
        "simulator over loopback. Each scenario does the same: a clean sync fills the cache with",
        f"{CONFIGS} custom configs; upstream, one config then changes and one is deleted; the fault is",
        "injected and a second sync runs. The test checks what the sync reports (status, exit status of",
        "`manage.py sync_configs`, an error without secrets), that every cached row is unchanged (failed",
        "listing: content hash, *deleted upstream* mark and sync times identical, no revision) or correctly",
        "updated (the change stored with a revision, the deletion marked, configs whose detail failed kept",
        "as they were, everything else untouched), and that `/`, `/configs/` and a detail page still",
        "answer 200 from the cache, without a request to ModelArts, with the freshness banner shown below.",
        "",
        f"Settings unless a row says otherwise: AK/SK signing, timeout {TIMEOUT:g} s, {MAX_RETRIES} retry per request,",
        f"{CONCURRENCY} detail requests in flight (the test shrinks the backoff waits to milliseconds).",
        "*Pages* are `/`, `/configs/` and the changed config's detail page, requested as a team admin",
        "after the second sync.",
        "Exit status: 0 succeeded, 1 failed (nothing cached is lost), 2 partial.",
        "",
        "Regenerate this file (it is only written when the variable is set and every scenario passed):",
        "",
        "```sh",
        DOC_COMMAND,
        "```",
        "",
        "| Fault | How injected | Sync status | Exit | Cache effect | Banner says | Pages |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for o in outcomes:
        s = o.scenario
        counts = ", ".join(f"{name} {n}" for name, n in o.counts.items() if n)
        lines.append(
            f"| {s.fault} | {s.injected.replace('|', '/')} | {o.status} ({counts or 'nothing read'}) | {o.exit_code} | "
            f"{o.cache} | "
            f"{o.banner} | {o.pages} |"
        )
    lines += [
        "",
        "Notes:",
        "",
        "- A listing that fails on any page, after the client's retries, stops the sync before anything",
        "  is written: the run is *failed* and the cache is exactly as it was.",
        "- A config whose detail still fails after the client's retries keeps its cached state; the run",
        "  is *partial* (exit 2), or *failed* when no detail could be read. The listing itself was",
        "  complete, so a config missing from it is still marked deleted upstream.",
        "- A config that is listed but whose detail answers 404 counts as deleted upstream, not as a failure.",
        "- 429s slow the detail pool down (half the width, a pause of `Retry-After`) and are retried.",
        "- An IAM password token that expires mid-sync is renewed once (two IAM calls for the whole sync).",
        "- Credentials rejected on a detail request (a revoked AK/SK, an expired static token) stop the",
        "  sync at once: it fails (exit 1) with the auth error, stores what it had read before, and marks",
        "  nothing deleted. The detail pool starts one request wide and widens with each success, so",
        "  bad credentials cost one rejected request, well under the AK/SK lockout (5 failures).",
        "",
    ]
    if known:
        lines += [
            "## Known problems",
            "",
            "These scenarios are in the matrix as `xfail(strict=True)`: production code does not handle them",
            "yet.",
            "",
            "| Fault | How injected | Observed |",
            "| --- | --- | --- |",
        ]
        lines += [f"| {s.fault} | {s.injected.replace('|', '/')} | {s.known_bug.replace('|', '/')} |" for s in known]
        lines.append("")
    return "\n".join(lines)
