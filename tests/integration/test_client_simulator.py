"""The real ModelArtsClient over loopback against the running simulator, in every auth mode.

Unit tests (``tests/unit/test_modelarts_client.py``) check the client against canned responses;
here the client signs, authenticates, pages, parses and fails against an independent
implementation of the API reference (``modelarts_sim``) over real sockets:

- paging: 2,500 configs in exactly three list requests of 1,000, each name once;
- details: every documented field typed and equal to the simulator's payload, undocumented keys
  kept in ``raw``, parameter values as text, a name that needs URL quoting;
- failures: every fault the simulator can inject becomes the matching typed ``ModelArtsError``
  (never a ``requests`` exception), retried only when the reference says so, honouring
  ``Retry-After``, and no secret reaches an error's text, a repr or the log;
- IAM tokens: cached (one IAM call for many requests) and renewed once when they expire mid-listing.

Waits between retries go to a recorder (``sleep=``) instead of ``time.sleep``, so the file runs
without real backoff; the recorded waits double as the count of attempts.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import requests

from configs_app.modelarts import (
    AkSkAuth,
    ConfigDetail,
    IamPasswordAuth,
    ModelArtsAuthError,
    ModelArtsBadRequest,
    ModelArtsBadResponse,
    ModelArtsClient,
    ModelArtsError,
    ModelArtsNotFound,
    ModelArtsThrottled,
    ModelArtsUnavailable,
    Parameter,
    StaticTokenAuth,
)

pytestmark = pytest.mark.simulator

MODES = ("aksk", "password", "token")

#: Every field of the detail response the API reference documents (§3), except is_success and the
#: error fields. Each is an attribute of ConfigDetail.
DOCUMENTED_DETAIL_FIELDS = (
    "config_name", "config_desc", "worker_server_num", "app_url", "boot_file_url", "model_id", "parameter",
    "spec_id", "data_url", "dataset_id", "dataset_version_id", "data_source", "engine_type", "engine_name",
    "engine_id", "engine_version", "train_url", "log_url", "user_image_url", "user_command", "spec_code",
    "gpu_type", "gpu_num", "cpu", "core", "create_time", "dataset_name", "dataset_version_name", "pool_id",
    "pool_name", "volumes", "nas_mount_path", "nas_share_addr", "nas_type",
)
_OBJECT_LISTS = ("data_source", "volumes")

#: A name that needs quoting as a path segment and as a query value: space, "/", "?", "&", "=",
#: "#", "%", "+" and non-ASCII. Not valid for create (§4 allows [A-Za-z0-9_-]), so it is put into
#: the simulator's state directly: the client must still cope with whatever a listing returns.
ODD_NAME = "team a/β?x=1&y=2#frag %41+plus"


# --- a client per auth mode, recording what it sends --------------------------------------------


class _Recording:
    """Mixin for the auth classes: remembers the credential headers of every request it prepares
    (signatures and tokens), so the test can look for them in errors and logs."""

    sent: set[str]

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r = super().__call__(r)  # type: ignore[misc]
        authorization = r.headers.get("Authorization")
        if authorization:
            self.sent.add(authorization)
            self.sent.update(re.findall(r"Signature=([0-9a-f]+)", authorization))
        token = r.headers.get("X-Auth-Token")
        if token:
            self.sent.add(token)
        return r


class RecordingAkSk(_Recording, AkSkAuth):
    pass


class RecordingPassword(_Recording, IamPasswordAuth):
    pass


class RecordingToken(_Recording, StaticTokenAuth):
    pass


class Sleeps(list):
    """Stands in for ``time.sleep``: records each wait (seconds) instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@dataclass
class Harness:
    """A client aimed at one simulator in one auth mode, with what it recorded."""

    sim: Any
    mode: str
    client: ModelArtsClient
    auth: Any
    sleeps: Sleeps
    wrong_secrets: set[str] = field(default_factory=set)

    @property
    def attempts(self) -> int:
        """Tries of the last failing call: one more than the waits between them."""
        return len(self.sleeps) + 1

    def secrets(self) -> set[str]:
        """Every value that must never appear in an error, a repr or the log."""
        state = self.sim.state
        values = {state.sk, state.password, state.token, state.ak}
        values |= state.credential_values()
        values |= state.secret_values()  # secrets inside config payloads
        values |= self.auth.sent  # Authorization headers, signatures, issued and static tokens
        values |= set(self.auth.secrets())
        values |= self.wrong_secrets
        return {v for v in values if v}


