"""Errors: body parsing, Retry-After, pickling, and that no secret ever reaches an error or a log."""

from __future__ import annotations

import logging
import pickle
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests
import responses

from configs_app.modelarts import (
    AkSkAuth,
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
    StaticTokenAuth,
)
from configs_app.modelarts.errors import parse_error_body, parse_retry_after

ENDPOINT = "https://modelarts.example.com"
PROJECT = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
LIST_URL = f"{ENDPOINT}/v1/{PROJECT}/training-job-configs"
IAM = "https://iam.example.com"
TOKEN_URL = f"{IAM}/v3/auth/tokens?nocatalog=true"

AK = "AKID-VISIBLE-0000000001"
SK = "SK-super-secret-signing-key-000000000000"
PASSWORD = "IAM-password-secret-123!"
IAM_TOKEN = "MIIDIAM-issued-token-secret-000000"
STATIC_TOKEN = "MIIDstatic-token-secret-000000000"


class TestParseErrorBody:
    @pytest.mark.parametrize(
        ("body", "code", "message", "request_id"),
        [
            ({"is_success": False, "error_message": "Error string", "error_code": "ModelArts.0105"},
             "ModelArts.0105", "Error string", None),
            ({"is_success": False, "error_msg": "old style", "error_code": "ModelArts.0101"},
             "ModelArts.0101", "old style", None),
            ({"error_msg": "generic", "error_code": "AS.0001"}, "AS.0001", "generic", None),
            ({"error_msg": "gateway", "error_code": "APIG.0301", "request_id": "abc"}, "APIG.0301", "gateway", "abc"),
            ({"error": {"code": 401, "message": "keystone", "title": "Unauthorized"}}, None, "keystone", None),
            ({"error": {"code": "IAM.0062", "message": "Incorrect password"}}, "IAM.0062", "Incorrect password", None),
            ({"error": {"title": "Forbidden"}}, None, "Forbidden", None),
            ({"error_message": "", "error_msg": "fallback"}, None, "fallback", None),
            ("not a dict", None, None, None),
            (None, None, None, None),
        ],
    )
    def test_shapes(self, body, code, message, request_id):
        info = parse_error_body(body)
        assert (info.code, info.message, info.request_id) == (code, message, request_id)

    def test_header_request_id_wins(self):
        headers = requests.structures.CaseInsensitiveDict({"x-request-id": "from-header"})
        assert parse_error_body({"request_id": "from-body"}, headers).request_id == "from-header"

    def test_long_messages_are_cut(self):
        assert len(parse_error_body({"error_message": "x" * 10_000}).message) == 500


class TestRetryAfter:
    @pytest.mark.parametrize(("value", "expected"), [("7", 7.0), (" 2.5 ", 2.5), ("-3", 0.0), (None, None), ("", None),
                                                     ("soon", None), ("nan", None), ("inf", None)])
    def test_values(self, value, expected):
        assert parse_retry_after(value) == expected

    def test_http_date(self):
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
        assert 100 <= parse_retry_after(when) <= 121


@pytest.mark.parametrize(
    "error",
    [
        ModelArtsNotFound("gone", status=404, error_code="ModelArts.0015", request_id="r1", path="/v1/p/x"),
        ModelArtsThrottled("slow down", retry_after=3.0, status=429, error_code="APIG.0308"),
        ModelArtsListingChanged("changed", path="/v1/p/training-job-configs"),
    ],
)
def test_errors_survive_pickling(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.message, copy.status, copy.error_code, copy.request_id, copy.path) == (
        error.message, error.status, error.error_code, error.request_id, error.path)
    assert str(copy) == str(error)
    assert getattr(copy, "retry_after", None) == getattr(error, "retry_after", None)


def test_hierarchy():
    assert issubclass(ModelArtsThrottled, ModelArtsUnavailable)
    assert issubclass(ModelArtsListingChanged, ModelArtsUnavailable)
    for cls in (ModelArtsNotFound, ModelArtsAuthError, ModelArtsBadRequest, ModelArtsBadResponse):
        assert issubclass(cls, ModelArtsError) and not cls.retryable


def test_package_imports_no_django():
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys, configs_app.modelarts as m; "
        "bad = sorted(n for n in sys.modules if n == 'django' or n.startswith('django.')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# --- no secret in errors or logs --------------------------------------------------------------------


def _token_response() -> responses.Response:
    return responses.Response(
        responses.POST, TOKEN_URL, status=201, headers={"X-Subject-Token": IAM_TOKEN},
        json={"token": {"expires_at": "2099-01-01T00:00:00.000000Z"}},
    )


