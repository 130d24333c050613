"""factory_boy factories for the cache, built the way a sync writes it.

``TrainingJobConfigFactory`` takes ModelArts detail payload keys as keyword arguments (any key of
API reference §3, documented or not: ``config_name``, ``engine_name``, ``parameter``,
``worker_server_num``...) on top of a realistic default payload, and stores the row through
``records.config_fields`` and ``records.parameter_rows`` like ``configs_app.sync`` does. Model-only
fields (``source``, ``config_type``, ``deleted_upstream_at``, ``last_changed_at``...) are passed
through to the model.

Every default payload carries three secrets (a labelled password, a token recognised by its value
and a ``--db-password=`` in the command); the created instance lists them in ``secret_values`` so
tests can check that no page or export shows them.

    config = TrainingJobConfigFactory(engine_name="PyTorch", worker_server_num=4)
    config.secret_values        # {"Pw7-Kx93-qLw7!", "hf_...", "Cmd7-..."}
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import factory
from django.utils import timezone

from configs_app.diffing import diff_payloads
from configs_app.models import ConfigParameter, ConfigRevision, ConfigSource, SyncRun, TrainingJobConfig
from configs_app.records import config_fields, parameter_rows

#: Model fields a caller may set that are not part of the ModelArts payload.
MODEL_ONLY_FIELDS = frozenset(
    {"source", "config_type", "deleted_upstream_at", "last_changed_at", "first_seen_at", "last_synced_at"}
)

_ENGINES = [
    ("TensorFlow", "TF-1.8.0-python2.7", 1, 3),
    ("PyTorch", "PyTorch-1.8.0-python3.7", 4, 141),
    ("MXNet", "MXNet-1.2.1-python3.6", 2, 52),
    ("Ascend-Powered-Engine", "Mindspore-1.1.1-python3.7-aarch64", 9, 122),
]
_SPECS = [
    ("modelarts.vm.gpu.v100", 4, "v100", 8, "512", "64"),
    ("modelarts.vm.cpu.2u", 1, "", 0, "8", "2"),
    ("modelarts.bm.npu.arm.8snt9.d", 7, "", 0, "1536", "192"),
]
_BASE_TIME_MS = 1715760000000  # 2024-05-15


def secrets_for(n: int) -> dict[str, str]:
    """The secret values of the default payload number ``n`` (unique per ``n``)."""
    digest = hashlib.sha256(f"factory-secret-{n}".encode()).hexdigest()
    return {
        "password": f"Pw{n}-Kx93-qLw7!",
        "token": f"hf_{digest[:34]}",
        "command_password": f"Cmd{n}-Zr55-vTq2",
    }


def default_payload(n: int) -> dict[str, Any]:
    """A realistic ModelArts detail payload (API reference §3), varied by ``n``."""
    engine_name, engine_version, engine_type, engine_id = _ENGINES[n % len(_ENGINES)]
    spec_code, spec_id, gpu_type, gpu_num, cpu, core = _SPECS[n % len(_SPECS)]
    secrets = secrets_for(n)
    custom_image = n % 2 == 1
    name = f"cfg-{n:05d}"
    return {
        "is_success": True,
        "config_name": name,
        "config_desc": f"Training config number {n} for the vision team",
        "create_time": _BASE_TIME_MS - n * 5 * 86_400_000,
        "worker_server_num": 1 + n % 4,
        "app_url": f"/team-a-ml/code/{name}/",
        "boot_file_url": f"/team-a-ml/code/{name}/train.py",
        "model_id": 0,
        "parameter": [
            {"label": "learning_rate", "value": "0.01"},
            {"label": "batch_size", "value": str(32 * (1 + n % 4))},
            {"label": "lr_schedule", "value": "cosine"},
            {"label": "DB_PASSWORD", "value": secrets["password"]},
            {"label": "EXTRA_HUB_ARG", "value": secrets["token"]},
        ],
        "spec_id": spec_id,
        "spec_code": spec_code,
        "gpu_type": gpu_type,
        "gpu_num": gpu_num,
        "cpu": cpu,
        "core": core,
        "data_url": f"/team-a-ml/datasets/set-{n % 5}/",
        "dataset_id": "",
        "dataset_version_id": "",
        "dataset_name": f"imagenet-{n % 5}" if n % 3 else "",
        "dataset_version_name": "v1" if n % 3 else "",
        "data_source": [{"type": "obs", "data_url": f"/team-a-ml/datasets/set-{n % 5}/"}],
        "engine_type": engine_type,
        "engine_name": engine_name,
        "engine_id": engine_id,
        "engine_version": engine_version,
        "train_url": f"/team-a-ml/output/{name}/",
        "log_url": f"/team-a-ml/logs/{name}/",
        "user_image_url": f"swr.cn-north-4.myhuaweicloud.com/team-a/train:{n}" if custom_image else "",
        "user_command": (
            f"bash /home/work/run_train.sh python /home/work/user-job-dir/app/train.py --epochs=3 "
            f"--db-password={secrets['command_password']}"
            if custom_image
            else ""
        ),
        "pool_id": "pool9928813f",
        "pool_name": "team-a-v100",
        "volumes": [
            {
                "nfs": {
                    "id": "43b37236-9afa-4855-8174-32254b9562e7",
                    "src_path": "192.168.8.150:/",
                    "dest_path": "/home/work/nas",
                    "read_only": False,
                }
            },
        ],
        "nas_mount_path": "/home/work/nas",
        "nas_share_addr": "192.168.8.150:/",
        "nas_type": "nfs",
        # Undocumented extras as the live service may send them (API reference §3, §9 #10).
        "flavor": {"flavor_code": spec_code, "max_num": 4},
    }


def store_config(
    payload: dict[str, Any], *, source: ConfigSource, config_type: str = "custom", **model_fields: Any
) -> TrainingJobConfig:
    """Write one config row and its parameter rows from a detail payload, as a sync does."""
    fields = config_fields(payload)
    config = TrainingJobConfig.objects.create(
        source=source, config_type=config_type, config_name=str(payload["config_name"]), **fields, **model_fields
    )
    ConfigParameter.objects.bulk_create(
        ConfigParameter(config=config, **row) for row in parameter_rows(fields["parameters"])
    )
    return config


class SourceFactory(factory.django.DjangoModelFactory):
    """A ModelArts source added in the admin (not the one from the environment)."""

    class Meta:
        model = ConfigSource
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"team-{n}")
    endpoint = "https://modelarts.cn-north-4.myhuaweicloud.com"
    region = "cn-north-4"
    project_id = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
    auth_mode = ConfigSource.AuthMode.TOKEN
    token_env = factory.LazyAttribute(lambda o: f"{o.name.upper().replace('-', '_')}_TOKEN")


class TrainingJobConfigFactory(factory.django.DjangoModelFactory):
    """A cached config written through ``records`` from a realistic payload (see module docstring)."""

    class Meta:
        model = TrainingJobConfig

    n = factory.Sequence(int)
    source = factory.SubFactory(SourceFactory)
    config_type = TrainingJobConfig.ConfigType.CUSTOM

    @classmethod
    def _create(cls, model_class, *args, n: int, **kwargs) -> TrainingJobConfig:
        model_fields = {k: kwargs.pop(k) for k in list(kwargs) if k in MODEL_ONLY_FIELDS}
        payload = default_payload(n)
        payload.update(kwargs)
        config = store_config(payload, **model_fields)
        defaults = secrets_for(n)
        config.secret_values = {
            v
            for k, v in defaults.items()
            if v in str(payload.get("parameter")) or v in str(payload.get("user_command"))
        }
        return config


class SyncRunFactory(factory.django.DjangoModelFactory):
    """A finished, successful sync run of a source (pass ``status``/``error`` for others)."""

    class Meta:
        model = SyncRun

    source = factory.SubFactory(SourceFactory)
    trigger = "command"
    status = SyncRun.Status.SUCCEEDED
    started_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=5))
    heartbeat_at = factory.LazyAttribute(lambda o: o.started_at)
    finished_at = factory.LazyAttribute(
        lambda o: None if o.status == SyncRun.Status.RUNNING else o.started_at + dt.timedelta(seconds=42)
    )
    listed = 10
    unchanged = 10


class RevisionFactory(factory.django.DjangoModelFactory):
    """A revision of a config. By default a change from ``previous_payload`` (the config's payload
    with a different learning rate) to the config's current payload, diffed by ``diffing``."""

    class Meta:
        model = ConfigRevision

    config = factory.SubFactory(TrainingJobConfigFactory)
    kind = ConfigRevision.Kind.CHANGED
    observed_at = factory.LazyFunction(timezone.now)
    payload = factory.LazyAttribute(lambda o: dict(o.config.raw))
    previous_payload = factory.LazyAttribute(
        lambda o: {
            **o.payload,
            "parameter": [
                {**p, "value": "0.1"} if p.get("label") == "learning_rate" else p
                for p in o.payload.get("parameter", [])
            ],
        }
    )
    content_hash = factory.LazyAttribute(lambda o: o.config.content_hash)
    diff = factory.LazyAttribute(lambda o: diff_payloads(o.previous_payload, o.payload))