def make_harness(
    sim: Any, mode: str, *, wrong: bool = False, timeout: float = 1.0, max_retries: int = 2
) -> Harness:
    """A client for ``sim`` in ``mode``; ``wrong=True`` gives it a wrong SK, password or token."""
    wrong_secret = {"aksk": "wrong-secret-key-0000000000000000000000", "password": "wrong-password-0000",
                    "token": "MIIwrong-token-" + "x" * 200}[mode]
    if mode == "aksk":
        auth: Any = RecordingAkSk(sim.ak, wrong_secret if wrong else sim.sk, sim.project_id)
    elif mode == "password":
        auth = RecordingPassword(
            iam_endpoint=sim.url, username=sim.username, password=wrong_secret if wrong else sim.password,
            domain=sim.domain, project_id=sim.project_id, timeout=timeout,
        )
    else:
        auth = RecordingToken(wrong_secret if wrong else sim.token)
    auth.sent = set()
    sleeps = Sleeps()
    client = ModelArtsClient(
        endpoint=sim.url, project_id=sim.project_id, auth=auth, timeout=timeout, max_retries=max_retries,
        sleep=sleeps,
    )
    return Harness(sim, mode, client, auth, sleeps, {wrong_secret} if wrong else set())


@pytest.fixture
def harnesses() -> Iterable[list[Harness]]:
    """Clients made by a test, closed after it."""
    made: list[Harness] = []
    yield made
    for harness in made:
        harness.client.close()


@pytest.fixture
def harness_for(harnesses: list[Harness]) -> Callable[..., Harness]:
    def make(sim: Any, mode: str, **kwargs: Any) -> Harness:
        harness = make_harness(sim, mode, **kwargs)
        harnesses.append(harness)
        return harness

    return make


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture every log record, DEBUG included (the client's and urllib3's)."""
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_secrets(texts: dict[str, str], secrets: set[str]) -> None:
    for where, text in texts.items():
        leaked = sorted(s[:6] + "…" for s in secrets if s in text)
        assert not leaked, f"secret(s) starting {leaked} found in {where}"


def assert_error_is_clean(exc: BaseException, harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """The error, its whole traceback (causes included), the client's repr and the log are secret-free."""
    assert not isinstance(exc, requests.RequestException)
    assert_no_secrets(
        {
            "str(exc)": str(exc),
            "repr(exc)": repr(exc),
            "traceback": "".join(traceback.format_exception(exc)),
            "repr(client)": repr(harness.client),
            "repr(auth)": repr(harness.auth),
            "log": caplog.text,
        },
        harness.secrets(),
    )


def auth_kind(mode: str) -> str:
    """How the simulator's request log labels requests of ``mode``."""
    return "aksk" if mode == "aksk" else "token"


# --- (a) paging -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_iter_configs_reads_2500_configs_in_three_list_requests(
    modelarts_sim_factory, harness_for, debug_log, mode: str
) -> None:
    sim = modelarts_sim_factory(configs=2500, samples=0)
    harness = harness_for(sim, mode)

    names = [summary.config_name for summary in harness.client.iter_configs()]

    expected = sim.state.config_names()
    assert len(names) == 2500 and len(set(names)) == 2500
    assert set(names) == set(expected)
    assert names == sorted(expected)  # sortBy=config_name, order=asc: code-point order, as the simulator sorts
    lists = sim.requests("list")
    assert len(lists) == 3
    assert [r.query["page"] for r in lists] == ["1", "2", "3"]
    assert {(r.query["per_page"], r.query["sortBy"], r.query["order"], r.query["config_type"]) for r in lists} == {
        ("1000", "config_name", "asc", "custom")
    }
    assert {(r.status, r.auth) for r in lists} == {(200, auth_kind(mode))}
    assert len(sim.requests("iam")) == (1 if mode == "password" else 0)
    assert harness.sleeps == []
    assert_no_secrets({"log": debug_log.text, "repr(client)": repr(harness.client)}, harness.secrets())


