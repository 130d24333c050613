"""HTTP client for the ModelArts v1 training-job-configs API (list and detail).

Owns everything between the sync and ModelArts: one ``requests.Session`` per client, a timeout on
every request, retries with backoff for idempotent GETs, paging, JSON → dataclasses
(:mod:`.types`) and every failure → a :class:`~.errors.ModelArtsError`. Field names, query names
and error shapes follow ``../shared/modelarts-api.md``. Pure library: no Django imports.

Thread safety: a client may be shared by many threads (the sync fetches details from up to 16).
Its only mutable state is the session's connection pool (sized by ``pool_size``); cookies are
disabled so the session's cookie jar never changes.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import math
import random
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from .auth import _timeout_pair
from .errors import (
    ErrorInfo,
    ModelArtsAuthError,
    ModelArtsBadRequest,
    ModelArtsBadResponse,
    ModelArtsError,
    ModelArtsListingChanged,
    ModelArtsNotFound,
    ModelArtsThrottled,
    ModelArtsUnavailable,
    parse_error_body,
    parse_retry_after,
)
from .types import ConfigDetail, ConfigPage, ConfigSummary, Parameter

logger = logging.getLogger("configs_app.modelarts")

__all__ = ["ModelArtsClient", "CONFIG_TYPES", "SORT_KEYS", "ORDERS", "MAX_PER_PAGE"]

#: Allowed values of the list query (§1.1).
SORT_KEYS = frozenset({"config_name", "config_desc", "create_time"})
ORDERS = frozenset({"asc", "desc"})
CONFIG_TYPES = frozenset({"custom", "sample"})
MAX_PER_PAGE = 1000

#: Statuses worth repeating a GET for (§5.2, plus 500 which is often transient behind a gateway).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Only these methods are ever retried (repeating them cannot change anything upstream).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})

# Error codes by meaning (§5.3, §5.4). Codes are compared upper-cased and with ``APIGW.`` read as
# ``APIG.`` (the shared gateway's prefix for the same numbers).
# Inferred, not confirmed by the API reference: "config not found" is ModelArts.0015 or ModelArts.0102.
_NOT_FOUND_CODES = frozenset({"MODELARTS.0015", "MODELARTS.0102"})
_AUTH_CODES = frozenset(
    {"APIG.0301", "APIG.0302", "APIG.0303", "APIG.0307", "APIG.0310", "MODELARTS.0108", "MODELARTS.4127"}
)
_AUTH_PREFIXES = ("MODELARTS.02", "IAM.")
_THROTTLE_CODES = frozenset({"APIG.0308", "MODELARTS.6101", "MODELARTS.4206"})
_SERVER_CODES = frozenset(
    {"APIG.0202", "APIG.0203", "APIG.0601", "APIG.0613",
     "MODELARTS.0010", "MODELARTS.6102", "MODELARTS.4700", "MODELARTS.4503"}
)
#: Gateway code for "this API does not exist here" (wrong endpoint, path or region).
_API_MISSING_CODE = "APIG.0101"


def _norm_code(code: str | None) -> str:
    if not code:
        return ""
    code = code.strip().upper()
    return "APIG." + code[len("APIGW."):] if code.startswith("APIGW.") else code


def _encode(value: str) -> str:
    """Percent-encode a query name or value; spaces become ``%20`` (the form AK/SK signing needs)."""
    return quote(value, safe="-_.~")


class _FieldError(Exception):
    """A documented field has a type the client can't use (becomes ModelArtsBadResponse)."""