def _auth(mode: str):
    if mode == "aksk":
        return AkSkAuth(AK, SK, project_id=PROJECT)
    if mode == "iam":
        return IamPasswordAuth(iam_endpoint=IAM, username="user", password=PASSWORD, domain="acct",
                               project_id=PROJECT)
    return StaticTokenAuth(STATIC_TOKEN)


ECHO = f"echo {AK} {SK} {PASSWORD} {IAM_TOKEN} {STATIC_TOKEN}"

# name -> (what the server does, expected error class, call)
SCENARIOS = {
    "not-found": (lambda: responses.get(f"{LIST_URL}/x", status=404, json={"error_code": "ModelArts.0015",
                                                                            "error_message": ECHO}),
                  ModelArtsNotFound, lambda c: c.get_config("x")),
    "auth": (lambda: responses.get(LIST_URL, status=401, json={"error_code": "APIG.0301", "error_msg": ECHO}),
             ModelArtsAuthError, lambda c: c.list_configs()),
    "bad-request": (lambda: responses.get(LIST_URL, status=400, json={"error_code": "ModelArts.0101",
                                                                      "error_message": ECHO}),
                    ModelArtsBadRequest, lambda c: c.list_configs()),
    "unavailable": (lambda: responses.get(LIST_URL, status=503, json={"error_message": ECHO}),
                    ModelArtsUnavailable, lambda c: c.list_configs()),
    "connection": (lambda: responses.get(LIST_URL, body=requests.ConnectionError(ECHO)),
                   ModelArtsUnavailable, lambda c: c.list_configs()),
    "throttled": (lambda: responses.get(LIST_URL, status=429, headers={"Retry-After": "1"},
                                        json={"error_code": "APIG.0308", "error_msg": ECHO}),
                  ModelArtsThrottled, lambda c: c.list_configs()),
    "bad-response": (lambda: responses.get(LIST_URL, body=ECHO), ModelArtsBadResponse, lambda c: c.list_configs()),
    "is-success-false": (lambda: responses.get(LIST_URL, json={"is_success": False, "error_code": "X",
                                                               "error_message": ECHO}),
                         ModelArtsBadRequest, lambda c: c.list_configs()),
    "listing-changed": (lambda: responses.get(LIST_URL, json={"config_total_count": 5,
                                                              "configs": [{"config_name": "a"}]}),
                        ModelArtsListingChanged, lambda c: list(c.iter_configs())),
}


@pytest.mark.parametrize("mode", ["aksk", "iam", "static"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@responses.activate
def test_no_secret_in_errors_or_logs(mode, scenario, caplog):
    arrange, expected, call = SCENARIOS[scenario]
    if mode == "iam":
        responses.add(_token_response())
    arrange()
    client = ModelArtsClient(endpoint=ENDPOINT, project_id=PROJECT, auth=_auth(mode), max_retries=0,
                             sleep=lambda s: None)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(expected) as caught:
            call(client)
    assert type(caught.value) is expected

    # The server echoes every credential; this client must hide the ones it holds.
    secrets = {"aksk": [AK, SK], "iam": [PASSWORD, IAM_TOKEN], "static": [STATIC_TOKEN]}[mode]
    for sent in responses.calls:
        authorization = sent.request.headers.get("Authorization")
        if authorization:
            secrets.append(authorization.rsplit("Signature=", 1)[1])
    assert mode != "aksk" or len(secrets) > 2  # the signatures really were captured

    error = caught.value
    texts = [str(error), repr(error), *map(str, error.args), str(error.message)]
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(record.args) for record in caplog.records]
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{scenario}/{mode} leaked a secret"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"error": {"code": "IAM.0062", "message": f"wrong password {PASSWORD}"}}, ModelArtsAuthError),
        (503, {"error": {"code": 503, "message": "down"}}, ModelArtsUnavailable),
    ],
)
@responses.activate
def test_no_secret_from_iam_failures(status, body, expected, caplog):
    responses.post(TOKEN_URL, status=status, json=body)
    client = ModelArtsClient(endpoint=ENDPOINT, project_id=PROJECT, auth=_auth("iam"), max_retries=1,
                             sleep=lambda s: None)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(expected) as caught:
            client.list_configs()
    texts = [str(caught.value), repr(caught.value), *map(str, caught.value.args)]
    texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert PASSWORD not in text
