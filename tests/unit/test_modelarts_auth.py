"""AK/SK signing against every vector of the API reference §6.5, and the three auth modes."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
import requests
import responses

from configs_app.modelarts import (
    AkSkAuth,
    IamPasswordAuth,
    ModelArtsAuthError,
    ModelArtsBadResponse,
    ModelArtsThrottled,
    ModelArtsUnavailable,
    StaticTokenAuth,
)
from configs_app.modelarts.auth import (
    EMPTY_BODY_SHA256,
    canonical_query_string,
    canonical_request,
    canonical_uri,
    sign,
    sign_request,
    string_to_sign,
)

# --- Huawei core SDK vectors (huaweicloud-sdk-core tests/test_signer.py) ------------------------------
SDK_URL = "https://service.endpoint.myhuaweicloud.com/resources?size=1"
SDK_HEADERS = {
    "X-Sdk-Date": "20200608T023900Z",
    "TEST_UNDERSCORE": "TEST_VALUE",
    "Host": "service.endpoint.myhuaweicloud.com",
}
SDK_GET_AUTH = (
    "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, "
    "Signature=cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842"
)
SDK_POST_AUTH = (
    "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, "
    "Signature=436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f"
)
SDK_POST_BODY = '{"name":"test","id":1}'

# --- vectors computed for this API (§6.5 C1–C4) -------------------------------------------------------
AK = "HPUAEXAMPLEAK0000001"
SK = "ExampleSecretKey0000000000000000000000000"
PROJECT = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
HOST = "modelarts.cn-north-4.myhuaweicloud.com"
DATE = "20240515T080000Z"
C1_URL = (
    f"https://{HOST}/v1/{PROJECT}/training-job-configs"
    "?per_page=10&page=1&sortBy=create_time&order=desc&config_type=custom&search_content=resnet%2050"
)
C1_SIG = "4bdd9bc92838c4d37203a11513b0dd0c3b895fc34fa8929dcccc9a96ee91047f"
C3_BODY = (
    '{"config_name":"resnet50-bs64","worker_server_num":1,"app_url":"/bucket/code/",'
    '"boot_file_url":"/bucket/code/train.py","model_id":1,"spec_id":1,"engine_id":1,"data_url":"/bucket/data/"}'
)


def _hash_part(to_sign: str) -> str:
    """The hex SHA-256 of the CanonicalRequest, i.e. the third line of a StringToSign."""
    algorithm, date, digest = to_sign.split("\n")
    assert algorithm == "SDK-HMAC-SHA256"
    return digest


class TestSdkVectors:
    def test_get_matches_published_authorization(self):
        signed = sign_request(ak="AccessKey", sk="SecretKey", method="GET", url=SDK_URL, headers=SDK_HEADERS, body="")
        assert signed.authorization == SDK_GET_AUTH

    def test_post_matches_published_authorization(self):
        signed = sign_request(
            ak="AccessKey", sk="SecretKey", method="POST", url=SDK_URL, headers=SDK_HEADERS, body=SDK_POST_BODY
        )
        assert signed.authorization == SDK_POST_AUTH

    def test_header_with_underscore_is_not_signed(self):
        signed = sign_request(ak="AccessKey", sk="SecretKey", method="GET", url=SDK_URL, headers=SDK_HEADERS)
        assert signed.signed_headers == "host;x-sdk-date"
        assert "test_underscore" not in signed.canonical_request

    def test_get_canonical_request_and_string_to_sign(self):
        request_text = canonical_request(method="get", url=SDK_URL, headers=SDK_HEADERS, body=b"")
        assert request_text == (
            "GET\n/resources/\nsize=1\nhost:service.endpoint.myhuaweicloud.com\nx-sdk-date:20200608T023900Z\n\n"
            "host;x-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
        assert string_to_sign(canonical_request=request_text, sdk_date="20200608T023900Z") == (
            "SDK-HMAC-SHA256\n20200608T023900Z\nde94dd1e1ccdb730b403ce35d7e14f7c7b04337f6def1c3a3a2ba936852b133f"
        )

    def test_post_body_hash_and_string_to_sign_hash(self):
        request_text = canonical_request(method="POST", url=SDK_URL, headers=SDK_HEADERS, body=SDK_POST_BODY)
        assert request_text.endswith("\n8ed555081b9961769014bc1182c629bb0fe68d7b01c1fc1caab4dc791f377e8c")
        to_sign = string_to_sign(canonical_request=request_text, sdk_date="20200608T023900Z")
        assert _hash_part(to_sign) == "2b1b2515e48cb55e043ff2ec5b93d3f13ec287e1da1d7a2e4e14b0611a341969"

    def test_sign_is_hmac_of_string_to_sign(self):
        to_sign = "SDK-HMAC-SHA256\n20200608T023900Z\nde94dd1e1ccdb730b403ce35d7e14f7c7b04337f6def1c3a3a2ba936852b133f"
        assert sign(sk="SecretKey", string_to_sign=to_sign) == (
            "cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842"
        )

    def test_query_canonicalisation_vector(self):
        params = {"limit": 1, "enable": True, "test": "一 (&=?!#%.*)", "path": "/tmp/123", "multi": [1, 2, 3]}
        assert canonical_query_string(params) == (
            "enable=true&limit=1&multi=1&multi=2&multi=3&path=%2Ftmp%2F123"
            "&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29"
        )


def test_devg_apisign_hashed_canonical_request():
    request_text = canonical_request(
        method="GET",
        url="https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
        "?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
        headers={
            "Content-Type": "application/json",
            "Host": "service.region.example.com",
            "X-Sdk-Date": "20191115T033655Z",
        },
    )
    assert hashlib.sha256(request_text.encode()).hexdigest() == (
        "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
    )


class TestApiVectors:
    def test_c1_list_with_project_header(self):
        headers = {"Content-Type": "application/json", "X-Project-Id": PROJECT, "Host": HOST, "X-Sdk-Date": DATE}
        signed = sign_request(ak=AK, sk=SK, method="GET", url=C1_URL, headers=headers)
        assert signed.signed_headers == "content-type;host;x-project-id;x-sdk-date"
        assert signed.signature == C1_SIG
        assert _hash_part(signed.string_to_sign) == "c66e4f5bf942bb6d4f30c2c7b9f70c4c3d2b1a967542bd2ca9d254e1ef9bec71"
        assert signed.canonical_request.split("\n")[2] == (
            "config_type=custom&order=desc&page=1&per_page=10&search_content=resnet%2050&sortBy=create_time"
        )
        assert signed.authorization == (
            f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature={C1_SIG}"
        )

    def test_c2_detail(self):
        headers = {"Content-Type": "application/json", "Host": HOST, "X-Sdk-Date": DATE}
        url = f"https://{HOST}/v1/{PROJECT}/training-job-configs/config123?config_type=custom"
        signed = sign_request(ak=AK, sk=SK, method="GET", url=url, headers=headers)
        assert signed.signed_headers == "content-type;host;x-sdk-date"
        assert signed.signature == "445f662e8955dd4978e9fa9e13611a54c1c9c5651b388f3553a61fe61931af86"
        assert _hash_part(signed.string_to_sign) == "5779217fa802cd19325080fab453249ad72836727158db9f290791b96417d88a"

    def test_c3_post_body(self):
        headers = {"Content-Type": "application/json;charset=utf8", "Host": HOST, "X-Sdk-Date": DATE}
        url = f"https://{HOST}/v1/{PROJECT}/training-job-configs"
        signed = sign_request(ak=AK, sk=SK, method="POST", url=url, headers=headers, body=C3_BODY.encode())
        assert signed.canonical_request.rsplit("\n", 1)[1] == (
            "656e7177cc62ddca70be83b87b13496e7731d6f91577584453f8c87084ed022e"
        )
        assert signed.signed_headers == "content-type;host;x-sdk-date"
        assert signed.signature == "dd4122b44eccfa9f5f86cfb97ec740f16674d1e8f54b81ff38ef635c3265a516"

    def test_c4_loopback_with_port_no_content_type(self):
        url = f"http://127.0.0.1:8765/v1/{PROJECT}/training-job-configs?page=2&per_page=50"
        headers = {"Host": "127.0.0.1:8765", "X-Sdk-Date": DATE}
        signed = sign_request(ak=AK, sk=SK, method="GET", url=url, headers=headers)
        assert signed.signed_headers == "host;x-sdk-date"
        assert signed.signature == "1f1a1b365b2ec1bcf0f97c871947571b56e6f9bcdc405bf96f00652d7c38b0ee"


class TestCanonicalParts:
    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("/resources", "/resources/"),
            ("/resources/", "/resources/"),
            ("", "/"),
            ("/v1/p/training-job-configs/a%20b", "/v1/p/training-job-configs/a%20b/"),
            ("/v1/x~y_z.-", "/v1/x~y_z.-/"),
            ("/v1/a+b", "/v1/a%2Bb/"),
        ],
    )
    def test_canonical_uri(self, path, expected):
        assert canonical_uri(path) == expected

    def test_query_sorts_by_raw_name_upper_case_first_and_repeats_by_value(self):
        pairs = [("b", "2"), ("B", "1"), ("a", "z"), ("a", "y"), ("empty", "")]
        assert canonical_query_string(pairs) == "B=1&a=y&a=z&b=2&empty="

    def test_query_string_input_reads_plus_as_space_and_emits_percent_20(self):
        assert canonical_query_string("search_content=resnet+50&page=1") == "page=1&search_content=resnet%2050"

    def test_no_query_is_empty(self):
        assert canonical_query_string(None) == ""
        assert canonical_request(method="GET", url="https://h/x", headers={"Host": "h", "X-Sdk-Date": DATE}).split(
            "\n"
        )[2] == ""

    def test_unsigned_payload_literal(self):
        headers = {"Host": "h", "X-Sdk-Date": DATE, "X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"}
        assert canonical_request(method="PUT", url="https://h/x", headers=headers, body=b"data").endswith(
            "\nUNSIGNED-PAYLOAD"
        )

    def test_empty_body_hash(self):
        request_text = canonical_request(method="GET", url="https://h/x", headers={"Host": "h", "X-Sdk-Date": DATE})
        assert request_text.endswith("\n" + EMPTY_BODY_SHA256)

    def test_sign_request_requires_date_and_host(self):
        with pytest.raises(ValueError):
            sign_request(ak="a", sk="s", method="GET", url="https://h/x", headers={"Host": "h"})

    def test_header_values_are_trimmed(self):
        request_text = canonical_request(
            method="GET", url="https://h/x", headers={"Host": "  h ", "X-Sdk-Date": DATE}
        )
        assert "\nhost:h\n" in request_text


def _fixed_clock(text: str = DATE):
    moment = datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return lambda: moment


class TestAkSkAuthOnPreparedRequests:
    def test_sdk_get_vector_through_requests(self):
        auth = AkSkAuth("AccessKey", "SecretKey", clock=_fixed_clock("20200608T023900Z"))
        prepared = requests.Request("GET", "https://service.endpoint.myhuaweicloud.com/resources", params={"size": 1},
                                    headers={"TEST_UNDERSCORE": "TEST_VALUE"}, auth=auth).prepare()
        assert prepared.headers["Authorization"] == SDK_GET_AUTH
        assert prepared.headers["X-Sdk-Date"] == "20200608T023900Z"
        assert prepared.headers["Host"] == "service.endpoint.myhuaweicloud.com"
        assert "X-Project-Id" not in prepared.headers

    def test_sdk_post_vector_through_requests(self):
        auth = AkSkAuth("AccessKey", "SecretKey", clock=_fixed_clock("20200608T023900Z"))
        prepared = requests.Request("POST", SDK_URL, data=SDK_POST_BODY, auth=auth).prepare()
        assert prepared.headers["Authorization"] == SDK_POST_AUTH

    def test_c1_rewrites_plus_to_percent_20_and_signs(self):
        auth = AkSkAuth(AK, SK, project_id=PROJECT, clock=_fixed_clock())
        params = {"per_page": 10, "page": 1, "sortBy": "create_time", "order": "desc", "config_type": "custom",
                  "search_content": "resnet 50"}
        request = requests.Request("GET", f"https://{HOST}/v1/{PROJECT}/training-job-configs", params=params,
                                   headers={"Content-Type": "application/json"})
        assert "resnet+50" in request.prepare().url  # what requests does without the auth
        prepared = request.prepare()
        prepared.prepare_auth(auth)
        assert prepared.headers["X-Project-Id"] == PROJECT
        assert prepared.headers["Authorization"].endswith(f"Signature={C1_SIG}")
        assert prepared.url.endswith(
            "?config_type=custom&order=desc&page=1&per_page=10&search_content=resnet%2050&sortBy=create_time"
        )
        assert "+" not in prepared.url

    def test_host_keeps_non_default_port(self):
        auth = AkSkAuth(AK, SK, clock=_fixed_clock())
        prepared = requests.Request("GET", f"http://127.0.0.1:8765/v1/{PROJECT}/training-job-configs",
                                    params={"page": 2, "per_page": 50}, auth=auth).prepare()
        assert prepared.headers["Host"] == "127.0.0.1:8765"
        assert prepared.headers["Authorization"].endswith(
            "Signature=1f1a1b365b2ec1bcf0f97c871947571b56e6f9bcdc405bf96f00652d7c38b0ee"
        )

    def test_clock_in_another_zone_is_written_as_utc(self):
        moment = datetime(2024, 5, 15, 10, 0, 0, tzinfo=timezone(timedelta(hours=2)))
        assert AkSkAuth(AK, SK, clock=lambda: moment).sdk_date() == DATE

    def test_default_clock_is_now(self):
        date = datetime.strptime(AkSkAuth(AK, SK).sdk_date(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        assert abs((datetime.now(UTC) - date).total_seconds()) < 5

    def test_repr_hides_keys_and_no_retry_on_401(self):
        auth = AkSkAuth(AK, SK, project_id=PROJECT)
        assert SK not in repr(auth) and AK not in repr(auth)
        assert auth.handle_unauthorized(None) is False
        assert auth.redact(f"ak {AK} sk {SK}") == "ak *** sk ***"

    def test_missing_keys_rejected(self):
        with pytest.raises(ValueError):
            AkSkAuth("", SK)


class TestStaticTokenAuth:
    def test_sets_x_auth_token(self):
        prepared = requests.Request("GET", "https://h/x", auth=StaticTokenAuth("tok-123456")).prepare()
        assert prepared.headers["X-Auth-Token"] == "tok-123456"
        assert "Authorization" not in prepared.headers

    def test_repr_hides_token_and_no_retry_on_401(self):
        auth = StaticTokenAuth(token="tok-123456")
        assert "tok-123456" not in repr(auth)
        assert auth.handle_unauthorized(None) is False

    def test_empty_token_rejected(self):
        with pytest.raises(ValueError):
            StaticTokenAuth("")


# --- IAM password tokens -----------------------------------------------------------------------------
IAM = "https://iam.cn-north-4.myhuaweicloud.com"
TOKEN_URL = f"{IAM}/v3/auth/tokens?nocatalog=true"
PASSWORD = "Pa55word-secret!"


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _token_response(token: str, *, issued: float, lifetime: float, status: int = 201) -> responses.Response:
    return responses.Response(
        responses.POST, TOKEN_URL, status=status, headers={"X-Subject-Token": token},
        json={"token": {"expires_at": _iso(issued + lifetime), "issued_at": _iso(issued), "methods": ["password"]}},
    )


def _iam_auth(clock=None, **kwargs) -> IamPasswordAuth:
    return IamPasswordAuth(iam_endpoint=IAM + "/", username="iam-user", password=PASSWORD, domain="account-name",
                           project_id=PROJECT, clock=clock or FakeClock(), **kwargs)


class TestIamPasswordAuth:
    @responses.activate
    def test_token_request_is_exactly_as_documented(self):
        clock = FakeClock()
        responses.add(_token_response("TOKEN-A" * 10, issued=clock.now, lifetime=86400))
        auth = _iam_auth(clock, timeout=12)
        prepared = requests.Request("GET", "https://h/x", auth=auth).prepare()

        assert prepared.headers["X-Auth-Token"] == "TOKEN-A" * 10
        call = responses.calls[0]
        assert call.request.url == TOKEN_URL
        assert call.request.headers["Content-Type"] == "application/json;charset=utf8"
        assert json.loads(call.request.body) == {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": "iam-user", "password": PASSWORD, "domain": {"name": "account-name"}}
                    },
                },
                "scope": {"project": {"id": PROJECT}},
            }
        }
        assert call.request.req_kwargs["timeout"] == (5.0, 12.0)

    def test_expires_at_with_microseconds_and_z(self):
        from configs_app.modelarts.auth import _parse_expires_at

        assert _parse_expires_at("2015-11-09T01:42:57.527363Z") == datetime(
            2015, 11, 9, 1, 42, 57, 527363, tzinfo=UTC
        )

    @responses.activate
    def test_cached_until_less_than_margin_remains(self):
        clock = FakeClock()
        responses.add(_token_response("TOKEN-A", issued=clock.now, lifetime=86400))
        responses.add(_token_response("TOKEN-B", issued=clock.now + 82801, lifetime=86400))
        auth = _iam_auth(clock)
        assert auth.token() == "TOKEN-A"
        clock.now += 86400 - 3600 - 1  # 1 h + 1 s left: still fine
        assert auth.token() == "TOKEN-A"
        assert len(responses.calls) == 1
        clock.now += 2  # less than 1 h left
        assert auth.token() == "TOKEN-B"
        assert len(responses.calls) == 2

    @responses.activate
    def test_short_lived_token_refreshed_at_ten_percent_left(self):
        clock = FakeClock()
        responses.add(_token_response("SHORT-1", issued=clock.now, lifetime=60))
        responses.add(_token_response("SHORT-2", issued=clock.now + 55, lifetime=60))
        auth = _iam_auth(clock)
        assert auth.token() == "SHORT-1"
        clock.now += 53  # 7 s of 60 left: more than 10 %
        assert auth.token() == "SHORT-1"
        clock.now += 2  # 5 s left
        assert auth.token() == "SHORT-2"
        assert auth.fetch_count == 2

    @responses.activate
    def test_lifetime_measured_on_iam_clock(self):
        clock = FakeClock()
        # IAM's clock is 2 hours behind ours: expires_at is 22 h ahead of our clock, lifetime 24 h.
        responses.add(_token_response("SKEWED", issued=clock.now - 7200, lifetime=86400))
        auth = _iam_auth(clock)
        auth.token()
        clock.now += 86400 - 3600 - 10
        auth.token()
        assert len(responses.calls) == 1

    @responses.activate
    def test_handle_unauthorized_drops_only_the_token_that_failed(self):
        clock = FakeClock()
        responses.add(_token_response("OLD", issued=clock.now, lifetime=86400))
        responses.add(_token_response("NEW", issued=clock.now, lifetime=86400))
        auth = _iam_auth(clock)
        failed = requests.Request("GET", "https://h/x", auth=auth).prepare()
        assert failed.headers["X-Auth-Token"] == "OLD"
        assert auth.handle_unauthorized(failed) is True
        assert auth.token() == "NEW"
        # A second thread reporting the same old token must not throw away the new one.
        assert auth.handle_unauthorized(failed) is True
        assert auth.token() == "NEW"
        assert len(responses.calls) == 2

    @responses.activate
    def test_sixteen_threads_fetch_one_token(self):
        clock = FakeClock()

        def slow_token(request):
            time.sleep(0.05)
            body = {"token": {"expires_at": _iso(clock.now + 86400), "issued_at": _iso(clock.now)}}
            return 201, {"X-Subject-Token": "SHARED"}, json.dumps(body)

        responses.add_callback(responses.POST, TOKEN_URL, callback=slow_token)
        auth = _iam_auth(clock)
        barrier = threading.Barrier(16)
        results: list[str] = []

        def worker():
            barrier.wait()
            results.append(auth.token())

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == ["SHARED"] * 16
        assert len(responses.calls) == 1

    @responses.activate
    @pytest.mark.parametrize(
        ("status", "body", "expected", "code"),
        [
            (401, {"error": {"code": "IAM.0062", "message": "Incorrect password.", "title": "Unauthorized"}},
             ModelArtsAuthError, "IAM.0062"),
            (401, {"error": {"code": 401, "message": "The request you have made requires authentication.",
                             "title": "Unauthorized"}}, ModelArtsAuthError, None),
            (403, {"error_msg": "forbidden", "error_code": "IAM.0002"}, ModelArtsAuthError, "IAM.0002"),
            (400, {"error": {"code": 400, "message": "bad request", "title": "Bad Request"}}, ModelArtsAuthError,
             None),
            (500, {"error": {"code": 500, "message": "internal", "title": "Internal"}}, ModelArtsUnavailable, None),
            (503, None, ModelArtsUnavailable, None),
            (429, None, ModelArtsThrottled, None),
        ],
    )
    def test_iam_errors(self, status, body, expected, code):
        responses.add(responses.POST, TOKEN_URL, status=status, json=body)
        with pytest.raises(expected) as caught:
            _iam_auth().token()
        assert type(caught.value) is expected
        assert caught.value.status == status
        assert caught.value.error_code == code
        assert caught.value.path == "/v3/auth/tokens"
        assert PASSWORD not in str(caught.value)

    @responses.activate
    def test_iam_connection_error_is_unavailable(self):
        responses.add(responses.POST, TOKEN_URL, body=requests.ConnectionError("refused"))
        with pytest.raises(ModelArtsUnavailable):
            _iam_auth().token()

    @responses.activate
    def test_iam_timeout_is_unavailable(self):
        responses.add(responses.POST, TOKEN_URL, body=requests.ReadTimeout("slow"))
        with pytest.raises(ModelArtsUnavailable, match="timed out"):
            _iam_auth().token()

    @responses.activate
    def test_missing_subject_token_is_bad_response(self):
        responses.add(responses.POST, TOKEN_URL, status=201, json={"token": {"expires_at": _iso(time.time() + 60)}})
        with pytest.raises(ModelArtsBadResponse, match="X-Subject-Token"):
            _iam_auth().token()

    @responses.activate
    @pytest.mark.parametrize("token_body", [{"token": {}}, {"token": {"expires_at": "tomorrow"}}, ["x"]])
    def test_missing_or_bad_expiry_is_bad_response(self, token_body):
        responses.add(responses.POST, TOKEN_URL, status=201, headers={"X-Subject-Token": "T"}, json=token_body)
        with pytest.raises(ModelArtsBadResponse, match="expires_at"):
            _iam_auth().token()

    @responses.activate
    def test_iam_echoing_the_password_is_redacted(self):
        responses.add(responses.POST, TOKEN_URL, status=401,
                      json={"error": {"code": "IAM.0062", "message": f"wrong password {PASSWORD}"}})
        with pytest.raises(ModelArtsAuthError) as caught:
            _iam_auth().token()
        assert PASSWORD not in str(caught.value) and PASSWORD not in repr(caught.value)

    @responses.activate
    def test_repr_hides_password_and_token(self):
        clock = FakeClock()
        responses.add(_token_response("SECRET-TOKEN", issued=clock.now, lifetime=86400))
        auth = _iam_auth(clock)
        auth.token()
        assert PASSWORD not in repr(auth)
        assert "SECRET-TOKEN" not in repr(auth)
        assert auth.redact("x SECRET-TOKEN y " + PASSWORD) == "x *** y ***"

    def test_bad_arguments(self):
        with pytest.raises(ValueError):
            IamPasswordAuth(iam_endpoint="iam.example.com", username="u", password="p", domain="d", project_id="p")
        with pytest.raises(ValueError):
            IamPasswordAuth(iam_endpoint=IAM, username="u", password="", domain="d", project_id="p")
