"""Typed errors raised by the ModelArts client.

Callers never see a ``requests`` exception: every failure becomes one of these. Messages carry the
HTTP status, the API's ``error_code``, its message, the request path and the request id, never a
header, token, AK/SK, password or signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


class ModelArtsError(Exception):
    """Base class for every failure talking to ModelArts.

    Attributes:
        message: human-readable text (from the API's ``error_message``/``error_msg`` when present).
        status: HTTP status, or None when no response arrived.
        error_code: the API's code, e.g. ``ModelArts.0015`` or ``APIG.0301``; None when absent.
        request_id: the ``X-Request-Id`` header or the body's ``request_id``; None when absent.
        path: the request path (no query string, so nothing signed or secret).
    """

    #: Whether repeating the same request later may succeed.
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        path: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.error_code = error_code
        self.request_id = request_id
        self.path = path
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.error_code:
            parts.append(self.error_code)
        if self.path:
            parts.append(self.path)
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        return " | ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"error_code={self.error_code!r}, request_id={self.request_id!r}, path={self.path!r})"
        )

    def __reduce__(self):  # keep keyword arguments when pickled (e.g. across processes)
        return (_rebuild, (type(self), self.message, self.status, self.error_code, self.request_id, self.path))


def _rebuild(cls, message, status, error_code, request_id, path):
    return cls(message, status=status, error_code=error_code, request_id=request_id, path=path)


class ModelArtsNotFound(ModelArtsError):
    """404, or a 4xx whose code is ModelArts.0015 / ModelArts.0102 (config does not exist)."""


class ModelArtsAuthError(ModelArtsError):
    """401/403: credentials wrong, expired or not allowed. Never retried (AK/SK lockout after 5)."""


class ModelArtsBadRequest(ModelArtsError):
    """400 and other 4xx not covered above: the request itself is wrong; repeating it won't help."""


class ModelArtsUnavailable(ModelArtsError):
    """Timeouts, connection errors, 5xx after retries, or the retry time budget exhausted."""

    retryable = True


class ModelArtsThrottled(ModelArtsUnavailable):
    """429 (APIG.0308, ModelArts.6101/4206) still returned after retries.

    Attributes:
        retry_after: seconds the server asked to wait, when it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)

    def __reduce__(self):  # keep retry_after too when pickled
        return (_rebuild_throttled, (self.message, self.retry_after, self.status, self.error_code, self.request_id,
                                     self.path))


def _rebuild_throttled(message, retry_after, status, error_code, request_id, path):
    return ModelArtsThrottled(message, retry_after=retry_after, status=status, error_code=error_code,
                              request_id=request_id, path=path)


class ModelArtsBadResponse(ModelArtsError):
    """The response is not usable: not JSON, truncated, or a required field is missing or mistyped."""


class ModelArtsListingChanged(ModelArtsUnavailable):
    """The config list kept changing while it was being paged, so no consistent listing was read."""


# --- reading error bodies (shared by the client and the IAM token call) ---------------------------

#: Longest API message kept in an error; servers sometimes send whole HTML pages.
MAX_MESSAGE_LENGTH = 500


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What an error body and its headers say: code, message and request id (each may be None)."""

    code: str | None
    message: str | None
    request_id: str | None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:MAX_MESSAGE_LENGTH]
    return None


def parse_error_body(body: Any, headers: Mapping[str, str] | None = None) -> ErrorInfo:
    """Read any of the error body shapes of the API reference §5.1.

    Message: ``error_message``, else ``error_msg``, else IAM's ``error.message`` (or its ``title``).
    Code: ``error_code``, else ``error.code`` when it is a string (Keystone puts the HTTP status
    there as a number, which says nothing new). Request id: the ``X-Request-Id`` header, else the
    gateway body's ``request_id``.

    Args:
        body: the decoded JSON body (anything; non-dicts give no code or message).
        headers: the response headers (a case-insensitive mapping, as ``requests`` gives).
    """
    code = message = request_id = None
    if isinstance(body, Mapping):
        message = _text(body.get("error_message")) or _text(body.get("error_msg"))
        code = _text(body.get("error_code"))
        request_id = _text(body.get("request_id"))
        nested = body.get("error")
        if isinstance(nested, Mapping):
            message = message or _text(nested.get("message")) or _text(nested.get("title"))
            code = code or _text(nested.get("code"))
    if headers is not None:
        request_id = _text(headers.get("X-Request-Id")) or request_id
    return ErrorInfo(code=code, message=message, request_id=request_id)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / infinity
        return None
    return max(0.0, seconds)
