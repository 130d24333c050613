"""HTTP responses of the simulator, and the error bodies and codes it answers with.

Three error shapes, as in ``/work/shared/modelarts-api.md`` §5.1:

- ModelArts (this API): ``{"is_success": false, "error_code": ..., "error_message": ...}``;
- API gateway (APIG): ``{"error_msg": ..., "error_code": "APIG.xxxx", "request_id": ...}``;
- IAM (Keystone): ``{"error": {"code": 401, "message": ..., "title": "Unauthorized"}}``.

Inferred, not confirmed by the API reference: which layer answers which status (§5.1 "Simulator
rule"): ModelArts-level problems use the ModelArts shape, gateway problems (routing, auth,
throttling, backend unreachable) the APIG shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"

# ModelArts codes and messages, §5.3.
INVALID_ARGUMENT = ("ModelArts.0101", "Invalid Argument.")
# Inferred, not confirmed by the API reference: the not-found code comes from older copies of the error table (§5.3).
NOT_FOUND = ("ModelArts.0015", "The resource you requested is not exist")
INVALID_PROJECT_ID = ("ModelArts.0210", "Invalid project ID.")
PROJECT_MISMATCH = ("ModelArts.0210", "The project id in the request URL does not match the token.")
TOKEN_WITHOUT_PROJECT = ("ModelArts.0204", "Token must contain projectId info.")
INTERNAL_ERROR = ("ModelArts.0010", "Internal error.")
UNAVAILABLE = ("ModelArts.4700", "Unavailable gateway.")

# Gateway codes and messages, §5.4.
API_NOT_FOUND = ("APIG.0101", "The API does not exist or has not been published in the environment.")
IAM_AUTH_PREFIX = "Incorrect IAM authentication information: "
TOKEN_MISSING = IAM_AUTH_PREFIX + "x-auth-token not found"
TOKEN_UNDECRYPTABLE = IAM_AUTH_PREFIX + "decrypt token fail"
AKSK_SIGNATURE_FAIL = IAM_AUTH_PREFIX + "verify aksk signature fail"
AKSK_LOCKED = IAM_AUTH_PREFIX + "AK access failed to reach the limit,forbidden"
NOT_AUTHORIZED = ("APIG.0302", "The IAM user is not authorized to access the API.")
TOKEN_MUST_BE_UPDATED = ("APIG.0307", "The token must be updated.")
BACKEND_UNAVAILABLE = ("APIG.0202", "Backend unavailable")
BACKEND_TIMEOUT = ("APIG.0203", "Backend timeout")
# Inferred, not confirmed by the API reference: the limit figure is not published (§9 #15).
THROTTLED = (
    "APIG.0308",
    "The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 minute",
)


def token_expired_message(expires_at_iso: str) -> str:
    return f"{IAM_AUTH_PREFIX}token expires, expires_at: {expires_at_iso}"


def unknown_access_key_message(access_key: str) -> str:
    # Inferred, not confirmed by the API reference: the docs mask the AK ("ak:******"); we show it.
    return f"{IAM_AUTH_PREFIX}Get secretKey failed,ak:{access_key},err:ak not exist"


@dataclass(slots=True)
class Response:
    """A complete HTTP response before it is handed to the WSGI server."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = JSON_CONTENT_TYPE
    # Set when a fault declares a Content-Length other than len(body) (truncated bodies).
    content_length: int | None = None

    @property
    def status_line(self) -> str:
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Unknown"
        return f"{self.status} {phrase}"


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, list(headers or []))


def modelarts_error(status: int, code_message: tuple[str, str]) -> Response:
    code, message = code_message
    return json_response(status, {"is_success": False, "error_code": code, "error_message": message})


def gateway_error(status: int, code: str, message: str, request_id: str) -> Response:
    return json_response(status, {"error_msg": message, "error_code": code, "request_id": request_id})


def keystone_error(status: int, message: str, code: str | None = None) -> Response:
    """An IAM error. ``code`` (e.g. ``IAM.0062``) goes to a top-level ``error_code``.

    Inferred, not confirmed by the API reference: §5.5 names the IAM codes but shows only the
    Keystone body; a top-level ``error_code`` is where a client following §5.1 ("code = error_code
    or error.code") finds it, while ``error.code`` keeps the Keystone integer status.
    """
    payload: dict[str, Any] = {"error": {"code": status, "message": message, "title": HTTPStatus(status).phrase}}
    if code:
        payload["error_code"] = code
    return json_response(status, payload)


def throttled(request_id: str, retry_after: int) -> Response:
    response = gateway_error(429, *THROTTLED, request_id=request_id)
    # Inferred, not confirmed by the API reference: the gateway's Retry-After header (§9 #15).
    response.headers.append(("Retry-After", str(retry_after)))
    return response


def injected_error(status: int, request_id: str, *, iam: bool = False) -> Response:
    """The body a real deployment would most likely send with ``status`` (fault injection).

    Inferred, not confirmed by the API reference: the mapping from status to layer and code.
    """
    if iam:
        return keystone_error(status, HTTPStatus(status).description or HTTPStatus(status).phrase)
    if status == 400:
        return modelarts_error(400, INVALID_ARGUMENT)
    if status == 401:
        return gateway_error(401, *TOKEN_MUST_BE_UPDATED, request_id=request_id)
    if status == 403:
        return gateway_error(403, *NOT_AUTHORIZED, request_id=request_id)
    if status == 404:
        return modelarts_error(404, NOT_FOUND)
    if status == 429:
        return throttled(request_id, 2)
    if status == 502:
        return gateway_error(502, *BACKEND_UNAVAILABLE, request_id=request_id)
    if status == 503:
        return modelarts_error(503, UNAVAILABLE)
    if status == 504:
        return gateway_error(504, *BACKEND_TIMEOUT, request_id=request_id)
    return modelarts_error(status, INTERNAL_ERROR)
