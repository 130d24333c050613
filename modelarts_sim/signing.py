"""Server-side verification of APIG ``SDK-HMAC-SHA256`` (AK/SK) signatures.

An independent implementation of ``/work/shared/modelarts-api.md`` §6.4, written from the
reference and not shared with the client's signer (``configs_app.modelarts``), so a test in which
the real client talks to the simulator checks one implementation against another.

The verifier works on the raw request as the gateway sees it: method, the raw (still
percent-encoded) path, the raw query string, the request headers and the body bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# Inferred, not confirmed by the API reference: the 15-minute window is documented for app auth only (§9 #12).
MAX_CLOCK_SKEW_SECONDS = 15 * 60

# "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex". Inferred, not confirmed by the
# API reference: only the current "Access=" form is accepted, not the old "Credential=AK/date/..." (§6.4).
_AUTHORIZATION = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=(?P<access>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9A-Fa-f]+)\s*$"
)


class SignatureError(Exception):
    """The request is not correctly signed. ``reason`` is for logs and tests, never for the client:
    the gateway answers every failure with the same message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownAccessKey(SignatureError):
    """The AK in ``Authorization`` does not exist."""

    def __init__(self, access_key: str) -> None:
        super().__init__(f"unknown access key {access_key}")
        self.access_key = access_key


@dataclass(frozen=True, slots=True)
class ParsedAuthorization:
    """The three parts of an ``Authorization: SDK-HMAC-SHA256 ...`` header."""

    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization:
    """Split an ``Authorization`` header; raise :class:`SignatureError` when it is not the SDK form."""
    match = _AUTHORIZATION.match(value.strip())
    if not match:
        raise SignatureError("Authorization is not 'SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...'")
    names = tuple(match.group("signed").split(";"))
    return ParsedAuthorization(match.group("access"), names, match.group("signature"))


def _encode(text: str) -> str:
    # Only A-Z a-z 0-9 - _ . ~ stay bare (§6.4 step 3.2); quote() keeps exactly those with safe="".
    return quote(text, safe="")


def canonical_uri(raw_path: str) -> str:
    """§6.4 step 3.2: decode the path, re-encode each segment, and end it with ``/``."""
    segments = [_encode(segment) for segment in unquote(raw_path).split("/")]
    path = "/".join(segments)
    return path if path.endswith("/") else path + "/"


def canonical_query(raw_query: str) -> str:
    """§6.4 step 3.3: decode names and values, re-encode them, sort by name then value.

    Inferred, not confirmed by the API reference: a ``+`` in the query is a literal plus, not a
    space (§9 #13). A client that sends ``+`` for a space and signs ``%20`` therefore fails here,
    which is the safe side: the reference tells clients to always send ``%20``.
    """
    if not raw_query:
        return ""
    pairs: list[tuple[str, str]] = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote(name), unquote(value)))
    pairs.sort()
    return "&".join(f"{_encode(name)}={_encode(value)}" for name, value in pairs)


def canonical_request(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    body: bytes,
) -> str:
    """The six-line CanonicalRequest of §6.4 step 3 (``headers`` keyed by lower-case name)."""
    header_block = "".join(f"{name}:{headers[name].strip()}\n" for name in signed_headers)
    payload_hash = headers.get("x-sdk-content-sha256")
    if payload_hash != UNSIGNED_PAYLOAD:
        payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_BODY_SHA256
    return "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(raw_query),
            header_block,
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    """§6.4 step 4."""
    return f"{ALGORITHM}\n{sdk_date}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def signature(secret_key: str, text: str) -> str:
    """§6.4 step 5: lower-case hex HMAC-SHA256 keyed with the SK."""
    return hmac.new(secret_key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def verify(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    secret_for: Callable[[str], str | None],
    now: float,
) -> str:
    """Check one signed request; return its AK, or raise :class:`SignatureError`.

    Args:
        headers: the request headers, keyed by lower-case name.
        secret_for: the SK of an AK, or None when the AK does not exist.
        now: the server clock, epoch seconds.
    """
    authorization = headers.get("authorization")
    if not authorization:
        raise SignatureError("no Authorization header")
    parsed = parse_authorization(authorization)
    secret_key = secret_for(parsed.access_key)
    if secret_key is None:
        raise UnknownAccessKey(parsed.access_key)
    signed = parsed.signed_headers
    if list(signed) != sorted(set(signed)) or any(name != name.lower() for name in signed):
        raise SignatureError("SignedHeaders must be lower-case, sorted and unique")
    if "host" not in signed or "x-sdk-date" not in signed:
        raise SignatureError("host and x-sdk-date must be signed")
    missing = [name for name in signed if name not in headers]
    if missing:
        raise SignatureError(f"signed header(s) not in the request: {', '.join(missing)}")
    sdk_date = headers["x-sdk-date"].strip()
    try:
        signed_at = datetime.strptime(sdk_date, DATE_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise SignatureError(f"X-Sdk-Date {sdk_date!r} is not YYYYMMDDTHHMMSSZ") from None
    if abs(now - signed_at) > MAX_CLOCK_SKEW_SECONDS:
        raise SignatureError("X-Sdk-Date is more than 15 minutes from the server clock")
    canonical = canonical_request(
        method=method, raw_path=raw_path, raw_query=raw_query, headers=headers, signed_headers=signed, body=body
    )
    expected = signature(secret_key, string_to_sign(canonical, sdk_date))
    if not hmac.compare_digest(expected, parsed.signature.lower()):
        raise SignatureError("signature mismatch")
    return parsed.access_key
