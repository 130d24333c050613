"""Tests of the ModelArts simulator itself (``modelarts_sim``), against ``/work/shared/modelarts-api.md``.

Most tests call the WSGI application directly with a hand-built environ (fast, and the clock can
be fixed); the transport faults (reset, dropped connections, truncated bodies, refused
connections, timeouts) and concurrency are tested over loopback with ``requests``.
AK/SK requests are signed here by a minimal signer of the test's own, independent of
``modelarts_sim.signing``, and checked against the published vector C4 of §6.5.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import io
import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest import mock
from urllib.parse import quote, unquote, urlsplit
from wsgiref.util import setup_testing_defaults

import pytest
import requests
from django.core.management import call_command

from modelarts_sim import data
from modelarts_sim.app import SimulatorApp
from modelarts_sim.faults import AbortConnection
from modelarts_sim.state import SimulatorState

PROJECT = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
OTHER_PROJECT = "ffffffffffffffffffffffffffffffff"
CONFIGS = f"/v1/{PROJECT}/training-job-configs"
C4_AK = "HPUAEXAMPLEAK0000001"
C4_SK = "ExampleSecretKey0000000000000000000000000"
C4_TIME = datetime(2024, 5, 15, 8, 0, 0, tzinfo=UTC).timestamp()
C4_SIGNATURE = "1f1a1b365b2ec1bcf0f97c871947571b56e6f9bcdc405bf96f00652d7c38b0ee"
ISO_MICRO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
INVALID_ARGUMENT = {"is_success": False, "error_code": "ModelArts.0101", "error_message": "Invalid Argument."}
NOT_FOUND = {
    "is_success": False,
    "error_code": "ModelArts.0015",
    "error_message": "The resource you requested is not exist",
}


# --- helpers ---------------------------------------------------------------------------------------


class Clock:
    """A settable clock for the state (tokens, signatures, lockouts)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    app: SimulatorApp,
    method: str,
    raw_path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    raw_uri: bool = True,
    host: str = "127.0.0.1:8765",
) -> Result:
    """Call the WSGI app as wsgiref would (PATH_INFO percent-decoded as latin-1)."""
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ.update(
        REQUEST_METHOD=method,
        PATH_INFO=unquote(raw_path, encoding="latin-1"),
        QUERY_STRING=query,
        HTTP_HOST=host,
        CONTENT_LENGTH=str(len(body)) if body else "",
    )
    environ["wsgi.input"] = io.BytesIO(body)
    if raw_uri:
        environ["RAW_URI"] = raw_path + (f"?{query}" if query else "")
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    captured: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        captured["status"] = int(status.split()[0])
        captured["headers"] = dict(response_headers)

    chunks = app(environ, start_response)
    return Result(captured["status"], captured["headers"], b"".join(chunks))


