"""Authentication for ModelArts requests: AK/SK signing, IAM password tokens and static tokens.

Each mode is a ``requests.auth.AuthBase`` (so it can be tested on its own and used with any
``requests`` call) and derives from :class:`ModelArtsAuth`, which adds two hooks the client uses:

- ``handle_unauthorized(request)``: called after a 401 from ModelArts; returns True when repeating
  the request once makes sense (only :class:`IamPasswordAuth`, which drops its cached token).
- ``redact(text)``: removes this object's secrets from a text (the client runs every error message
  through it, in case a server echoes a credential back).

Secrets (SK, password, tokens) never appear in ``repr()``; signatures and tokens are never logged.

The signer follows the ``SDK-HMAC-SHA256`` algorithm of ``../shared/modelarts-api.md`` §6.4 and is
checked against every vector of §6.5. Its steps are exposed as pure functions
(:func:`canonical_request`, :func:`string_to_sign`, :func:`sign`, :func:`sign_request`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

import requests
import urllib3
from requests.auth import AuthBase

from .errors import (
    ModelArtsAuthError,
    ModelArtsBadRequest,
    ModelArtsBadResponse,
    ModelArtsError,
    ModelArtsThrottled,
    ModelArtsUnavailable,
    parse_error_body,
    parse_retry_after,
)

logger = logging.getLogger("configs_app.modelarts")

__all__ = [
    "ALGORITHM",
    "AkSkAuth",
    "EMPTY_BODY_SHA256",
    "IamPasswordAuth",
    "ModelArtsAuth",
    "SignedRequest",
    "StaticTokenAuth",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "sign",
    "sign_request",
    "string_to_sign",
]

ALGORITHM = "SDK-HMAC-SHA256"
EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#: ``X-Sdk-Date`` format, e.g. ``20240515T080000Z``.
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
#: Headers our AuthBase signs when the request carries them (§6.4: host and x-sdk-date at least).
_SIGNED_WHEN_PRESENT = ("host", "x-sdk-date", "content-type", "x-project-id", "x-security-token")


def _redact_values(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        # Very short values would blank out ordinary words; real credentials are long.
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


class ModelArtsAuth(AuthBase):
    """Base of the three auth modes: the hooks :class:`~configs_app.modelarts.ModelArtsClient` calls."""

    def handle_unauthorized(self, request: requests.PreparedRequest | None = None) -> bool:
        """React to a 401 from ModelArts for ``request``.

        Returns:
            True if sending the request once more may succeed (new credentials are available),
            False if not. The default is False: a fixed AK/SK or token won't get better, and
            repeating AK/SK failures locks the AK (more than 5 in a row, §5.4).
        """
        return False

    def secrets(self) -> tuple[str, ...]:
        """The secret strings this object holds (for :meth:`redact`)."""
        return ()

    def redact(self, text: str) -> str:
        """``text`` with every secret of this object replaced by ``***``."""
        return _redact_values(text, self.secrets())

    def close(self) -> None:
        """Release resources (the IAM session); the default has none."""


# --- AK/SK signing: pure functions -----------------------------------------------------------------


def _encode(value: str) -> str:
    """Percent-encode with only ``A-Z a-z 0-9 - _ . ~`` left bare (space → ``%20``, never ``+``)."""
    return quote(value, safe="-_.~")


def canonical_uri(path: str) -> str:
    """The CanonicalURI of §6.4 step 3.2.

    Percent-decodes ``path``, splits it on ``/``, encodes each segment, re-joins with ``/`` and
    appends ``/`` when missing (for signing only; the request is sent without the extra slash).
    """
    segments = unquote(path or "/").split("/")
    uri = "/".join(_encode(segment) for segment in segments)
    return uri if uri.endswith("/") else uri + "/"


def _query_value(value: Any) -> str:
    if isinstance(value, bool):  # the core SDK lower-cases booleans before signing
        return "true" if value else "false"
    return str(value)


def canonical_query_string(params: Mapping[str, Any] | Iterable[tuple[str, Any]] | str | None) -> str:
    """The CanonicalQueryString of §6.4 step 3.3.

    Args:
        params: a mapping or ``(name, value)`` pairs (a list value repeats the name, booleans become
            ``true``/``false`` as in the core SDK), or an already encoded query string (``+`` read
            as a space, as ``requests`` writes it), or None.

    Returns:
        ``name=value`` pairs, each part encoded as :func:`_encode` does, sorted by the raw name and
        then the raw value, joined with ``&``; ``""`` when there are no parameters.
    """
    if not params:
        return ""
    if isinstance(params, str):
        pairs: list[tuple[str, str]] = parse_qsl(params, keep_blank_values=True)
    else:
        items = params.items() if isinstance(params, Mapping) else params
        pairs = []
        for name, value in items:
            values = value if isinstance(value, list | tuple) else [value]
            pairs.extend((str(name), _query_value(v)) for v in values)
    pairs.sort()
    return "&".join(f"{_encode(name)}={_encode(value)}" for name, value in pairs)


def _signed_header_map(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-case name → trimmed value of the headers that get signed (names with ``_`` skipped)."""
    result: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if "_" in lowered:  # the core SDK never signs these (gateways may drop such headers)
            continue
        result[lowered] = str(value).strip()
    return dict(sorted(result.items()))