# --- (b) details -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def assert_detail_matches(detail: ConfigDetail, payload: dict[str, Any], config_type: str) -> None:
    """Every documented field typed and equal to the simulator's payload; raw is the whole body."""
    assert isinstance(detail, ConfigDetail)
    assert detail.config_type == config_type
    assert dict(detail.raw) == {"is_success": True, **payload}  # undocumented keys (flavor, npu_info) kept
    for name in DOCUMENTED_DETAIL_FIELDS:
        value, actual = payload.get(name), getattr(detail, name)
        if name == "parameter":
            expected = tuple(Parameter(label=p["label"], value=_text(p["value"])) for p in value or ())
            assert actual == expected, name
            assert all(isinstance(p.value, str) for p in actual)
        elif name in _OBJECT_LISTS:
            assert tuple(dict(item) for item in actual) == tuple(value or ()), name
        else:
            assert actual == value, name
            assert type(actual) is type(value), name  # ints stay ints, strings (cpu "64") stay strings


@pytest.mark.parametrize("mode", MODES)
def test_get_config_returns_every_documented_field_as_the_simulator_sends_it(
    modelarts_sim, harness_for, debug_log, mode: str
) -> None:
    sim = modelarts_sim
    state = sim.state
    template = state.get_config(state.config_names()[0])
    state.add_config({**template, "config_name": ODD_NAME, "parameter": [{"label": "lr", "value": 0.01}]})
    harness = harness_for(sim, mode)
    wanted = [(name, "custom") for name in state.config_names()] + [(n, "sample") for n in state.config_names("sample")]

    # Eight threads share one client, as the sync does.
    with ThreadPoolExecutor(max_workers=8) as pool:
        details = list(pool.map(lambda nt: harness.client.get_config(nt[0], config_type=nt[1]), wanted))

    fields_seen: set[str] = set()
    extras_seen: set[str] = set()
    numeric_values = 0
    for (name, config_type), detail in zip(wanted, details, strict=True):
        payload = state.get_config(name, config_type)
        assert_detail_matches(detail, payload, config_type)
        fields_seen |= set(payload) & set(DOCUMENTED_DETAIL_FIELDS)
        extras_seen |= set(payload) - set(DOCUMENTED_DETAIL_FIELDS)
        numeric_values += sum(1 for p in payload.get("parameter", ()) if not isinstance(p["value"], str))
    # The data really exercised what is claimed: every documented field, extras, numeric values.
    assert fields_seen == set(DOCUMENTED_DETAIL_FIELDS)
    assert {"flavor", "npu_info"} <= extras_seen
    assert numeric_values > 0
    odd = details[wanted.index((ODD_NAME, "custom"))]
    assert odd.config_name == ODD_NAME and odd.parameter == (Parameter("lr", "0.01"),)
    assert {r.config_name for r in sim.requests("detail")} >= {ODD_NAME}
    assert {r.status for r in sim.requests("detail")} == {200}

    # The odd name also travels as a search value (query encoding, and signing under AK/SK).
    page = harness.client.list_configs(search="a/β?x=1&y", per_page=10)
    assert [s.config_name for s in page.configs] == [ODD_NAME] and page.config_total_count == 1
    assert_no_secrets({"log": debug_log.text}, harness.secrets())


# --- (c, d) failures: typed errors, retries, no secrets -----------------------------------------------


def _list(harness: Harness) -> Any:
    return harness.client.list_configs()


def _detail(harness: Harness) -> Any:
    return harness.client.get_config(harness.sim.state.config_names()[0])


def _missing(harness: Harness) -> Any:
    return harness.client.get_config("no-such-config")


def _iterate(harness: Harness) -> Any:
    return list(harness.client.iter_configs())


