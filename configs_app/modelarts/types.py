"""Typed records of what the ModelArts training-job-configs API returns.

Attribute names follow the API's field names (``../shared/modelarts-api.md`` §2 and §3). Each record
keeps the whole payload in ``raw`` so fields the reference does not list are never lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Parameter:
    """One ``parameter[]`` entry. ``value`` is always text: the API documents a String but its own
    samples send numbers (``"value": 0.01``), so numbers are turned into their JSON text."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class ConfigSummary:
    """One item of the list response (ConfigResponse). Only ``config_name`` is required."""

    config_name: str
    config_desc: str | None = None
    create_time: int | None = None  # epoch milliseconds, UTC
    engine_type: int | None = None
    engine_name: str | None = None
    engine_id: int | None = None
    engine_version: str | None = None
    user_image_url: str | None = None
    user_command: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ConfigPage:
    """One page of the list response."""

    config_total_count: int
    configs: Sequence[ConfigSummary]
    page: int
    per_page: int


@dataclass(frozen=True, slots=True)
class ConfigDetail:
    """The detail response (GET .../training-job-configs/{config_name}), every documented field.

    Optional fields are None when the API left them out. ``raw`` is the whole body (minus nothing),
    including undocumented keys such as ``flavor`` or ``npu_info``.
    """

    config_name: str
    config_type: str = "custom"  # which collection it was read from (query parameter, not a field)
    config_desc: str | None = None
    create_time: int | None = None
    worker_server_num: int | None = None
    app_url: str | None = None
    boot_file_url: str | None = None
    model_id: int | None = None
    parameter: tuple[Parameter, ...] = ()
    spec_id: int | None = None
    spec_code: str | None = None
    gpu_type: str | None = None
    gpu_num: int | None = None
    cpu: str | None = None
    core: str | None = None
    data_url: str | None = None
    dataset_id: str | None = None
    dataset_version_id: str | None = None
    dataset_name: str | None = None
    dataset_version_name: str | None = None
    data_source: tuple[Mapping[str, Any], ...] = ()
    engine_type: int | None = None
    engine_name: str | None = None
    engine_id: int | None = None
    engine_version: str | None = None
    train_url: str | None = None
    log_url: str | None = None
    user_image_url: str | None = None
    user_command: str | None = None
    pool_id: str | None = None
    pool_name: str | None = None
    volumes: tuple[Mapping[str, Any], ...] = ()
    nas_mount_path: str | None = None
    nas_share_addr: str | None = None
    nas_type: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