def sign(
    method: str, url: str, *, ak: str, sk: str, date: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> dict[str, str]:
    """A minimal SDK-HMAC-SHA256 signer written for this test from §6.4 (not the simulator's)."""
    parts = urlsplit(url)
    signed = {k.lower(): v for k, v in (headers or {}).items()}
    signed.update({"host": parts.netloc, "x-sdk-date": date})

    def enc(text: str) -> str:
        return quote(text, safe="")

    path = "/".join(enc(unquote(seg)) for seg in parts.path.split("/"))
    path = path if path.endswith("/") else path + "/"
    pairs = sorted((unquote(k), unquote(v)) for k, _, v in (p.partition("=") for p in parts.query.split("&") if p))
    query = "&".join(f"{enc(k)}={enc(v)}" for k, v in pairs)
    names = sorted(signed)
    canonical = "\n".join(
        [
            method,
            path,
            query,
            "".join(f"{n}:{signed[n].strip()}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = f"SDK-HMAC-SHA256\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(sk.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    out = {**(headers or {}), "Host": parts.netloc, "X-Sdk-Date": date}
    out["Authorization"] = f"SDK-HMAC-SHA256 Access={ak}, SignedHeaders={';'.join(names)}, Signature={signature}"
    return out


def sdk_date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%dT%H%M%SZ")


@pytest.fixture
def clock() -> Clock:
    return Clock(C4_TIME)


@pytest.fixture
def state(clock: Clock) -> SimulatorState:
    return SimulatorState(configs=30, samples=20, seed=1, project_id=PROJECT, clock=clock)


@pytest.fixture
def app(state: SimulatorState) -> SimulatorApp:
    return SimulatorApp(state)


def get(app: SimulatorApp, path: str = CONFIGS, query: str = "", **kwargs: Any) -> Result:
    headers = {"X-Auth-Token": app.state.token, **kwargs.pop("headers", {})}
    return call(app, "GET", path, query=query, headers=headers, **kwargs)


def send(app: SimulatorApp, method: str, path: str, payload: Any) -> Result:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"X-Auth-Token": app.state.token, "Content-Type": "application/json"}
    return call(app, method, path, headers=headers, body=body)


def all_names(app: SimulatorApp, query: str = "") -> list[str]:
    result = get(app, query=f"per_page=1000{'&' + query if query else ''}").json()
    return [c["config_name"] for c in result["configs"]]


VALID_BODY = {
    "config_name": "resnet50-bs64",
    "config_desc": "created by a test",
    "worker_server_num": 1,
    "app_url": "/bucket/code/",
    "boot_file_url": "/bucket/code/train.py",
    "spec_id": 1,
    "engine_id": 3,
    "data_url": "/bucket/data/",
    "parameter": [{"label": "learning_rate", "value": "0.01"}, {"label": "batch_size", "value": 32}],
}


# --- seed data -------------------------------------------------------------------------------------


def test_same_seed_gives_the_same_data_and_another_seed_does_not() -> None:
    first, second, other = (SimulatorState(configs=200, samples=20, seed=s) for s in (7, 7, 8))
    assert first.config_names() == second.config_names()
    assert [first.get_config(n) for n in first.config_names()] == [second.get_config(n) for n in second.config_names()]
    assert first.secret_values() == second.secret_values()
    assert [first.get_config(n, "sample") for n in first.config_names("sample")] == [
        second.get_config(n, "sample") for n in second.config_names("sample")
    ]
    assert first.config_names()[12:] != other.config_names()[12:]


def test_ten_thousand_configs_have_unique_valid_names() -> None:
    state = SimulatorState(configs=10_000, samples=0, seed=3)
    names = state.config_names()
    assert len(names) == len(set(names)) == 10_000
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", n) for n in names)
    assert any(len(n) == 64 for n in names)


def test_list_items_hold_only_config_response_fields_and_match_the_detail(state: SimulatorState) -> None:
    total, items = state.list_configs(per_page=1000)
    assert total == 30
    for item in items:
        assert set(item) <= set(data.LIST_FIELDS)
        detail = state.get_config(item["config_name"])
        assert {k: detail[k] for k in item} == item


def test_seed_data_covers_the_edge_cases_the_dashboard_must_handle(state: SimulatorState) -> None:
    details = [state.get_config(n) for n in state.config_names()]
    descs = [d.get("config_desc", "") for d in details]
    assert "" in descs
    assert "<script>alert('x')</script>" in descs and "<img src=x onerror=alert(1)>" in descs
    assert any("<b>bold</b>" in d for d in descs)
    assert any(re.search(r"[\u4e00-\u9fff]", d) for d in descs)
    assert any(re.search(r"[\U0001F300-\U0001FAFF]", d) for d in descs)
    assert any(len(d["config_name"]) == 64 for d in details)
    assert all(len(d) <= 256 for d in descs)
    values = [p["value"] for d in details for p in d.get("parameter", [])]
    assert any(isinstance(v, int | float) for v in values) and any(isinstance(v, str) for v in values)
    assert any("model_id" in d and d["model_id"] and "app_url" not in d for d in details)
    assert any("parameter" not in d for d in details)
    assert any("flavor" in d for d in details) and any("npu_info" in d for d in details)
    assert any("volumes" in d for d in details) and any("nas_share_addr" in d for d in details)
    assert any("pool_id" in d for d in details)
    assert any(any("nfs" in v for v in d.get("volumes", [])) for d in details)
    assert any(any("host_path" in v for v in d.get("volumes", [])) for d in details)
    engines = {d.get("engine_name") for d in details}
    assert {"TensorFlow", "PyTorch", "Ascend-Powered-Engine", "Custom"} <= engines
    forms = {"data_url": 0, "dataset": 0, "data_source": 0}
    for d in details:
        present = [
            bool(d.get("data_url")),
            bool(d.get("dataset_id") and d.get("dataset_version_id")),
            bool(d.get("data_source")),
        ]
        assert sum(present) == 1, d["config_name"]  # §4: exactly one input form
        forms[("data_url", "dataset", "data_source")[present.index(True)]] += 1
    assert all(forms.values())


def test_seed_data_is_internally_consistent() -> None:
    state = SimulatorState(configs=1000, samples=20, seed=5)
    times = []
    for name in state.config_names():
        d = state.get_config(name)
        spec = data.SPECS_BY_ID[d["spec_id"]]
        assert {k: d[k] for k in spec.fields()} == spec.fields()
        assert 1 <= d["worker_server_num"] <= spec.max_num
        if "engine_id" in d:
            assert {k: d[k] for k in data.ENGINES_BY_ID[d["engine_id"]].fields()} == data.ENGINES_BY_ID[
                d["engine_id"]
            ].fields()
        if d.get("user_image_url"):
            assert "run_train.sh" in d["user_command"]
        times.append(d["create_time"])
    assert data.ANCHOR_MS - data.SPAN_MS <= min(times) and max(times) <= data.ANCHOR_MS
    assert max(times) - min(times) > 2 * 365 * 86_400_000  # spread over years


def test_sample_configs_have_no_secrets_and_some_lack_create_time(state: SimulatorState) -> None:
    samples = [state.get_config(n, "sample") for n in state.config_names("sample")]
    assert len(samples) == 20
    assert any("create_time" not in s for s in samples) and any("create_time" in s for s in samples)
    blob = json.dumps(samples)
    assert not any(secret in blob for secret in state.secret_values())


def test_secret_values_cover_every_form_and_all_appear_in_the_payloads(state: SimulatorState) -> None:
    secrets = state.secret_values()
    assert secrets
    for prefix in ("ghp_", "hf_", "sk-", "AKIA", "eyJ"):
        assert any(s.startswith(prefix) for s in secrets), prefix
    details = [state.get_config(n) for n in state.config_names()]
    commands = [d.get("user_command", "") for d in details]
    assert any(f"--password={s}" in c for c in commands for s in secrets)
    params = [p for d in details for p in d.get("parameter", [])]
    assert any(p["label"] == "EXTRA_ARG" and p["value"] in secrets for p in params)
    assert any(
        isinstance(p["value"], str)
        and re.search(r"://[^:/@]+:([^@]+)@", p["value"])
        and re.search(r"://[^:/@]+:([^@]+)@", p["value"]).group(1) in secrets
        for p in params
    )
    assert any(p["label"] == "DB_PASSWORD" and p["value"] in secrets for p in params)
    assert any(p["label"] in ("OBS_SK", "OBS_SECRET_KEY") and p["value"] in secrets for p in params)
    # Harmless look-alikes are there and are not secrets.
    assert any(p["label"] in ("max_tokens", "token_limit", "key_path") for p in params)
    assert not any(p["value"] in secrets for p in params if p["label"] in ("max_tokens", "token_limit", "key_path"))
    blob = json.dumps(details, ensure_ascii=False)
    assert all(s in blob for s in secrets)
    assert state.password in state.credential_values() and state.sk in state.credential_values()


# --- list ------------------------------------------------------------------------------------------


def test_list_defaults_to_ten_items_sorted_by_name_descending(app: SimulatorApp, state: SimulatorState) -> None:
    result = get(app)
    assert result.status == 200
    body = result.json()
    assert list(body) == ["is_success", "config_total_count", "configs"]
    assert body["is_success"] is True and body["config_total_count"] == 30
    names = [c["config_name"] for c in body["configs"]]
    assert names == sorted(state.config_names(), reverse=True)[:10]


@pytest.mark.parametrize(
    "query",
    [
        "per_page=0",
        "per_page=1001",
        "per_page=abc",
        "per_page=-1",
        "per_page=1.5",
        "per_page=",
        "page=0",
        "page=x",
        "page=-2",
        "sortBy=config_type",
        "sortBy=",
        "order=up",
        "order=ASC",
        "config_type=all",
        "sortBy=create_time&config_type=sample",
    ],
)
def test_bad_list_parameters_are_400_invalid_argument(app: SimulatorApp, query: str) -> None:
    result = get(app, query=query)
    assert result.status == 400
    assert result.json() == INVALID_ARGUMENT


def test_unknown_list_parameters_are_ignored(app: SimulatorApp) -> None:
    result = get(app, query="sort_by=create_time&limit=3&foo=bar")
    assert result.status == 200
    names = [c["config_name"] for c in result.json()["configs"]]
    assert names == all_names(app)[:10]  # still config_name desc: sort_by is not the API's name


def test_per_page_limits_and_page_past_the_end(app: SimulatorApp) -> None:
    assert len(get(app, query="per_page=1000").json()["configs"]) == 30
    assert len(get(app, query="per_page=1").json()["configs"]) == 1
    beyond = get(app, query="page=99&per_page=10")
    assert beyond.status == 200
    assert beyond.json() == {"is_success": True, "config_total_count": 30, "configs": []}


@pytest.mark.parametrize("sort_by", ["config_name", "config_desc", "create_time"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_sorting_by_each_key_breaks_ties_on_name_ascending(
    app: SimulatorApp, state: SimulatorState, sort_by: str, order: str
) -> None:
    twin = {**state.get_config(state.config_names()[0]), "config_desc": "same", "create_time": 1600000000000}
    for name in ("tie-b", "tie-a", "tie-c"):
        state.add_config({**twin, "config_name": name})
    items = get(app, query=f"per_page=1000&sortBy={sort_by}&order={order}").json()["configs"]
    assert len(items) == 33
    for a, b in zip(items, items[1:], strict=False):
        ka, kb = a.get(sort_by, ""), b.get(sort_by, "")
        if ka == kb:
            assert a["config_name"] < b["config_name"]
        else:
            assert (ka < kb) if order == "asc" else (ka > kb)
    ties = [i["config_name"] for i in items if i["config_name"].startswith("tie-")]
    if sort_by != "config_name":
        assert ties == ["tie-a", "tie-b", "tie-c"]


def test_order_defaults_to_desc_for_every_sort_key(app: SimulatorApp) -> None:
    default = get(app, query="sortBy=create_time&per_page=1000").json()["configs"]
    explicit = get(app, query="sortBy=create_time&order=desc&per_page=1000").json()["configs"]
    assert default == explicit
    assert default[0]["create_time"] >= default[-1]["create_time"]


def test_search_is_a_case_insensitive_substring_of_the_name(app: SimulatorApp, state: SimulatorState) -> None:
    expected = sorted((n for n in state.config_names() if "image" in n.lower()), reverse=True)
    assert len(expected) >= 2
    body = get(app, query="search_content=IMAGE&per_page=1000").json()
    assert body["config_total_count"] == len(expected)
    assert [c["config_name"] for c in body["configs"]] == expected
    # Descriptions are not searched, and a space is encoded as %20.
    assert get(app, query="search_content=ResNet-50%20baseline").json()["config_total_count"] == 0


def test_paging_2500_configs_takes_three_requests_of_1000(clock: Clock) -> None:
    state = SimulatorState(configs=2500, samples=0, seed=2, project_id=PROJECT, clock=clock)
    app = SimulatorApp(state)
    seen: list[str] = []
    page = 1
    while True:
        body = get(app, query=f"per_page=1000&page={page}").json()
        seen += [c["config_name"] for c in body["configs"]]
        if page * 1000 >= body["config_total_count"]:
            break
        page += 1
    listed = state.requests("list")
    assert len(listed) == 3 and [r.query["page"] for r in listed] == ["1", "2", "3"]
    assert len(seen) == len(set(seen)) == 2500 and set(seen) == set(state.config_names())


def test_sample_configs_are_listed_separately(app: SimulatorApp, state: SimulatorState) -> None:
    body = get(app, query="config_type=sample&per_page=100&sortBy=config_desc&order=asc").json()
    assert body["config_total_count"] == 20
    assert {c["config_name"] for c in body["configs"]} == set(state.config_names("sample"))
    assert any("create_time" not in c for c in body["configs"])


# --- detail ----------------------------------------------------------------------------------------


def test_detail_returns_every_field_including_undocumented_extras(app: SimulatorApp, state: SimulatorState) -> None:
    result = get(app, f"{CONFIGS}/bert-base-zh-ner-ascend", "config_type=custom")
    assert result.status == 200
    body = result.json()
    assert body["is_success"] is True
    assert body == {"is_success": True, **state.get_config("bert-base-zh-ner-ascend")}
    assert "npu_info" in body and "flavor" in body
    assert body["spec_code"] == "modelarts.bm.npu.arm.8snt9.d"
    resnet = get(app, f"{CONFIGS}/resnet50-imagenet-bs256").json()
    assert {"label": "learning_rate", "value": 0.1} in resnet["parameter"]  # the numeric-value quirk


def test_detail_of_a_missing_config_is_404(app: SimulatorApp, state: SimulatorState) -> None:
    assert get(app, f"{CONFIGS}/no-such-config").status == 404
    assert get(app, f"{CONFIGS}/no-such-config").json() == NOT_FOUND
    custom_name = state.config_names()[0]
    assert get(app, f"{CONFIGS}/{custom_name}", "config_type=sample").json() == NOT_FOUND
    sample_name = state.config_names("sample")[0]
    assert get(app, f"{CONFIGS}/{sample_name}", "config_type=sample").status == 200
    assert get(app, f"{CONFIGS}/{sample_name}", "config_type=other").json() == INVALID_ARGUMENT


# --- create / modify / delete ------------------------------------------------------------------------


def test_create_then_read_it_back(app: SimulatorApp, state: SimulatorState, clock: Clock) -> None:
    result = send(app, "POST", CONFIGS, VALID_BODY)
    assert (result.status, result.json()) == (200, {"is_success": True})
    detail = get(app, f"{CONFIGS}/resnet50-bs64").json()
    assert detail["config_desc"] == "created by a test"
    assert detail["create_time"] == int(clock.now * 1000)
    assert detail["spec_code"] == "modelarts.vm.cpu.2u" and detail["engine_version"] == "TF-1.8.0-python2.7"
    assert detail["parameter"] == VALID_BODY["parameter"]
    assert get(app).json()["config_total_count"] == 31


def test_create_with_model_id_needs_no_code_directory(app: SimulatorApp) -> None:
    body = {k: v for k, v in VALID_BODY.items() if k not in ("app_url", "boot_file_url", "engine_id")}
    result = send(app, "POST", CONFIGS, {**body, "config_name": "builtin-model", "model_id": 7})
    assert result.status == 200
    assert "app_url" not in get(app, f"{CONFIGS}/builtin-model").json()


@pytest.mark.parametrize(
    "change",
    [
        {"config_name": "x" * 65},
        {"config_name": "has space"},
        {"config_name": "dots.not.allowed"},
        {"config_name": ""},
        {"config_name": None},
        {"worker_server_num": None},
        {"worker_server_num": 0},
        {"worker_server_num": 999},
        {"spec_id": 12345},
        {"spec_id": None},
        {"engine_id": 999},
        {"boot_file_url": None},
        {"app_url": None, "boot_file_url": None},
        {"data_url": None},
        {"data_source": [{"type": "obs", "data_url": "/b/d/"}]},
        {"data_url": None, "dataset_id": "abc"},
        {"data_url": None, "data_source": [{"type": "s3", "data_url": "/x/"}]},
        {"config_desc": "d" * 257},
        {"parameter": [{"value": "no label"}]},
        {"parameter": "lr=1"},
        {"user_image_url": "swr.cn-north-4.myhuaweicloud.com/a/b:1", "user_command": "python train.py"},
    ],
)
def test_create_validation_errors_are_400(app: SimulatorApp, change: dict[str, Any]) -> None:
    body = {k: v for k, v in {**VALID_BODY, **change}.items() if v is not None}
    result = send(app, "POST", CONFIGS, body)
    assert (result.status, result.json()) == (400, INVALID_ARGUMENT)
    assert get(app).json()["config_total_count"] == 30


def test_create_rejects_a_body_that_is_not_json_and_a_duplicate_name(app: SimulatorApp) -> None:
    assert send(app, "POST", CONFIGS, b"{not json").json() == INVALID_ARGUMENT
    assert send(app, "POST", CONFIGS, b"[1, 2]").json() == INVALID_ARGUMENT
    assert send(app, "POST", CONFIGS, VALID_BODY).status == 200
    duplicate = send(app, "POST", CONFIGS, VALID_BODY)
    assert (duplicate.status, duplicate.json()) == (400, INVALID_ARGUMENT)


def test_create_accepts_a_64_character_name_and_the_dataset_forms(app: SimulatorApp) -> None:
    base = {k: v for k, v in VALID_BODY.items() if k != "data_url"}
    assert send(app, "POST", CONFIGS, {**base, "config_name": "a" * 64, "data_url": "/b/d/"}).status == 200
    assert (
        send(app, "POST", CONFIGS, {**base, "config_name": "ds", "dataset_id": "x", "dataset_version_id": "y"}).status
        == 200
    )
    sources = [{"type": "obs", "data_url": "/b/d/"}, {"type": "dataset", "dataset_id": "x", "dataset_version": "v"}]
    assert send(app, "POST", CONFIGS, {**base, "config_name": "src", "data_source": sources}).status == 200
    assert get(app, f"{CONFIGS}/src").json()["data_source"][1]["dataset_version"] == "v"


def test_modify_replaces_the_config_and_keeps_create_time(app: SimulatorApp, state: SimulatorState) -> None:
    name = "resnet50-imagenet-bs256"
    created = state.get_config(name)["create_time"]
    body = {k: v for k, v in VALID_BODY.items() if k != "config_name"}
    result = send(app, "PUT", f"{CONFIGS}/{name}", {**body, "config_desc": "changed", "worker_server_num": 2})
    assert (result.status, result.json()) == (200, {"is_success": True})
    detail = get(app, f"{CONFIGS}/{name}").json()
    assert detail["config_desc"] == "changed" and detail["worker_server_num"] == 2
    assert detail["create_time"] == created
    assert "volumes" not in detail  # PUT replaces the whole config
    assert send(app, "PUT", f"{CONFIGS}/missing", body).json() == NOT_FOUND
    assert send(app, "PUT", f"{CONFIGS}/{name}", {**body, "spec_id": 999}).json() == INVALID_ARGUMENT


def test_delete_then_detail_is_404_and_samples_are_read_only(app: SimulatorApp, state: SimulatorState) -> None:
    name = state.config_names()[3]
    result = call(app, "DELETE", f"{CONFIGS}/{name}", headers={"X-Auth-Token": state.token})
    assert (result.status, result.json()) == (200, {"is_success": True})
    assert get(app, f"{CONFIGS}/{name}").json() == NOT_FOUND
    again = call(app, "DELETE", f"{CONFIGS}/{name}", headers={"X-Auth-Token": state.token})
    assert (again.status, again.json()) == (404, NOT_FOUND)
    sample = state.config_names("sample")[0]
    assert call(app, "DELETE", f"{CONFIGS}/{sample}", headers={"X-Auth-Token": state.token}).status == 404
    assert state.get_config(sample, "sample") is not None


# --- routing, project id, request ids ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/x/training-jobs"),
        ("GET", "/"),
        ("PATCH", CONFIGS + "/resnet50-imagenet-bs256"),
        ("DELETE", CONFIGS),
        ("GET", CONFIGS + "/"),
        ("GET", "/v3/auth/tokens"),
    ],
)
def test_unknown_paths_and_methods_are_404_apig_0101(app: SimulatorApp, method: str, path: str) -> None:
    result = call(app, method, path, headers={"X-Auth-Token": app.state.token})
    assert result.status == 404
    body = result.json()
    assert body["error_code"] == "APIG.0101"
    assert body["error_msg"] == "The API does not exist or has not been published in the environment."
    assert body["request_id"] == result.headers["X-Request-Id"]


def test_every_response_has_a_request_id(app: SimulatorApp) -> None:
    results = [get(app), get(app, f"{CONFIGS}/nope"), call(app, "GET", CONFIGS), call(app, "GET", "/_sim/faults")]
    ids = [r.headers["X-Request-Id"] for r in results]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and len(set(ids)) == 4


def test_a_wrong_project_id_is_rejected(app: SimulatorApp) -> None:
    mismatch = get(app, f"/v1/{OTHER_PROJECT}/training-job-configs")
    assert mismatch.status == 403
    assert mismatch.json()["error_code"] == "ModelArts.0210"
    malformed = get(app, "/v1/not-a-project/training-job-configs")
    assert (malformed.status, malformed.json()["error_code"]) == (400, "ModelArts.0210")


# --- authentication: tokens --------------------------------------------------------------------------


def token_body(state: SimulatorState, *, password: str | None = None, scope: dict | None = None) -> dict:
    user = {"name": state.username, "password": password or state.password, "domain": {"name": state.domain}}
    return {
        "auth": {
            "identity": {"methods": ["password"], "password": {"user": user}},
            "scope": scope or {"project": {"id": state.project_id}},
        }
    }


def test_missing_or_unknown_token_is_401_apig_0301(app: SimulatorApp) -> None:
    missing = call(app, "GET", CONFIGS)
    assert missing.status == 401
    assert missing.json()["error_code"] == "APIG.0301"
    assert missing.json()["error_msg"] == "Incorrect IAM authentication information: x-auth-token not found"
    unknown = call(app, "GET", CONFIGS, headers={"X-Auth-Token": "MIIbogus"})
    assert unknown.status == 401 and "decrypt token fail" in unknown.json()["error_msg"]


def test_iam_issues_a_project_token_that_the_api_accepts(app: SimulatorApp, state: SimulatorState) -> None:
    result = send(app, "POST", "/v3/auth/tokens", token_body(state))
    assert result.status == 201
    token = result.headers["X-Subject-Token"]
    assert token.startswith("MII") and len(token) > 2000
    body = result.json()["token"]
    assert ISO_MICRO_Z.match(body["expires_at"]) and ISO_MICRO_Z.match(body["issued_at"])
    assert body["methods"] == ["password"]
    assert body["user"]["name"] == state.username and body["user"]["domain"]["name"] == state.domain
    assert body["project"]["id"] == PROJECT and body["roles"]
    assert body["catalog"][0]["endpoints"][0]["url"] == f"http://127.0.0.1:8765/v1/{PROJECT}"
    listed = call(app, "GET", CONFIGS, headers={"X-Auth-Token": token})
    assert listed.status == 200
    assert state.requests("list")[-1].auth == "token"


def test_iam_scope_by_project_name_and_nocatalog(app: SimulatorApp, state: SimulatorState) -> None:
    body = token_body(state, scope={"project": {"name": state.region}})
    result = call(
        app,
        "POST",
        "/v3/auth/tokens",
        query="nocatalog=true",
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json;charset=utf8"},
    )
    assert result.status == 201
    assert "catalog" not in result.json()["token"]


def test_iam_wrong_password_is_a_keystone_401(app: SimulatorApp, state: SimulatorState) -> None:
    result = send(app, "POST", "/v3/auth/tokens", token_body(state, password="wrong"))
    assert result.status == 401
    body = result.json()
    assert body["error"]["code"] == 401 and body["error"]["title"] == "Unauthorized" and body["error"]["message"]
    assert body["error_code"] == "IAM.0062"
    assert "X-Subject-Token" not in result.headers


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        {"auth": {}},
        {"auth": {"identity": {"methods": ["token"]}, "scope": {"project": {"id": PROJECT}}}},
        {
            "auth": {
                "identity": {"methods": ["password"], "password": {"user": {"name": "sim-user"}}},
                "scope": {"project": {"id": PROJECT}},
            }
        },
        {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": "sim-user", "password": "sim-password-0000", "domain": {"name": "sim-account"}}
                    },
                }
            }
        },
    ],
)
def test_iam_rejects_malformed_requests_with_400(app: SimulatorApp, payload: Any) -> None:
    result = send(app, "POST", "/v3/auth/tokens", payload)
    assert result.status == 400
    assert result.json()["error"]["code"] == 400 and result.json()["error"]["title"] == "Bad Request"