@dataclass(frozen=True)
class Failure:
    """One way a call fails, and what the client must make of it.

    ``inject`` prepares the simulator; ``call`` is the failing call; ``attempts`` how often the
    client tries (1 = not retried); ``requests`` how many requests of ``endpoint`` the simulator
    saw (None: not counted, e.g. when a slow request is still being answered); ``by_mode``
    overrides any of these for one auth mode.
    """

    id: str
    error: type[ModelArtsError]
    inject: Callable[[Any], Any] | None = None
    call: Callable[[Harness], Any] = _list
    endpoint: str = "list"
    status: int | None = None
    code: str | None = None
    attempts: int = 1
    requests: int | None = 1
    message: str = ""
    wrong: bool = False
    timeout: float = 1.0
    max_retries: int = 2
    modes: tuple[str, ...] = MODES
    by_mode: dict[str, dict[str, Any]] = field(default_factory=dict)

    def for_mode(self, mode: str) -> Failure:
        return replace(self, **self.by_mode.get(mode, {}))


def _fault(kind: str, **spec: Any) -> Callable[[Any], Any]:
    def inject(sim: Any) -> Any:
        return sim.add_fault(kind, **spec)

    return inject


def _vanish_first(sim: Any) -> None:
    sim.add_fault("vanish", names=[sim.state.config_names()[0]])


def _refuse(sim: Any) -> None:
    sim.server.refuse_connections()


FAILURES = [
    Failure("404-not-found", ModelArtsNotFound, call=_missing, endpoint="detail", status=404, code="ModelArts.0015"),
    Failure("404-vanished", ModelArtsNotFound, inject=_vanish_first, call=_detail, endpoint="detail", status=404,
            code="ModelArts.0015"),
    Failure("401-wrong-credentials", ModelArtsAuthError, wrong=True, status=401, code="APIG.0301",
            by_mode={"password": {"endpoint": "iam", "code": "IAM.0062"}}),
    Failure("401-reject-aksk", ModelArtsAuthError, inject=_fault("reject_aksk"), status=401, code="APIG.0301",
            modes=("aksk",)),
    # A 401 from ModelArts itself: a password token is renewed once (one more try, one more IAM
    # call); AK/SK and a static token are never retried.
    Failure("401-token-must-be-updated", ModelArtsAuthError, inject=_fault("error", endpoint="list", status=401),
            status=401, code="APIG.0307", by_mode={"password": {"requests": 2}}),
    Failure("403-forbidden", ModelArtsAuthError, inject=_fault("error", endpoint="list", status=403), status=403,
            code="APIG.0302"),
    Failure("400-invalid-argument", ModelArtsBadRequest, inject=_fault("error", endpoint="list", status=400),
            status=400, code="ModelArts.0101"),
    Failure("429-burst-outlasts-retries", ModelArtsThrottled,
            inject=_fault("throttle", endpoint="list", retry_after=1), status=429, code="APIG.0308", attempts=3,
            requests=3),
    *[
        Failure(f"{status}-persistent", ModelArtsUnavailable, inject=_fault("error", endpoint="list", status=status),
                status=status, code=code, attempts=3, requests=3, message="(after 3 attempts)")
        for status, code in [(500, "ModelArts.0010"), (502, "APIG.0202"), (503, "ModelArts.4700"),
                             (504, "APIG.0203")]
    ],
    Failure("5xx-on-detail", ModelArtsUnavailable, inject=_fault("error", endpoint="detail", status=503),
            call=_detail, endpoint="detail", status=503, code="ModelArts.4700", attempts=3, requests=3),
    Failure("malformed-200", ModelArtsBadResponse, inject=_fault("malformed", endpoint="list"), status=200,
            message="not valid JSON"),
    Failure("malformed-502-html", ModelArtsUnavailable, inject=_fault("malformed", endpoint="list", status=502),
            status=502, attempts=3, requests=3),
    Failure("truncated-content-length", ModelArtsBadResponse,
            inject=_fault("truncated", endpoint="list", mode="content_length"), message="truncated"),
    Failure("truncated-half-json", ModelArtsBadResponse, inject=_fault("truncated", endpoint="list", mode="half_json"),
            status=200, message="not valid JSON"),
    Failure("truncated-detail", ModelArtsBadResponse,
            inject=_fault("truncated", endpoint="detail", mode="content_length"), call=_detail, endpoint="detail"),
    Failure("is-success-false-internal", ModelArtsUnavailable, inject=_fault("is_success_false", endpoint="list"),
            status=200, code="ModelArts.0010"),
    Failure("is-success-false-auth", ModelArtsAuthError,
            inject=_fault("is_success_false", endpoint="list", error_code="APIG.0301",
                          error_message="Incorrect IAM authentication information: decrypt token fail"),
            status=200, code="APIG.0301"),
    Failure("is-success-false-not-found", ModelArtsNotFound,
            inject=_fault("is_success_false", endpoint="detail", error_code="ModelArts.0015",
                          error_message="The resource you requested is not exist"),
            call=_detail, endpoint="detail", status=200, code="ModelArts.0015"),
    Failure("down", ModelArtsUnavailable, inject=_fault("down", endpoint="list"), attempts=3, requests=3,
            message="could not connect"),
    Failure("reset", ModelArtsUnavailable, inject=_fault("reset", endpoint="list"), attempts=3, requests=3,
            message="could not connect"),
    Failure("refused", ModelArtsUnavailable, inject=_refuse, attempts=3, requests=0, message="could not connect",
            by_mode={"password": {"endpoint": "iam"}}),
    Failure("slow-beyond-read-timeout", ModelArtsUnavailable, inject=_fault("slow", endpoint="list", seconds=3),
            timeout=0.3, max_retries=1, attempts=2, requests=None, message="timed out"),
    Failure("iteration-stops-on-a-failed-page", ModelArtsUnavailable,
            inject=_fault("fail_list_pages", pages=[1], status=502), call=_iterate, status=502, code="APIG.0202",
            attempts=3, requests=3),
    # The IAM token call itself failing (password mode only).
    Failure("iam-503", ModelArtsUnavailable, inject=_fault("error", endpoint="iam", status=503), endpoint="iam",
            status=503, attempts=3, requests=3, modes=("password",)),
    Failure("iam-down", ModelArtsUnavailable, inject=_fault("down", endpoint="iam"), endpoint="iam", attempts=3,
            requests=3, message="could not connect to IAM", modes=("password",)),
]


