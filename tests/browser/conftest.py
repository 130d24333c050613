"""Browser tests: Chromium driven by Playwright (pytest-playwright) against pytest-django's ``live_server``.

Chromium is the system one (``CHROMIUM_PATH``, else ``chromium`` on ``PATH``): ``playwright
install`` is not used. Without it every browser test is skipped, unless ``E2E_REQUIRED=1`` (set by
CI), which turns the missing browser into an error of every browser test.

Fixtures:

``catalog``  ~60 cached configs over two sources (varied engines, specs, workers), one with HTML
             in its description, one with a labelled secret parameter and a revision with a diff,
             and a finished sync run per source. Written through ``tests.factories``.
``ui``       a logged-out ``page`` on the live server (``ui.page``) that records console errors,
             uncaught page errors, CSP violations and JavaScript dialogs; helpers to log in and to
             read the configs table. Tests end with ``ui.assert_clean()``.

The live server needs ``transactional_db``: the tables are flushed after each test, so
``migration_data`` makes the "Config viewers" group again, and these tests run after all others
(see ``pytest_collection_modifyitems``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the main thread; without this Django refuses ORM
# calls from fixtures and pytest-django's teardown next to it (SynchronousOnlyOperation).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.contrib.auth.models import Group, Permission  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from playwright.sync_api import ConsoleMessage, Dialog, Page  # noqa: E402

from configs_app.models import ConfigSource  # noqa: E402
from tests.factories import RevisionFactory, SourceFactory, SyncRunFactory, TrainingJobConfigFactory  # noqa: E402

PASSWORD = "pw"  # of the users made by tests/conftest.py

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Playwright's default of 30 s per action would make a broken page cost minutes.
ACTION_TIMEOUT_MS = 10_000

# Reports every CSP violation on the console (Chromium logs most of them itself; this one also
# names the directive and the blocked resource). Init scripts are not subject to the page's CSP.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
                + ` (${e.sourceFile || "?"}:${e.lineNumber})`);
});
"""


def chromium_executable() -> tuple[str | None, str]:
    """The Chromium to use and, when there is none, why: ``CHROMIUM_PATH`` when set (a wrong
    path is reported, not silently replaced), else ``chromium`` on ``PATH``."""
    configured = os.environ.get("CHROMIUM_PATH", "").strip()
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured, ""
        return None, f"CHROMIUM_PATH={configured} is not an executable file"
    found = shutil.which("chromium")
    if found:
        return found, ""
    return None, "no chromium on PATH and CHROMIUM_PATH is not set"


_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """Keep each test's call report, so ``ui`` knows at teardown whether the test passed."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this folder ``browser`` and run them after all other tests.

    They are transactional (``live_server``): each ends by flushing the tables, migration data
    included, so a plain ``db`` test after them would miss the "Config viewers" group. pytest-django
    sorts transactional tests last, but pytest then groups the items of pytest-playwright's
    session-scoped ``browser_name`` parameter, which other tests get too when they name a
    parameter ``page``; that moved these into the middle of the ``db`` tests. Runs after both.
    """
    here = os.path.dirname(__file__) + os.sep
    browser_items = [item for item in items if str(item.path).startswith(here)]
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
    chosen = set(browser_items)
    items[:] = [item for item in items if item not in chosen] + browser_items


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options with the system Chromium; skip or fail without one."""
    executable, problem = chromium_executable()
    if executable is None:
        message = f"browser tests need Chromium: {problem} (apt-get install chromium, or set CHROMIUM_PATH)"
        if os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail(f"E2E_REQUIRED=1 but {message}", pytrace=False)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """The README screenshots' window size for every test; dates shown in UTC like the settings."""
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 800},
        "locale": "en-US",
        "timezone_id": "UTC",
        "accept_downloads": True,
    }


# --- Data ----------------------------------------------------------------------------------------

