"""The one rule that decides what is a secret, and the helpers that hide secrets.

Training configs carry container environment variables, and some of them are credentials. A value
is secret when its *label* looks like a secret name (password, passwd, secret, token, key,
credential, ak, sk: as whole words or name parts) or when the *value* looks like a credential
whatever its label (a known token prefix, a long high-entropy string, ``--password=...`` inside a
command). Secret values are replaced before anything reaches a page, an export or the search
index, so a masked value is never sent to the browser.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "••••••••"

# Words that make a label secret when they are the whole label or one of its parts. Parts are
# split on separators and camelCase, so DB_PASSWORD, dbPassword, api-key, OBS_SK, SECRET all match,
# while "keyboard", "monkey", "task", "ask" and "token_limit"? (see below) do not match by accident.
_SECRET_WORDS = frozenset(
    {
        "password", "passwd", "pwd", "pass", "passphrase", "secret", "secrets", "token", "tokens",
        "key", "keys", "apikey", "credential", "credentials", "cred", "creds", "ak", "sk", "auth",
        "authorization", "cookie", "session", "privatekey", "accesskey", "secretkey", "signature",
    }
)
# Parts that are harmless even next to a secret word: a *count* or *size* of tokens is not secret.
_HARMLESS_QUALIFIERS = frozenset({"len", "length", "size", "num", "count", "max", "min", "limit", "path", "file", "dir"})

# Credential shapes recognised by value (prefixes of widely used token formats).
_TOKEN_PATTERNS = [
    re.compile(p)
    for p in (
        r"\bghp_[A-Za-z0-9]{20,}",  # GitHub personal token
        r"\bgh[ousr]_[A-Za-z0-9]{20,}",  # other GitHub tokens
        r"\bgithub_pat_[A-Za-z0-9_]{20,}",
        r"\bhf_[A-Za-z0-9]{20,}",  # Hugging Face
        r"\bsk-[A-Za-z0-9_\-]{16,}",  # OpenAI-style secret keys
        r"\bxox[abpors]-[A-Za-z0-9\-]{10,}",  # Slack
        r"\bAKIA[0-9A-Z]{16}\b",  # AWS access key id
        r"\bglpat-[A-Za-z0-9_\-]{20}",  # GitLab
        r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}",  # JWT
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
        r"\bMII[A-Za-z0-9+/=]{40,}",  # PKI token / DER in base64 (IAM tokens start with MII)
    )
]
# name=value or --name value pairs inside free text (commands), where the name is secret-like.
_ASSIGNMENT = re.compile(
    r"(?P<prefix>(?:--?|\b)(?P<name>[A-Za-z][A-Za-z0-9_.\-]*)\s*(?:=|:\s|\s+(?=\S)))(?P<value>\"[^\"]*\"|'[^']*'|[^\s\"';&|]+)"
)
# URLs with user:password@ in them.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<user>[^/\s:@]+):(?P<password>[^/\s@]+)@", re.I)
_HIGH_ENTROPY_MIN_LENGTH = 24


def _label_parts(label: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", label)
    return [p for p in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if p]


def is_secret_label(label: str) -> bool:
    """True when ``label`` names a secret: one of its parts is a secret word (PASSWORD, api_key,
    dbPasswd, OBS_SK, x-auth-token) and no part says it is only a count, size, path or name of one
    (``max_tokens``, ``token_limit``, ``key_path`` are hyper-parameters or locations, not secrets).
    """
    parts = _label_parts(label or "")
    if not parts:
        return False
    joined = "".join(parts)
    if any(p in _SECRET_WORDS for p in parts) or joined in _SECRET_WORDS:
        return not any(p in _HARMLESS_QUALIFIERS for p in parts)
    return False


def _entropy(value: str) -> float:
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _looks_high_entropy(token: str) -> bool:
    """A long unbroken run of letters and digits with little structure, like a random key.

    Names built of words (``resnet50-imagenet-bs256``), paths and UUIDs have separators every few
    characters; a key has a run of 20 or more characters mixing letters and digits.
    """
    if len(token) < _HIGH_ENTROPY_MIN_LENGTH or not re.fullmatch(r"[A-Za-z0-9+/=_\-.:]+", token):
        return False
    run = max(re.split(r"[\-_./:]", token), key=len)
    if len(run) < 20 or not re.search(r"[0-9]", run) or not re.search(r"[A-Za-z]", run):
        return False
    return _entropy(run) >= 3.5


def looks_like_credential(value: Any) -> bool:
    """True when ``value`` looks like a credential whatever its label."""
    if value is None:
        return False
    text = str(value).strip()
    if not text:
        return False
    if any(p.search(text) for p in _TOKEN_PATTERNS):
        return True
    if _URL_CREDENTIALS.search(text):
        return True
    return any(_looks_high_entropy(word) for word in re.split(r"[\s\"',;=]+", text))


def is_secret_parameter(label: str, value: Any) -> bool:
    """The rule for one ``{label, value}`` parameter: secret by its label or by its value."""
    return is_secret_label(label) or looks_like_credential(value) or text_has_secret(str(value or ""))


def mask_text(text: str) -> str:
    """``text`` with every credential inside it replaced by MASK.

    Masks ``--password=...``/``--api-key x``/``TOKEN=...`` assignments whose name is secret, known
    token shapes and long high-entropy words, and ``user:password@`` in URLs. Used for commands,
    descriptions and every other free text shown or exported.
    """
    if not text:
        return text

    def assignment(match: re.Match) -> str:
        if is_secret_label(match.group("name")):
            return match.group("prefix") + MASK
        return match.group(0)

    out = _ASSIGNMENT.sub(assignment, text)
    out = _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{m.group('user')}:{MASK}@", out)
    for pattern in _TOKEN_PATTERNS:
        out = pattern.sub(MASK, out)
    return re.sub(r"[A-Za-z0-9+/=_\-.:]{%d,}" % _HIGH_ENTROPY_MIN_LENGTH, lambda m: MASK if _looks_high_entropy(m.group(0)) else m.group(0), out)


def text_has_secret(text: str) -> bool:
    """True when ``mask_text`` would change ``text``."""
    return bool(text) and mask_text(text) != text


def masked_parameters(parameters: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Parameters as ``{label, value, masked}`` with secret values replaced by MASK."""
    result = []
    for item in parameters or ():
        label = str(item.get("label", ""))
        value = "" if item.get("value") is None else str(item.get("value"))
        secret = is_secret_parameter(label, value)
        result.append({"label": label, "value": MASK if secret else value, "masked": secret})
    return result


def masked_payload(payload: Any) -> Any:
    """A deep copy of a ModelArts payload safe to show: parameter values masked by the rule, every
    other string passed through ``mask_text``, and values under secret-looking keys masked."""
    if isinstance(payload, Mapping):
        out: dict[str, Any] = {}
        for key, value in payload.items():
            if key == "parameter" and isinstance(value, list):
                out[key] = [
                    {**{k: masked_payload(v) for k, v in p.items() if k != "value"},
                     "value": MASK if is_secret_parameter(str(p.get("label", "")), p.get("value")) else p.get("value")}
                    if isinstance(p, Mapping) else masked_payload(p)
                    for p in value
                ]
            elif isinstance(value, str | int | float) and not isinstance(value, bool) and is_secret_label(str(key)):
                out[key] = MASK
            else:
                out[key] = masked_payload(value)
        return out
    if isinstance(payload, list):
        return [masked_payload(v) for v in payload]
    if isinstance(payload, str):
        return mask_text(payload)
    return payload