@pytest.mark.parametrize(
    ("mode", "failure"),
    [pytest.param(mode, f, id=f"{mode}-{f.id}") for f in FAILURES for mode in MODES if mode in f.modes],
)
def test_each_failure_is_a_typed_error_without_secrets(
    modelarts_sim, harness_for, debug_log, mode: str, failure: Failure
) -> None:
    sim = modelarts_sim
    failure = failure.for_mode(mode)
    harness = harness_for(sim, mode, wrong=failure.wrong, timeout=failure.timeout, max_retries=failure.max_retries)
    if failure.inject is not None:
        failure.inject(sim)

    with pytest.raises(ModelArtsError) as caught:
        failure.call(harness)

    exc = caught.value
    assert type(exc) is failure.error, repr(exc)
    assert exc.status == failure.status
    if failure.code is not None:
        assert exc.error_code == failure.code
    assert failure.message in str(exc)
    assert harness.attempts == failure.attempts, harness.sleeps
    if failure.attempts > 1:
        assert f"(after {failure.attempts} attempts)" in str(exc)
    if failure.requests is not None:
        assert len(sim.requests(failure.endpoint)) == failure.requests
    if isinstance(exc, ModelArtsThrottled):
        assert exc.retry_after == 1.0
        assert harness.sleeps == [1.0, 1.0]  # Retry-After honoured, not the jittered backoff
    if failure.status is not None and 400 <= failure.status < 500 and failure.status != 429:
        assert harness.sleeps == []  # 4xx is never retried
    assert_error_is_clean(exc, harness, debug_log)