#: (model, task, datasets it is trained on): 10 models x 3 datasets x 2 versions = 60 configs.
_MODELS = [
    ("resnet50", "image classification", ("imagenet", "cifar100", "food101")),
    ("yolov5s", "object detection", ("coco", "voc2012", "visdrone")),
    ("bert-base", "question answering", ("squad", "glue-mnli", "cmrc2018")),
    ("vit-b16", "image classification", ("imagenet", "cifar100", "flowers102")),
    ("unet", "medical segmentation", ("isic2018", "kvasir", "brats2021")),
    ("gpt2-small", "language modelling", ("wikitext103", "openwebtext", "cluecorpus")),
    ("efficientnet-b0", "image classification", ("imagenet", "food101", "flowers102")),
    ("deeplabv3", "semantic segmentation", ("cityscapes", "voc2012", "ade20k")),
    ("wav2vec2", "speech recognition", ("librispeech", "aishell1", "commonvoice-zh")),
    ("mobilenet-v3", "edge classification", ("imagenet", "coco", "visdrone")),
]
_NLP_MODELS = frozenset({"bert-base", "gpt2-small", "wav2vec2"})

CONFIG_COUNT = 60
#: The labelled secret of ``catalog.secret_config`` (besides the factory's own three).
SECRET_LABEL = "OBS_SECRET_ACCESS_KEY"
SECRET_VALUE = "Zq81-obs-SK-do-not-leak-7f3e2d"
XSS_DESCRIPTION = '<img src=x onerror=alert(1)><script>alert("xss")</script> fine-tune, lr 3e-4'


@dataclass
class Catalog:
    """What ``catalog`` stored, for the tests' expectations."""

    configs: list[Any]
    secret_config: Any  # has SECRET_LABEL and a revision (learning_rate 0.1 -> 0.01)
    xss_config: Any  # XSS_DESCRIPTION as its description
    secrets: set[str] = field(default_factory=set)  # every secret value stored anywhere

    @property
    def names(self) -> list[str]:
        return [c.config_name for c in self.configs]


@pytest.fixture
def migration_data(transactional_db) -> None:
    """What the data migrations made and a flush removed: the "Config viewers" group.

    A transactional test's flush is followed by ``post_migrate`` (content types, permissions, the
    source of the environment), which data migrations are not. ``django_db_serialized_rollback``
    cannot bring them back here: Playwright's sync API runs the tests in another context, where
    Django's connection objects (and the snapshot on them) made before it started are not seen.
    """
    viewers = import_module("configs_app.migrations.0003_config_viewers_group")
    group, _ = Group.objects.get_or_create(name=viewers.GROUP_NAME)
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="configs_app", codename__in=viewers.CODENAMES)
    )


@pytest.fixture
def catalog(live_server, migration_data) -> Catalog:
    """~60 configs as a sync of two ModelArts projects would cache them (see the module docstring)."""
    with transaction.atomic():  # one commit instead of hundreds; the live server sees it after
        return _store_catalog()