def test_a_domain_scoped_token_cannot_call_modelarts(app: SimulatorApp, state: SimulatorState) -> None:
    result = send(app, "POST", "/v3/auth/tokens", token_body(state, scope={"domain": {"name": state.domain}}))
    assert result.status == 201 and "project" not in result.json()["token"]
    listed = call(app, "GET", CONFIGS, headers={"X-Auth-Token": result.headers["X-Subject-Token"]})
    assert (listed.status, listed.json()["error_code"]) == (400, "ModelArts.0204")


def test_tokens_expire_after_their_lifetime(clock: Clock) -> None:
    state = SimulatorState(configs=3, samples=0, project_id=PROJECT, clock=clock, token_lifetime=600)
    app = SimulatorApp(state)
    token = send(app, "POST", "/v3/auth/tokens", token_body(state)).headers["X-Subject-Token"]
    clock.now += 599
    assert call(app, "GET", CONFIGS, headers={"X-Auth-Token": token}).status == 200
    clock.now += 2
    expired = call(app, "GET", CONFIGS, headers={"X-Auth-Token": token})
    assert expired.status == 401
    assert expired.json()["error_code"] == "APIG.0301"
    assert expired.json()["error_msg"].startswith(
        "Incorrect IAM authentication information: token expires, expires_at: "
    )
    assert call(app, "GET", CONFIGS, headers={"X-Auth-Token": state.token}).status == 200  # static token