# --- retries that end well --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("error", {"status": 500}),
        ("error", {"status": 502}),
        ("error", {"status": 503}),
        ("error", {"status": 504}),
        ("throttle", {"retry_after": 1}),
        ("down", {}),
        ("reset", {}),
    ],
    ids=["500", "502", "503", "504", "429", "down", "reset"],
)
def test_transient_failures_are_retried_and_the_call_succeeds(
    modelarts_sim, harness_for, mode: str, kind: str, spec: dict
) -> None:
    sim = modelarts_sim
    harness = harness_for(sim, mode)
    sim.add_fault(kind, endpoint="list", count=2, **spec)

    page = harness.client.list_configs(per_page=5)

    assert page.config_total_count == 30 and len(page.configs) == 5
    assert len(sim.requests("list")) == 3
    assert len(harness.sleeps) == 2
    if kind == "throttle":
        assert harness.sleeps == [1.0, 1.0]
    else:  # full-jitter backoff: a random wait under a cap that doubles (0.5 s, then 1 s)
        assert 0 <= harness.sleeps[0] <= 0.5 and 0 <= harness.sleeps[1] <= 1.0


def test_a_timeout_is_retried_and_the_second_try_succeeds(modelarts_sim, harness_for) -> None:
    harness = harness_for(modelarts_sim, "aksk", timeout=0.3, max_retries=1)
    modelarts_sim.add_fault("slow", endpoint="detail", seconds=2, count=1)
    name = modelarts_sim.state.config_names()[0]

    assert harness.client.get_config(name).config_name == name
    assert len(harness.sleeps) == 1


# --- (e) IAM tokens ---------------------------------------------------------------------------------


def test_the_iam_token_is_cached_for_many_requests(modelarts_sim, harness_for) -> None:
    sim = modelarts_sim
    harness = harness_for(sim, "password")

    names = [s.config_name for s in harness.client.iter_configs(per_page=7)]  # 5 list requests
    for name in names[:10]:
        harness.client.get_config(name)

    assert len(names) == 30
    assert len(sim.requests("iam")) == 1 and harness.auth.fetch_count == 1
    assert len(sim.requests("list")) + len(sim.requests("detail")) == 15
    assert len({v for v in harness.auth.sent}) == 1  # the same token on every request


def test_token_expiry_mid_iteration_reauthenticates_once_and_the_listing_completes(
    modelarts_sim_factory, harness_for, debug_log
) -> None:
    sim = modelarts_sim_factory(configs=2500, samples=0)
    harness = harness_for(sim, "password")
    names: list[str] = []

    for summary in harness.client.iter_configs():
        names.append(summary.config_name)
        if len(names) == 1000:  # page 1 read, page 2 not yet requested
            assert sim.state.expire_tokens() >= 1

    assert len(names) == 2500 and set(names) == set(sim.state.config_names())
    assert [r.status for r in sim.requests("list")] == [200, 401, 200, 200]
    assert [r.query["page"] for r in sim.requests("list")] == ["1", "2", "2", "3"]
    assert len(sim.requests("iam")) == 2 and harness.auth.fetch_count == 2
    assert harness.sleeps == []  # the renewal is immediate, not a retry with backoff
    assert "retrying once with new credentials" in debug_log.text
    assert_no_secrets({"log": debug_log.text}, harness.secrets())


@pytest.mark.parametrize("mode", MODES)
def test_expired_tokens_per_auth_mode(modelarts_sim, harness_for, debug_log, mode: str) -> None:
    """AK/SK has no token; a password token is renewed; a static token can't be and fails at once."""
    sim = modelarts_sim
    harness = harness_for(sim, mode)
    harness.client.list_configs()
    sim.state.expire_tokens()
    sim.state.clear_requests()

    if mode == "token":
        with pytest.raises(ModelArtsAuthError) as caught:
            harness.client.list_configs()
        assert caught.value.status == 401 and caught.value.error_code == "APIG.0301"
        assert "token expires" in caught.value.message
        assert len(sim.requests("list")) == 1 and not sim.requests("iam")
        assert_error_is_clean(caught.value, harness, debug_log)
    else:
        assert harness.client.list_configs().config_total_count == 30
        assert len(sim.requests("iam")) == (1 if mode == "password" else 0)
        assert [r.status for r in sim.requests("list")] == ([401, 200] if mode == "password" else [200])
