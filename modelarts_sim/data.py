"""Deterministic, realistic seed data for the simulator.

Everything here is a pure function of ``(seed, index)``: the same seed always gives the same
configs, on any machine and with any ``PYTHONHASHSEED``. Generation is cheap (string templates and
one ``random.Random`` per config), and a config's full detail payload can be rebuilt on demand from
its index, so the simulator keeps only the small list items in memory
(:func:`generate_configs`, :func:`custom_detail`, :func:`sample_detail`).

The data is shaped after ``/work/shared/modelarts-api.md`` §2 (list items), §3 (detail) and §4
(rules such as data_url / dataset / data_source exclusivity). Engine and spec ids are invented but
consistent: the reference gives only examples (TensorFlow = engine_type 1, engine_id 3 for
``TF-1.8.0-python2.7``; Ascend-Powered-Engine = engine_type 9, engine_id 122 for
``Mindspore-1.1.1-python3.7-aarch64``; spec 4 = ``modelarts.vm.gpu.v100`` with 8 GPUs).

Custom-image configs carry container environment variables as ``parameter`` entries, and some of
them are credentials with realistic values (no marker substring: real secrets have none). Every
secret value generated is returned alongside the config (:class:`Generated.secrets`) so the state
can answer ``secret_values()`` and tests can scan rendered pages for leaks. The forms covered:

- secret-looking labels: ``DB_PASSWORD``, ``OBS_SECRET_KEY``, ``HF_TOKEN``, ``API_KEY``,
  ``WANDB_API_KEY``, ``OBS_AK``/``OBS_SK``, ``dbPassword``, ``AWS_SECRET_ACCESS_KEY`` ...;
- known token prefixes under any label: ``ghp_``, ``hf_``, ``sk-``, ``AKIA``, JWTs (``eyJ``);
- a long high-entropy string under an innocent label (``EXTRA_ARG``, ``INIT_OPTS``);
- ``user:password@`` inside URLs (``DATABASE_URL``, ``PIP_INDEX_URL``);
- ``--password=...`` / ``--db-password ...`` inside a ``user_command``.

Harmless look-alikes are present too (``max_tokens``, ``token_limit``, ``key_path``,
``tokenizer``), so masking that hides too much shows up as well.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

# Fixed anchor, not "now": the data must be identical on every run. 2024-07-01T00:00:00Z.
ANCHOR_MS = 1_719_792_000_000
SPAN_MS = 3 * 365 * 86_400_000  # create_time spreads over about three years before the anchor

# ConfigResponse fields (§2): the only keys a list item may carry, in this order.
LIST_FIELDS = (
    "config_name",
    "config_desc",
    "create_time",
    "engine_type",
    "engine_name",
    "engine_id",
    "engine_version",
    "user_image_url",
    "user_command",
)


@dataclass(frozen=True, slots=True)
class Engine:
    """One engine version as the engine-specs API would describe it."""

    engine_type: int
    engine_name: str
    engine_id: int
    engine_version: str

    def fields(self) -> dict[str, Any]:
        return {
            "engine_type": self.engine_type,
            "engine_name": self.engine_name,
            "engine_id": self.engine_id,
            "engine_version": self.engine_version,
        }


@dataclass(frozen=True, slots=True)
class Spec:
    """One resource flavor; spec_id, GPU and CPU figures always go together."""

    spec_id: int
    spec_code: str
    gpu_type: str
    gpu_num: int
    cpu: str  # memory in GB, a string in the API (§3)
    core: str  # CPU cores, a string in the API
    max_num: int  # most worker_server_num this flavor allows (§4)
    npu_num: int = 0
    npu_type: str = ""

    def fields(self) -> dict[str, Any]:
        return {
            "spec_id": self.spec_id,
            "spec_code": self.spec_code,
            "gpu_type": self.gpu_type,
            "gpu_num": self.gpu_num,
            "cpu": self.cpu,
            "core": self.core,
        }


ENGINES: tuple[Engine, ...] = (
    Engine(1, "TensorFlow", 1, "TF-1.4.0-python2.7"),
    Engine(1, "TensorFlow", 3, "TF-1.8.0-python2.7"),
    Engine(1, "TensorFlow", 4, "TF-1.8.0-python3.6"),
    Engine(1, "TensorFlow", 18, "TF-1.13.1-python3.6"),
    Engine(1, "TensorFlow", 19, "TF-2.1.0-python3.6"),
    Engine(2, "MXNet", 5, "MXNet-1.2.1-python2.7"),
    Engine(2, "MXNet", 6, "MXNet-1.2.1-python3.6"),
    Engine(3, "Caffe", 8, "Caffe-1.0.0-python2.7"),
    Engine(4, "Spark_MLlib", 10, "Spark-2.3.2-python3.6"),
    Engine(6, "XGBoost-Sklearn", 12, "XGBoost-0.80-Sklearn-0.18.1-python2.7"),
    Engine(6, "XGBoost-Sklearn", 13, "XGBoost-0.80-Sklearn-0.18.1-python3.6"),
    Engine(7, "PyTorch", 14, "PyTorch-1.0.0-python2.7"),
    Engine(7, "PyTorch", 15, "PyTorch-1.0.0-python3.6"),
    Engine(7, "PyTorch", 16, "PyTorch-1.3.0-python3.6"),
    Engine(7, "PyTorch", 17, "PyTorch-1.4.0-python3.6"),
    Engine(9, "Ascend-Powered-Engine", 120, "TF-1.15-python3.7-aarch64"),
    Engine(9, "Ascend-Powered-Engine", 122, "Mindspore-1.1.1-python3.7-aarch64"),
    Engine(9, "Ascend-Powered-Engine", 123, "Mindspore-1.3.0-python3.7-aarch64"),
    Engine(10, "Horovod", 30, "horovod_0.16.2-TF-1.13.1-python3.6"),
    Engine(10, "Horovod", 31, "horovod_0.20.0-pytorch_1.4.0-python3.6"),
    Engine(11, "Custom", 200, "custom-image"),
)
ENGINES_BY_ID: dict[int, Engine] = {e.engine_id: e for e in ENGINES}
_BUILTIN_ENGINES = tuple(e for e in ENGINES if e.engine_name != "Custom")
# Custom images mostly use the "Custom" engine; some name the base engine they were built from.
_IMAGE_BASE_ENGINES = tuple(ENGINES_BY_ID[i] for i in (200, 200, 200, 17, 19, 122, 123))

SPECS: tuple[Spec, ...] = (
    Spec(1, "modelarts.vm.cpu.2u", "", 0, "8", "2", 8),
    Spec(2, "modelarts.vm.cpu.8u", "", 0, "32", "8", 8),
    Spec(3, "modelarts.vm.gpu.p100", "p100", 1, "64", "8", 8),
    Spec(4, "modelarts.vm.gpu.v100", "v100", 8, "512", "64", 16),
    Spec(5, "modelarts.vm.gpu.t4", "t4", 1, "32", "8", 8),
    Spec(6, "modelarts.vm.gpu.v100.1", "v100", 1, "64", "8", 16),
    Spec(7, "modelarts.bm.npu.arm.8snt9.d", "", 0, "1536", "192", 16, npu_num=8, npu_type="Ascend-snt9"),
    Spec(8, "modelarts.kat1.xlarge", "", 0, "96", "24", 8, npu_num=1, npu_type="Ascend-910"),
)
SPECS_BY_ID: dict[int, Spec] = {s.spec_id: s for s in SPECS}
_CPU_SPECS = (SPECS[0], SPECS[1])
_GPU_SPECS = (SPECS[2], SPECS[3], SPECS[4], SPECS[5])
_NPU_SPECS = (SPECS[6], SPECS[7])


@dataclass(slots=True)
class Generated:
    """One generated config: the full detail payload and the secret values it contains."""

    detail: dict[str, Any]
    secrets: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.detail["config_name"]

    def list_item(self) -> dict[str, Any]:
        return list_item(self.detail)


def list_item(detail: dict[str, Any]) -> dict[str, Any]:
    """The list-response item for a detail payload: only the ConfigResponse fields it has."""
    return {key: detail[key] for key in LIST_FIELDS if key in detail}


# --- small random helpers -----------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits
_UPPER_ALNUM = string.ascii_uppercase + string.digits
_HEX = "0123456789abcdef"
_B64 = _ALNUM + "+/"
_B64URL = _ALNUM + "-_"


def _rng(seed: int, index: int, salt: int = 0) -> random.Random:
    # Integer seeds are hashed the same way on every platform and Python run.
    return random.Random((seed * 1_000_003 + salt) * 10_000_019 + index)


def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    """``rng.choice`` without its rejection sampling: three times faster, bias far below noise."""
    return seq[int(rng.random() * len(seq))]


def _between(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint`` (inclusive bounds), the fast way."""
    return low + int(rng.random() * (high - low + 1))


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    # randbytes is several times faster than choices(); the slight modulo bias does not matter here.
    size = len(alphabet)
    return "".join([alphabet[b % size] for b in rng.randbytes(n)])