def test_expire_tokens_ends_issued_and_static_tokens_now(app: SimulatorApp, state: SimulatorState) -> None:
    token = send(app, "POST", "/v3/auth/tokens", token_body(state)).headers["X-Subject-Token"]
    assert call(app, "POST", "/_sim/tokens/expire").json()["expired"] == 2
    for t in (token, state.token):
        assert "token expires" in call(app, "GET", CONFIGS, headers={"X-Auth-Token": t}).json()["error_msg"]
    fresh = send(app, "POST", "/v3/auth/tokens", token_body(state)).headers["X-Subject-Token"]
    assert call(app, "GET", CONFIGS, headers={"X-Auth-Token": fresh}).status == 200


# --- authentication: AK/SK ----------------------------------------------------------------------------


@pytest.fixture
def c4_app() -> SimulatorApp:
    state = SimulatorState(configs=60, samples=0, project_id=PROJECT, ak=C4_AK, sk=C4_SK, clock=Clock(C4_TIME))
    return SimulatorApp(state)


def c4_headers(signature: str = C4_SIGNATURE) -> dict[str, str]:
    return {
        "Host": "127.0.0.1:8765",
        "X-Sdk-Date": "20240515T080000Z",
        "Authorization": f"SDK-HMAC-SHA256 Access={C4_AK}, SignedHeaders=host;x-sdk-date, Signature={signature}",
    }


