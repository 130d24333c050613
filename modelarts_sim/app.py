"""The simulator as a WSGI application: routing, authentication, the five config endpoints, faults.

Speaks ``/work/shared/modelarts-api.md``:

- ``GET/POST /v1/{project_id}/training-job-configs`` (list §1.1/§2, create §4),
  ``GET/PUT/DELETE /v1/{project_id}/training-job-configs/{config_name}`` (detail §3, modify, delete);
- ``POST /v3/auth/tokens`` (IAM token, §6.2) and ``GET /v3/projects`` (§6.3) on the same host;
- ``/_sim/...`` control endpoints (no auth; see :mod:`modelarts_sim.control`).

Each API request passes these steps, in this order (faults are drawn at their step):
route (unknown → 404 APIG.0101) → ``down``/``reset`` → ``latency`` → ``throttle`` → authentication
(token or AK/SK, with ``reject_aksk``) → project id → ``error`` → the endpoint (``churn``,
``fail_list_pages``, ``vanish`` inside) → ``slow`` → ``malformed``/``truncated``/``is_success_false``.
Every response carries ``X-Request-Id``; every API request is recorded in the state's request log.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from . import control, data, errors, iam, signing
from .errors import Response, json_response
from .faults import AbortConnection, Fault
from .state import RequestRecord, SimulatorState, TokenInfo, iso8601, with_create_time

CONFIGS_SEGMENT = "training-job-configs"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Inferred, not confirmed by the API reference: project ids are 32 lower-case hex characters (§1 "in every example").
PROJECT_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
MAX_PER_PAGE = 1000
MAX_DESC_LENGTH = 256
SORT_KEYS = ("config_name", "config_desc", "create_time")


@dataclass(slots=True)
class Request:
    """The parts of a WSGI request the simulator needs, with the raw path kept for signing."""

    method: str
    raw_path: str  # still percent-encoded, as sent
    raw_query: str
    segments: list[str]  # the path split on "/" and percent-decoded (UTF-8)
    query: dict[str, str]  # first value of each name
    headers: dict[str, str]  # lower-case names
    body: bytes
    host: str
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    stop_event: threading.Event | None = None

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        raw_path = _raw_path(environ)
        raw_query = environ.get("QUERY_STRING", "")
        headers: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").lower()] = value
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        if environ.get("CONTENT_LENGTH"):
            headers["content-length"] = environ["CONTENT_LENGTH"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        host = headers.get("host") or f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '80')}"
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query.setdefault(name, value)
        segments = [unquote(s, errors="replace") for s in raw_path.split("/")]
        return cls(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            raw_path=raw_path,
            raw_query=raw_query,
            segments=segments,
            query=query,
            headers=headers,
            body=body,
            host=host,
            stop_event=environ.get("sim.stop_event"),
        )

    @property
    def path(self) -> str:
        return unquote(self.raw_path, errors="replace")

    def sleep(self, seconds: float) -> None:
        """Sleep in this request's thread; a stopping server wakes it early."""
        if seconds <= 0:
            return
        if self.stop_event is not None:
            self.stop_event.wait(seconds)
        else:
            time.sleep(seconds)

    def json_body(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


def _raw_path(environ: dict[str, Any]) -> str:
    """The request path exactly as sent (PATH_INFO is already percent-decoded by WSGI)."""
    for key in ("RAW_URI", "REQUEST_URI"):
        raw = environ.get(key)
        if raw:
            path = raw.split("?", 1)[0]
            if "://" in path:  # absolute-form request target
                path = "/" + path.split("://", 1)[1].partition("/")[2]
            return path
    # WSGI decodes PATH_INFO as latin-1 bytes; re-encode it. Characters that never need escaping
    # stay bare, so the canonical URI (which decodes and re-encodes every segment) is unchanged.
    path_bytes = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
    return quote(path_bytes, safe="/-_.~!$&'()*+,;=:@")


@dataclass(slots=True)
class _Route:
    endpoint: str  # list | detail | create | modify | delete | iam | projects | unknown
    project_id: str | None = None
    config_name: str | None = None

    @property
    def fault_endpoint(self) -> str:
        return "iam" if self.endpoint in ("iam", "projects") else self.endpoint


def route(method: str, segments: list[str]) -> _Route:
    """Map method and path to an endpoint. Unknown paths and methods give ``unknown``.

    Inferred, not confirmed by the API reference: no trailing-slash tolerance (the API paths have none).
    """
    parts = segments[1:] if segments and segments[0] == "" else segments
    if parts == ["v3", "auth", "tokens"] and method == "POST":
        return _Route("iam")
    if parts == ["v3", "projects"] and method == "GET":
        return _Route("projects")
    if len(parts) >= 3 and parts[0] == "v1" and parts[2] == CONFIGS_SEGMENT:
        if len(parts) == 3:
            endpoint = {"GET": "list", "POST": "create"}.get(method)
            if endpoint:
                return _Route(endpoint, parts[1])
        elif len(parts) == 4 and parts[3] != "":
            endpoint = {"GET": "detail", "PUT": "modify", "DELETE": "delete"}.get(method)
            if endpoint:
                return _Route(endpoint, parts[1], parts[3])
    return _Route("unknown")


class SimulatorApp:
    """WSGI callable serving one :class:`SimulatorState`."""

    def __init__(
        self, state: SimulatorState, *, verbose: bool = False, log: Callable[[str], None] | None = None
    ) -> None:
        self.state = state
        self.verbose = verbose
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        try:
            if request.segments[1:2] == ["_sim"]:
                response = control.handle(self.state, request)
            else:
                response = self.handle_api(request)
        except AbortConnection:
            raise
        except Exception:  # a simulator bug: say so loudly, answer like the gateway would
            traceback.print_exc()
            response = errors.gateway_error(500, "APIG.0601", "Internal server error.", request.request_id)
        return self._send(environ, request, response, start_response)

    def _send(
        self, environ: dict[str, Any], request: Request, response: Response, start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        length = response.content_length if response.content_length is not None else len(response.body)
        headers = [
            ("Content-Type", response.content_type),
            ("Content-Length", str(length)),
            ("X-Request-Id", request.request_id),
            *response.headers,
        ]
        if length > len(response.body):
            # A truncated body: close after it, or the client would wait for the missing bytes.
            close = environ.get("sim.close_connection")
            if close is not None:
                close()
        start_response(response.status_line, headers)
        return [response.body]

    # --- the API pipeline --------------------------------------------------------------------------

    def handle_api(self, request: Request) -> Response:
        """Answer one request to an API path (everything but ``/_sim/``) and record it."""
        target = route(request.method, request.segments)
        auth_kind = (
            "token" if "x-auth-token" in request.headers else "aksk" if "authorization" in request.headers else "none"
        )
        fired: list[Fault] = []
        status = 0
        try:
            with self.state.in_flight():
                response = self._pipeline(request, target, fired)
            status = response.status
            return response
        finally:
            self.state.record_request(
                RequestRecord(
                    request_id=request.request_id,
                    time=self.state.now(),
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    endpoint=target.endpoint,
                    auth=auth_kind,
                    status=status,
                    config_name=target.config_name,
                    faults=tuple(f.kind for f in fired),
                )
            )
            if self.verbose:
                faults = f" faults={','.join(f.kind for f in fired)}" if fired else ""
                self._log(f"{request.method} {request.path} {request.raw_query} -> {status or 'dropped'}{faults}")

    def _pipeline(self, request: Request, target: _Route, fired: list[Fault]) -> Response:
        state = self.state
        if target.endpoint == "unknown":
            return errors.gateway_error(404, *errors.API_NOT_FOUND, request_id=request.request_id)
        endpoint = target.fault_endpoint

        def draw(*kinds: str, **where: Any) -> list[Fault]:
            faults = state.draw_faults(endpoint, kinds, **where)
            fired.extend(faults)
            return faults

        for fault in draw("down", "reset"):
            raise AbortConnection(fault.kind)
        for fault in draw("latency"):
            request.sleep((fault["ms"] + state.jitter(fault["jitter_ms"])) / 1000)
        throttle = draw("throttle")
        if throttle:
            return errors.throttled(request.request_id, throttle[0]["retry_after"])

        if target.endpoint == "iam":
            response = self._injected_error(draw, request, iam_shape=True) or iam.issue_token(
                state, body=request.body, query=request.query, base_url=f"http://{request.host}"
            )
        else:
            denied, token = self._authenticate(request, draw)
            if denied:
                return denied
            if target.endpoint == "projects":
                response = self._injected_error(draw, request, iam_shape=True) or iam.list_projects(
                    state, query=request.query
                )
            else:
                response = (
                    self._check_project(request, target.project_id or "", token)
                    or self._injected_error(draw, request)
                    or self._endpoint(request, target, draw)
                )
        for fault in draw("slow"):
            request.sleep(fault["seconds"])
        return self._shape(response, draw)

    def _injected_error(
        self, draw: Callable[..., list[Fault]], request: Request, *, iam_shape: bool = False
    ) -> Response | None:
        faults = draw("error")
        if not faults:
            return None
        return errors.injected_error(faults[0]["status"], request.request_id, iam=iam_shape)

    def _shape(self, response: Response, draw: Callable[..., list[Fault]]) -> Response:
        """Apply the faults that damage an otherwise finished response."""
        for fault in draw("is_success_false"):
            response = json_response(
                200, {"is_success": False, "error_code": fault["error_code"], "error_message": fault["error_message"]}
            )
        for fault in draw("malformed"):
            response = Response(
                fault["status"],
                b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
                b"<hr><center>nginx</center></body></html>",
                content_type="text/html",
            )
        for fault in draw("truncated"):
            half = response.body[: max(1, len(response.body) // 2)]
            declared = len(response.body) if fault["mode"] == "content_length" else len(half)
            response = Response(response.status, half, response.headers, response.content_type, declared)
        return response

    # --- authentication ------------------------------------------------------------------------------

    def _authenticate(
        self, request: Request, draw: Callable[..., list[Fault]]
    ) -> tuple[Response | None, TokenInfo | None]:
        """(error response or None, the token's info when token auth was used)."""
        state = self.state
        rid = request.request_id

        def unauthorized(message: str) -> tuple[Response, None]:
            return errors.gateway_error(401, "APIG.0301", message, rid), None

        token = request.headers.get("x-auth-token")
        # Inferred, not confirmed by the API reference: with both X-Auth-Token and Authorization, the token is used.
        if token is not None:
            info = state.token_info(token.strip())
            if info is None:
                return unauthorized(errors.TOKEN_UNDECRYPTABLE)
            if info.expires_at <= state.now():
                return unauthorized(errors.token_expired_message(iso8601(info.expires_at)))
            return None, info
        authorization = request.headers.get("authorization")
        if not authorization:
            return unauthorized(errors.TOKEN_MISSING)
        try:
            access_key = signing.parse_authorization(authorization).access_key
        except signing.SignatureError:
            return unauthorized(errors.AKSK_SIGNATURE_FAIL)
        if state.ak_locked(access_key):
            return unauthorized(errors.AKSK_LOCKED)
        if draw("reject_aksk"):
            if state.secret_for(access_key) is not None:
                state.record_ak_failure(access_key)
            return unauthorized(errors.AKSK_SIGNATURE_FAIL)
        try:
            signing.verify(
                method=request.method,
                raw_path=request.raw_path,
                raw_query=request.raw_query,
                headers=request.headers,
                body=request.body,
                secret_for=state.secret_for,
                now=state.now(),
            )
        except signing.UnknownAccessKey as exc:
            return unauthorized(errors.unknown_access_key_message(exc.access_key))
        except signing.SignatureError as exc:
            state.record_ak_failure(access_key)
            if self.verbose:
                self._log(f"AK/SK rejected: {exc.reason}")
            return unauthorized(errors.AKSK_SIGNATURE_FAIL)
        state.record_ak_success(access_key)
        return None, None

    def _check_project(self, request: Request, project_id: str, token: TokenInfo | None) -> Response | None:
        state = self.state
        # Inferred, not confirmed by the API reference: which of the documented ModelArts.0210/0204 answers applies.
        if not PROJECT_ID_PATTERN.match(project_id):
            return errors.modelarts_error(400, errors.INVALID_PROJECT_ID)
        if token is not None:
            if token.project_id is None:
                return errors.modelarts_error(400, errors.TOKEN_WITHOUT_PROJECT)
            if token.project_id != project_id:
                return errors.modelarts_error(403, errors.PROJECT_MISMATCH)
            return None
        header_project = request.headers.get("x-project-id")
        if project_id != state.project_id or (header_project is not None and header_project.strip() != project_id):
            return errors.modelarts_error(403, errors.PROJECT_MISMATCH)
        return None

    # --- the five endpoints ----------------------------------------------------------------------------

    def _endpoint(self, request: Request, target: _Route, draw: Callable[..., list[Fault]]) -> Response:
        if target.endpoint == "list":
            return self._list(request, draw)
        if target.endpoint == "detail":
            return self._detail(request, target.config_name or "", draw)
        if target.endpoint == "create":
            return self._create(request)
        if target.endpoint == "modify":
            return self._modify(request, target.config_name or "")
        return self._delete(target.config_name or "")

    def _list(self, request: Request, draw: Callable[..., list[Fault]]) -> Response:
        params = parse_list_query(request.query)
        if params is None:
            # Inferred, not confirmed by the API reference: 400 ModelArts.0101 for any bad list parameter (§1.1).
            return errors.modelarts_error(400, errors.INVALID_ARGUMENT)
        if self.verbose and "sort_by" in request.query:
            self._log("note: query parameter sort_by is ignored (the API's name is sortBy)")
        if params["config_type"] == "custom":
            for fault in draw("churn"):
                self.state.churn(add=fault["add"], remove=fault["remove"])
        total, items = self.state.list_configs(**params)
        last_page = max(1, math.ceil(total / params["per_page"]))
        failing = draw("fail_list_pages", page=params["page"], last_page=last_page)
        if failing:
            return errors.injected_error(failing[0]["status"], request.request_id)
        return json_response(200, {"is_success": True, "config_total_count": total, "configs": items})

    def _detail(self, request: Request, name: str, draw: Callable[..., list[Fault]]) -> Response:
        config_type = request.query.get("config_type", "custom")
        if config_type not in ("custom", "sample"):
            return errors.modelarts_error(400, errors.INVALID_ARGUMENT)
        detail = self.state.get_config(name, config_type)
        if detail is None or draw("vanish", name=name):
            return errors.modelarts_error(404, errors.NOT_FOUND)
        return json_response(200, {"is_success": True, **detail})

    def _create(self, request: Request) -> Response:
        detail = validate_config_body(request.body, name=None)
        if detail is None:
            return errors.modelarts_error(400, errors.INVALID_ARGUMENT)
        detail = with_create_time(detail, int(self.state.now() * 1000))
        try:
            self.state.add_config(detail)
        except ValueError:
            # Inferred, not confirmed by the API reference: a duplicate name is 400 ModelArts.0101 (§4).
            return errors.modelarts_error(400, errors.INVALID_ARGUMENT)
        return json_response(200, {"is_success": True})

    def _modify(self, request: Request, name: str) -> Response:
        if self.state.list_item(name) is None:
            return errors.modelarts_error(404, errors.NOT_FOUND)
        detail = validate_config_body(request.body, name=name)
        if detail is None:
            return errors.modelarts_error(400, errors.INVALID_ARGUMENT)
        try:
            self.state.replace_config(name, detail)
        except KeyError:  # deleted meanwhile
            return errors.modelarts_error(404, errors.NOT_FOUND)
        return json_response(200, {"is_success": True})

    def _delete(self, name: str) -> Response:
        # Inferred, not confirmed by the API reference: deleting a missing name answers like detail-not-found (§4).
        if not self.state.delete_config(name):
            return errors.modelarts_error(404, errors.NOT_FOUND)
        return json_response(200, {"is_success": True})


def _positive_int(text: str | None, default: int) -> int | None:
    if text is None:
        return default
    if not re.fullmatch(r"[0-9]+", text):
        return None
    return int(text)


def parse_list_query(query: dict[str, str]) -> dict[str, Any] | None:
    """The list endpoint's parameters with defaults (§1.1), or None when one is invalid.

    Unknown names (``sort_by``, ``limit``...) are ignored.
    """
    per_page = _positive_int(query.get("per_page"), 10)
    page = _positive_int(query.get("page"), 1)
    sort_by = query.get("sortBy", "config_name")
    order = query.get("order", "desc")
    config_type = query.get("config_type", "custom")
    if per_page is None or not 1 <= per_page <= MAX_PER_PAGE or page is None or page < 1:
        return None
    if sort_by not in SORT_KEYS or order not in ("asc", "desc") or config_type not in ("custom", "sample"):
        return None
    if sort_by == "create_time" and config_type == "sample":
        return None
    return {
        "config_type": config_type,
        "sort_by": sort_by,
        "order": order,
        "search": query.get("search_content", ""),
        "page": page,
        "per_page": per_page,
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _non_empty_str(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def validate_config_body(body: bytes, *, name: str | None) -> dict[str, Any] | None:
    """Validate a create (``name`` None) or modify body per §4; the detail to store, or None.

    Spec and engine fields of the detail come from the simulator's tables, as the real service
    fills them from ``spec_id``/``engine_id``. Unknown keys are ignored.
    """
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    if name is None:
        name = payload.get("config_name")
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            return None
    desc = payload.get("config_desc", "")
    if not isinstance(desc, str) or len(desc) > MAX_DESC_LENGTH:
        return None
    spec = data.SPECS_BY_ID.get(payload.get("spec_id")) if _is_int(payload.get("spec_id")) else None
    workers = payload.get("worker_server_num")
    if spec is None or not _is_int(workers) or not 1 <= workers <= spec.max_num:
        return None
    model_id = payload.get("model_id")
    if model_id is not None and not _is_int(model_id):
        return None
    uses_model = bool(model_id)
    app_url, boot_file_url = payload.get("app_url"), payload.get("boot_file_url")
    has_app, has_boot = app_url not in (None, ""), boot_file_url not in (None, "")
    if has_app != has_boot or (has_app and not (_non_empty_str(app_url) and _non_empty_str(boot_file_url))):
        return None  # app_url and boot_file_url go together
    if not uses_model and not has_app:
        return None
    engine_id = payload.get("engine_id", None if uses_model else 1)  # default 1 per the doc (§4)
    engine = None
    if engine_id is not None:
        if not _is_int(engine_id) or engine_id not in data.ENGINES_BY_ID:
            return None
        engine = data.ENGINES_BY_ID[engine_id]
    parameters = payload.get("parameter")
    if parameters is not None:
        if not isinstance(parameters, list):
            return None
        for item in parameters:
            if not isinstance(item, dict) or not _non_empty_str(item.get("label")):
                return None
            # Strings per the doc; numbers are accepted because the doc's PUT sample sends them (§3).
            if isinstance(item.get("value"), bool) or not isinstance(item.get("value"), str | int | float):
                return None
    data_fields = _validate_data(payload)
    if data_fields is None:
        return None
    for key in ("train_url", "log_url", "user_image_url", "user_command"):
        if payload.get(key) is not None and not isinstance(payload[key], str):
            return None
    image, command = payload.get("user_image_url") or "", payload.get("user_command") or ""
    # Inferred, not confirmed by the API reference: "the command must go through run_train.sh" is enforced.
    if (image and not command) or (command and "run_train.sh" not in command):
        return None

    detail: dict[str, Any] = {"config_name": name, "config_desc": desc, "worker_server_num": workers}
    if has_app:
        detail.update(app_url=app_url, boot_file_url=boot_file_url)
    if model_id is not None:
        detail["model_id"] = model_id
    if parameters is not None:
        detail["parameter"] = [{"label": p["label"], "value": p["value"]} for p in parameters]
    detail.update(spec.fields())
    detail.update(data_fields)
    if engine is not None:
        detail.update(engine.fields())
    detail["train_url"] = payload.get("train_url") or ""
    detail["log_url"] = payload.get("log_url") or ""
    if image or command:
        detail.update(user_image_url=image, user_command=command)
    return detail


def _validate_data(payload: dict[str, Any]) -> dict[str, Any] | None:
    """Exactly one of data_url, dataset_id + dataset_version_id, data_source (§4)."""
    data_url = payload.get("data_url")
    dataset_id, version_id = payload.get("dataset_id"), payload.get("dataset_version_id")
    sources = payload.get("data_source")
    forms = 0
    fields: dict[str, Any] = {}
    if data_url not in (None, ""):
        if not isinstance(data_url, str):
            return None
        forms += 1
        fields["data_url"] = data_url
    if dataset_id not in (None, "") or version_id not in (None, ""):
        if not (_non_empty_str(dataset_id) and _non_empty_str(version_id)):
            return None  # they go together
        forms += 1
        fields.update(dataset_id=dataset_id, dataset_version_id=version_id)
    if sources not in (None, []):
        if not isinstance(sources, list):
            return None
        for source in sources:
            if not isinstance(source, dict) or source.get("type") not in ("obs", "dataset"):
                return None
            if source["type"] == "obs" and not _non_empty_str(source.get("data_url")):
                return None
            if source["type"] == "dataset" and not (
                _non_empty_str(source.get("dataset_id")) and _non_empty_str(source.get("dataset_version"))
            ):
                return None
        forms += 1
        fields["data_source"] = [
            {k: s.get(k, "") for k in ("dataset_id", "dataset_version", "type", "data_url")} for s in sources
        ]
    return fields if forms == 1 else None