def _body_bytes(body: bytes | str | None) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    raise TypeError("AK/SK signing needs the whole body as bytes or str (streamed bodies can't be signed)")


def _payload_hash(headers: Mapping[str, str], body: bytes | str | None) -> str:
    for name, value in headers.items():
        if name.lower() == "x-sdk-content-sha256" and str(value).strip() == "UNSIGNED-PAYLOAD":
            return "UNSIGNED-PAYLOAD"
    return hashlib.sha256(_body_bytes(body)).hexdigest()


def canonical_request(
    *, method: str, url: str, headers: Mapping[str, str], body: bytes | str | None = None
) -> str:
    """The CanonicalRequest of §6.4 step 3 (six parts joined by ``\\n``).

    Args:
        method: HTTP method (upper-cased here).
        url: full URL or path with query; the query may be encoded either way (``+`` or ``%20``).
        headers: the headers to sign, ``Host`` and ``X-Sdk-Date`` included. Names containing ``_``
            are left out, as the core SDK does.
        body: request body; None or empty for GET.
    """
    parts = urlsplit(url)
    signed = _signed_header_map(headers)
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in signed.items())
    return "\n".join(
        [
            method.upper(),
            canonical_uri(parts.path),
            canonical_query_string(parts.query),
            canonical_headers,
            ";".join(signed),
            _payload_hash(headers, body),
        ]
    )