@pytest.mark.parametrize("raw_uri", [True, False])
def test_the_published_c4_vector_is_accepted(c4_app: SimulatorApp, raw_uri: bool) -> None:
    result = call(c4_app, "GET", CONFIGS, query="page=2&per_page=50", headers=c4_headers(), raw_uri=raw_uri)
    assert result.status == 200
    assert len(result.json()["configs"]) == 10
    assert c4_app.state.requests()[-1].auth == "aksk"


@pytest.mark.parametrize(
    "tamper",
    [
        {"query": "page=3&per_page=50"},
        {"headers": {**c4_headers(), "Host": "127.0.0.1:8766"}},
        {"headers": {**c4_headers(), "X-Sdk-Date": "20240515T080001Z"}},
        {"headers": c4_headers("0" * 64)},
        {
            "headers": {
                **c4_headers(),
                "Authorization": c4_headers()["Authorization"].replace("host;x-sdk-date", "x-sdk-date"),
            }
        },
        {"headers": {**c4_headers(), "Authorization": f"SDK-HMAC-SHA256 Credential={C4_AK}/20240515//ec2/sdk_request"}},
    ],
)
def test_a_tampered_signature_is_rejected(c4_app: SimulatorApp, tamper: dict[str, Any]) -> None:
    kwargs = {"query": "page=2&per_page=50", "headers": c4_headers(), **tamper}
    result = call(c4_app, "GET", CONFIGS, **kwargs)
    assert result.status == 401
    assert result.json()["error_code"] == "APIG.0301"
    assert result.json()["error_msg"] == "Incorrect IAM authentication information: verify aksk signature fail"


def test_an_unknown_access_key_is_reported(c4_app: SimulatorApp) -> None:
    headers = sign("GET", f"http://127.0.0.1:8765{CONFIGS}", ak="NOSUCHAK000000000000", sk="x", date="20240515T080000Z")
    result = call(c4_app, "GET", CONFIGS, headers=headers)
    assert result.status == 401
    assert "Get secretKey failed" in result.json()["error_msg"] and "ak not exist" in result.json()["error_msg"]