class ModelArtsClient:
    """Client of one ModelArts project's training-job-configs API.

    Args:
        endpoint: base URL incl. scheme (and port), e.g. ``https://modelarts.cn-north-4.myhuaweicloud.com``
            or ``http://127.0.0.1:8765`` for the simulator. A path prefix is kept.
        project_id: the project (path segment of every call).
        auth: a ``requests.auth.AuthBase``: :class:`~.auth.AkSkAuth`, :class:`~.auth.IamPasswordAuth`
            or :class:`~.auth.StaticTokenAuth`. Its ``handle_unauthorized`` and ``redact`` hooks
            are used when present.
        timeout: read timeout in seconds (connect timeout is ``min(timeout, 5)``) or a
            ``(connect, read)`` pair. Applied to every request.
        max_retries: retries (after the first try) of a GET on connection errors, timeouts, 429,
            500, 502, 503 and 504. Never on other statuses.
        verify: TLS certificate verification, as in ``requests``.
        pool_size: connections kept per host (set it to at least the number of threads).
        max_total_time: seconds one call may spend including retries; no retry starts whose wait
            would end after this budget.
        session: a ``requests.Session`` to use instead of a new one (its adapters are left as they
            are and it is not closed by :meth:`close`).
        sleep: called with the seconds to wait between retries (tests pass a recorder).
        clock: monotonic seconds, for the time budget.
        rng: random source for the backoff jitter.

    Raises:
        ValueError: the endpoint is not an http(s) URL, or a number is out of range.
    """

    #: First backoff cap in seconds; doubles each retry (full jitter: a random wait in [0, cap]).
    backoff_base: float = 0.5
    #: Largest backoff cap in seconds.
    backoff_max: float = 8.0
    #: Largest wait taken from a ``Retry-After`` header.
    retry_after_max: float = 30.0

    def __init__(
        self,
        *,
        endpoint: str,
        project_id: str,
        auth: AuthBase,
        timeout: float | tuple[float, float] = 15.0,
        max_retries: int = 3,
        verify: bool | str = True,
        pool_size: int = 10,
        max_total_time: float = 60.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        parts = urlsplit(endpoint or "")
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ValueError("endpoint must be a URL starting with https:// or http://")
        if not project_id:
            raise ValueError("project_id is required")
        if max_retries < 0 or pool_size < 1 or max_total_time <= 0:
            raise ValueError("max_retries must be >= 0, pool_size >= 1 and max_total_time > 0")
        self.endpoint = endpoint.rstrip("/")
        self.project_id = project_id
        self.auth = auth
        self.timeout = _timeout_pair(timeout)
        self.max_retries = max_retries
        self.verify = verify
        self.max_total_time = float(max_total_time)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._base = f"{self.endpoint}/v1/{quote(project_id, safe='')}"
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            # Retries are done by _request (so they can be counted, logged and time-bounded).
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            # The API uses no cookies; refusing them keeps the shared session free of mutable state.
            session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
            session.headers.update(
                {
                    "Accept": "application/json",
                    # Listed as mandatory on every request, GET included (§1).
                    "Content-Type": "application/json",
                    "User-Agent": f"modelarts-config-dashboard/0.1 {requests.utils.default_user_agent()}",
                }
            )
        self.session = session

    def __repr__(self) -> str:
        return f"ModelArtsClient(endpoint={self.endpoint!r}, project_id={self.project_id!r}, auth={self.auth!r})"

    def __enter__(self) -> ModelArtsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the session (if the client made it) and the auth's own resources."""
        if self._own_session:
            self.session.close()
        close = getattr(self.auth, "close", None)
        if callable(close):
            close()

    # --- public API --------------------------------------------------------------------------

    def list_configs(
        self,
        *,
        page: int = 1,
        per_page: int = 10,
        sort_by: str | None = None,
        order: str | None = None,
        search: str | None = None,
        config_type: str | None = None,
    ) -> ConfigPage:
        """One page of configs: ``GET /v1/{project_id}/training-job-configs``.

        Parameters left as None (or an empty ``search``) are not sent, so the server defaults
        apply (sort ``config_name``, order ``desc``, type ``custom``).

        Args:
            page: 1-based page number.
            per_page: page size, 1..1000.
            sort_by: ``config_name``, ``config_desc`` or ``create_time`` (sent as ``sortBy``).
            order: ``asc`` or ``desc``.
            search: free text (sent as ``search_content``).
            config_type: ``custom`` or ``sample``.

        Raises:
            ValueError: an argument is outside what the API accepts (nothing is sent).
            ModelArtsError: any failure; see the subclasses.
        """
        _check_int("page", page, minimum=1)
        _check_int("per_page", per_page, minimum=1, maximum=MAX_PER_PAGE)
        _check_choice("sort_by", sort_by, SORT_KEYS)
        _check_choice("order", order, ORDERS)
        _check_choice("config_type", config_type, CONFIG_TYPES)
        if sort_by == "create_time" and config_type == "sample":
            raise ValueError("sort_by='create_time' is not supported with config_type='sample' (API reference §1.1)")
        if search is not None and not isinstance(search, str):
            raise ValueError("search must be a string")

        query: list[tuple[str, str]] = [("page", str(page)), ("per_page", str(per_page))]
        if sort_by is not None:
            query.append(("sortBy", sort_by))  # camelCase on the wire, the API's only one
        if order is not None:
            query.append(("order", order))
        if search:
            query.append(("search_content", search))
        if config_type is not None:
            query.append(("config_type", config_type))
        path = "/training-job-configs"
        body = self._request("GET", path, query)
        return _parse_page(body, page=page, per_page=per_page, path=self._path(path))

    def iter_configs(
        self,
        *,
        config_type: str = "custom",
        per_page: int = MAX_PER_PAGE,
        sort_by: str = "config_name",
        order: str = "asc",
        max_restarts: int = 2,
    ) -> Iterator[ConfigSummary]:
        """Every config of one type, page by page, each name yielded once.

        The listing is paged by offset, so configs created or deleted while it is read shift the
        pages. A pass is taken as consistent when ``config_total_count`` stays the same on every
        page and the pass sees exactly that many distinct names (it stops there, or at a short or
        empty page). Otherwise (the total changed, a page ended the listing early, more names than
        the total, or more than ``ceil(total / per_page) + 2`` pages) the listing restarts from
        page 1, up to ``max_restarts`` times, then raises :class:`ModelArtsListingChanged`.

        Summaries are yielded as pages arrive (memory holds only names), never twice: a name
        yielded by an abandoned pass is not yielded again. So when the iterator finishes normally,
        what it yielded is a superset of one consistent listing: every config of the final pass,
        plus possibly some configs seen by an earlier pass and deleted since (their detail then
        answers "not found"). When it raises, the consumer must discard what it got and treat
        the listing as failed; nothing consistent was read.

        Limitation: a create and a delete during one pass cancel out in the total; offset paging
        cannot tell that one name moved across a page boundary, and the next listing corrects it.

        Args:
            config_type: ``custom`` or ``sample``.
            per_page: page size, 1..1000.
            sort_by: sort key; ``config_name`` (unique) gives stable pages.
            order: ``asc`` or ``desc``.
            max_restarts: how often to start over after an inconsistent pass.

        Raises:
            ValueError: bad arguments (raised on the first ``next()``).
            ModelArtsListingChanged: no consistent pass within ``max_restarts`` restarts.
            ModelArtsError: any request failed.
        """
        _check_int("max_restarts", max_restarts, minimum=0)
        yielded: set[str] = set()
        passes = 0
        while True:
            passes += 1
            consistent, reason = yield from self._listing_pass(
                yielded=yielded, config_type=config_type, per_page=per_page, sort_by=sort_by, order=order
            )
            if consistent:
                return
            if passes > max_restarts:
                raise ModelArtsListingChanged(
                    f"the config list kept changing while it was read ({reason}); gave up after {passes} passes",
                    path=self._path("/training-job-configs"),
                )
            logger.warning(
                "config listing inconsistent (%s); restarting from page 1 (restart %d of %d)",
                reason, passes, max_restarts,
            )

    def get_config(self, config_name: str, *, config_type: str = "custom") -> ConfigDetail:
        """One config in full: ``GET /v1/{project_id}/training-job-configs/{config_name}``.

        Args:
            config_name: the name; URL-quoted as one path segment (``/``, ``?``, spaces encoded).
            config_type: ``custom`` or ``sample`` (sent as ``config_type``).

        Raises:
            ValueError: empty name or bad ``config_type``.
            ModelArtsNotFound: no such config.
            ModelArtsBadResponse: the body is not JSON, lacks ``config_name``, names another
                config, or a documented field has an unusable type.
            ModelArtsError: any other failure; see the subclasses.
        """
        if not isinstance(config_name, str) or not config_name:
            raise ValueError("config_name must be a non-empty string")
        _check_choice("config_type", config_type, CONFIG_TYPES)
        path = f"/training-job-configs/{quote(config_name, safe='')}"
        body = self._request("GET", path, [("config_type", config_type)])
        return _parse_detail(body, config_name=config_name, config_type=config_type, path=self._path(path))

    # --- paging ------------------------------------------------------------------------------

    def _listing_pass(
        self, *, yielded: set[str], config_type: str, per_page: int, sort_by: str, order: str
    ) -> Generator[ConfigSummary, None, tuple[bool, str]]:
        """One pass from page 1; yields new summaries, returns (consistent, reason if not)."""
        seen: set[str] = set()
        total: int | None = None
        max_pages = 0
        page_no = 0
        while True:
            page_no += 1
            page = self.list_configs(
                page=page_no, per_page=per_page, sort_by=sort_by, order=order, config_type=config_type
            )
            if total is None:
                total = page.config_total_count
                max_pages = math.ceil(total / per_page) + 2
            elif page.config_total_count != total:
                return False, f"config_total_count went from {total} to {page.config_total_count} at page {page_no}"
            for summary in page.configs:
                name = summary.config_name
                if name in seen:  # a repeat inside this pass (rows shifted); counted once
                    continue
                seen.add(name)
                if name not in yielded:
                    yielded.add(name)
                    yield summary
            if len(seen) == total:
                return True, ""
            if len(seen) > total:
                return False, f"{len(seen)} distinct configs but config_total_count is {total}"
            if len(page.configs) < per_page:
                return False, f"page {page_no} ended the listing at {len(seen)} of {total} configs"
            if page_no >= max_pages:
                return False, f"{page_no} full pages read but only {len(seen)} of {total} distinct configs"

    # --- HTTP --------------------------------------------------------------------------------

    def _path(self, path: str) -> str:
        """The URL path (no query) of an API path, for messages and logs."""
        return urlsplit(self._base + path).path

    def _redact(self, text: str) -> str:
        redact = getattr(self.auth, "redact", None)
        return redact(text) if callable(redact) else text

    def _request(self, method: str, path: str, query: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """Send one API call with retries; return its decoded JSON object.

        Retries (GET/HEAD only, at most ``max_retries``, within ``max_total_time``): connection
        errors and timeouts (not TLS errors), 429/500/502/503/504. Waits: ``Retry-After`` when the
        server sent it (429/503, capped at ``retry_after_max``), else full-jitter exponential
        backoff. A 401 is repeated once, without waiting, if the auth's ``handle_unauthorized``
        says new credentials are available; it does not count as a retry.
        """
        url = self._base + path
        if query:
            url += "?" + "&".join(f"{_encode(name)}={_encode(value)}" for name, value in query)
        url_path = self._path(path)
        deadline = self._clock() + self.max_total_time
        attempts = retries = 0
        reauthenticated = False
        while True:
            attempts += 1
            response, error, retryable = self._send(method, url, url_path)
            retry_after: float | None = None
            if response is not None:
                status = response.status_code
                if status == 401 and not reauthenticated and self._handle_unauthorized(response):
                    reauthenticated = True
                    logger.warning("%s %s: HTTP 401, retrying once with new credentials", method, url_path)
                    continue
                if status not in RETRY_STATUSES:
                    return self._decode(response, url_path)
                if status in (429, 503):
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                error, retryable = self._error_from_response(response, url_path), True
            assert error is not None
            if not retryable or method.upper() not in IDEMPOTENT_METHODS or retries >= self.max_retries:
                raise _after_attempts(error, attempts)
            delay = self._delay(retries, retry_after)
            if self._clock() + delay > deadline:
                logger.warning("%s %s: %s; not retrying, the %.0f s budget would be exceeded",
                               method, url_path, _short(error), self.max_total_time)
                raise _after_attempts(error, attempts)
            retries += 1
            logger.warning("%s %s: %s; retry %d of %d in %.2f s",
                           method, url_path, _short(error), retries, self.max_retries, delay)
            self._sleep(delay)

    def _delay(self, retries_done: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        cap = min(self.backoff_max, self.backoff_base * (2**retries_done))
        return self._rng.uniform(0, cap)

    def _handle_unauthorized(self, response: requests.Response) -> bool:
        hook = getattr(self.auth, "handle_unauthorized", None)
        if not callable(hook):
            return False
        try:
            return bool(hook(response.request))
        except ModelArtsError:
            return False

    def _send(
        self, method: str, url: str, url_path: str
    ) -> tuple[requests.Response | None, ModelArtsError | None, bool]:
        """One HTTP exchange. Returns (response, None, _) or (None, error, retryable)."""
        started = time.monotonic()
        error: ModelArtsError
        retryable = False
        try:
            response = self.session.request(
                method,
                url,
                auth=self.auth,
                timeout=self.timeout,
                verify=self.verify,
                # Redirects are not followed: a signed request can't be replayed elsewhere and a
                # token must not travel to another URL.
                allow_redirects=False,
            )
        except ModelArtsError as exc:  # raised by the auth (e.g. the IAM token call)
            error, retryable = exc, isinstance(exc, ModelArtsUnavailable)
        except requests.Timeout as exc:
            error = ModelArtsUnavailable(f"ModelArts request timed out ({type(exc).__name__})", path=url_path)
            retryable = True
        except requests.exceptions.SSLError:
            # A certificate problem won't go away by retrying.
            error = ModelArtsUnavailable("TLS error talking to ModelArts (check the endpoint and certificates)",
                                         path=url_path)
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            error = ModelArtsBadResponse(f"response body truncated or undecodable ({type(exc).__name__})",
                                         path=url_path)
        except (requests.ConnectionError, urllib3.exceptions.HTTPError) as exc:
            error = ModelArtsUnavailable(f"could not connect to ModelArts ({type(exc).__name__})", path=url_path)
            retryable = True
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidHeader, requests.exceptions.URLRequired) as exc:
            error = ModelArtsBadRequest(f"invalid request ({type(exc).__name__})", path=url_path)
        except requests.RequestException as exc:
            error = ModelArtsError(f"ModelArts request failed ({type(exc).__name__})", path=url_path)
        except UnicodeError as exc:  # e.g. a header value http.client cannot encode
            error = ModelArtsBadRequest(f"invalid request ({type(exc).__name__})", path=url_path)
        else:
            elapsed_ms = (time.monotonic() - started) * 1000
            logger.debug("%s %s -> %s in %.0f ms (request id %s)", method, url_path, response.status_code,
                         elapsed_ms, response.headers.get("X-Request-Id"))
            return response, None, False
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug("%s %s -> no response in %.0f ms (%s)", method, url_path, elapsed_ms, type(error).__name__)
        return None, error, retryable

    def _decode(self, response: requests.Response, url_path: str) -> dict[str, Any]:
        """The JSON object of a final response, or the error it stands for."""
        status = response.status_code
        if not 200 <= status < 300:
            raise self._error_from_response(response, url_path)
        request_id = response.headers.get("X-Request-Id")
        try:
            body = json.loads(response.content)
        except (ValueError, RecursionError) as exc:
            raise ModelArtsBadResponse("response is not valid JSON (truncated or not JSON)", status=status,
                                       request_id=request_id, path=url_path) from exc
        if not isinstance(body, dict):
            raise ModelArtsBadResponse(f"response is a JSON {type(body).__name__}, not an object", status=status,
                                       request_id=request_id, path=url_path)
        if body.get("is_success") is False or body.get("is_success") == "false":
            raise self._error_from_failure_body(body, response, url_path)
        return body

    def _error_info(self, response: requests.Response) -> ErrorInfo:
        try:
            body = json.loads(response.content) if response.content else None
        except (ValueError, RecursionError):
            body = None
        return parse_error_body(body, response.headers)

    def _error_from_response(self, response: requests.Response, url_path: str) -> ModelArtsError:
        """Map a non-2xx response to its error (§5): by status, and by code for "not found"."""
        status = response.status_code
        info = self._error_info(response)
        code = _norm_code(info.code)
        message = self._redact(info.message or response.reason or "ModelArts request failed")
        kwargs: dict[str, Any] = {"status": status, "error_code": info.code, "request_id": info.request_id,
                                  "path": url_path}
        if 400 <= status < 500 and code == _API_MISSING_CODE:
            # The gateway knows no such API (wrong endpoint/region/path). Not "config not found":
            # the sync would take that as the config having been deleted.
            return ModelArtsBadRequest(message, **kwargs)
        if status == 404 or (400 <= status < 500 and code in _NOT_FOUND_CODES):
            return ModelArtsNotFound(message, **kwargs)
        if status in (401, 403):
            return ModelArtsAuthError(message, **kwargs)
        if status == 429:
            return ModelArtsThrottled(message, retry_after=parse_retry_after(response.headers.get("Retry-After")),
                                      **kwargs)
        if status >= 500:
            return ModelArtsUnavailable(message, **kwargs)
        if 400 <= status < 500:
            return ModelArtsBadRequest(message, **kwargs)
        # 1xx/3xx (redirects are not followed) or anything else unexpected.
        return ModelArtsBadResponse(f"unexpected HTTP status {status}", **kwargs)

    def _error_from_failure_body(self, body: Mapping[str, Any], response: requests.Response,
                                 url_path: str) -> ModelArtsError:
        """Map an HTTP 2xx whose body says ``is_success: false`` by its ``error_code``.

        Auth codes (APIG.0301/0302/0303/0307/0310, ModelArts.02xx/0108/4127, IAM.*) → auth error;
        ModelArts.0015/0102 → not found; throttling codes → throttled; server-side codes →
        unavailable; anything else (including no code) → bad request: the service looked at the
        request and refused it. None of these is retried.
        """
        # Inferred, not confirmed by the API reference: failures may come as HTTP 200 + is_success false.
        info = parse_error_body(body, response.headers)
        code = _norm_code(info.code)
        message = self._redact(info.message or "ModelArts reported is_success: false")
        kwargs: dict[str, Any] = {"status": response.status_code, "error_code": info.code,
                                  "request_id": info.request_id, "path": url_path}
        if code in _NOT_FOUND_CODES:
            return ModelArtsNotFound(message, **kwargs)
        if code in _AUTH_CODES or code.startswith(_AUTH_PREFIXES):
            return ModelArtsAuthError(message, **kwargs)
        if code in _THROTTLE_CODES:
            return ModelArtsThrottled(message, **kwargs)
        if code in _SERVER_CODES:
            return ModelArtsUnavailable(message, **kwargs)
        return ModelArtsBadRequest(message, **kwargs)


# --- helpers ---------------------------------------------------------------------------------------


def _short(error: ModelArtsError) -> str:
    parts = [type(error).__name__]
    if error.status is not None:
        parts.append(f"HTTP {error.status}")
    if error.error_code:
        parts.append(error.error_code)
    return " ".join(parts)


def _after_attempts(error: ModelArtsError, attempts: int) -> ModelArtsError:
    """``error``, with "after N attempts" added to its message when it was tried more than once."""
    if attempts <= 1:
        return error
    kwargs: dict[str, Any] = {"status": error.status, "error_code": error.error_code,
                              "request_id": error.request_id, "path": error.path}
    if isinstance(error, ModelArtsThrottled):
        kwargs["retry_after"] = error.retry_after
    rebuilt = type(error)(f"{error.message} (after {attempts} attempts)", **kwargs)
    rebuilt.__cause__ = error.__cause__
    return rebuilt


def _check_int(name: str, value: Any, *, minimum: int, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise ValueError(f"{name} must be {bound}, got {value}")


def _check_choice(name: str, value: str | None, allowed: frozenset[str]) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(sorted(allowed))}, got {value!r}")


# --- JSON → dataclasses ----------------------------------------------------------------------------


def _json_text(value: Any) -> str:
    """A scalar as text: strings unchanged, numbers and booleans as their JSON text, null as ''."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _as_int(name: str, value: Any) -> int | None:
    """An integer field: ints, integral floats and numeric strings ("8"); None or "" → None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise _FieldError(f"{name} should be an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _FieldError(f"{name} should be an integer, got {type(value).__name__}")


def _as_str(name: str, value: Any) -> str | None:
    """A string field: strings kept; numbers become their JSON text (``cpu: 64`` → ``"64"``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _json_text(value)
    raise _FieldError(f"{name} should be a string, got {type(value).__name__}")


def _as_objects(name: str, value: Any) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _FieldError(f"{name} should be a list, got {type(value).__name__}")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise _FieldError(f"{name}[{index}] should be an object, got {type(item).__name__}")
    return tuple(dict(item) for item in value)


def _as_parameters(value: Any) -> tuple[Parameter, ...]:
    items = _as_objects("parameter", value)
    result = []
    for index, item in enumerate(items):
        label = item.get("label")
        if label is None:
            raise _FieldError(f"parameter[{index}] has no label")
        if isinstance(label, dict | list):
            raise _FieldError(f"parameter[{index}].label should be a string, got {type(label).__name__}")
        # The reference types value as String but its samples send numbers: keep it as text.
        result.append(Parameter(label=_json_text(label), value=_json_text(item.get("value"))))
    return tuple(result)


_SUMMARY_STR = ("config_desc", "engine_name", "engine_version", "user_image_url", "user_command")
_SUMMARY_INT = ("create_time", "engine_type", "engine_id")
_DETAIL_STR = (
    "config_desc", "app_url", "boot_file_url", "spec_code", "gpu_type", "cpu", "core", "data_url", "dataset_id",
    "dataset_version_id", "dataset_name", "dataset_version_name", "engine_name", "engine_version", "train_url",
    "log_url", "user_image_url", "user_command", "pool_id", "pool_name", "nas_mount_path", "nas_share_addr", "nas_type",
)
_DETAIL_INT = ("create_time", "worker_server_num", "model_id", "spec_id", "gpu_num", "engine_type", "engine_id")


def _config_name(body: Mapping[str, Any]) -> str | None:
    name = body.get("config_name")
    return name if isinstance(name, str) and name else None


def _lenient(convert: Callable[[str, Any], Any], name: str, value: Any) -> Any:
    try:
        return convert(name, value)
    except _FieldError:
        return None


def _parse_summary(item: Any, *, index: int, path: str) -> ConfigSummary:
    """A list item. Only ``config_name`` is required; an optional field of the wrong type is
    None here (it stays in ``raw``): one odd item must not fail a listing of thousands."""
    if not isinstance(item, dict) or _config_name(item) is None:
        raise ModelArtsBadResponse(f"configs[{index}] has no config_name", path=path)
    values: dict[str, Any] = {name: _lenient(_as_str, name, item.get(name)) for name in _SUMMARY_STR}
    values.update({name: _lenient(_as_int, name, item.get(name)) for name in _SUMMARY_INT})
    return ConfigSummary(config_name=item["config_name"], raw=item, **values)


def _parse_page(body: Mapping[str, Any], *, page: int, per_page: int, path: str) -> ConfigPage:
    if "config_total_count" not in body or "configs" not in body:
        raise ModelArtsBadResponse("list response lacks config_total_count or configs", path=path)
    try:
        total = _as_int("config_total_count", body["config_total_count"])
    except _FieldError as exc:
        raise ModelArtsBadResponse(str(exc), path=path) from None
    if total is None or total < 0:
        raise ModelArtsBadResponse("config_total_count is empty or negative", path=path)
    configs = body["configs"]
    if not isinstance(configs, list):
        raise ModelArtsBadResponse(f"configs should be a list, got {type(configs).__name__}", path=path)
    items = tuple(_parse_summary(item, index=i, path=path) for i, item in enumerate(configs))
    return ConfigPage(config_total_count=total, configs=items, page=page, per_page=per_page)


def _parse_detail(body: Mapping[str, Any], *, config_name: str, config_type: str, path: str) -> ConfigDetail:
    """The detail body; documented fields typed strictly (a wrong type is a bad response)."""
    name = _config_name(body)
    if name is None:
        raise ModelArtsBadResponse("detail response has no config_name", path=path)
    if name != config_name:
        raise ModelArtsBadResponse("detail response is for a different config_name", path=path)
    try:
        values: dict[str, Any] = {field: _as_str(field, body.get(field)) for field in _DETAIL_STR}
        values.update({field: _as_int(field, body.get(field)) for field in _DETAIL_INT})
        values["parameter"] = _as_parameters(body.get("parameter"))
        values["data_source"] = _as_objects("data_source", body.get("data_source"))
        values["volumes"] = _as_objects("volumes", body.get("volumes"))
    except _FieldError as exc:
        raise ModelArtsBadResponse(f"detail response: {exc}", path=path) from None
    return ConfigDetail(config_name=name, config_type=config_type, raw=dict(body), **values)
