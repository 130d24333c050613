"""One config's page: every field, masked secrets, raw JSON, history, 404s, staff refresh."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from configs_app.masking import MASK
from configs_app.models import ConfigRevision, TrainingJobConfig
from configs_app.views import FIELD_GROUPS
from tests.factories import RevisionFactory, SourceFactory, TrainingJobConfigFactory, default_payload

pytestmark = pytest.mark.django_db


def page(client, config: TrainingJobConfig) -> str:
    response = client.get(config.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def config():
    return TrainingJobConfigFactory(
        source=SourceFactory(name="team-a"),
        config_name="resnet50-imagenet",
        user_image_url="swr.example.com/team/img:2",
        npu_info={"npu_type": "Ascend910", "auth_token": "do-not-show-this-0001"},
    )


def test_every_documented_and_extra_field_is_shown(viewer_client, config):
    content = page(viewer_client, config)
    for _title, keys in FIELD_GROUPS:
        for key in keys:
            assert f'data-field="{key}"' in content, key
    # Undocumented extras get their own group and stay visible.
    assert "Other fields (not in the API reference)" in content
    assert 'data-field="flavor"' in content and 'data-field="npu_info"' in content
    assert "Ascend910" in content
    # Tables for nested lists, and the parameters.
    assert 'id="data-sources"' in content and 'id="volumes"' in content
    assert "/home/work/nas" in content
    assert "learning_rate" in content and "0.01" in content


def test_secret_values_never_reach_the_page(viewer_client, config):
    RevisionFactory(config=config)
    content = page(viewer_client, config)
    assert config.secret_values
    for secret in config.secret_values | {"do-not-show-this-0001"}:
        assert secret not in content, secret
        assert html.escape(secret) not in content, secret
    # Secret parameters are shown as a badge, not as a value.
    assert content.count("masked-badge") >= 2


def test_raw_panel_is_masked_pretty_json(viewer_client, config):
    content = page(viewer_client, config)
    raw = re.search(r'<code id="raw-json">(.*?)</code>', content, re.S).group(1)
    payload = json.loads(html.unescape(raw))
    assert payload["config_name"] == "resnet50-imagenet"
    assert payload["npu_info"]["auth_token"] == MASK
    assert {p["label"]: p["value"] for p in payload["parameter"]}["DB_PASSWORD"] == MASK
    assert "\n  " in raw  # indented


def test_history_diffs_are_masked(viewer_client, config):
    old_password = "Old-Pw-7781-zzq!"
    old_command = "python train.py --password=OldCmdSecret99"
    previous = {
        **config.raw,
        "parameter": [
            {**p, "value": old_password} if p["label"] == "DB_PASSWORD" else p for p in config.raw["parameter"]
        ]
        + [{"label": "dropped_param", "value": "0.5"}],
        "user_command": old_command,
        "npu_info": {"npu_type": "Ascend310", "auth_token": "old-token-value-77"},
    }
    RevisionFactory(config=config, previous_payload=previous)
    content = page(viewer_client, config)
    for secret in (old_password, "OldCmdSecret99", "old-token-value-77", *config.secret_values):
        assert secret not in content, secret
    history = content[content.index('id="history"') :]
    assert "parameter.DB_PASSWORD" in history
    assert "parameter.dropped_param" in history and "0.5" in history
    assert "npu_info.npu_type" in history and "Ascend310" in history
    assert "npu_info.auth_token" in history
    assert "--password=" + MASK in history
    assert "Changed" in history


def test_history_lists_revisions_newest_first(viewer_client, config):
    RevisionFactory(
        config=config,
        kind=ConfigRevision.Kind.CREATED,
        observed_at=timezone.now() - timezone.timedelta(days=2),
        previous_payload=None,
    )
    RevisionFactory(config=config, kind=ConfigRevision.Kind.DELETED, diff=[])
    content = page(viewer_client, config)
    kinds = re.findall(r'class="list-group-item revision" data-kind="(\w+)"', content)
    assert kinds == ["deleted", "created"]


def test_description_html_renders_as_text(viewer_client):
    config = TrainingJobConfigFactory(config_desc="<script>alert('x')</script>")
    content = page(viewer_client, config)
    assert "&lt;script&gt;alert(" in content
    assert "<script>alert" not in content


def test_sdk_snippet_and_copy_buttons(viewer_client, config):
    content = page(viewer_client, config)
    snippet = html.unescape(re.search(r'<code id="sdk-snippet">(.*?)</code>', content, re.S).group(1))
    assert "from modelarts.session import Session" in snippet
    assert 'Estimator(modelarts_session=session, config_name="resnet50-imagenet").get_job_configs_info()' in snippet
    for key in ("app_url", "boot_file_url", "data_url", "train_url", "log_url"):
        assert f'data-copy-target="#value-{key}"' in content, key
    assert "/static/configs_app/app.js" in content


def test_no_inline_scripts_or_styles(viewer_client, config):
    content = page(viewer_client, config)
    assert "<style" not in content
    assert " style=" not in content
    assert re.findall(r"<script(?![^>]*\bsrc=)", content) == []


def test_deleted_upstream_badge(viewer_client):
    config = TrainingJobConfigFactory(deleted_upstream_at=timezone.now())
    assert 'id="deleted-badge"' in page(viewer_client, config)


@pytest.mark.parametrize(
    "name", ["weird name", "with/slash", "q?x=1&y=#frag", "配置-1", "semi;colon", "pct%41", "dots..", "trailing-"]
)
def test_names_with_any_characters_open(viewer_client, name):
    config = TrainingJobConfigFactory(config_name=name)
    assert "#" not in config.get_absolute_url() and "?" not in config.get_absolute_url()
    response = viewer_client.get(config.get_absolute_url())
    assert response.status_code == 200
    assert response.context["config"].pk == config.pk


@pytest.mark.parametrize(
    "path",
    [
        "/configs/team-a/custom/no-such-config/",
        "/configs/no-source/custom/resnet50-imagenet/",
        "/configs/team-a/weird/resnet50-imagenet/",
        "/configs/team-a/custom/%00/",
        "/configs/team-a/custom/a%00b/",
        "/configs/team-a%00/custom/x/",
        "/configs/team-a/custom/" + "x" * 5000 + "/",
        "/configs/team-a/custom/..%2F..%2Fetc%2Fpasswd/",
        "/configs/team-a/custom/%3Cscript%3Ealert(1)%3C%2Fscript%3E/",
        "/configs/team-a/custom/%FF%FE/",
        "/configs/team-a/custom/resnet50-imagenet/extra/",
    ],
)
def test_unknown_and_weird_names_are_404(viewer_client, config, path):
    response = viewer_client.get(path)
    assert response.status_code == 404


def test_404_page_escapes_the_path(viewer_client, config):
    response = viewer_client.get("/configs/team-a/custom/%3Cscript%3Ealert(1)%3C%2Fscript%3E/")
    assert b"<script>alert(1)" not in response.content


def test_detail_query_count_does_not_grow_with_history(viewer_client, config):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            viewer_client.get(config.get_absolute_url())
        return len(queries)

    RevisionFactory(config=config)
    one = count()
    for _ in range(10):
        RevisionFactory(config=config)
    assert count() == one
    assert one <= 10


# --- staff refresh -------------------------------------------------------------------------------


def test_staff_sees_the_refresh_button(staff_client, viewer_client, config):
    assert "Refresh from ModelArts" in page(staff_client, config)
    assert "Refresh from ModelArts" not in page(viewer_client, config)


def test_staff_refresh_calls_the_sync_and_shows_its_message(staff_client, config, fake_sync):
    fake_sync.refresh_result = fake_sync.result("changed", "resnet50-imagenet was updated from ModelArts.")
    response = staff_client.post(f"/configs/refresh/{config.pk}/", follow=True)
    assert response.status_code == 200
    assert [c.pk for c in fake_sync.refresh_calls] == [config.pk]
    assert response.redirect_chain[-1][0] == config.get_absolute_url()
    assert b"was updated from ModelArts" in response.content


@pytest.mark.parametrize(
    ("outcome", "css"), [("failed", "alert-danger"), ("deleted", "alert-warning"), ("unchanged", "alert-success")]
)
def test_refresh_outcomes_are_shown(staff_client, config, fake_sync, outcome, css):
    fake_sync.refresh_result = fake_sync.result(outcome, f"outcome {outcome}")
    response = staff_client.post(f"/configs/refresh/{config.pk}/", follow=True)
    assert f"outcome {outcome}" in response.content.decode()
    assert css in response.content.decode()


def test_refresh_is_staff_only_post(viewer_client, staff_client, client, config, fake_sync):
    assert viewer_client.post(f"/configs/refresh/{config.pk}/").status_code == 403
    assert staff_client.get(f"/configs/refresh/{config.pk}/").status_code == 405
    anonymous = client.post(f"/configs/refresh/{config.pk}/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert staff_client.post("/configs/refresh/999999/").status_code == 404
    assert fake_sync.refresh_calls == []


def test_default_payload_fixture_is_realistic():
    payload = default_payload(3)
    assert {"config_name", "parameter", "spec_code", "volumes", "data_source"} <= set(payload)