def _store_catalog() -> Catalog:
    # The source of the (empty) MODELARTS_* environment would show "never synced" on every page.
    ConfigSource.objects.filter(from_environment=True).update(enabled=False)
    sources = [SourceFactory(name="team-vision"), SourceFactory(name="team-nlp", region="cn-east-3")]
    now = timezone.now()
    configs = []
    for i in range(CONFIG_COUNT):
        model, task, datasets = _MODELS[i % 10]
        dataset = datasets[(i // 10) % 3]
        name = f"{model}-{dataset}-v{i // 30 + 1}"
        extra: dict[str, Any] = {}
        if name == "resnet50-imagenet-v1":
            extra["parameter"] = [
                {"label": "learning_rate", "value": "0.01"},
                {"label": "batch_size", "value": "256"},
                {"label": "epochs", "value": "90"},
                {"label": "DB_PASSWORD", "value": "Pw0-Kx93-qLw7!"},
                {"label": SECRET_LABEL, "value": SECRET_VALUE},
            ]
        source = sources[1 if model in _NLP_MODELS else 0]
        bucket = f"/{source.name}-ml"
        configs.append(
            TrainingJobConfigFactory(
                n=i,
                source=source,
                config_name=name,
                config_desc=XSS_DESCRIPTION if name == "unet-kvasir-v1" else f"{model} {task} on {dataset}",
                app_url=f"{bucket}/code/{model}/",
                boot_file_url=f"{bucket}/code/{model}/train.py",
                train_url=f"{bucket}/output/{name}/",
                log_url=f"{bucket}/logs/{name}/",
                data_url=f"{bucket}/datasets/{dataset}/",
                data_source=[{"type": "obs", "data_url": f"{bucket}/datasets/{dataset}/"}],
                dataset_name=dataset,
                dataset_version_name="v1",
                first_seen_at=now - dt.timedelta(days=40 - i // 2),
                last_changed_at=now - dt.timedelta(days=1 + i % 9, hours=i % 7),
                last_synced_at=now - dt.timedelta(minutes=5),
                **extra,
            )
        )
    secret_config = next(c for c in configs if c.config_name == "resnet50-imagenet-v1")
    xss_config = next(c for c in configs if c.config_name == "unet-kvasir-v1")
    RevisionFactory(config=secret_config, observed_at=secret_config.last_changed_at)
    for source in sources:
        count = sum(c.source_id == source.pk for c in configs)
        SyncRunFactory(source=source, listed=count, unchanged=count - 1, updated=1)
    secrets = {SECRET_VALUE, "Pw0-Kx93-qLw7!"}
    for config in configs:
        secrets |= config.secret_values
    return Catalog(configs=configs, secret_config=secret_config, xss_config=xss_config, secrets=secrets)


# --- The browser ---------------------------------------------------------------------------------


@dataclass
class Browsing:
    """A page on the live server and what went wrong in it (console errors, CSP violations,
    uncaught exceptions, dialogs), with the few steps every journey repeats."""

    page: Page
    base_url: str
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    expected_problems: list[re.Pattern[str]] = field(default_factory=list)
    checked: bool = False

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str) -> None:
        self.page.goto(self.url(path))

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        """Log in through the login form (the page stays where the login sends it)."""
        if "/accounts/login/" not in self.page.url:
            self.goto("/accounts/login/")
        self.page.get_by_label("User name").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_load_state()

    def expect_problem(self, pattern: str) -> None:
        """Tolerate console errors matching ``pattern`` (e.g. the 403 of a forbidden page)."""
        self.expected_problems.append(re.compile(pattern))

    # The configs table -------------------------------------------------------------------------

    def column(self, header: str) -> list[str]:
        """The texts of one column of ``#config-table`` on the current page, top to bottom."""
        headers = [h.strip() for h in self.page.locator("#config-table thead th").all_inner_texts()]
        index = headers.index(header) + 1
        return [t.strip() for t in self.page.locator(f"#config-table tbody tr td:nth-child({index})").all_inner_texts()]

    def names(self) -> list[str]:
        """The config names in the table, top to bottom (each is the link to its page)."""
        return [t.strip() for t in self.page.locator("#config-table tbody tr a").all_inner_texts()]

    def row(self, name: str):
        return self.page.locator("#config-table tbody tr").filter(
            has=self.page.get_by_role("link", name=name, exact=True)
        )

    # Problems ----------------------------------------------------------------------------------

    def unexpected_problems(self) -> list[str]:
        return [p for p in self.problems if not any(rx.search(p) for rx in self.expected_problems)]

    def assert_clean(self) -> None:
        """No console error, CSP violation, uncaught exception or dialog on any page visited."""
        self.checked = True
        assert self.unexpected_problems() == []
        assert self.dialogs == []


@pytest.fixture
def ui(page: Page, live_server, migration_data, request: pytest.FixtureRequest) -> Iterator[Browsing]:
    """A logged-out browser tab on the live server that records what went wrong (see ``Browsing``)."""
    browsing = Browsing(page=page, base_url=live_server.url)
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    page.add_init_script(_CSP_LISTENER)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            browsing.problems.append(f"console error on {page.url}: {message.text}")

    def on_dialog(dialog: Dialog) -> None:
        browsing.dialogs.append(f"{dialog.type} on {page.url}: {dialog.message}")
        dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", lambda error: browsing.problems.append(f"uncaught error on {page.url}: {error}"))
    page.on("dialog", on_dialog)
    yield browsing
    # A passing test that did not check still may not hide a problem (a failed one already says).
    report = request.node.stash.get(_CALL_REPORT, None)
    if report is not None and report.passed and not browsing.checked:
        browsing.assert_clean()