def test_a_signature_older_than_15_minutes_is_rejected(c4_app: SimulatorApp) -> None:
    url = f"http://127.0.0.1:8765{CONFIGS}"
    fresh = sign("GET", url, ak=C4_AK, sk=C4_SK, date=sdk_date(C4_TIME - 14 * 60))
    stale = sign("GET", url, ak=C4_AK, sk=C4_SK, date=sdk_date(C4_TIME - 16 * 60))
    assert call(c4_app, "GET", CONFIGS, headers=fresh).status == 200
    assert call(c4_app, "GET", CONFIGS, headers=stale).status == 401


def test_signed_body_extra_headers_and_a_name_that_needs_quoting(c4_app: SimulatorApp) -> None:
    date = "20240515T080000Z"
    body = json.dumps({**VALID_BODY, "config_name": "signed-post"}).encode()
    headers = sign(
        "POST",
        f"http://127.0.0.1:8765{CONFIGS}",
        ak=C4_AK,
        sk=C4_SK,
        date=date,
        body=body,
        headers={"Content-Type": "application/json;charset=utf8", "X-Project-Id": PROJECT},
    )
    assert call(c4_app, "POST", CONFIGS, headers=headers, body=body).status == 200
    assert (
        call(c4_app, "POST", CONFIGS, headers=headers, body=body.replace(b"signed-post", b"signed-p0st")).status == 401
    )
    raw_path = f"{CONFIGS}/{quote('résumé model (v2)', safe='')}"
    for raw_uri in (True, False):
        headers = sign("GET", f"http://127.0.0.1:8765{raw_path}?config_type=custom", ak=C4_AK, sk=C4_SK, date=date)
        result = call(c4_app, "GET", raw_path, query="config_type=custom", headers=headers, raw_uri=raw_uri)
        assert (result.status, result.json()) == (404, NOT_FOUND)  # signature accepted; no such config
    query = "search_content=resnet%2050&sortBy=create_time"
    headers = sign("GET", f"http://127.0.0.1:8765{CONFIGS}?{query}", ak=C4_AK, sk=C4_SK, date=date)
    assert call(c4_app, "GET", CONFIGS, query=query, headers=headers).status == 200


def test_x_project_id_must_match_the_path(c4_app: SimulatorApp) -> None:
    headers = sign(
        "GET",
        f"http://127.0.0.1:8765{CONFIGS}",
        ak=C4_AK,
        sk=C4_SK,
        date="20240515T080000Z",
        headers={"X-Project-Id": OTHER_PROJECT},
    )
    result = call(c4_app, "GET", CONFIGS, headers=headers)
    assert (result.status, result.json()["error_code"]) == (403, "ModelArts.0210")


def test_five_failures_lock_the_access_key_for_five_minutes(c4_app: SimulatorApp) -> None:
    clock = c4_app.state._clock
    for _ in range(5):
        assert (
            "verify aksk signature fail"
            in call(c4_app, "GET", CONFIGS, headers=c4_headers("1" * 64)).json()["error_msg"]
        )
    locked = call(c4_app, "GET", CONFIGS, query="page=2&per_page=50", headers=c4_headers())
    assert locked.status == 401
    assert (
        locked.json()["error_msg"]
        == "Incorrect IAM authentication information: AK access failed to reach the limit,forbidden"
    )
    clock.now += 301
    headers = sign("GET", f"http://127.0.0.1:8765{CONFIGS}", ak=C4_AK, sk=C4_SK, date=sdk_date(clock.now))
    assert call(c4_app, "GET", CONFIGS, headers=headers).status == 200


def test_a_success_resets_the_failure_count(c4_app: SimulatorApp) -> None:
    for _ in range(4):
        call(c4_app, "GET", CONFIGS, headers=c4_headers("1" * 64))
    assert call(c4_app, "GET", CONFIGS, query="page=2&per_page=50", headers=c4_headers()).status == 200
    for _ in range(4):
        call(c4_app, "GET", CONFIGS, headers=c4_headers("1" * 64))
    assert call(c4_app, "GET", CONFIGS, query="page=2&per_page=50", headers=c4_headers()).status == 200


def test_reject_aksk_fault_fails_correct_signatures(c4_app: SimulatorApp) -> None:
    c4_app.state.add_fault("reject_aksk", count=1)
    assert call(c4_app, "GET", CONFIGS, query="page=2&per_page=50", headers=c4_headers()).status == 401
    assert call(c4_app, "GET", CONFIGS, query="page=2&per_page=50", headers=c4_headers()).status == 200


# --- faults (through the WSGI app) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "shape", "code"),
    [
        (500, "modelarts", "ModelArts.0010"),
        (502, "gateway", "APIG.0202"),
        (503, "modelarts", "ModelArts.4700"),
        (504, "gateway", "APIG.0203"),
    ],
)
def test_error_fault_answers_with_the_status_and_a_proper_body(
    app: SimulatorApp, status: int, shape: str, code: str
) -> None:
    app.state.add_fault("error", status=status, count=2)
    for _ in range(2):
        result = get(app)
        assert result.status == status
        body = result.json()
        assert body["error_code"] == code
        if shape == "modelarts":
            assert body["is_success"] is False and body["error_message"]
        else:
            assert body["error_msg"] and body["request_id"] == result.headers["X-Request-Id"]
    assert get(app).status == 200  # count used up
    assert [f.fired for f in app.state.faults()] == [2]


def test_error_fault_limited_to_an_endpoint_and_a_rate(app: SimulatorApp, state: SimulatorState) -> None:
    state.add_fault("error", endpoint="detail", status=503)
    assert get(app).status == 200
    assert get(app, f"{CONFIGS}/{state.config_names()[0]}").status == 503
    state.clear_faults()
    state.add_fault("error", endpoint="list", rate=0.5, status=500)
    statuses = {get(app).status for _ in range(60)}
    assert statuses == {200, 500}


def test_fail_list_pages_fails_the_chosen_and_the_last_page(app: SimulatorApp) -> None:
    app.state.add_fault("fail_list_pages", pages=[1, "last"], status=502)
    assert get(app, query="page=1").status == 502
    assert get(app, query="page=2").status == 200
    assert get(app, query="page=3").status == 502  # 30 configs, 10 per page
    assert get(app, query="page=4").status == 200


def test_throttle_burst_gives_429_with_retry_after(app: SimulatorApp) -> None:
    app.state.add_fault("throttle", count=3, retry_after=4)
    for _ in range(3):
        result = get(app)
        assert result.status == 429 and result.headers["Retry-After"] == "4"
        assert result.json()["error_code"] == "APIG.0308"
        assert result.json()["error_msg"].startswith("The throttling threshold has been reached")
    assert get(app).status == 200


