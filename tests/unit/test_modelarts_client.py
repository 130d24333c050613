"""ModelArtsClient against ``responses``: wire format, parsing, paging, retries, error mapping."""

from __future__ import annotations

import json
import logging
import random
import re
import threading
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses
from responses.registries import OrderedRegistry

from configs_app.modelarts import (
    AkSkAuth,
    ConfigDetail,
    IamPasswordAuth,
    ModelArtsAuthError,
    ModelArtsBadRequest,
    ModelArtsBadResponse,
    ModelArtsClient,
    ModelArtsError,
    ModelArtsListingChanged,
    ModelArtsNotFound,
    ModelArtsThrottled,
    ModelArtsUnavailable,
    Parameter,
    StaticTokenAuth,
)

ENDPOINT = "https://modelarts.cn-north-4.myhuaweicloud.com"
PROJECT = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
LIST_PATH = f"/v1/{PROJECT}/training-job-configs"
LIST_URL = ENDPOINT + LIST_PATH
TOKEN = "static-token-value-0123456789"


class Sleeps(list):
    """Records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_client(sleeps: Sleeps | None = None, **kwargs) -> ModelArtsClient:
    kwargs.setdefault("auth", StaticTokenAuth(TOKEN))
    return ModelArtsClient(endpoint=ENDPOINT, project_id=PROJECT, sleep=sleeps if sleeps is not None else Sleeps(),
                           **kwargs)


def query_of(call) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(call.request.url).query, keep_blank_values=True)


def list_body(names, total=None, **extra):
    configs = [{"config_name": name} for name in names]
    return {"is_success": True, "config_total_count": len(configs) if total is None else total, "configs": configs,
            **extra}


DETAIL = {
    "is_success": True,
    "config_name": "resnet50-imagenet-bs256",
    "config_desc": "ResNet-50 baseline, 8 GPUs, cosine LR",
    "create_time": 1715760000000,
    "worker_server_num": "2",
    "app_url": "/team-a-ml/code/resnet/",
    "boot_file_url": "/team-a-ml/code/resnet/train.py",
    "model_id": 0,
    "parameter": [
        {"label": "learning_rate", "value": 0.01},
        {"label": "batch_size", "value": 32},
        {"label": "use_amp", "value": True},
        {"label": "resume_from", "value": None},
        {"label": "lr_schedule", "value": "cosine"},
        {"label": "no_value"},
    ],
    "spec_id": 4, "spec_code": "modelarts.vm.gpu.v100", "gpu_type": "v100", "gpu_num": "8",
    "cpu": 512, "core": "64",
    "data_url": "/team-a-ml/datasets/imagenet/",
    "dataset_id": "", "dataset_version_id": "", "dataset_name": "", "dataset_version_name": "",
    "data_source": [{"type": "obs", "data_url": "/team-a-ml/datasets/imagenet/"}],
    "engine_type": 1, "engine_name": "TensorFlow", "engine_id": 3.0, "engine_version": "TF-1.8.0-python2.7",
    "train_url": "/team-a-ml/output/resnet50/", "log_url": "/team-a-ml/logs/resnet50/",
    "user_image_url": "", "user_command": "",
    "pool_id": "pool9928813f", "pool_name": "team-a-v100",
    "volumes": [
        {"nfs": {"id": "43b37236", "src_path": "192.168.8.150:/", "dest_path": "/home/work/nas", "read_only": False}},
        {"host_path": {"src_path": "/root/work", "dest_path": "/home/mind", "read_only": True}},
    ],
    "nas_mount_path": "/home/work/nas", "nas_share_addr": "192.168.8.150:/", "nas_type": "nfs",
    "flavor": {"code": "modelarts.vm.gpu.v100"}, "npu_info": None,
}


# --- construction --------------------------------------------------------------------------------


class TestConstruction:
    def test_one_session_with_sized_pool_and_no_adapter_retries(self):
        client = make_client(pool_size=32)
        adapter = client.session.get_adapter(ENDPOINT)
        assert adapter._pool_maxsize == 32
        assert adapter.max_retries.total == 0
        assert client.session.get_adapter("http://127.0.0.1:8000") is adapter

    @pytest.mark.parametrize(("timeout", "expected"), [(15.0, (5.0, 15.0)), (3, (3.0, 3.0)), ((2, 30), (2, 30))])
    def test_timeout_forms(self, timeout, expected):
        assert make_client(timeout=timeout).timeout == expected

    @pytest.mark.parametrize("endpoint", ["modelarts.example.com", "ftp://x", "", "https://"])
    def test_bad_endpoint(self, endpoint):
        with pytest.raises(ValueError):
            ModelArtsClient(endpoint=endpoint, project_id=PROJECT, auth=StaticTokenAuth(TOKEN))

    def test_signature_used_by_sources_module(self):
        client = ModelArtsClient(endpoint=ENDPOINT + "/", project_id=PROJECT, auth=StaticTokenAuth(TOKEN), timeout=15,
                                 max_retries=3, verify=False, pool_size=32)
        assert client.endpoint == ENDPOINT
        assert client.verify is False
        assert TOKEN not in repr(client)
        client.close()

    @responses.activate
    def test_given_session_is_used_and_not_closed(self):
        session = requests.Session()
        responses.get(LIST_URL, json=list_body([]))
        with ModelArtsClient(endpoint=ENDPOINT, project_id=PROJECT, auth=StaticTokenAuth(TOKEN),
                             session=session) as client:
            assert client.session is session
            client.list_configs()
        assert session.adapters  # still usable
        session.close()


# --- list ----------------------------------------------------------------------------------------


class TestListConfigs:
    @responses.activate
    def test_wire_names_values_and_headers(self):
        responses.get(LIST_URL, json=list_body(["a"]))
        make_client().list_configs(page=2, per_page=50, sort_by="create_time", order="asc", search="resnet 50",
                                   config_type="custom")
        call = responses.calls[0]
        assert urlsplit(call.request.url).path == LIST_PATH
        assert query_of(call) == [("page", "2"), ("per_page", "50"), ("sortBy", "create_time"), ("order", "asc"),
                                  ("search_content", "resnet 50"), ("config_type", "custom")]
        assert "search_content=resnet%2050" in call.request.url
        assert call.request.headers["X-Auth-Token"] == TOKEN
        assert call.request.headers["Content-Type"] == "application/json"
        assert call.request.headers["Accept"] == "application/json"
        assert call.request.req_kwargs["timeout"] == (5.0, 15.0)

    @responses.activate
    def test_verify_setting_passed_on(self):
        responses.get(LIST_URL, json=list_body([]))
        make_client(verify=False).list_configs()
        assert responses.calls[0].request.req_kwargs["verify"] is False

    @responses.activate
    @pytest.mark.parametrize("search", [None, ""])
    def test_unset_parameters_are_not_sent(self, search):
        responses.get(LIST_URL, json=list_body([]))
        make_client().list_configs(search=search)
        assert query_of(responses.calls[0]) == [("page", "1"), ("per_page", "10")]
        assert "search_content" not in responses.calls[0].request.url

    @responses.activate
    def test_parses_page_and_keeps_raw(self):
        item = {"config_name": "bert", "config_desc": "", "create_time": "1715673600000", "engine_type": 9,
                "engine_name": "Ascend-Powered-Engine", "engine_id": 122, "engine_version": "Mindspore-1.1.1",
                "user_image_url": "swr.example/bert:2.3", "user_command": "bash run_train.sh", "extra": {"x": 1}}
        responses.get(LIST_URL, json={"is_success": True, "config_total_count": "23", "configs": [item]})
        page = make_client().list_configs(page=3, per_page=1)
        assert (page.config_total_count, page.page, page.per_page) == (23, 3, 1)
        summary = page.configs[0]
        assert summary.config_name == "bert"
        assert summary.config_desc == ""
        assert summary.create_time == 1715673600000
        assert (summary.engine_type, summary.engine_id) == (9, 122)
        assert summary.user_command == "bash run_train.sh"
        assert summary.raw["extra"] == {"x": 1}

    @responses.activate
    def test_summary_is_tolerant_of_odd_optional_fields(self):
        item = {"config_name": "odd", "engine_type": "TensorFlow", "create_time": [1], "config_desc": {"a": 1}}
        responses.get(LIST_URL, json=list_body([]) | {"config_total_count": 1, "configs": [item]})
        summary = make_client().list_configs().configs[0]
        assert (summary.engine_type, summary.create_time, summary.config_desc) == (None, None, None)
        assert summary.raw["engine_type"] == "TensorFlow"

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"per_page": 0}, {"per_page": 1001}, {"per_page": -5}, {"per_page": "10"}, {"per_page": True},
            {"page": 0}, {"page": -1}, {"sort_by": "sort_by"}, {"sort_by": "job_name"}, {"order": "ASC"},
            {"config_type": "all"}, {"sort_by": "create_time", "config_type": "sample"}, {"search": 5},
        ],
    )
    @responses.activate
    def test_bad_arguments_raise_value_error_without_a_request(self, kwargs):
        with pytest.raises(ValueError):
            make_client().list_configs(**kwargs)
        assert len(responses.calls) == 0

    @responses.activate
    def test_boundaries_accepted(self):
        responses.get(LIST_URL, json=list_body([]))
        client = make_client()
        client.list_configs(per_page=1)
        client.list_configs(per_page=1000, sort_by="create_time", config_type="custom")
        client.list_configs(sort_by="config_desc", config_type="sample", order="desc")
        assert len(responses.calls) == 3

    @responses.activate
    @pytest.mark.parametrize(
        "body",
        [
            {"is_success": True, "configs": []},
            {"is_success": True, "config_total_count": 3},
            {"config_total_count": 1, "configs": "abc"},
            {"config_total_count": "many", "configs": []},
            {"config_total_count": -1, "configs": []},
            {"config_total_count": 1, "configs": [{"config_desc": "no name"}]},
            {"config_total_count": 1, "configs": [{"config_name": ""}]},
            {"config_total_count": 1, "configs": ["plain"]},
        ],
    )
    def test_missing_or_bad_required_fields(self, body):
        responses.get(LIST_URL, json=body)
        with pytest.raises(ModelArtsBadResponse) as caught:
            make_client().list_configs()
        assert caught.value.path == LIST_PATH


# --- detail --------------------------------------------------------------------------------------


class TestGetConfig:
    @responses.activate
    def test_url_quoting_of_the_name(self):
        responses.get(f"{LIST_URL}/a%20b%2Fc%3Fd", json={"config_name": "a b/c?d"})
        detail = make_client().get_config("a b/c?d", config_type="sample")
        call = responses.calls[0]
        assert urlsplit(call.request.url).path == f"{LIST_PATH}/a%20b%2Fc%3Fd"
        assert query_of(call) == [("config_type", "sample")]
        assert detail.config_name == "a b/c?d"
        assert detail.config_type == "sample"

    @responses.activate
    def test_every_documented_field_typed(self):
        responses.get(f"{LIST_URL}/resnet50-imagenet-bs256", json=DETAIL)
        detail = make_client().get_config("resnet50-imagenet-bs256")
        assert query_of(responses.calls[0]) == [("config_type", "custom")]
        assert responses.calls[0].request.req_kwargs["timeout"] == (5.0, 15.0)
        assert isinstance(detail, ConfigDetail)
        assert detail.worker_server_num == 2 and detail.gpu_num == 8 and detail.engine_id == 3
        assert detail.model_id == 0 and detail.spec_id == 4 and detail.create_time == 1715760000000
        assert detail.cpu == "512" and detail.core == "64"
        assert detail.parameter == (
            Parameter("learning_rate", "0.01"), Parameter("batch_size", "32"), Parameter("use_amp", "true"),
            Parameter("resume_from", ""), Parameter("lr_schedule", "cosine"), Parameter("no_value", ""),
        )
        assert detail.data_source == ({"type": "obs", "data_url": "/team-a-ml/datasets/imagenet/"},)
        assert isinstance(detail.volumes, tuple) and detail.volumes[1]["host_path"]["read_only"] is True
        assert detail.dataset_id == "" and detail.nas_type == "nfs" and detail.pool_name == "team-a-v100"
        assert detail.spec_code == "modelarts.vm.gpu.v100" and detail.engine_version == "TF-1.8.0-python2.7"
        assert detail.raw == DETAIL  # undocumented keys (flavor, npu_info) kept
        assert detail.raw["flavor"] == {"code": "modelarts.vm.gpu.v100"}

    @responses.activate
    def test_minimal_body_gives_defaults(self):
        responses.get(f"{LIST_URL}/x", json={"config_name": "x"})
        detail = make_client().get_config("x")
        assert detail.parameter == () and detail.volumes == () and detail.data_source == ()
        assert detail.gpu_num is None and detail.cpu is None

    @responses.activate
    @pytest.mark.parametrize(
        "change",
        [
            {"config_name": None},
            {"config_name": 5},
            {"config_name": "someone-else"},
            {"parameter": {"label": "a", "value": "b"}},
            {"parameter": ["a=b"]},
            {"parameter": [{"value": "orphan"}]},
            {"volumes": {"nfs": {}}},
            {"data_source": [["obs"]]},
            {"gpu_num": "eight"},
            {"worker_server_num": True},
            {"engine_id": 1.5},
            {"app_url": ["/a"]},
            {"cpu": {"value": 8}},
        ],
    )
    def test_wrong_types_are_bad_response(self, change):
        body = dict(DETAIL) | change
        responses.get(f"{LIST_URL}/resnet50-imagenet-bs256", json=body)
        with pytest.raises(ModelArtsBadResponse) as caught:
            make_client().get_config("resnet50-imagenet-bs256")
        assert caught.value.path == f"{LIST_PATH}/resnet50-imagenet-bs256"

    @pytest.mark.parametrize(("name", "config_type"), [("", "custom"), (None, "custom"), ("x", "all")])
    def test_bad_arguments(self, name, config_type):
        with pytest.raises(ValueError):
            make_client().get_config(name, config_type=config_type)


# --- paging --------------------------------------------------------------------------------------


def paged(names_for_call, total_for_call=None):
    """A callback serving pages of a list that may change between calls (by call number)."""
    state = {"calls": 0}

    def callback(request):
        state["calls"] += 1
        query = dict(parse_qsl(urlsplit(request.url).query))
        page, per_page = int(query["page"]), int(query["per_page"])
        names = names_for_call(state["calls"])
        chunk = names[(page - 1) * per_page: page * per_page]
        total = len(names) if total_for_call is None else total_for_call(state["calls"])
        body = {"is_success": True, "config_total_count": total, "configs": [{"config_name": n} for n in chunk]}
        return 200, {}, json.dumps(body)

    return callback


NAMES_2500 = [f"cfg-{i:05d}" for i in range(2500)]


class TestIterConfigs:
    @responses.activate
    def test_2500_items_take_three_requests_of_1000(self):
        responses.add_callback(responses.GET, LIST_URL, callback=paged(lambda _: NAMES_2500))
        names = [s.config_name for s in make_client().iter_configs()]
        assert names == NAMES_2500
        assert len(responses.calls) == 3
        for number, call in enumerate(responses.calls, start=1):
            assert dict(query_of(call)) == {"page": str(number), "per_page": "1000", "sortBy": "config_name",
                                            "order": "asc", "config_type": "custom"}

    @responses.activate
    def test_exact_multiple_stops_without_an_extra_request(self):
        responses.add_callback(responses.GET, LIST_URL, callback=paged(lambda _: NAMES_2500[:2000]))
        assert len(list(make_client().iter_configs())) == 2000
        assert len(responses.calls) == 2

    @responses.activate
    def test_empty_listing(self):
        responses.get(LIST_URL, json=list_body([]))
        assert list(make_client().iter_configs(config_type="sample")) == []
        assert len(responses.calls) == 1
        assert dict(query_of(responses.calls[0]))["config_type"] == "sample"

    @responses.activate
    def test_total_change_restarts_from_page_one_and_yields_each_name_once(self, caplog):
        # Call 2 (page 2) sees a new config: total goes 2500 -> 2501. The restart reads 2501.
        grown = sorted(NAMES_2500 + ["cfg-00000a"])
        responses.add_callback(
            responses.GET, LIST_URL, callback=paged(lambda call: NAMES_2500 if call == 1 else grown)
        )
        with caplog.at_level(logging.WARNING, logger="configs_app.modelarts"):
            names = [s.config_name for s in make_client().iter_configs()]
        assert sorted(names) == grown
        assert len(names) == len(set(names)) == 2501
        pages = [dict(query_of(c))["page"] for c in responses.calls]
        assert pages == ["1", "2", "1", "2", "3"]
        assert any("restarting from page 1" in r.getMessage() for r in caplog.records)

    @responses.activate
    def test_keeps_changing_raises_listing_changed(self):
        responses.add_callback(
            responses.GET, LIST_URL,
            callback=paged(lambda call: NAMES_2500[: 2400 + call]),  # total grows on every request
        )
        with pytest.raises(ModelArtsListingChanged) as caught:
            list(make_client().iter_configs(max_restarts=2))
        assert "3 passes" in str(caught.value)
        assert caught.value.path == LIST_PATH
        assert len(responses.calls) == 6  # each pass: page 1, then page 2 shows a new total

    @responses.activate
    def test_server_always_returning_full_pages_does_not_loop_forever(self):
        # A server that ignores `page` and always answers with the same full page.
        responses.get(LIST_URL, json=list_body(NAMES_2500[:1000], total=2500))
        with pytest.raises(ModelArtsListingChanged):
            list(make_client().iter_configs())
        # ceil(2500 / 1000) + 2 = 5 pages per pass, 1 pass + 2 restarts.
        assert len(responses.calls) == 15

    @responses.activate
    def test_empty_page_before_total_restarts(self):
        # First pass: page 3 is empty although 2500 are announced; second pass is complete.
        def names_for(call):
            return NAMES_2500[:2000] if call <= 3 else NAMES_2500

        responses.add_callback(
            responses.GET, LIST_URL, callback=paged(names_for, total_for_call=lambda call: 2500)
        )
        names = [s.config_name for s in make_client().iter_configs()]
        assert names == NAMES_2500
        assert [dict(query_of(c))["page"] for c in responses.calls] == ["1", "2", "3", "1", "2", "3"]

    @responses.activate
    def test_short_page_before_total_raises_after_restarts(self):
        responses.add_callback(
            responses.GET, LIST_URL, callback=paged(lambda _: NAMES_2500[:1500], total_for_call=lambda _: 2500)
        )
        with pytest.raises(ModelArtsListingChanged, match="1500 of 2500"):
            list(make_client().iter_configs(max_restarts=1))
        assert len(responses.calls) == 4

    @responses.activate(registry=OrderedRegistry)
    def test_duplicates_across_pages_are_dropped(self):
        # An insert shifted page 2 by one row: "b" shows up twice, the pass then misses one name
        # (short last page) and restarts; the restart finds the full list.
        responses.get(LIST_URL, json=list_body(["a", "b"], total=4))
        responses.get(LIST_URL, json=list_body(["b", "c"], total=4))
        responses.get(LIST_URL, json=list_body([], total=4))
        responses.get(LIST_URL, json=list_body(["a", "b"], total=4))
        responses.get(LIST_URL, json=list_body(["c", "d"], total=4))
        names = [s.config_name for s in make_client().iter_configs(per_page=2)]
        assert names == ["a", "b", "c", "d"]

    @responses.activate
    def test_more_names_than_total_is_inconsistent(self):
        responses.get(LIST_URL, json=list_body(["a", "b", "c"], total=2))
        with pytest.raises(ModelArtsListingChanged):
            list(make_client().iter_configs(max_restarts=0))
        assert len(responses.calls) == 1

    def test_bad_arguments(self):
        with pytest.raises(ValueError):
            next(make_client().iter_configs(per_page=5000))
        with pytest.raises(ValueError):
            next(make_client().iter_configs(max_restarts=-1))


# --- retries -------------------------------------------------------------------------------------


class TestRetries:
    @responses.activate(registry=OrderedRegistry)
    def test_5xx_retried_then_succeeds(self, sleeps):
        responses.get(LIST_URL, status=503, json={"error_code": "ModelArts.4700", "error_message": "Unavailable"})
        responses.get(LIST_URL, status=502)
        responses.get(LIST_URL, json=list_body(["a"]))
        page = make_client(sleeps).list_configs()
        assert page.configs[0].config_name == "a"
        assert len(responses.calls) == 3
        assert len(sleeps) == 2
        for call in responses.calls:
            assert call.request.req_kwargs["timeout"] == (5.0, 15.0)

    @responses.activate
    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    def test_gives_up_after_max_retries(self, sleeps, status):
        responses.get(LIST_URL, status=status, json={"error_code": "ModelArts.0010", "error_message": "Internal"})
        with pytest.raises(ModelArtsUnavailable) as caught:
            make_client(sleeps, max_retries=3).list_configs()
        assert type(caught.value) is ModelArtsUnavailable
        assert len(responses.calls) == 4
        assert len(sleeps) == 3
        assert caught.value.status == status and "after 4 attempts" in str(caught.value)

    @responses.activate
    def test_backoff_is_exponential_with_full_jitter(self, sleeps):
        class Top(random.Random):
            def uniform(self, a, b):
                assert a == 0
                return b  # the cap itself, to see the exponential growth

        responses.get(LIST_URL, status=503)
        client = make_client(sleeps, max_retries=5, rng=Top())
        with pytest.raises(ModelArtsUnavailable):
            client.list_configs()
        assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]

    @responses.activate
    def test_jitter_stays_below_the_cap(self, sleeps):
        responses.get(LIST_URL, status=500)
        with pytest.raises(ModelArtsUnavailable):
            make_client(sleeps, max_retries=3, rng=random.Random(7)).list_configs()
        for number, seconds in enumerate(sleeps):
            assert 0 <= seconds <= 0.5 * 2**number

    @responses.activate(registry=OrderedRegistry)
    def test_retry_after_is_honoured(self, sleeps):
        responses.get(LIST_URL, status=429, headers={"Retry-After": "7"},
                      json={"error_code": "APIG.0308", "error_msg": "over ratelimit"})
        responses.get(LIST_URL, json=list_body([]))
        make_client(sleeps).list_configs()
        assert sleeps == [7.0]

    @responses.activate
    def test_retry_after_is_capped_and_throttled_after_retries(self, sleeps):
        responses.get(LIST_URL, status=429, headers={"Retry-After": "1000"},
                      json={"error_code": "APIG.0308", "error_msg": "over ratelimit", "request_id": "rid-1"})
        with pytest.raises(ModelArtsThrottled) as caught:
            make_client(sleeps, max_retries=2, max_total_time=1000).list_configs()
        assert sleeps == [30.0, 30.0]
        assert caught.value.retry_after == 1000.0
        assert caught.value.error_code == "APIG.0308"
        assert caught.value.request_id == "rid-1"

    @responses.activate
    def test_time_budget_stops_retries(self, sleeps):
        clock = FakeClock()

        def advancing_sleep(seconds):
            sleeps.append(seconds)
            clock.now += seconds

        responses.get(LIST_URL, status=429, headers={"Retry-After": "25"})
        client = ModelArtsClient(endpoint=ENDPOINT, project_id=PROJECT, auth=StaticTokenAuth(TOKEN),
                                 max_retries=10, max_total_time=60, sleep=advancing_sleep, clock=clock)
        with pytest.raises(ModelArtsThrottled):
            client.list_configs()
        assert sleeps == [25.0, 25.0]  # a third wait would end at 75 s > 60 s
        assert len(responses.calls) == 3

    @responses.activate
    @pytest.mark.parametrize(
        ("status", "expected"),
        [(400, ModelArtsBadRequest), (401, ModelArtsAuthError), (403, ModelArtsAuthError), (404, ModelArtsNotFound),
         (405, ModelArtsBadRequest), (409, ModelArtsBadRequest)],
    )
    def test_other_4xx_tried_exactly_once(self, sleeps, status, expected):
        responses.get(LIST_URL, status=status, json={"error_code": "X.1", "error_message": "no"})
        with pytest.raises(expected):
            make_client(sleeps).list_configs()
        assert len(responses.calls) == 1
        assert sleeps == []

    @responses.activate(registry=OrderedRegistry)
    @pytest.mark.parametrize(
        "failure", [requests.ConnectionError("refused"), requests.ConnectTimeout("slow"), requests.ReadTimeout("slow")]
    )
    def test_connection_errors_and_timeouts_retried(self, sleeps, failure):
        responses.get(LIST_URL, body=failure)
        responses.get(LIST_URL, json=list_body(["a"]))
        assert make_client(sleeps).list_configs().configs[0].config_name == "a"
        assert len(responses.calls) == 2 and len(sleeps) == 1

    @responses.activate
    def test_timeouts_after_retries_are_unavailable(self, sleeps):
        responses.get(LIST_URL, body=requests.ReadTimeout("slow"))
        with pytest.raises(ModelArtsUnavailable, match="timed out"):
            make_client(sleeps, max_retries=1).list_configs()
        assert len(responses.calls) == 2

    @responses.activate
    def test_zero_retries(self, sleeps):
        responses.get(LIST_URL, status=503)
        with pytest.raises(ModelArtsUnavailable):
            make_client(sleeps, max_retries=0).list_configs()
        assert len(responses.calls) == 1 and sleeps == []

    @responses.activate
    def test_non_get_is_never_retried(self, sleeps):
        responses.post(LIST_URL, status=503)
        with pytest.raises(ModelArtsUnavailable):
            make_client(sleeps)._request("POST", "/training-job-configs", [])
        assert len(responses.calls) == 1 and sleeps == []

    @responses.activate
    def test_tls_errors_not_retried(self, sleeps):
        responses.get(LIST_URL, body=requests.exceptions.SSLError("certificate verify failed"))
        with pytest.raises(ModelArtsUnavailable, match="TLS"):
            make_client(sleeps).list_configs()
        assert len(responses.calls) == 1


# --- 401 and credentials ---------------------------------------------------------------------------

IAM = "https://iam.cn-north-4.myhuaweicloud.com"
TOKEN_URL = f"{IAM}/v3/auth/tokens?nocatalog=true"


def _iam_token(token: str) -> responses.Response:
    return responses.Response(
        responses.POST, TOKEN_URL, status=201, headers={"X-Subject-Token": token},
        json={"token": {"expires_at": "2099-01-01T00:00:00.000000Z"}},
    )


def _iam_auth() -> IamPasswordAuth:
    return IamPasswordAuth(iam_endpoint=IAM, username="u", password="iam-password-123", domain="d",
                           project_id=PROJECT)


class TestUnauthorized:
    @responses.activate(registry=OrderedRegistry)
    def test_iam_token_refreshed_once_on_401(self, sleeps):
        responses.add(_iam_token("OLD-TOKEN"))
        responses.get(LIST_URL, status=401, json={"error_code": "APIG.0307", "error_msg": "The token must be updated."})
        responses.add(_iam_token("NEW-TOKEN"))
        responses.get(LIST_URL, json=list_body(["a"]))
        page = make_client(sleeps, auth=_iam_auth()).list_configs()
        assert page.configs[0].config_name == "a"
        sent = [c.request.headers.get("X-Auth-Token") for c in responses.calls if c.request.method == "GET"]
        assert sent == ["OLD-TOKEN", "NEW-TOKEN"]
        assert sleeps == []

    @responses.activate
    def test_second_401_is_final(self, sleeps):
        responses.add(_iam_token("T1"))
        responses.get(LIST_URL, status=401, json={"error_code": "APIG.0301", "error_msg": "Incorrect IAM"})
        with pytest.raises(ModelArtsAuthError) as caught:
            make_client(sleeps, auth=_iam_auth()).list_configs()
        assert caught.value.error_code == "APIG.0301"
        methods = [c.request.method for c in responses.calls]
        assert methods == ["POST", "GET", "POST", "GET"]

    @responses.activate
    @pytest.mark.parametrize("auth", [AkSkAuth("AK-1234", "SK-123456789"), StaticTokenAuth(TOKEN)])
    def test_fixed_credentials_not_retried_on_401(self, sleeps, auth):
        responses.get(LIST_URL, status=401, json={"error_code": "APIG.0301", "error_msg": "verify aksk signature fail"})
        with pytest.raises(ModelArtsAuthError):
            make_client(sleeps, auth=auth).list_configs()
        assert len(responses.calls) == 1

    @responses.activate
    def test_iam_failure_during_request_is_auth_error_without_modelarts_call(self, sleeps):
        responses.post(TOKEN_URL, status=401, json={"error": {"code": "IAM.0062", "message": "Incorrect password"}})
        with pytest.raises(ModelArtsAuthError) as caught:
            make_client(sleeps, auth=_iam_auth()).list_configs()
        assert caught.value.error_code == "IAM.0062"
        assert [c.request.method for c in responses.calls] == ["POST"]

    @responses.activate(registry=OrderedRegistry)
    def test_iam_outage_is_retried_like_a_connection_error(self, sleeps):
        responses.post(TOKEN_URL, status=503)
        responses.add(_iam_token("T1"))
        responses.get(LIST_URL, json=list_body([]))
        make_client(sleeps, auth=_iam_auth()).list_configs()
        assert [c.request.method for c in responses.calls] == ["POST", "POST", "GET"]
        assert len(sleeps) == 1


class TestAkSkThroughClient:
    @responses.activate
    def test_c1_signed_on_the_wire(self):
        moment = datetime(2024, 5, 15, 8, 0, 0, tzinfo=UTC)
        auth = AkSkAuth("HPUAEXAMPLEAK0000001", "ExampleSecretKey0000000000000000000000000", project_id=PROJECT,
                        clock=lambda: moment)
        responses.get(LIST_URL, json=list_body([]))
        make_client(auth=auth).list_configs(page=1, per_page=10, sort_by="create_time", order="desc",
                                            config_type="custom", search="resnet 50")
        request = responses.calls[0].request
        assert request.headers["Authorization"] == (
            "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK0000001, SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
            "Signature=4bdd9bc92838c4d37203a11513b0dd0c3b895fc34fa8929dcccc9a96ee91047f"
        )
        assert request.headers["X-Sdk-Date"] == "20240515T080000Z"
        assert request.headers["X-Project-Id"] == PROJECT
        assert request.headers["Host"] == "modelarts.cn-north-4.myhuaweicloud.com"
        assert "search_content=resnet%2050" in request.url and "+" not in request.url

    @responses.activate
    def test_c2_detail_signed_on_the_wire(self):
        moment = datetime(2024, 5, 15, 8, 0, 0, tzinfo=UTC)
        auth = AkSkAuth("HPUAEXAMPLEAK0000001", "ExampleSecretKey0000000000000000000000000", clock=lambda: moment)
        responses.get(f"{LIST_URL}/config123", json={"config_name": "config123"})
        make_client(auth=auth).get_config("config123")
        assert responses.calls[0].request.headers["Authorization"].endswith(
            "Signature=445f662e8955dd4978e9fa9e13611a54c1c9c5651b388f3553a61fe61931af86"
        )

    @responses.activate(registry=OrderedRegistry)
    def test_each_retry_is_signed_afresh(self, sleeps):
        times = iter([datetime(2024, 5, 15, 8, 0, s, tzinfo=UTC) for s in (0, 1)])
        auth = AkSkAuth("AK-1234", "SK-123456789", clock=lambda: next(times))
        responses.get(LIST_URL, status=503)
        responses.get(LIST_URL, json=list_body([]))
        make_client(sleeps, auth=auth).list_configs()
        dates = [c.request.headers["X-Sdk-Date"] for c in responses.calls]
        assert dates == ["20240515T080000Z", "20240515T080001Z"]


# --- error mapping --------------------------------------------------------------------------------


class TestErrorMapping:
    @responses.activate
    @pytest.mark.parametrize(
        ("status", "body", "expected", "code", "message"),
        [
            (404, {"is_success": False, "error_code": "ModelArts.0015",
                   "error_message": "The resource you requested is not exist"},
             ModelArtsNotFound, "ModelArts.0015", "The resource you requested is not exist"),
            (400, {"is_success": False, "error_code": "ModelArts.0102", "error_message": "gone"},
             ModelArtsNotFound, "ModelArts.0102", "gone"),
            (400, {"is_success": False, "error_code": "ModelArts.0015", "error_msg": "gone"},
             ModelArtsNotFound, "ModelArts.0015", "gone"),
            (404, None, ModelArtsNotFound, None, "Not Found"),
            (401, {"error_msg": "Incorrect IAM authentication information: decrypt token fail",
                   "error_code": "APIG.0301", "request_id": "a5322eb8"},
             ModelArtsAuthError, "APIG.0301", "Incorrect IAM authentication information: decrypt token fail"),
            (403, {"error_code": "ModelArts.0108", "error_message": "not authorized"},
             ModelArtsAuthError, "ModelArts.0108", "not authorized"),
            (401, {"error": {"code": 401, "message": "requires authentication", "title": "Unauthorized"}},
             ModelArtsAuthError, None, "requires authentication"),
            (400, {"error_code": "ModelArts.0101", "error_message": "Invalid Argument."},
             ModelArtsBadRequest, "ModelArts.0101", "Invalid Argument."),
            (409, {"error_msg": "conflict", "error_code": "AS.0001"}, ModelArtsBadRequest, "AS.0001", "conflict"),
            (404, {"error_code": "APIG.0101", "error_msg": "The API does not exist"},
             ModelArtsBadRequest, "APIG.0101", "The API does not exist"),
            (404, {"error_code": "APIGW.0101", "error_msg": "The API does not exist"},
             ModelArtsBadRequest, "APIGW.0101", "The API does not exist"),
            (400, {"error": {"title": "Bad Request"}}, ModelArtsBadRequest, None, "Bad Request"),
        ],
    )
    def test_status_and_code(self, status, body, expected, code, message):
        responses.get(f"{LIST_URL}/x", status=status, json=body, headers={"X-Request-Id": "req-42"})
        with pytest.raises(expected) as caught:
            make_client().get_config("x")
        error = caught.value
        assert type(error) is expected
        assert (error.status, error.error_code, error.message) == (status, code, message)
        assert error.request_id == "req-42"
        assert error.path == f"{LIST_PATH}/x"
        text = str(error)
        assert f"HTTP {status}" in text and "req-42" in text and f"{LIST_PATH}/x" in text
        assert "config_type" not in text  # path without query

    @responses.activate
    def test_request_id_from_gateway_body(self):
        responses.get(LIST_URL, status=401, json={"error_code": "APIG.0301", "error_msg": "bad", "request_id": "gw-1"})
        with pytest.raises(ModelArtsAuthError) as caught:
            make_client().list_configs()
        assert caught.value.request_id == "gw-1"

    @responses.activate
    @pytest.mark.parametrize(
        ("code", "expected"),
        [
            ("APIG.0301", ModelArtsAuthError), ("APIGW.0301", ModelArtsAuthError), ("APIG.0307", ModelArtsAuthError),
            ("ModelArts.0203", ModelArtsAuthError), ("ModelArts.0206", ModelArtsAuthError),
            ("modelarts.0212", ModelArtsAuthError), ("ModelArts.4127", ModelArtsAuthError),
            ("ModelArts.0015", ModelArtsNotFound), ("ModelArts.0102", ModelArtsNotFound),
            ("APIG.0308", ModelArtsThrottled), ("ModelArts.6101", ModelArtsThrottled),
            ("ModelArts.0010", ModelArtsUnavailable), ("APIGW.0203", ModelArtsUnavailable),
            ("ModelArts.0101", ModelArtsBadRequest), ("ModelArts.0105", ModelArtsBadRequest),
            (None, ModelArtsBadRequest),
        ],
    )
    def test_http_200_with_is_success_false(self, sleeps, code, expected):
        body = {"is_success": False, "error_message": "Error string"}
        if code:
            body["error_code"] = code
        responses.get(LIST_URL, json=body)
        with pytest.raises(expected) as caught:
            make_client(sleeps).list_configs()
        assert type(caught.value) is expected
        assert caught.value.status == 200 and caught.value.error_code == code
        assert len(responses.calls) == 1 and sleeps == []

    @responses.activate
    @pytest.mark.parametrize(
        "kwargs",
        [
            {"body": "<html>Bad gateway page</html>", "content_type": "text/html"},
            {"body": '{"config_total_count": 3, "configs": [', "content_type": "application/json"},
            {"body": "", "content_type": "application/json"},
            {"body": b"\xff\xfe\x00garbage", "content_type": "application/json"},
            {"json": [1, 2, 3]},
            {"body": '{"config_total_count": 3, "configs": []}', "headers": {"Content-Length": "500"}},
        ],
        ids=["html", "truncated-json", "empty", "binary", "array", "content-length-mismatch"],
    )
    def test_unusable_bodies_are_bad_response(self, sleeps, kwargs):
        responses.get(LIST_URL, **kwargs)
        with pytest.raises(ModelArtsBadResponse) as caught:
            make_client(sleeps).list_configs()
        assert not isinstance(caught.value, requests.RequestException)
        assert caught.value.path == LIST_PATH

    @responses.activate
    @pytest.mark.parametrize(
        ("failure", "expected"),
        [
            (requests.exceptions.InvalidURL("bad"), ModelArtsBadRequest),
            (requests.exceptions.SSLError("bad cert"), ModelArtsUnavailable),
            (requests.exceptions.ChunkedEncodingError("cut"), ModelArtsBadResponse),
            (requests.exceptions.ContentDecodingError("gzip"), ModelArtsBadResponse),
            (requests.exceptions.ProxyError("proxy"), ModelArtsUnavailable),
            (requests.exceptions.InvalidHeader("hdr"), ModelArtsBadRequest),
            (requests.exceptions.RetryError("retries"), ModelArtsError),
        ],
    )
    def test_requests_exceptions_never_leak(self, sleeps, failure, expected):
        responses.get(LIST_URL, body=failure)
        with pytest.raises(ModelArtsError) as caught:
            make_client(sleeps, max_retries=1).list_configs()
        assert isinstance(caught.value, expected)
        assert not isinstance(caught.value, requests.RequestException)

    @responses.activate
    def test_redirect_is_not_followed(self):
        responses.get(LIST_URL, status=302, headers={"Location": "https://elsewhere.example.com/"})
        with pytest.raises(ModelArtsBadResponse, match="302"):
            make_client().list_configs()
        assert len(responses.calls) == 1  # the Location was not requested

    @responses.activate
    def test_server_echoing_a_secret_is_redacted(self):
        responses.get(LIST_URL, status=400, json={"error_code": "X", "error_message": f"bad token {TOKEN}"})
        with pytest.raises(ModelArtsBadRequest) as caught:
            make_client().list_configs()
        assert TOKEN not in str(caught.value) and "***" in caught.value.message


# --- logging -------------------------------------------------------------------------------------


class TestLogging:
    @responses.activate(registry=OrderedRegistry)
    def test_debug_line_per_request_and_warning_per_retry(self, sleeps, caplog):
        responses.get(LIST_URL, status=503, headers={"X-Request-Id": "rid-503"})
        responses.get(LIST_URL, json=list_body([]), headers={"X-Request-Id": "rid-200"})
        with caplog.at_level(logging.DEBUG, logger="configs_app.modelarts"):
            make_client(sleeps).list_configs(search="secret-search-words", sort_by="config_desc")
        ours = [r for r in caplog.records if r.name == "configs_app.modelarts"]
        debug = [r.getMessage() for r in ours if r.levelno == logging.DEBUG]
        warnings = [r.getMessage() for r in ours if r.levelno == logging.WARNING]
        assert len(debug) == 2
        assert debug[0].startswith(f"GET {LIST_PATH} -> 503 in ") and "rid-503" in debug[0]
        assert debug[1].startswith(f"GET {LIST_PATH} -> 200 in ") and "rid-200" in debug[1]
        assert len(warnings) == 1 and "retry 1 of 3" in warnings[0]
        for record in ours:
            assert "secret-search-words" not in record.getMessage()
            assert "config_desc" not in record.getMessage()
            assert TOKEN not in record.getMessage()


# --- concurrency ---------------------------------------------------------------------------------


class TestThreads:
    @responses.activate
    def test_sixteen_threads_share_one_client(self):
        def detail(request):
            name = urlsplit(request.url).path.rsplit("/", 1)[1]
            return 200, {}, json.dumps({"config_name": name, "gpu_num": 1})

        responses.add_callback(responses.GET, re.compile(rf"{LIST_URL}/.+"), callback=detail)
        responses.add(_iam_token("SHARED"))
        client = make_client(auth=_iam_auth(), pool_size=16)
        barrier = threading.Barrier(16)
        results: dict[int, list[str]] = {}
        errors: list[BaseException] = []

        def worker(number):
            barrier.wait()
            try:
                results[number] = [client.get_config(f"cfg-{number}-{i}").config_name for i in range(5)]
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert results == {n: [f"cfg-{n}-{i}" for i in range(5)] for n in range(16)}
        posts = [c for c in responses.calls if c.request.method == "POST"]
        assert len(posts) == 1
        gets = [c for c in responses.calls if c.request.method == "GET"]
        assert len(gets) == 80 and all(c.request.headers["X-Auth-Token"] == "SHARED" for c in gets)
