"""Compare at /compare/: 2 to 6 configs side by side, masked, differences highlighted."""

from __future__ import annotations

import re

import pytest

from tests.factories import SourceFactory, TrainingJobConfigFactory

pytestmark = pytest.mark.django_db

URL = "/compare/"


@pytest.fixture
def pair():
    source = SourceFactory(name="cmp")
    a = TrainingJobConfigFactory(source=source, config_name="cmp-a", worker_server_num=2, engine_name="PyTorch")
    b = TrainingJobConfigFactory(
        source=source,
        config_name="cmp-b",
        worker_server_num=4,
        engine_name="PyTorch",
        parameter=[
            {"label": "learning_rate", "value": "0.01"},
            {"label": "only_in_b", "value": "yes"},
            {"label": "DB_PASSWORD", "value": "b-secret-Pw-8812"},
        ],
    )
    return a, b


def rows(response) -> dict[str, bool]:
    """field -> differs, from the rendered table."""
    found = re.findall(r'<tr class="(diff-row table-warning|same-row)" data-field="([^"]+)"', response.content.decode())
    return {field: css.startswith("diff-row") for css, field in found}


def test_side_by_side_with_differences_marked(viewer_client, pair):
    a, b = pair
    response = viewer_client.get(URL, {"c": [a.pk, b.pk]})
    assert response.status_code == 200
    marked = rows(response)
    assert marked["worker_server_num"] is True
    assert marked["engine_name"] is False
    assert marked["config_name"] is True
    assert marked["parameter.only_in_b"] is True
    assert marked["parameter.learning_rate"] is False
    assert marked["volumes[0].nfs.dest_path"] is False
    assert marked["flavor.max_num"] is False
    content = response.content.decode()
    assert content.index("cmp-a") < content.index("cmp-b")
    assert "not returned" in content  # only_in_b is missing in a


def test_only_differences_switch_is_in_the_url(viewer_client, pair):
    a, b = pair
    response = viewer_client.get(URL, {"c": [a.pk, b.pk], "diff": "1"})
    marked = rows(response)
    assert marked and all(marked.values())
    assert "engine_name" not in marked
    assert re.search(r'id="diff-toggle" href="\?c=\d+&amp;c=\d+"', response.content.decode())
    full = viewer_client.get(URL, {"c": [a.pk, b.pk]}).content.decode()
    assert re.search(r'id="diff-toggle" href="\?c=\d+&amp;c=\d+&amp;diff=1"', full)


def test_secrets_are_masked(viewer_client, pair):
    a, b = pair
    content = viewer_client.get(URL, {"c": [a.pk, b.pk]}).content.decode()
    for secret in a.secret_values | b.secret_values | {"b-secret-Pw-8812"}:
        assert secret not in content, secret
    assert "masked-badge" in content


def test_descriptions_render_as_text(viewer_client, pair):
    a, _ = pair
    evil = TrainingJobConfigFactory(config_desc="<script>alert('x')</script>")
    content = viewer_client.get(URL, {"c": [a.pk, evil.pk]}).content.decode()
    assert "&lt;script&gt;alert(" in content
    assert "<script>alert" not in content


def test_six_configs_and_duplicates(viewer_client):
    configs = [TrainingJobConfigFactory() for _ in range(6)]
    ids = [c.pk for c in configs]
    response = viewer_client.get(URL, {"c": ids + [ids[0]]})  # a repeated id counts once
    assert response.status_code == 200
    assert len(response.context["configs"]) == 6


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (["1"], "Pick at least 2"),
        ([str(i) for i in range(1, 8)], "Pick at most 6"),
        (["abc", "2"], "is not a config id"),
        (["-1", "2"], "is not a config id"),
        (["1.5", "2"], "is not a config id"),
        (["99999999999999999999999", "1"], "is not a config id"),
        ([""], "is not a config id"),
    ],
)
def test_bad_selections_explain_themselves(viewer_client, ids, message):
    response = viewer_client.get(URL, {"c": ids})
    assert response.status_code == 200
    assert 'id="compare-error"' in response.content.decode()
    assert message in response.content.decode()


def test_unknown_ids_are_named(viewer_client, pair):
    a, _ = pair
    response = viewer_client.get(URL, {"c": [a.pk, 987654]})
    assert response.status_code == 200
    assert "No config with id 987654" in response.content.decode()


def test_empty_compare_page_explains_what_to_do(viewer_client):
    response = viewer_client.get(URL)
    assert response.status_code == 200
    assert 'id="compare-help"' in response.content.decode()
    assert 'id="compare-error"' not in response.content.decode()


def test_compare_query_count_is_constant(viewer_client, django_assert_max_num_queries):
    ids = [TrainingJobConfigFactory().pk for _ in range(6)]
    with django_assert_max_num_queries(8):
        viewer_client.get(URL, {"c": ids})