def string_to_sign(*, canonical_request: str, sdk_date: str) -> str:
    """The StringToSign of §6.4 step 4: algorithm, ``X-Sdk-Date`` and the hex SHA-256 of the request."""
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def sign(*, sk: str, string_to_sign: str) -> str:
    """The Signature of §6.4 step 5: lower-case hex HMAC-SHA256 keyed with the SK."""
    return hmac.new(sk.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """Result of :func:`sign_request`; the intermediates are kept for tests and debugging."""

    authorization: str = field(repr=False)
    signature: str = field(repr=False)
    signed_headers: str
    canonical_request: str = field(repr=False)
    string_to_sign: str = field(repr=False)
    #: ``url`` with its query rewritten to the canonical query (what must be sent).
    url: str = field(repr=False)


def sign_request(
    *, ak: str, sk: str, method: str, url: str, headers: Mapping[str, str], body: bytes | str | None = None
) -> SignedRequest:
    """Sign one request with ``SDK-HMAC-SHA256`` (§6.4).

    Args:
        ak: access key id.
        sk: secret access key.
        method: HTTP method.
        url: full URL; its query may be encoded either way.
        headers: the headers to sign; must contain ``X-Sdk-Date`` and ``Host`` (any case).
        body: request body.

    Raises:
        ValueError: ``X-Sdk-Date`` or ``Host`` is missing.
    """
    lowered = {name.lower(): str(value).strip() for name, value in headers.items()}
    if "x-sdk-date" not in lowered or "host" not in lowered:
        raise ValueError("headers to sign must include X-Sdk-Date and Host")
    request_text = canonical_request(method=method, url=url, headers=headers, body=body)
    to_sign = string_to_sign(canonical_request=request_text, sdk_date=lowered["x-sdk-date"])
    signature = sign(sk=sk, string_to_sign=to_sign)
    signed_headers = ";".join(_signed_header_map(headers))
    parts = urlsplit(url)
    canonical_url = urlunsplit(
        (parts.scheme, parts.netloc, parts.path, canonical_query_string(parts.query), parts.fragment)
    )
    return SignedRequest(
        authorization=f"{ALGORITHM} Access={ak}, SignedHeaders={signed_headers}, Signature={signature}",
        signature=signature,
        signed_headers=signed_headers,
        canonical_request=request_text,
        string_to_sign=to_sign,
        url=canonical_url,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- the three auth modes ---------------------------------------------------------------------------


class AkSkAuth(ModelArtsAuth):
    """Signs each request with the account's AK/SK (``SDK-HMAC-SHA256``, §6.4).

    Adds ``X-Sdk-Date``, ``Host`` and (when ``project_id`` is given) ``X-Project-Id``, signs
    ``host``, ``x-sdk-date`` and, when present, ``content-type``, ``x-project-id`` and
    ``x-security-token``, sets ``Authorization`` and rewrites the URL's query to the canonical
    query (``%20`` for spaces; ``requests`` writes ``+``).

    Args:
        ak: access key id.
        sk: secret access key (never shown by ``repr``).
        project_id: sent as ``X-Project-Id`` when given, as the core SDK does.
        security_token: for temporary AK/SK only, sent as ``X-Security-Token``.
        clock: returns the current time as an aware datetime (tests pin it).
    """

    def __init__(
        self,
        ak: str,
        sk: str,
        project_id: str | None = None,
        *,
        security_token: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if not ak or not sk:
            raise ValueError("AkSkAuth needs an AK and an SK")
        self.ak = ak
        self._sk = sk
        self.project_id = project_id or None
        self._security_token = security_token or None
        self.clock = clock

    def __repr__(self) -> str:
        return f"AkSkAuth(project_id={self.project_id!r})"

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.ak, self._sk, self._security_token) if s)

    def sdk_date(self) -> str:
        """The current time in ``X-Sdk-Date`` form."""
        now = self.clock()
        if now.tzinfo is not None:
            now = now.astimezone(UTC)
        return now.strftime(SDK_DATE_FORMAT)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(r.url)
        # The signed Host must be what goes on the wire: set it explicitly (urllib3 then sends it).
        host = parts.netloc.rpartition("@")[2]
        r.headers["Host"] = host
        r.headers["X-Sdk-Date"] = self.sdk_date()
        if self.project_id:
            r.headers["X-Project-Id"] = self.project_id
        if self._security_token:
            r.headers["X-Security-Token"] = self._security_token
        to_sign = {name: value for name, value in r.headers.items() if name.lower() in _SIGNED_WHEN_PRESENT}
        signed = sign_request(
            ak=self.ak, sk=self._sk, method=r.method or "GET", url=r.url, headers=to_sign, body=r.body
        )
        r.url = signed.url
        r.headers["Authorization"] = signed.authorization
        return r


class StaticTokenAuth(ModelArtsAuth):
    """Sends a token obtained elsewhere as ``X-Auth-Token``. It is never refreshed.

    Args:
        token: the IAM token (never shown by ``repr``).
    """

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("StaticTokenAuth needs a token")
        self._token = token

    def __repr__(self) -> str:
        return "StaticTokenAuth(token=***)"

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["X-Auth-Token"] = self._token
        return r


def _parse_expires_at(value: Any) -> datetime:
    """``token.expires_at`` (ISO-8601 UTC, e.g. ``2015-11-09T01:42:57.527363Z``) as an aware datetime."""
    if not isinstance(value, str):
        raise ValueError("expires_at is not a string")
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # IAM writes UTC; a missing zone is read as UTC
    return parsed


def _timeout_pair(timeout: float | tuple[float, float]) -> tuple[float, float]:
    """(connect, read) from a read timeout (connect = min(timeout, 5)) or a pair."""
    if isinstance(timeout, tuple):
        connect, read = timeout
    else:
        connect, read = min(float(timeout), 5.0), float(timeout)
    if connect <= 0 or read <= 0:
        raise ValueError("timeouts must be positive")
    return (connect, read)


@dataclass(slots=True)
class _CachedToken:
    value: str = field(repr=False)
    refresh_at: float  # local clock() time after which a new token is fetched
    expires_at: datetime


class IamPasswordAuth(ModelArtsAuth):
    """Gets a project-scoped IAM token with a user's password and sends it as ``X-Auth-Token``.

    ``POST {iam_endpoint}/v3/auth/tokens?nocatalog=true`` with the body of §6.2; the token is the
    ``X-Subject-Token`` response header, its expiry ``token.expires_at`` in the body. The token is
    cached and shared by all threads; one lock makes sure only one thread fetches while the others
    wait for its result.

    Refresh: when less than ``refresh_margin`` seconds of the token's lifetime remain; if the token
    lives no longer than the margin (a simulator may issue 60-second tokens), when less than 10 % of
    its lifetime remains. After a 401 from ModelArts, :meth:`handle_unauthorized` drops the token the
    failed request used so the client's single retry fetches a new one.

    Args:
        iam_endpoint: e.g. ``https://iam.cn-north-4.myhuaweicloud.com`` (scheme included).
        username: IAM user name.
        password: the user's password (never shown by ``repr``).
        domain: account (domain) name.
        project_id: the project the token is scoped to (ModelArts needs project scope).
        timeout: read timeout in seconds (connect timeout min(timeout, 5)), or a (connect, read) pair.
        verify: TLS verification, as in ``requests``.
        refresh_margin: seconds before expiry to refresh.
        session: a ``requests.Session`` for IAM calls; one is made when omitted.
        clock: seconds clock (``time.time``) used for the refresh decision; tests replace it.
    """

    def __init__(
        self,
        *,
        iam_endpoint: str,
        username: str,
        password: str,
        domain: str,
        project_id: str,
        timeout: float | tuple[float, float] = 15.0,
        verify: bool | str = True,
        refresh_margin: float = 3600.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not iam_endpoint.lower().startswith(("https://", "http://")):
            raise ValueError("iam_endpoint must be a URL starting with https:// or http://")
        if not (username and password and domain and project_id):
            raise ValueError("IamPasswordAuth needs a user name, password, domain and project id")
        self.iam_endpoint = iam_endpoint.rstrip("/")
        self.username = username
        self._password = password
        self.domain = domain
        self.project_id = project_id
        self.timeout = _timeout_pair(timeout)
        self.verify = verify
        # Inferred, not confirmed by the API reference: refresh when less than 1 h of validity remains.
        self.refresh_margin = float(refresh_margin)
        self._own_session = session is None
        self._session = session if session is not None else requests.Session()
        self.clock = clock
        self._lock = threading.Lock()
        self._token: _CachedToken | None = None
        #: How many tokens were fetched (for logs and tests).
        self.fetch_count = 0

    def __repr__(self) -> str:
        return (
            f"IamPasswordAuth(iam_endpoint={self.iam_endpoint!r}, username={self.username!r}, "
            f"domain={self.domain!r}, project_id={self.project_id!r})"
        )

    @property
    def token_url(self) -> str:
        """The IAM token URL (``nocatalog=true`` keeps the service catalog out of the body)."""
        return f"{self.iam_endpoint}/v3/auth/tokens?nocatalog=true"

    def secrets(self) -> tuple[str, ...]:
        cached = self._token
        return tuple(s for s in (self._password, cached.value if cached else None) if s)

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def token(self) -> str:
        """A valid token: the cached one, or a new one from IAM when it is due for refresh.

        Raises:
            ModelArtsAuthError: IAM refused the credentials (4xx, e.g. ``IAM.0062`` wrong password).
            ModelArtsUnavailable: IAM answered 5xx/429 or could not be reached.
            ModelArtsBadResponse: IAM's success response lacks the token or its expiry.
        """
        with self._lock:
            cached = self._token
            if cached is None or self.clock() >= cached.refresh_at:
                cached = self._fetch()
                self._token = cached
            return cached.value

    def invalidate(self, token: str | None = None) -> None:
        """Drop the cached token (only if it is ``token``, when given) so the next call fetches one."""
        with self._lock:
            if self._token is not None and (token is None or self._token.value == token):
                self._token = None

    def handle_unauthorized(self, request: requests.PreparedRequest | None = None) -> bool:
        """Drop the token ``request`` used (if still cached) and ask for one retry.

        With 16 threads getting a 401 for the same expired token, only the first drops it; the
        others find a newer token already cached, so IAM is asked once.
        """
        used = request.headers.get("X-Auth-Token") if request is not None else None
        self.invalidate(used)
        return True

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["X-Auth-Token"] = self.token()
        return r

    def _body(self) -> dict[str, Any]:
        return {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": self.username, "password": self._password, "domain": {"name": self.domain}}
                    },
                },
                "scope": {"project": {"id": self.project_id}},
            }
        }

    def _fetch(self) -> _CachedToken:
        path = "/v3/auth/tokens"
        started = time.monotonic()
        try:
            response = self._session.post(
                self.token_url,
                data=json.dumps(self._body()).encode("utf-8"),
                headers={"Content-Type": "application/json;charset=utf8", "Accept": "application/json"},
                timeout=self.timeout,
                verify=self.verify,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise ModelArtsUnavailable("IAM token request timed out", path=path) from exc
        except requests.exceptions.SSLError as exc:
            raise ModelArtsUnavailable("TLS error talking to IAM", path=path) from exc
        except (requests.ConnectionError, urllib3.exceptions.HTTPError) as exc:
            raise ModelArtsUnavailable("could not connect to IAM", path=path) from exc
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise ModelArtsBadResponse("IAM response was truncated or undecodable", path=path) from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader) as exc:
            raise ModelArtsBadRequest("invalid IAM endpoint", path=path) from exc
        except requests.RequestException as exc:
            raise ModelArtsError(f"IAM token request failed ({type(exc).__name__})", path=path) from exc
        elapsed_ms = (time.monotonic() - started) * 1000
        request_id = response.headers.get("X-Request-Id")
        logger.debug("POST %s -> %s in %.0f ms (request id %s)", path, response.status_code, elapsed_ms, request_id)

        if response.status_code in (200, 201):
            return self._parse_token(response, path=path, request_id=request_id)
        try:
            body = response.json()
        except ValueError:
            body = None
        info = parse_error_body(body, response.headers)
        message = self.redact(info.message or f"IAM refused the token request ({response.reason or 'no reason'})")
        kwargs = {"status": response.status_code, "error_code": info.code, "request_id": info.request_id, "path": path}
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise ModelArtsThrottled(message, retry_after=retry_after, **kwargs)
        if response.status_code >= 500:
            raise ModelArtsUnavailable(message, **kwargs)
        if 400 <= response.status_code < 500:
            raise ModelArtsAuthError(message, **kwargs)
        raise ModelArtsBadResponse(f"unexpected IAM status {response.status_code}", **kwargs)

    def _parse_token(self, response: requests.Response, *, path: str, request_id: str | None) -> _CachedToken:
        token = response.headers.get("X-Subject-Token", "").strip()
        if not token:
            raise ModelArtsBadResponse("IAM response has no X-Subject-Token header", status=response.status_code,
                                       request_id=request_id, path=path)
        try:
            body = response.json()
            expires_at = _parse_expires_at(body["token"]["expires_at"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelArtsBadResponse("IAM response has no valid token.expires_at", status=response.status_code,
                                       request_id=request_id, path=path) from exc
        issued_at: datetime | None = None
        try:
            issued_at = _parse_expires_at(body["token"]["issued_at"])
        except (ValueError, KeyError, TypeError):
            pass
        now = self.clock()
        # Lifetime measured on IAM's clock when it says when it issued the token, so a skewed
        # local clock does not shorten or lengthen it.
        start = issued_at.timestamp() if issued_at is not None else now
        lifetime = expires_at.timestamp() - start
        if lifetime <= 0:
            raise ModelArtsAuthError("IAM returned a token that has already expired", status=response.status_code,
                                     request_id=request_id, path=path)
        margin = self.refresh_margin if lifetime > self.refresh_margin else lifetime * 0.1
        self.fetch_count += 1
        logger.debug("IAM token obtained, valid for %.0f s", lifetime)
        return _CachedToken(value=token, refresh_at=now + lifetime - margin, expires_at=expires_at)