def _mixed(rng: random.Random, n: int) -> str:
    """Random letters and digits that always contain at least one of each (like real keys)."""
    while True:
        value = _chars(rng, _ALNUM, n)
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# --- secret value generators (no marker substrings: they look like the real thing) ---------------


def _password(rng: random.Random) -> str:
    # Punctuation limited to characters that survive unquoted in a shell command.
    return _mixed(rng, _between(rng, 10, 14)) + _pick(rng, "!@%^*_.-") + _chars(rng, _ALNUM, _between(rng, 2, 5))


def _url_password(rng: random.Random) -> str:
    return _mixed(rng, _between(rng, 14, 20))


def _huawei_ak(rng: random.Random) -> str:
    return _chars(rng, _UPPER_ALNUM, 20)


def _huawei_sk(rng: random.Random) -> str:
    return _mixed(rng, 40)


def _hf_token(rng: random.Random) -> str:
    return "hf_" + _mixed(rng, 34)


def _openai_key(rng: random.Random) -> str:
    return "sk-" + _mixed(rng, 48)


def _github_token(rng: random.Random) -> str:
    return "ghp_" + _mixed(rng, 36)


def _aws_access_key(rng: random.Random) -> str:
    return "AKIA" + _chars(rng, _UPPER_ALNUM, 16)


def _aws_secret_key(rng: random.Random) -> str:
    return _mixed(rng, 30) + _chars(rng, _B64, 10)


def _wandb_key(rng: random.Random) -> str:
    return _chars(rng, _HEX, 40)


def _high_entropy(rng: random.Random) -> str:
    return _mixed(rng, 44)


def _jwt(rng: random.Random) -> str:
    # Header {"alg":"HS256","typ":"JWT"} in base64url, then a random payload and signature.
    return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + "eyJ" + _chars(rng, _B64URL, 60) + "." + _chars(rng, _B64URL, 43)


SecretMaker = Callable[[random.Random], str]

