"""Field-level differences between two ModelArts payloads, for history and compare views.

Payloads are flattened to dotted paths so a change deep inside ``volumes`` or one parameter shows
as one line. Parameters are keyed by label (``parameter.learning_rate``) rather than position, so
reordering them is not reported as a change of every entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# Keys that describe the response rather than the config.
IGNORED_KEYS = frozenset({"is_success", "error_code", "error_message", "error_msg"})


def canonical_json(payload: Any) -> str:
    """The payload as JSON with sorted keys and no white space: equal content, equal text."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a payload, without the response envelope keys."""
    body = {k: v for k, v in payload.items() if k not in IGNORED_KEYS}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def flatten(payload: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "parameter": [{"label": "lr", "value": "0.1"}]}`` →
    ``{"a.b": 1, "parameter.lr": "0.1"}``. Lists of scalars stay whole; other lists are indexed."""
    out: dict[str, Any] = {}
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            if not prefix and key in IGNORED_KEYS:
                continue
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "parameter" and not prefix and isinstance(value, list):
                seen: dict[str, int] = {}
                for item in value:
                    if isinstance(item, Mapping):
                        label = str(item.get("label", ""))
                        n = seen.get(label, 0)
                        seen[label] = n + 1
                        name = label if n == 0 else f"{label}#{n + 1}"
                        out[f"parameter.{name}"] = "" if item.get("value") is None else str(item.get("value"))
                    else:
                        out[f"parameter.{len(seen)}"] = item
                continue
            out.update(flatten(value, path))
        if not payload and prefix:
            out[prefix] = {}
    elif isinstance(payload, list) and any(isinstance(v, Mapping | list) for v in payload):
        for index, value in enumerate(payload):
            out.update(flatten(value, f"{prefix}[{index}]"))
    else:
        out[prefix] = payload
    return out


def diff_payloads(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Changed fields between two payloads as ``[{"field", "old", "new"}]`` sorted by field;
    a field missing on one side has None there."""
    before = flatten(old or {})
    after = flatten(new or {})
    changes = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a != b:
            changes.append({"field": key, "old": a, "new": b})
    return changes