def test_malformed_truncated_and_is_success_false_bodies(app: SimulatorApp) -> None:
    app.state.add_fault("malformed", count=1)
    result = get(app)
    assert result.status == 200 and result.headers["Content-Type"] == "text/html"
    with pytest.raises(ValueError):
        result.json()
    app.state.add_fault("truncated", count=1)
    result = get(app)
    assert int(result.headers["Content-Length"]) > len(result.body)
    app.state.add_fault("truncated", mode="half_json", count=1)
    result = get(app)
    assert int(result.headers["Content-Length"]) == len(result.body)
    with pytest.raises(ValueError):
        result.json()
    app.state.add_fault("is_success_false", count=1)
    result = get(app)
    assert result.status == 200 and result.json()["is_success"] is False and result.json()["error_code"]
    assert get(app).json()["is_success"] is True


def test_vanish_lists_a_config_whose_detail_is_404(app: SimulatorApp, state: SimulatorState) -> None:
    name = state.config_names()[5]
    state.add_fault("vanish", names=[name])
    assert name in all_names(app)
    assert get(app, f"{CONFIGS}/{name}").json() == NOT_FOUND
    assert get(app, f"{CONFIGS}/{state.config_names()[6]}").status == 200


def test_down_and_reset_abort_the_connection(app: SimulatorApp) -> None:
    for kind in ("down", "reset"):
        app.state.add_fault(kind, count=1)
        with pytest.raises(AbortConnection):
            get(app)
        assert app.state.requests()[-1].status == 0 and app.state.requests()[-1].faults == (kind,)
    assert get(app).status == 200


def test_churn_changes_the_total_between_pages(app: SimulatorApp) -> None:
    app.state.add_fault("churn", add=5, remove=1, count=1)
    first = get(app, query="page=1").json()["config_total_count"]
    second = get(app, query="page=2").json()["config_total_count"]
    assert (first, second) == (34, 34)
    app.state.add_fault("churn", add=0, remove=2)
    assert get(app).json()["config_total_count"] == 32
    assert get(app).json()["config_total_count"] == 30


def test_latency_and_slow_faults_are_recorded(app: SimulatorApp) -> None:
    app.state.add_fault("latency", ms=1, jitter_ms=1, count=1)
    app.state.add_fault("slow", seconds=0.01, count=1)
    assert get(app).status == 200
    assert app.state.requests()[-1].faults == ("latency", "slow")


def test_faults_reject_bad_specs(state: SimulatorState) -> None:
    for kind, spec in [
        ("nope", {}),
        ("error", {"status": 200}),
        ("error", {"rate": 2}),
        ("error", {"endpoint": "x"}),
        ("latency", {"ms": -1}),
        ("truncated", {"mode": "x"}),
        ("error", {"colour": "red"}),
        ("fail_list_pages", {"pages": [0]}),
        ("throttle", {"count": -1}),
    ]:
        with pytest.raises(ValueError):
            state.add_fault(kind, **spec)


# --- request log and control endpoints --------------------------------------------------------------


def test_the_request_log_records_method_path_query_auth_and_status(app: SimulatorApp, state: SimulatorState) -> None:
    get(app, query="page=2&per_page=5&sortBy=create_time")
    call(app, "GET", CONFIGS)
    get(app, f"{CONFIGS}/missing")
    call(app, "GET", "/_sim/requests")  # control requests are not recorded
    records = state.requests()
    assert [(r.endpoint, r.auth, r.status) for r in records] == [
        ("list", "token", 200),
        ("list", "none", 401),
        ("detail", "token", 404),
    ]
    assert records[0].method == "GET" and records[0].path == CONFIGS
    assert records[0].query == {"page": "2", "per_page": "5", "sortBy": "create_time"}
    assert records[2].config_name == "missing"
    listed = call(app, "GET", "/_sim/requests", query="endpoint=list").json()
    assert listed["count"] == 2
    call(app, "DELETE", "/_sim/requests")
    assert state.requests() == []


def test_control_faults_endpoint(app: SimulatorApp, state: SimulatorState) -> None:
    added = call(
        app,
        "POST",
        "/_sim/faults",
        body=json.dumps({"kind": "error", "endpoint": "list", "status": 504, "count": 1}).encode(),
    )
    assert added.status == 200
    fault = added.json()["faults"][0]
    assert fault["kind"] == "error" and fault["status"] == 504 and fault["count"] == 1
    assert call(app, "GET", "/_sim/faults").json()["faults"][0]["id"] == fault["id"]
    assert get(app).status == 504
    assert call(app, "GET", "/_sim/faults").json()["faults"][0]["active"] is False
    call(app, "POST", "/_sim/faults", body=json.dumps({"faults": [{"kind": "throttle"}, {"kind": "down"}]}).encode())
    assert len(state.faults()) == 3
    assert call(app, "DELETE", f"/_sim/faults/{fault['id']}").status == 200
    assert call(app, "DELETE", "/_sim/faults/9999").status == 404
    assert call(app, "POST", "/_sim/faults", body=b'{"kind": "nope"}').status == 400
    call(app, "DELETE", "/_sim/faults")
    assert state.faults() == []


def test_control_configs_endpoint_mutates_data(app: SimulatorApp, state: SimulatorState) -> None:
    name, other = state.config_names()[0], state.config_names()[1]
    actions = [
        {"action": "update", "config_name": name, "changes": {"config_desc": "changed upstream", "pool_id": None}},
        {"action": "delete", "config_name": other},
        {"action": "add", "config": {"config_name": "added-upstream", "config_desc": "new", "engine_id": 3}},
        {"action": "generate", "count": 2},
    ]
    result = call(app, "POST", "/_sim/configs", body=json.dumps(actions).encode())
    assert result.status == 200 and result.json()["count"] == 32
    assert get(app, f"{CONFIGS}/{name}").json()["config_desc"] == "changed upstream"
    assert "pool_id" not in state.get_config(name)
    assert get(app, f"{CONFIGS}/{other}").status == 404
    assert get(app, f"{CONFIGS}/added-upstream").json()["create_time"] > 0
    listing = call(app, "GET", "/_sim/configs").json()
    assert listing["count"] == 32 and "added-upstream" in listing["names"]
    assert call(app, "GET", f"/_sim/configs/{name}").json()["config_desc"] == "changed upstream"
    bad = call(app, "POST", "/_sim/configs", body=b'{"action": "update", "config_name": "nope", "changes": {}}')
    assert bad.status == 400


def test_reset_restores_seed_data_and_start_up_faults(app: SimulatorApp, state: SimulatorState) -> None:
    state.configure(throttle_burst=1)
    original = state.config_names()
    get(app)
    state.delete_config(original[0])
    state.add_fault("error", status=500)
    assert call(app, "POST", "/_sim/reset").status == 200
    assert state.config_names() == original and state.requests() == []
    assert [f.kind for f in state.faults()] == ["throttle"]
    assert get(app).status == 429 and get(app).status == 200