# Env vars whose *label* says secret.
_LABELLED_SECRETS: tuple[tuple[str, SecretMaker], ...] = (
    ("DB_PASSWORD", _password),
    ("OBS_SECRET_KEY", _huawei_sk),
    ("HF_TOKEN", _hf_token),
    ("API_KEY", _openai_key),
    ("WANDB_API_KEY", _wandb_key),
    ("OBS_AK", _huawei_ak),
    ("OBS_SK", _huawei_sk),
    ("REDIS_PASSWORD", _password),
    ("dbPassword", _password),
    ("AWS_SECRET_ACCESS_KEY", _aws_secret_key),
    ("MLFLOW_TRACKING_TOKEN", _high_entropy),
    ("OPENAI_API_KEY", _openai_key),
)
# Env vars whose label is innocent but whose *value* is a credential.
_VALUE_SECRETS: tuple[tuple[str, SecretMaker], ...] = (
    ("EXTRA_ARG", _high_entropy),
    ("INIT_OPTS", _high_entropy),
    ("GIT_REMOTE_CRED", _github_token),  # "cred" label, ghp_ value
    ("MODEL_HUB", _hf_token),
    ("LLM_BACKEND", _openai_key),
    ("AWS_ACCESS_KEY_ID", _aws_access_key),
    ("SERVICE_JWT", _jwt),
)


def _url_with_password(rng: random.Random) -> tuple[str, str, str]:
    """(label, url value, secret part) for a URL with ``user:password@`` in it."""
    password = _url_password(rng)
    label, url = _pick(
        rng,
        (
            ("DATABASE_URL", "postgresql://trainer:{pw}@10.0.3.17:5432/features"),
            ("PIP_INDEX_URL", "https://ci-bot:{pw}@pypi.internal.example.com/simple"),
            ("MONGO_URI", "mongodb://etl_ro:{pw}@192.168.12.40:27017/labels?authSource=admin"),
        ),
    )
    return label, url.format(pw=password), password


# --- vocabulary ----------------------------------------------------------------------------------

_MODELS = (
    "resnet50",
    "resnet101",
    "vgg16",
    "mobilenetv2",
    "efficientnet-b0",
    "inceptionv3",
    "vit-b16",
    "swin-t",
    "yolov5s",
    "yolov8m",
    "faster-rcnn",
    "maskrcnn",
    "unet",
    "deeplabv3",
    "lenet",
    "bert-base",
    "bert-large",
    "roberta-wwm",
    "albert",
    "gpt2",
    "t5-small",
    "llama2-7b",
    "qwen-7b",
    "chatglm2-6b",
    "whisper-small",
    "conformer",
    "wav2vec2",
    "deepfm",
    "wide-deep",
    "xgboost",
    "lightgbm",
    "dien",
    "pangu-alpha",
    "ocr-crnn",
    "dbnet",
)
_DATASETS = (
    "imagenet",
    "cifar10",
    "cifar100",
    "coco",
    "voc2012",
    "flowers",
    "mnist",
    "cityscapes",
    "squad",
    "clue",
    "msra-ner",
    "aishell",
    "librispeech",
    "criteo",
    "movielens",
    "click-logs",
    "product-images",
    "invoices",
    "medical-ct",
    "road-signs",
)
_VARIANTS = (
    "",
    "",
    "-bs256",
    "-bs64",
    "-bs32",
    "-lr1e-3",
    "-fp16",
    "-amp",
    "-v2",
    "-v3",
    "-8gpu",
    "-2node",
    "-baseline",
    "-ft",
    "-sweep07",
    "-nightly",
    "-prod",
    "-debug",
    "-ablation",
    "-distill",
    "-int8",
)
_TEAMS = ("team-a", "cv-lab", "nlp-lab", "speech", "recsys", "ocr", "platform", "llm")
_BUCKETS = ("team-a-ml", "cv-research-obs", "nlp-lab-bucket", "speech-data-prod", "recsys-train", "ml-shared")
_EN_DESCRIPTIONS = (
    "ResNet-50 baseline, 8 GPUs, cosine LR",
    "Fine-tune on customer intent data",
    "Detection, 640px input, mosaic augmentation",
    "Nightly regression run - do not edit",
    "LoRA SFT, r=64, alpha=16",
    "CTR model on last 30 days of click logs",
    "Speech recognition, 960h training set",
    "Ablation: no warmup, constant LR",
    "Distributed data parallel, 2 nodes x 8 GPUs",
    "Copy of the production config with smaller batch",
    "Hyper-parameter sweep #7",
    "Mixed precision trial",
    "Knowledge distillation from the large teacher",
    "Quantisation-aware training (INT8)",
    "Weekly retrain of the ranking model",
)
_ZH_DESCRIPTIONS = (
    "图像分类基线模型，8 卡 V100",
    "中文命名实体识别微调",
    "推荐系统排序模型（每日训练）",
    "语音识别 Conformer 模型，960 小时数据",
    "目标检测 YOLOv5 训练配置",
    "大模型指令微调，勿删",
    "票据 OCR 识别，昇腾 910 训练",
)
_EMOJI_DESCRIPTIONS = (
    "🚀 fast sweep",
    "🔥 best so far — do not delete",
    "🧪 experiment, results in the wiki",
    "✅ production config",
    "🐛 debugging NaN loss",
    "模型训练 🚀 第二版",
)
_HTML_DESCRIPTIONS = (
    "<script>alert('x')</script>",
    "<b>bold</b> description",
    "<img src=x onerror=alert(1)>",
    "a & b < c > d \"quoted\" 'single'",
    "</td><td>broken table cell",
    "{{ 7*7 }} and {% csrf_token %}",
)
_HYPER_PARAMETERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("learning_rate", ("0.1", "0.01", "0.001", "0.0003", "2e-5", "5e-5")),
    ("batch_size", ("16", "32", "64", "128", "256", "512", "1024")),
    ("epochs", ("3", "10", "30", "90", "120")),
    ("optimizer", ("sgd", "adam", "adamw", "momentum", "lamb")),
    ("weight_decay", ("0.0001", "0.01", "0.05")),
    ("momentum", ("0.9", "0.95")),
    ("warmup_steps", ("0", "500", "1000", "2000")),
    ("lr_scheduler", ("cosine", "step", "linear", "polynomial")),
    ("dropout", ("0.1", "0.2", "0.5")),
    ("seed", ("42", "1234", "2024")),
    ("image_size", ("224", "320", "512", "640")),
    ("max_seq_length", ("128", "256", "512", "2048")),
    ("gradient_accumulation_steps", ("1", "2", "4", "8")),
    ("fp16", ("true", "false")),
    ("data_format", ("NHWC", "NCHW")),
    ("num_workers", ("4", "8", "16")),
)
# Labels that contain secret-ish words but are not secrets.
_HARMLESS_LOOKALIKES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("max_tokens", ("512", "2048", "4096")),
    ("token_limit", ("4096", "8192")),
    ("key_path", ("/home/work/keys/", "/cache/keys/")),
    ("tokenizer", ("bert-base-chinese", "gpt2", "sentencepiece")),
    ("num_keys", ("16", "64")),
)
_PLAIN_ENV: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("NCCL_DEBUG", ("INFO", "WARN")),
    ("OMP_NUM_THREADS", ("4", "8", "16")),
    ("PYTHONUNBUFFERED", ("1",)),
    ("TZ", ("Asia/Shanghai", "UTC")),
    ("MODEL_NAME", ("resnet50", "bert-base-chinese", "qwen-7b", "whisper-small")),
    ("LOG_LEVEL", ("INFO", "DEBUG")),
    ("HCCL_CONNECT_TIMEOUT", ("1200",)),
)


