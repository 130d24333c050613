"""The secret rule on its own: labels, values, free text and whole payloads."""

import json

import pytest

from configs_app.masking import (
    MASK,
    is_secret_label,
    is_secret_parameter,
    looks_like_credential,
    mask_text,
    masked_parameters,
    masked_payload,
)


@pytest.mark.parametrize(
    "label",
    [
        "password", "PASSWORD", "DB_PASSWORD", "dbPassword", "db-passwd", "MYSQL_PWD", "secret", "CLIENT_SECRET",
        "token", "HF_TOKEN", "x-auth-token", "api_key", "apiKey", "WANDB_API_KEY", "OBS_SECRET_KEY", "key",
        "credential", "GOOGLE_APPLICATION_CREDENTIALS", "ak", "sk", "AK", "SK", "OBS_AK", "obs_sk", "ACCESS_KEY_ID",
        "private_key", "session_token",
    ],
)
def test_secret_labels(label):
    assert is_secret_label(label)


@pytest.mark.parametrize(
    "label",
    [
        "learning_rate", "batch_size", "epochs", "keyboard_layout", "monkey", "task", "ask_user", "skip", "akka",
        "max_tokens", "token_limit", "num_tokens", "key_path", "compass", "passenger_count", "optimizer", "",
        "data_url", "skew",
    ],
)
def test_harmless_labels(label):
    assert not is_secret_label(label)


@pytest.mark.parametrize(
    "value",
    [
        "ghp_0123456789abcdefghijABCDEFGHIJ",
        "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345",
        "sk-proj-0123456789abcdefABCDEF",
        "AKIAIOSFODNN7EXAMPLE",
        "xoxb-1234567890-abcdefghij",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "Zx8kQ2mN9vB4cL7pR1tY6wE3uI0oA5sD",
        "mysql://app:hunter2@db.internal:3306/train",
        "-----BEGIN RSA PRIVATE KEY-----",
    ],
)
def test_credentials_recognised_by_value(value):
    assert looks_like_credential(value)
    assert is_secret_parameter("EXTRA_ARG", value)


@pytest.mark.parametrize(
    "value",
    [
        "0.01", "256", "cosine", "adam", "/team-a-ml/datasets/imagenet/", "obs://bucket-1/a/b/c/dataset-2023-11-02/",
        "43b37236-9afa-4855-8174-32254b9562e7", "resnet50-imagenet-bs256-with-a-long-name-of-many-parts",
        "swr.cn-north-4.myhuaweicloud.com/team-a/bert-train:2.3", "ThisIsAVeryLongCamelCaseName", "", None,
    ],
)
def test_ordinary_values_are_not_credentials(value):
    assert not looks_like_credential(value)


def test_mask_text_hides_secret_assignments_and_keeps_the_rest():
    command = (
        "bash /home/work/run_train.sh python /home/work/user-job-dir/app/train.py --epochs=3 "
        "--password=hunter2 --api-key abc123 DB_TOKEN=xyz --lr 0.1 https://bob:pw1@host/x"
    )
    masked = mask_text(command)
    for secret in ("hunter2", "abc123", "xyz", "pw1"):
        assert secret not in masked
    for kept in ("--epochs=3", "--lr 0.1", "run_train.sh", "bob:", "--password=" + MASK):
        assert kept in masked


def test_mask_text_hides_tokens_inside_prose():
    text = "uses key Zx8kQ2mN9vB4cL7pR1tY6wE3uI0oA5sD and ghp_0123456789abcdefghijABCDEFGHIJ daily"
    masked = mask_text(text)
    assert "Zx8kQ2mN9vB4cL7pR1tY6wE3uI0oA5sD" not in masked
    assert "ghp_" not in masked
    assert masked.startswith("uses key ") and masked.endswith(" daily")


def test_masked_parameters_flags_and_hides():
    params = masked_parameters(
        [{"label": "learning_rate", "value": "0.1"}, {"label": "DB_PASSWORD", "value": "hunter2"}, {"label": "n", "value": 3}]
    )
    assert params == [
        {"label": "learning_rate", "value": "0.1", "masked": False},
        {"label": "DB_PASSWORD", "value": MASK, "masked": True},
        {"label": "n", "value": "3", "masked": False},
    ]


def test_masked_payload_leaves_no_secret_anywhere():
    payload = {
        "config_name": "job",
        "user_command": "python train.py --password=hunter2",
        "parameter": [{"label": "OBS_SK", "value": "s3cr3tvalue"}, {"label": "lr", "value": 0.1}],
        "flavor": {"token": "abc", "nested": ["ghp_0123456789abcdefghijABCDEFGHIJ"]},
    }
    text = json.dumps(masked_payload(payload))
    for secret in ("hunter2", "s3cr3tvalue", '"abc"', "ghp_0123"):
        assert secret not in text
    assert masked_payload(payload)["parameter"][1] == {"label": "lr", "value": 0.1}
    assert payload["parameter"][0]["value"] == "s3cr3tvalue"  # the input is not modified