def test_control_info_secrets_and_clock(app: SimulatorApp, state: SimulatorState) -> None:
    info = call(app, "GET", "/_sim/").json()
    assert info["project_id"] == PROJECT and info["configs"] == {"custom": 30, "sample": 20}
    assert info["env"]["token"]["MODELARTS_TOKEN"] == state.token
    assert set(call(app, "GET", "/_sim/secrets").json()["secret_values"]) == state.secret_values()
    before = state.now()
    assert call(app, "POST", "/_sim/clock", body=b'{"advance": 90}').json()["now"] == before + 90
    assert call(app, "GET", "/_sim/nope").status == 404
    assert call(app, "POST", "/_sim/refuse").status == 409  # no server around a bare app


# --- over loopback ------------------------------------------------------------------------------------


def test_fixture_env_for_each_auth_mode(modelarts_sim: Any) -> None:
    assert modelarts_sim.env("aksk") == {
        "MODELARTS_ENDPOINT": modelarts_sim.url,
        "MODELARTS_PROJECT_ID": modelarts_sim.project_id,
        "MODELARTS_REGION": modelarts_sim.region,
        "MODELARTS_AK": modelarts_sim.ak,
        "MODELARTS_SK": modelarts_sim.sk,
    }
    assert modelarts_sim.env("password")["MODELARTS_IAM_ENDPOINT"] == modelarts_sim.url
    assert modelarts_sim.env("password")["MODELARTS_PASSWORD"] == modelarts_sim.password
    assert modelarts_sim.env("token")["MODELARTS_TOKEN"] == modelarts_sim.token
    with pytest.raises(ValueError):
        modelarts_sim.env("kerberos")


def test_signed_requests_over_loopback(modelarts_sim: Any) -> None:
    url = f"{modelarts_sim.configs_url}?per_page=5&search_content=resnet%2050"
    headers = sign("GET", url, ak=modelarts_sim.ak, sk=modelarts_sim.sk, date=sdk_date(modelarts_sim.state.now()))
    result = requests.get(url, headers=headers, timeout=5)
    assert result.status_code == 200 and result.json()["is_success"] is True
    token = requests.post(f"{modelarts_sim.url}/v3/auth/tokens", json=token_body(modelarts_sim.state), timeout=5)
    assert token.status_code == 201
    detail = requests.get(
        f"{modelarts_sim.configs_url}/resnet50-imagenet-bs256",
        headers={"X-Auth-Token": token.headers["X-Subject-Token"]},
        timeout=5,
    )
    assert detail.status_code == 200 and detail.json()["config_name"] == "resnet50-imagenet-bs256"


def test_sixteen_concurrent_clients_are_served_in_parallel(modelarts_sim_factory: Any) -> None:
    sim = modelarts_sim_factory(latency_ms=50)
    barrier = threading.Barrier(16)
    statuses: list[int] = []

    def client() -> None:
        barrier.wait()
        with requests.Session() as session:
            statuses.append(session.get(sim.configs_url, headers={"X-Auth-Token": sim.token}, timeout=10).status_code)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 16
    assert sim.state.max_in_flight > 1  # requests overlapped: the server does not serialise them


def test_transport_faults_over_loopback(modelarts_sim: Any) -> None:
    headers = {"X-Auth-Token": modelarts_sim.token}
    url = modelarts_sim.configs_url
    modelarts_sim.add_fault("reset", count=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(url, headers=headers, timeout=5)
    modelarts_sim.add_fault("down", count=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(url, headers=headers, timeout=5)
    modelarts_sim.add_fault("truncated", count=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, headers=headers, timeout=5)
    modelarts_sim.add_fault("slow", seconds=5, count=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url, headers=headers, timeout=0.3)
    assert requests.get(url, headers=headers, timeout=5).status_code == 200


def test_refused_connections_and_recovery(modelarts_sim: Any) -> None:
    headers = {"X-Auth-Token": modelarts_sim.token}
    url = modelarts_sim.configs_url
    assert requests.post(f"{modelarts_sim.url}/_sim/refuse", json={"seconds": 60}, timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(url, headers=headers, timeout=5)
    modelarts_sim.server.accept_connections()
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    modelarts_sim.server.refuse_connections()
    assert not modelarts_sim.server.listening
    modelarts_sim.server.accept_connections()
    assert requests.get(url, headers=headers, timeout=5).status_code == 200


def test_connections_are_kept_alive_until_the_server_stops_listening(modelarts_sim: Any) -> None:
    host, port = urlsplit(modelarts_sim.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    path = urlsplit(modelarts_sim.configs_url).path
    try:
        for _ in range(3):  # three requests, one connection
            connection.request("GET", path, headers={"X-Auth-Token": modelarts_sim.token})
            response = connection.getresponse()
            assert response.status == 200 and response.version == 11
            assert json.loads(response.read())["is_success"] is True
        first_socket = connection.sock
        connection.request("GET", path, headers={"X-Auth-Token": modelarts_sim.token})
        connection.getresponse().read()
        assert connection.sock is first_socket
    finally:
        connection.close()
    with requests.Session() as session:
        headers = {"X-Auth-Token": modelarts_sim.token}
        assert session.get(modelarts_sim.configs_url, headers=headers, timeout=5).status_code == 200
        modelarts_sim.server.refuse_connections()  # also ends the session's pooled connection
        with pytest.raises(requests.ConnectionError):
            session.get(modelarts_sim.configs_url, headers=headers, timeout=5)
        modelarts_sim.server.accept_connections()
        assert session.get(modelarts_sim.configs_url, headers=headers, timeout=5).status_code == 200


def test_management_command_prints_the_endpoint_and_env_lines(capsys: pytest.CaptureFixture[str]) -> None:
    # Stop as if Ctrl-C was pressed once the banner is out.
    target = "modelarts_sim.management.commands.modelarts_simulator.wait_for_interrupt"
    with mock.patch(target, side_effect=KeyboardInterrupt):
        call_command(
            "modelarts_simulator",
            "--port",
            "0",
            "--configs",
            "20",
            "--seed",
            "4",
            "--token",
            "MIIstatic",
            "--latency",
            "5",
            "--fail-list-pages",
            "last",
        )
    out = capsys.readouterr().out
    assert "ModelArts simulator listening on http://127.0.0.1:" in out
    assert f"MODELARTS_PROJECT_ID={PROJECT}" in out
    assert "MODELARTS_TOKEN=MIIstatic" in out and "MODELARTS_AK=" in out and "MODELARTS_PASSWORD=" in out
    assert "fail_list_pages" in out and "Simulator stopped." in out