# --- building blocks -------------------------------------------------------------------------------


def _name_base(rng: random.Random) -> str:
    """A config name such as ``resnet50-imagenet-bs256`` (only [A-Za-z0-9_-], see §4)."""
    name = f"{_pick(rng, _MODELS)}-{_pick(rng, _DATASETS)}{_pick(rng, _VARIANTS)}"
    style = rng.random()
    if style < 0.18:
        name = name.replace("-", "_")
    elif style < 0.26:
        name = "_".join(part[:1].upper() + part[1:] for part in name.split("-"))
    elif style < 0.30:
        name = name.upper()
    return name


def _desc(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.12:
        return ""
    if roll < 0.62:
        return _pick(rng, _EN_DESCRIPTIONS)
    if roll < 0.78:
        return _pick(rng, _ZH_DESCRIPTIONS)
    if roll < 0.87:
        return _pick(rng, _EMOJI_DESCRIPTIONS)
    if roll < 0.92:
        return _pick(rng, _HTML_DESCRIPTIONS)
    return _long_desc(rng)


def _long_desc(rng: random.Random) -> str:
    """A description of exactly 256 characters, the documented maximum."""
    text = " ".join(rng.sample(_EN_DESCRIPTIONS, 8)) + " " + _pick(rng, _ZH_DESCRIPTIONS)
    while len(text) < 256:
        text += " " + _pick(rng, _EN_DESCRIPTIONS)
    return text[:256]


def _create_time(rng: random.Random) -> int:
    return ANCHOR_MS - rng.randrange(SPAN_MS)


def _obs_paths(rng: random.Random, name: str) -> dict[str, str]:
    bucket = _pick(rng, _BUCKETS)
    project = name.lower().replace("_", "-")[:40].strip("-") or "job"
    boot = _pick(rng, ("train.py", "main.py", "run.py", "train_dist.py"))
    return {
        "app_url": f"/{bucket}/code/{project}/",
        "boot_file_url": f"/{bucket}/code/{project}/{boot}",
        "data_url": f"/{bucket}/datasets/{_pick(rng, _DATASETS)}/",
        "train_url": f"/{bucket}/output/{project}/",
        "log_url": f"/{bucket}/logs/{project}/",
    }


def _hyper_parameters(rng: random.Random, numeric: bool = False) -> list[dict[str, Any]]:
    picked = rng.sample(_HYPER_PARAMETERS, _between(rng, 2, 7))
    if rng.random() < 0.15:
        picked.append(_pick(rng, _HARMLESS_LOOKALIKES))
    params: list[dict[str, Any]] = []
    for label, values in picked:
        value: Any = _pick(rng, values)
        if numeric:
            # The API quirk (§3): the doc's own samples send numbers although the type is String.
            try:
                value = int(value)
            except ValueError:
                try:
                    value = float(value)
                except ValueError:
                    pass
        params.append({"label": label, "value": value})
    return params


def _data_fields(rng: random.Random, obs: dict[str, str], mode: str | None = None) -> dict[str, Any]:
    """One of the three exclusive input forms of §4, sometimes with the others as empty strings."""
    mode = mode or rng.choices(("data_url", "dataset", "data_source"), weights=(6, 3, 2))[0]
    if mode == "data_url":
        fields: dict[str, Any] = {"data_url": obs["data_url"]}
        if rng.random() < 0.4:  # as in the doc example: the other forms present but empty
            fields.update(dataset_id="", dataset_version_id="", dataset_name="", dataset_version_name="")
        return fields
    if mode == "dataset":
        return {
            "dataset_id": _chars(rng, _ALNUM, 19),
            "dataset_version_id": _chars(rng, _ALNUM, 19),
            "dataset_name": f"{_pick(rng, _DATASETS)}-{_between(rng, 1, 9)}",
            "dataset_version_name": f"V{_between(rng, 1, 12):03d}",
        }
    sources: list[dict[str, Any]] = [
        {"type": "obs", "data_url": obs["data_url"], "dataset_id": "", "dataset_version": ""}
    ]
    if rng.random() < 0.5:
        sources.append(
            {
                "type": "dataset",
                "dataset_id": _chars(rng, _ALNUM, 19),
                "dataset_version": _chars(rng, _ALNUM, 19),
                "data_url": "",
            }
        )
    return {"data_source": sources}


def _resource_extras(rng: random.Random, spec: Spec, name: str) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if rng.random() < 0.3:
        extras["pool_id"] = "pool" + _chars(rng, _HEX, 8)
        extras["pool_name"] = f"{_pick(rng, _TEAMS)}-{spec.gpu_type or ('npu' if spec.npu_num else 'cpu')}"
    if rng.random() < 0.2:
        share = f"192.168.{_between(rng, 0, 20)}.{_between(rng, 2, 250)}:/"
        extras["volumes"] = [
            {"nfs": {"id": _uuid(rng), "src_path": share, "dest_path": "/home/work/nas", "read_only": False}}
        ]
        if rng.random() < 0.5:
            extras["volumes"].append(
                {"host_path": {"src_path": "/root/work", "dest_path": "/home/mind", "read_only": True}}
            )
        if rng.random() < 0.6:
            extras.update(nas_mount_path="/home/work/nas", nas_share_addr=share, nas_type="nfs")
    return extras


def _undocumented_extras(rng: random.Random, spec: Spec, force: bool = False) -> dict[str, Any]:
    """Keys the live service may add (§3 "INFERENCE: can return more keys"): ``flavor``, ``npu_info``."""
    extras: dict[str, Any] = {}
    if spec.npu_num:
        extras["npu_info"] = {"npu": spec.npu_num, "npu_type": spec.npu_type, "npu_memory": "32GB"}
    if force or rng.random() < 0.1:
        extras["flavor"] = {
            "code": spec.spec_code,
            "spec_id": spec.spec_id,
            "gpu": {"type": spec.gpu_type, "num": spec.gpu_num} if spec.gpu_num else None,
            "cpu": {"core": spec.core, "memory_gb": spec.cpu},
            "billing_code": spec.spec_code.replace("modelarts.", "").replace(".", "_"),
        }
    return extras


def _image(rng: random.Random, name: str) -> str:
    if rng.random() < 0.15:
        return "100.125.5.235:20202/jobmng/custom-cpu-base:1.0"
    org = _pick(rng, _TEAMS)
    repo = _pick(rng, ("pytorch-train", "mindspore-train", "llm-sft", "tf2-gpu", "ocr-train", "base-cuda11"))
    tag = _pick(rng, ("1.0", "2.3", "latest", "v20240312", "cuda11.8-py3.10"))
    region = _pick(rng, ("cn-north-4", "cn-east-3", "cn-south-1", "ap-southeast-1"))
    return f"swr.{region}.myhuaweicloud.com/{org}/{repo}:{tag}"


def _command(rng: random.Random, name: str, extra_args: str = "") -> str:
    project = name.lower().replace("_", "-")[:40].strip("-") or "job"
    script = _pick(rng, ("train.py", "main.py", "finetune.py", "pretrain.py"))
    args = _pick(rng, ("--epochs=3", "--epochs=10 --batch_size=64", "--config=configs/base.yaml", ""))
    command = f"bash /home/work/run_train.sh python /home/work/user-job-dir/{project}/{script} {args} {extra_args}"
    return " ".join(command.split())


def _secret_env(rng: random.Random, n_labelled: int, n_value: int) -> tuple[list[dict[str, Any]], set[str]]:
    params: list[dict[str, Any]] = []
    secrets: set[str] = set()
    for label, maker in rng.sample(_LABELLED_SECRETS, n_labelled):
        value = maker(rng)
        params.append({"label": label, "value": value})
        secrets.add(value)
    for label, maker in rng.sample(_VALUE_SECRETS, n_value):
        value = maker(rng)
        params.append({"label": label, "value": value})
        secrets.add(value)
    return params, secrets


def _plain_env(rng: random.Random, n: int) -> list[dict[str, Any]]:
    return [{"label": label, "value": _pick(rng, values)} for label, values in rng.sample(_PLAIN_ENV, n)]


# --- whole configs ---------------------------------------------------------------------------------


def _standard_config(
    rng: random.Random,
    name: str,
    *,
    desc: str | None = None,
    engine: Engine | None = None,
    spec: Spec | None = None,
    data_mode: str | None = None,
    numeric: bool | None = None,
    with_parameters: bool | None = None,
) -> Generated:
    """A config for a built-in engine: OBS code dir and boot file, hyper-parameters as parameters."""
    desc = _desc(rng) if desc is None else desc
    created = _create_time(rng)
    engine = engine or _pick(rng, _BUILTIN_ENGINES)
    if spec is None:
        if engine.engine_name == "Ascend-Powered-Engine":
            spec = _pick(rng, _NPU_SPECS)
        elif engine.engine_name in ("Spark_MLlib", "XGBoost-Sklearn"):
            spec = _pick(rng, _CPU_SPECS)
        else:
            spec = _pick(rng, _GPU_SPECS + _CPU_SPECS[1:])
    obs = _obs_paths(rng, name)
    numeric = rng.random() < 0.03 if numeric is None else numeric
    with_parameters = rng.random() < 0.9 if with_parameters is None else with_parameters
    detail: dict[str, Any] = {"config_name": name, "config_desc": desc, "create_time": created}
    detail["worker_server_num"] = _between(rng, 1, min(4, spec.max_num)) if engine.engine_name != "Horovod" else 4
    detail["app_url"] = obs["app_url"]
    detail["boot_file_url"] = obs["boot_file_url"]
    if rng.random() < 0.7:
        detail["model_id"] = 0
    if with_parameters:
        detail["parameter"] = _hyper_parameters(rng, numeric=numeric)
    detail.update(spec.fields())
    detail.update(_data_fields(rng, obs, data_mode))
    detail.update(engine.fields())
    detail["train_url"] = obs["train_url"] if rng.random() < 0.8 else ""
    detail["log_url"] = obs["log_url"] if rng.random() < 0.6 else ""
    if rng.random() < 0.5:
        # Inferred, not confirmed by the API reference: non-image configs carry "" or omit the image fields.
        detail["user_image_url"] = ""
        detail["user_command"] = ""
    detail.update(_resource_extras(rng, spec, name))
    detail.update(_undocumented_extras(rng, spec))
    return Generated(detail)


def _image_config(
    rng: random.Random,
    name: str,
    *,
    desc: str | None = None,
    engine: Engine | None = None,
    n_labelled: int | None = None,
    n_value: int | None = None,
    url_secret: bool | None = None,
    command_secret: bool | None = None,
    lookalikes: bool = False,
) -> Generated:
    """A custom-image config: SWR image, a command through run_train.sh, env vars as parameters."""
    desc = _desc(rng) if desc is None else desc
    created = _create_time(rng)
    engine = engine or _pick(rng, _IMAGE_BASE_ENGINES)
    spec = _pick(rng, _NPU_SPECS) if engine.engine_name == "Ascend-Powered-Engine" else _pick(rng, _GPU_SPECS)
    obs = _obs_paths(rng, name)
    params = _plain_env(rng, _between(rng, 1, 3))
    secret_params, secrets = _secret_env(
        rng,
        _between(rng, 0, 2) if n_labelled is None else n_labelled,
        (1 if rng.random() < 0.3 else 0) if n_value is None else n_value,
    )
    params.extend(secret_params)
    if url_secret if url_secret is not None else rng.random() < 0.15:
        label, url, password = _url_with_password(rng)
        params.append({"label": label, "value": url})
        secrets.add(password)
    if lookalikes:
        params.extend({"label": label, "value": values[0]} for label, values in _HARMLESS_LOOKALIKES)
    rng.shuffle(params)
    extra_args = ""
    if command_secret if command_secret is not None else rng.random() < 0.12:
        password = _password(rng)
        extra_args = _pick(
            rng,
            (
                f"--db-host=10.12.0.8 --db-user=feature_ro --password={password}",
                f"--db-password {password} --db-host 10.12.0.9",
                f"--redis-password={password}",
            ),
        )
        secrets.add(password)
    detail: dict[str, Any] = {"config_name": name, "config_desc": desc, "create_time": created}
    detail["worker_server_num"] = _between(rng, 1, 2)
    detail["app_url"] = obs["app_url"]
    detail["boot_file_url"] = obs["boot_file_url"]
    detail["parameter"] = params
    detail.update(spec.fields())
    detail.update(_data_fields(rng, obs))
    detail.update(engine.fields())
    detail["train_url"] = obs["train_url"]
    detail["log_url"] = obs["log_url"]
    detail["user_image_url"] = _image(rng, name)
    detail["user_command"] = _command(rng, name, extra_args)
    detail.update(_resource_extras(rng, spec, name))
    detail.update(_undocumented_extras(rng, spec))
    return Generated(detail, secrets)


def _model_config(rng: random.Random, name: str, *, desc: str | None = None) -> Generated:
    """A config built on a built-in algorithm (``model_id``): no app_url/boot_file_url (§4)."""
    desc = _desc(rng) if desc is None else desc
    created = _create_time(rng)
    engine = _pick(rng, _BUILTIN_ENGINES)
    spec = _pick(rng, _NPU_SPECS) if engine.engine_name == "Ascend-Powered-Engine" else _pick(rng, _GPU_SPECS)
    obs = _obs_paths(rng, name)
    detail: dict[str, Any] = {"config_name": name, "config_desc": desc, "create_time": created}
    detail["worker_server_num"] = 1
    detail["model_id"] = _between(rng, 1, 60)
    detail["parameter"] = _hyper_parameters(rng)
    detail.update(spec.fields())
    detail.update(_data_fields(rng, obs, "dataset" if rng.random() < 0.5 else "data_url"))
    detail.update(engine.fields())
    detail["train_url"] = obs["train_url"]
    detail["log_url"] = ""
    detail.update(_undocumented_extras(rng, spec))
    return Generated(detail)


def _random_config(rng: random.Random, name: str) -> Generated:
    roll = rng.random()
    if roll < 0.62:
        return _standard_config(rng, name)
    if roll < 0.90:
        return _image_config(rng, name)
    return _model_config(rng, name)


def _name_of_length(rng: random.Random, length: int) -> str:
    """A descriptive name padded with a run id to exactly ``length`` characters."""
    base = "llama2-13b-chat-sft-lora-r64-alpha16-zh-en-mixed-corpus-bs128-run"
    return (base + _chars(rng, string.ascii_lowercase + string.digits, length))[:length]


# Hand-shaped configs at the start of every seed so that even 10 or 30 configs cover every edge case
# the dashboard must handle. Values inside them still come from the seed.
Curated = Callable[[random.Random], Generated]


def _c_resnet(rng: random.Random) -> Generated:
    g = _standard_config(
        rng,
        "resnet50-imagenet-bs256",
        desc="ResNet-50 baseline, 8 GPUs, cosine LR",
        engine=ENGINES_BY_ID[3],
        spec=SPECS_BY_ID[4],
        data_mode="data_url",
        numeric=True,
        with_parameters=True,
    )
    d = g.detail
    d["parameter"] = [
        {"label": "learning_rate", "value": 0.1},
        {"label": "batch_size", "value": 256},
        {"label": "lr_schedule", "value": "cosine"},
        {"label": "epochs", "value": "90"},
    ]
    d.update(
        pool_id="pool9928813f",
        pool_name="team-a-v100",
        nas_mount_path="/home/work/nas",
        nas_share_addr="192.168.8.150:/",
        nas_type="nfs",
    )
    d["volumes"] = [
        {"nfs": {"id": _uuid(rng), "src_path": "192.168.8.150:/", "dest_path": "/home/work/nas", "read_only": False}},
        {"host_path": {"src_path": "/root/work", "dest_path": "/home/mind", "read_only": True}},
    ]
    d.update(_undocumented_extras(rng, SPECS_BY_ID[4], force=True))
    return g


def _c_llm_secrets(rng: random.Random) -> Generated:
    g = _image_config(
        rng,
        "qwen-7b-sft-custom-image",
        desc="大模型指令微调，勿删",
        engine=ENGINES_BY_ID[200],
        n_labelled=0,
        n_value=0,
        url_secret=False,
        command_secret=False,
    )
    labelled = {label: maker for label, maker in _LABELLED_SECRETS}
    for label in ("HF_TOKEN", "WANDB_API_KEY", "OBS_AK", "OBS_SK", "DB_PASSWORD", "OBS_SECRET_KEY"):
        value = labelled[label](rng)
        g.detail["parameter"].append({"label": label, "value": value})
        g.secrets.add(value)
    return g


def _c_value_secrets(rng: random.Random) -> Generated:
    g = _image_config(
        rng,
        "feature-sync-etl-image",
        desc="🚀 nightly feature sync",
        engine=ENGINES_BY_ID[17],
        n_labelled=0,
        n_value=0,
        url_secret=False,
        command_secret=False,
        lookalikes=True,
    )
    password = _password(rng)
    g.detail["user_command"] = _command(
        rng, g.name, f"--db-host=10.12.0.8 --db-user=feature_ro --password={password} --epochs=3"
    )
    g.secrets.add(password)
    makers = {label: maker for label, maker in _LABELLED_SECRETS + _VALUE_SECRETS}
    for label in (
        "API_KEY",
        "GIT_REMOTE_CRED",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "EXTRA_ARG",
        "SERVICE_JWT",
    ):
        value = makers[label](rng)
        g.detail["parameter"].append({"label": label, "value": value})
        g.secrets.add(value)
    label, url, url_password = _url_with_password(rng)
    g.detail["parameter"].append({"label": label, "value": url})
    g.secrets.add(url_password)
    return g


def _c_ascend(rng: random.Random) -> Generated:
    g = _standard_config(
        rng,
        "bert-base-zh-ner-ascend",
        desc="<b>bold</b> description",
        engine=ENGINES_BY_ID[122],
        spec=SPECS_BY_ID[7],
        data_mode="dataset",
        with_parameters=True,
    )
    g.detail.update(_undocumented_extras(rng, SPECS_BY_ID[7], force=True))
    return g


def _c_model_id(rng: random.Random) -> Generated:
    return _model_config(rng, "builtin-yolov3-road-signs", desc="<img src=x onerror=alert(1)>")


def _c_long_name(rng: random.Random) -> Generated:
    return _standard_config(
        rng, _name_of_length(rng, 64), desc="", engine=ENGINES_BY_ID[17], data_mode="data_source", with_parameters=True
    )


def _c_script_desc(rng: random.Random) -> Generated:
    return _standard_config(
        rng,
        "mxnet-cifar10-cpu",
        desc="<script>alert('x')</script>",
        engine=ENGINES_BY_ID[6],
        spec=SPECS_BY_ID[2],
        with_parameters=True,
    )


def _c_no_parameters(rng: random.Random) -> Generated:
    return _standard_config(
        rng,
        "xgboost_criteo_ctr",
        desc="推荐系统排序模型 🔥 第二版",
        engine=ENGINES_BY_ID[13],
        spec=SPECS_BY_ID[1],
        with_parameters=False,
    )


def _c_horovod(rng: random.Random) -> Generated:
    g = _standard_config(
        rng,
        "Horovod_ResNet101_ImageNet_2node",
        desc="Distributed data parallel, 2 nodes x 8 GPUs",
        engine=ENGINES_BY_ID[30],
        spec=SPECS_BY_ID[4],
    )
    g.detail["worker_server_num"] = 2
    return g


def _c_camel_secrets(rng: random.Random) -> Generated:
    g = _image_config(
        rng,
        "ocr-crnn-invoices-image",
        desc="票据 OCR 识别，昇腾 910 训练",
        engine=ENGINES_BY_ID[123],
        n_labelled=0,
        n_value=0,
        url_secret=False,
        command_secret=False,
    )
    for label, maker in (("dbPassword", _password), ("MODEL_HUB", _hf_token), ("OPENAI_API_KEY", _openai_key)):
        value = maker(rng)
        g.detail["parameter"].append({"label": label, "value": value})
        g.secrets.add(value)
    return g


def _c_caffe(rng: random.Random) -> Generated:
    return _standard_config(
        rng,
        "lenet-mnist-caffe",
        desc=_long_desc(rng),
        engine=ENGINES_BY_ID[8],
        spec=SPECS_BY_ID[1],
        numeric=True,
        with_parameters=True,
    )


def _c_spark(rng: random.Random) -> Generated:
    return _standard_config(
        rng,
        "SPARK-KMEANS-CLICK-LOGS",
        desc="a & b < c > d \"quoted\" 'single'",
        engine=ENGINES_BY_ID[10],
        spec=SPECS_BY_ID[2],
    )


CURATED: tuple[Curated, ...] = (
    _c_resnet,
    _c_llm_secrets,
    _c_value_secrets,
    _c_ascend,
    _c_model_id,
    _c_long_name,
    _c_script_desc,
    _c_no_parameters,
    _c_horovod,
    _c_camel_secrets,
    _c_caffe,
    _c_spark,
)


def _custom_recipe(seed: int, index: int) -> tuple[random.Random, str | None]:
    """The config's own RNG and its base name (None for curated configs, whose name is fixed)."""
    rng = _rng(seed, index)
    if index < len(CURATED):
        return rng, None
    return rng, _name_base(rng)


def custom_detail(seed: int, index: int, name: str) -> Generated:
    """Rebuild custom config number ``index`` of ``seed``, whose final (unique) name is ``name``."""
    rng, base = _custom_recipe(seed, index)
    if base is None:
        generated = CURATED[index](rng)
        generated.detail["config_name"] = name
        return generated
    return _random_config(rng, name)


def _unique(name: str, taken: set[str], index: int) -> str:
    if name not in taken:
        return name
    suffix = f"-{index}"
    return name[: 64 - len(suffix)].rstrip("-_") + suffix


def generate_configs(
    seed: int, count: int, *, start: int = 0, taken: set[str] | None = None
) -> Iterator[tuple[int, Generated]]:
    """Yield ``(index, Generated)`` for custom configs ``start .. start+count-1`` with unique names.

    ``taken`` holds names already in use (it is updated); a clashing name gets ``-{index}`` appended.
    """
    taken = set() if taken is None else taken
    for index in range(start, start + count):
        rng, base = _custom_recipe(seed, index)
        if base is None:
            generated = CURATED[index](rng)
            name = _unique(generated.name, taken, index)
            generated.detail["config_name"] = name
        else:
            name = _unique(base[:64], taken, index)
            generated = _random_config(rng, name)
        taken.add(name)
        yield index, generated


# --- sample configs (config_type=sample): the platform's read-only examples -------------------------

_SAMPLES: tuple[tuple[str, str, int, int, str], ...] = (
    ("sample_tensorflow_flowers_resnet50", "Flower image classification with ResNet-50 (TensorFlow)", 4, 6, "flowers"),
    ("sample_mxnet_mnist_lenet", "Handwritten digit recognition (MXNet)", 6, 2, "mnist"),
    ("sample_pytorch_cifar10_resnet18", "CIFAR-10 classification with ResNet-18 (PyTorch)", 15, 5, "cifar10"),
    ("sample_caffe_lenet", "LeNet on MNIST (Caffe)", 8, 1, "mnist"),
    ("sample_spark_kmeans", "K-means clustering with Spark MLlib", 10, 2, "click-logs"),
    ("sample_xgboost_iris", "Iris classification with XGBoost", 13, 1, "iris"),
    ("sample_mindspore_resnet50_ascend", "基于昇腾的 ResNet-50 图像分类样例", 122, 7, "imagenet"),
    ("sample_horovod_tf_imagenet", "Distributed ImageNet training with Horovod", 30, 4, "imagenet"),
    ("sample_yolov3_coco_detection", "YOLOv3 object detection on COCO", 18, 6, "coco"),
    ("sample_bert_text_classification", "BERT text classification (中文)", 17, 6, "clue"),
    ("sample_deeplabv3_cityscapes", "Semantic segmentation with DeepLabv3", 17, 4, "cityscapes"),
    ("sample_ssd_mobilenet_detection", "SSD MobileNet detection", 4, 5, "voc2012"),
    ("sample_ocr_crnn_ascend", "OCR text recognition on Ascend 910", 123, 8, "invoices"),
    ("sample_wide_deep_criteo", "Wide & Deep CTR prediction", 19, 5, "criteo"),
)


def sample_detail(seed: int, index: int) -> Generated:
    """Sample config number ``index``: platform-owned, no secrets, some without ``create_time``."""
    rng = _rng(seed, index, salt=7)
    name, desc, engine_id, spec_id, dataset = _SAMPLES[index % len(_SAMPLES)]
    if index >= len(_SAMPLES):
        name = f"{name}_v{index // len(_SAMPLES) + 1}"
    engine, spec = ENGINES_BY_ID[engine_id], SPECS_BY_ID[spec_id]
    detail: dict[str, Any] = {"config_name": name, "config_desc": desc}
    if index % 3 != 2:
        # Inferred, not confirmed by the API reference: sample configs may lack create_time (§9 #9).
        detail["create_time"] = _create_time(rng)
    folder = name.removeprefix("sample_")
    detail["worker_server_num"] = 1
    detail["app_url"] = f"/modelarts-samples/{folder}/code/"
    detail["boot_file_url"] = f"/modelarts-samples/{folder}/code/train.py"
    detail["parameter"] = _hyper_parameters(rng)
    detail.update(spec.fields())
    detail["data_url"] = f"/modelarts-samples/datasets/{dataset}/"
    detail.update(engine.fields())
    detail["train_url"] = ""
    detail["log_url"] = ""
    return Generated(detail)


def generate_samples(seed: int, count: int) -> Iterator[tuple[int, Generated]]:
    """Yield ``(index, Generated)`` for ``count`` sample configs."""
    for index in range(count):
        yield index, sample_detail(seed, index)
