"""Turning a ModelArts detail payload into the columns of ``TrainingJobConfig``.

Used by the sync engine (the one writer) and by test factories, so the cache always holds what a
sync would write. Pure functions: no database access.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from configs_app.diffing import content_hash
from configs_app.masking import is_secret_parameter, mask_text

_TEXT_FIELDS = (
    "config_desc", "app_url", "boot_file_url", "spec_code", "gpu_type", "cpu", "core", "data_url", "dataset_id",
    "dataset_version_id", "dataset_name", "dataset_version_name", "engine_name", "engine_version", "train_url",
    "log_url", "user_image_url", "user_command", "pool_id", "pool_name", "nas_mount_path", "nas_share_addr", "nas_type",
)
_INT_FIELDS = ("worker_server_num", "model_id", "spec_id", "gpu_num", "engine_type", "engine_id")
_INT_LIMITS = {"worker_server_num": 2**31 - 1, "gpu_num": 2**31 - 1, "engine_type": 2**31 - 1}
_CHAR_LIMITS = {
    "spec_code": 128, "gpu_type": 64, "cpu": 32, "core": 32, "dataset_id": 128, "dataset_version_id": 128,
    "dataset_name": 255, "dataset_version_name": 255, "engine_name": 128, "engine_version": 128, "pool_id": 128,
    "pool_name": 255, "nas_mount_path": 1024, "nas_share_addr": 1024, "nas_type": 32,
}


def parameter_text(value: Any) -> str:
    """A parameter value as text: the API documents a String but also sends numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def epoch_ms_to_datetime(value: Any) -> dt.datetime | None:
    """``create_time`` (epoch milliseconds, UTC) as an aware datetime; None when absent or absurd."""
    try:
        ms = int(value)
        return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _int_or_none(value: Any, limit: int = 2**63 - 1) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if -limit <= number <= limit else None


def normalized_parameters(payload: Mapping[str, Any]) -> list[dict[str, str]]:
    """``parameter[]`` as ``[{"label", "value"}]`` with text values, in API order."""
    items = payload.get("parameter") or []
    if not isinstance(items, list):
        return []
    return [
        {"label": str(item.get("label", "")), "value": parameter_text(item.get("value"))}
        for item in items
        if isinstance(item, Mapping)
    ]


_FIELD_SEPARATOR = "\n|\n"


def search_text(payload: Mapping[str, Any], parameters: list[dict[str, str]]) -> str:
    """Lower-cased text the quick search matches: name, description, engine, image, command, OBS
    paths, dataset, spec, pool, and parameter labels and values, except secret values (and
    credentials inside free text), so the search cannot be used to guess a secret."""
    free: list[str] = []
    for key in (
        "config_desc", "engine_name", "engine_version", "user_image_url", "user_command", "app_url", "boot_file_url",
        "data_url", "train_url", "log_url", "dataset_name", "dataset_version_name", "spec_code", "pool_name",
    ):
        value = payload.get(key)
        if value not in (None, ""):
            free.append(str(value))
    for source in payload.get("data_source") or []:
        if isinstance(source, Mapping) and source.get("data_url"):
            free.append(str(source["data_url"]))
    # One masking pass over all free text (a sync computes this for every config). The separator
    # stops every masking pattern: none of them matches across a "|" between line breaks.
    parts: list[str] = [str(payload.get("config_name", ""))]
    if free:
        parts.append(mask_text(_FIELD_SEPARATOR.join(free)).replace(_FIELD_SEPARATOR, "\n"))
    for param in parameters:
        parts.append(param["label"])
        if not is_secret_parameter(param["label"], param["value"]):
            parts.append(param["value"])
    return "\n".join(parts).lower()


def config_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Model field values for one detail payload (the columns, parameters, raw, hash, search text)."""
    fields: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = payload.get(name)
        text = "" if value is None else str(value)
        limit = _CHAR_LIMITS.get(name)
        fields[name] = text[:limit] if limit else text
    for name in _INT_FIELDS:
        fields[name] = _int_or_none(payload.get(name), _INT_LIMITS.get(name, 2**63 - 1))
    fields["create_time"] = epoch_ms_to_datetime(payload.get("create_time"))
    for name in ("data_source", "volumes"):
        value = payload.get(name)
        fields[name] = value if isinstance(value, list) else []
    parameters = normalized_parameters(payload)
    fields["parameters"] = parameters
    fields["raw"] = dict(payload)
    fields["is_custom_image"] = bool(payload.get("user_image_url"))
    fields["search_text"] = search_text(payload, parameters)
    fields["content_hash"] = content_hash(payload)
    return fields


def parameter_rows(parameters: list[dict[str, str]]) -> list[dict[str, Any]]:
    """``ConfigParameter`` field values for a config's parameters, secret flag decided here."""
    return [
        {"position": i, "label": p["label"][:255], "value": p["value"], "is_secret": is_secret_parameter(p["label"], p["value"])}
        for i, p in enumerate(parameters)
    ]
