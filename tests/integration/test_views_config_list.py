"""The configs table at /configs/: filters, quick search, sorting, pagination, columns, queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from configs_app.models import TablePreference
from configs_app.tables import TrainingJobConfigTable
from tests.factories import SourceFactory, TrainingJobConfigFactory

pytestmark = pytest.mark.django_db

URL = "/configs/"


def names(response) -> list[str]:
    """Config names on the page, in table order."""
    return [row.record.config_name for row in response.context["table"].page.object_list]


def get_names(client: Client, **params) -> list[str]:
    response = client.get(URL, params)
    assert response.status_code == 200
    return names(response)


# --- filters -------------------------------------------------------------------------------------


@pytest.fixture
def catalogue():
    """A small, varied set of configs in two sources."""
    a, b = SourceFactory(name="team-a"), SourceFactory(name="team-b")
    made = {
        "tf": TrainingJobConfigFactory(
            source=a,
            config_name="tf-resnet",
            engine_name="TensorFlow",
            engine_version="TF-1.8.0-python2.7",
            spec_code="modelarts.vm.gpu.v100",
            worker_server_num=1,
            create_time=1704067200000,  # 2024-01-01
            user_image_url="",
            user_command="",
        ),
        "pt": TrainingJobConfigFactory(
            source=a,
            config_name="pt-bert",
            engine_name="PyTorch",
            engine_version="PyTorch-1.8.0-python3.7",
            spec_code="modelarts.vm.cpu.2u",
            worker_server_num=4,
            create_time=1717200000000,  # 2024-06-01
            user_image_url="swr.example.com/team/bert:1",
            user_command="bash run_train.sh",
        ),
        "ms": TrainingJobConfigFactory(
            source=b,
            config_type="sample",
            config_name="ms-yolo",
            engine_name="Ascend-Powered-Engine",
            engine_version="Mindspore-1.1.1-python3.7-aarch64",
            spec_code="modelarts.vm.gpu.v100",
            worker_server_num=8,
            create_time=1727740800000,  # 2024-10-01
            # Set, not left to the factory: its default image and command depend on how many
            # configs earlier tests made.
            user_image_url="",
            user_command="",
            parameter=[{"label": "optimizer", "value": "adamw"}, {"label": "API_KEY", "value": "plainvalue123"}],
        ),
        "gone": TrainingJobConfigFactory(source=b, config_name="old-gone", deleted_upstream_at=timezone.now()),
    }
    return made


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["ms-yolo", "pt-bert", "tf-resnet"]),
        ({"status": "active"}, ["ms-yolo", "pt-bert", "tf-resnet"]),
        ({"status": "deleted"}, ["old-gone"]),
        ({"status": "all"}, ["ms-yolo", "old-gone", "pt-bert", "tf-resnet"]),
        ({"source": "team-a"}, ["pt-bert", "tf-resnet"]),
        ({"source": "team-b", "status": "all"}, ["ms-yolo", "old-gone"]),
        ({"config_type": "sample"}, ["ms-yolo"]),
        ({"config_type": "custom"}, ["pt-bert", "tf-resnet"]),
        ({"engine": "PyTorch"}, ["pt-bert"]),
        ({"engine_version": "TF-1.8.0-python2.7"}, ["tf-resnet"]),
        ({"spec": "modelarts.vm.gpu.v100"}, ["ms-yolo", "tf-resnet"]),
        ({"workers_min": "4"}, ["ms-yolo", "pt-bert"]),
        ({"workers_max": "4"}, ["pt-bert", "tf-resnet"]),
        ({"workers_min": "2", "workers_max": "5"}, ["pt-bert"]),
        ({"created_from": "2024-05-01"}, ["ms-yolo", "pt-bert"]),
        ({"created_to": "2024-05-01"}, ["tf-resnet"]),
        ({"created_from": "2024-01-01", "created_to": "2024-06-01"}, ["pt-bert", "tf-resnet"]),
        ({"custom_image": "yes"}, ["pt-bert"]),
        ({"custom_image": "no"}, ["ms-yolo", "tf-resnet"]),
        ({"parameter": "optimizer"}, ["ms-yolo"]),
        ({"parameter": "OPTIMIZER", "parameter_value": "adam"}, ["ms-yolo"]),
        ({"parameter": "optimizer", "parameter_value": "adam", "parameter_match": "exact"}, []),
        ({"parameter": "optimizer", "parameter_value": "ADAMW", "parameter_match": "exact"}, ["ms-yolo"]),
        ({"parameter_value": "cosine"}, ["pt-bert", "tf-resnet"]),
        (
            {"parameter": "learning_rate", "parameter_value": "0.01", "parameter_match": "exact"},
            ["pt-bert", "tf-resnet"],
        ),
    ],
)
def test_each_filter(viewer_client, catalogue, params, expected):
    assert get_names(viewer_client, **params) == expected


def test_filters_combine_with_search(viewer_client, catalogue):
    assert get_names(viewer_client, q="bert", source="team-a", workers_min="2") == ["pt-bert"]
    assert get_names(viewer_client, q="bert", source="team-b") == []


@pytest.mark.parametrize(
    "params",
    [
        {"workers_min": "abc"},
        {"workers_max": "1.5"},
        {"workers_min": "-1"},
        {"workers_min": "99999999999999999999"},
        {"workers_min": "5", "workers_max": "2"},
        {"created_from": "2024-13-45"},
        {"created_from": "2024-06-01", "created_to": "2024-01-01"},
        {"engine": "NoSuchEngine"},
        {"source": "no-such-source"},
        {"config_type": "weird"},
        {"status": "bogus"},
        {"custom_image": "maybe"},
        {"parameter_match": "regex"},
    ],
)
def test_invalid_filter_shows_errors_and_an_empty_table(viewer_client, catalogue, params):
    response = viewer_client.get(URL, params)
    assert response.status_code == 200
    assert names(response) == []
    assert b'id="filter-errors"' in response.content
    assert b"invalid-feedback" in response.content


def test_valid_filters_show_no_error_banner(viewer_client, catalogue):
    response = viewer_client.get(URL, {"workers_min": "1"})
    assert b'id="filter-errors"' not in response.content


# --- quick search --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("bert", ["pt-bert"]),
        ("BERT", ["pt-bert"]),
        ("  pt-bert  ", ["pt-bert"]),
        ("tensorflow", ["tf-resnet"]),  # engine
        ("swr.example.com/team", ["pt-bert"]),  # image
        ("run_train.sh", ["pt-bert"]),  # command
        ("optimizer", ["ms-yolo"]),  # parameter label
        ("adamw", ["ms-yolo"]),  # parameter value
        ("vision team", ["ms-yolo", "pt-bert", "tf-resnet"]),  # description, two terms
        ("vision bert", ["pt-bert"]),  # every term must match (AND)
        ("vision nosuchword", []),
        ("", ["ms-yolo", "pt-bert", "tf-resnet"]),
    ],
)
def test_quick_search(viewer_client, catalogue, q, expected):
    assert get_names(viewer_client, q=q) == expected


def test_quick_search_matches_obs_paths(viewer_client, catalogue):
    config = catalogue["ms"]
    assert get_names(viewer_client, q=config.train_url) == ["ms-yolo"]
    assert get_names(viewer_client, q=config.app_url.upper()) == ["ms-yolo"]


def test_secret_values_are_not_searchable(viewer_client, catalogue):
    config = catalogue["pt"]
    assert config.secret_values, "the factory must give this config secrets"
    for secret in config.secret_values:
        assert get_names(viewer_client, q=secret) == [], secret
        assert get_names(viewer_client, q=secret.lower()[:12]) == [], secret
        assert get_names(viewer_client, parameter_value=secret) == [], secret
        assert get_names(viewer_client, parameter_value=secret, parameter_match="exact") == [], secret
        assert get_names(viewer_client, parameter="DB_PASSWORD", parameter_value=secret[:6]) == [], secret
    # A secret found only by its label is fine: the label is not the secret.
    assert "pt-bert" in get_names(viewer_client, parameter="DB_PASSWORD")
    # ms-yolo's API_KEY is secret by its label; its value is not findable either.
    assert get_names(viewer_client, q="plainvalue123") == []
    assert get_names(viewer_client, parameter_value="plainvalue123") == []


# --- sorting -------------------------------------------------------------------------------------


def _sort_keys():
    """Python sort keys matching each orderable column's database order (then pk)."""
    return {
        "name": lambda c: (c.config_name, c.pk),
        "description": lambda c: (c.config_desc, c.pk),
        "config_type": lambda c: (c.config_type, c.pk),
        "engine": lambda c: (c.engine_name, c.engine_version, c.pk),
        "spec": lambda c: (c.spec_code, c.spec_id, c.pk),
        "workers": lambda c: (c.worker_server_num, c.pk),
        "dataset": lambda c: (c.dataset_name, c.data_url, c.pk),
        "image": lambda c: (c.user_image_url, c.pk),
        "source": lambda c: (c.source.name, c.pk),
        "created": lambda c: (c.create_time, c.pk),
        "last_changed": lambda c: (c.last_changed_at, c.pk),
    }


def test_every_orderable_column_is_covered():
    orderable = {column.name for column in TrainingJobConfigTable([]).columns if column.orderable}
    assert orderable == set(_sort_keys())


@pytest.fixture
def sortable():
    """Configs with distinct and repeated values in every sortable column (no NULLs)."""
    sources = [SourceFactory(name="src-b"), SourceFactory(name="src-a")]
    base = timezone.now()
    configs = []
    for i in range(9):
        configs.append(
            TrainingJobConfigFactory(
                source=sources[i % 2],
                config_type="sample" if i % 3 == 0 else "custom",
                config_name=f"cfg-{(i * 7) % 9}",
                config_desc=f"desc {i % 4}",
                worker_server_num=i % 3,
                engine_name=["PyTorch", "MXNet", "TensorFlow"][i % 3],
                engine_version=f"v{i % 2}",
                spec_code=["a.spec", "b.spec"][i % 2],
                dataset_name=["", "ds-x", "ds-y"][i % 3],
                user_image_url=["", "img:1", "img:2"][i % 3],
                create_time=1700000000000 + (i % 4) * 86_400_000,
                last_changed_at=base - dt.timedelta(hours=i % 5),
            )
        )
    return configs


@pytest.mark.parametrize("column", sorted(_sort_keys()))
@pytest.mark.parametrize("descending", [False, True])
def test_sort_by_every_column(viewer_client, sortable, column, descending):
    key = _sort_keys()[column]
    expected = [c.config_name for c in sorted(sortable, key=key, reverse=descending)]
    response = viewer_client.get(URL, {"sort": f"-{column}" if descending else column})
    assert response.status_code == 200
    assert names(response) == expected


@pytest.mark.parametrize("sort", ["workers", "-workers", "engine", "-last_changed", "source", "-created"])
def test_pages_never_skip_or_repeat_rows_with_equal_sort_keys(viewer_client, sort):
    source = SourceFactory(name="same")
    same_time = timezone.now()
    created = [
        TrainingJobConfigFactory(
            source=source,
            config_name=f"tie-{i:03d}",
            worker_server_num=2,
            engine_name="PyTorch",
            engine_version="same",
            create_time=1700000000000,
            last_changed_at=same_time,
        ).pk
        for i in range(60)
    ]
    seen: list[int] = []
    for page in (1, 2, 3):
        response = viewer_client.get(URL, {"sort": sort, "per_page": 25, "page": page})
        seen += [row.record.pk for row in response.context["table"].page.object_list]
    assert len(seen) == 60
    assert sorted(seen) == sorted(created)


@pytest.mark.parametrize("column", sorted(_sort_keys()))
@pytest.mark.parametrize("prefix", ["", "-"])
def test_every_sort_ends_with_the_pk_tie_breaker(viewer_client, column, prefix):
    # SQLite happens to return equal keys in rowid order, so the page test above cannot catch a
    # missing tie-breaker there; PostgreSQL does not promise any order. Check the SQL itself.
    response = viewer_client.get(URL, {"sort": prefix + column})
    order_by = response.context["table"].data.data.query.order_by
    assert order_by[-1] == f"{prefix}pk"


@pytest.mark.parametrize("sort", ["nonsense", "-select", "select", "raw", "name,bogus", "--name", ""])
def test_bad_sort_values_never_fail(viewer_client, catalogue, sort):
    response = viewer_client.get(URL, {"sort": sort})
    assert response.status_code == 200
    assert len(names(response)) == 3


def test_sort_links_keep_the_filters(viewer_client, catalogue):
    content = viewer_client.get(URL, {"q": "vision", "engine": "PyTorch"}).content.decode()
    link = re.search(r'<a href="([^"]*sort=engine[^"]*)">Engine</a>', content)
    assert link and "q=vision" in link.group(1) and "engine=PyTorch" in link.group(1)


# --- pagination ----------------------------------------------------------------------------------


@pytest.fixture
def sixty():
    source = SourceFactory(name="many")
    return [TrainingJobConfigFactory(source=source, config_name=f"many-{i:03d}") for i in range(60)]


@pytest.mark.parametrize(
    ("page_number", "expected_page"),
    [("0", 1), ("-1", 1), ("99999", 3), ("abc", 1), ("1.5", 1), ("99999999999999999999999", 3), ("", 1), ("2", 2)],
)
def test_out_of_range_pages_are_clamped(viewer_client, sixty, page_number, expected_page):
    # Not named "page": that is pytest-playwright's fixture when the browser tests run alongside.
    response = viewer_client.get(URL, {"page": page_number, "per_page": 25})
    assert response.status_code == 200
    assert response.context["table"].page.number == expected_page


@pytest.mark.parametrize(
    ("per_page", "expected"),
    [
        ("-5", 50),
        ("0", 50),
        ("7", 25),
        ("25", 25),
        ("60", 100),
        ("100", 100),
        ("500", 500),
        ("100000", 500),
        ("abc", 50),
        ("", 50),
    ],
)
def test_page_sizes_are_clamped(viewer_client, sixty, per_page, expected):
    response = viewer_client.get(URL, {"per_page": per_page})
    assert response.status_code == 200
    table = response.context["table"]
    assert table.paginator.per_page == expected
    assert len(table.page.object_list) == min(expected, 60)


def test_pagination_on_an_empty_table(viewer_client):
    for params in ({"page": "5"}, {"per_page": "-5"}, {"q": "nothing-matches", "page": "-3"}):
        response = viewer_client.get(URL, params)
        assert response.status_code == 200
        assert names(response) == []


# --- page elements -------------------------------------------------------------------------------


def test_page_elements_for_browser_tests(viewer_client, catalogue):
    content = viewer_client.get(URL).content.decode()
    assert re.search(r'<input[^>]*type="search"[^>]*name="q"[^>]*aria-label="Quick search"', content)
    assert 'id="config-table"' in content
    for label in ("CSV", "JSON", "XLSX"):
        assert re.search(rf'<a [^>]*href="/configs/export\.{label.lower()}[^"]*"[^>]*>{label}</a>', content)
    assert ">Compare selected</button>" in content
    assert re.search(r'<form method="get" action="/compare/" id="compare-form"', content)
    assert re.search(r'<input[^>]*name="c"[^>]*value="\d+"|<input[^>]*value="\d+"[^>]*name="c"', content)


def test_export_links_keep_the_filters(viewer_client, catalogue):
    content = viewer_client.get(URL, {"q": "bert", "engine": "PyTorch", "page": "1"}).content.decode()
    link = re.search(r'href="(/configs/export\.csv[^"]*)"', content).group(1)
    assert "q=bert" in link and "engine=PyTorch" in link and "page=" not in link


def test_descriptions_render_as_text(viewer_client):
    TrainingJobConfigFactory(config_name="xss", config_desc="<script>alert('x')</script><b>bold</b>")
    content = viewer_client.get(URL).content.decode()
    assert "&lt;script&gt;alert(" in content
    assert "<script>alert" not in content
    assert "<b>bold</b>" not in content


def test_deleted_configs_carry_a_badge(viewer_client, catalogue):
    content = viewer_client.get(URL, {"status": "deleted"}).content.decode()
    assert "deleted upstream" in content


def _row(content: str, pk: int) -> list[str]:
    """The cells of one row of the table, as HTML."""
    row = re.search(rf'<tr data-config-id="{pk}" class="([^"]*)">(.*?)</tr>', content, re.S)
    assert row, f"no row for {pk}"
    return re.findall(r"<td[^>]*>(.*?)</td>", row.group(2), re.S)


def test_row_cells_show_each_field_with_fallbacks_and_dashes(viewer_client):
    full = TrainingJobConfigFactory(
        config_name="full", config_desc="A & B <i>", engine_name="PyTorch", engine_version="PyTorch-1.8.0",
        spec_code="", spec_id=7, worker_server_num=4, dataset_name="", data_url="/bucket/data/",
        user_image_url="swr.example.com/team/img:1",
    )
    bare = TrainingJobConfigFactory(
        config_name="bare", config_desc="", engine_name="", spec_code="", spec_id=None, worker_server_num=None,
        dataset_name="", data_url="", user_image_url="",
    )
    content = viewer_client.get(URL, {"sort": "name"}).content.decode()

    cells = _row(content, full.pk)
    assert len(cells) == len(TrainingJobConfigTable.Meta.sequence)
    assert f'value="{full.pk}"' in cells[0] and f'href="{full.get_absolute_url()}"' in cells[1]
    assert cells[2] == "A &amp; B &lt;i&gt;"  # text, escaped
    assert cells[4].startswith("PyTorch <span") and "PyTorch-1.8.0" in cells[4]
    assert cells[5:9] == ["7", "4", "/bucket/data/", "swr.example.com/team/img:1"]  # spec id, data URL fallbacks
    assert cells[9] == full.source.name
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", cells[10])

    bare_cells = _row(content, bare.pk)
    assert [bare_cells[i] for i in (2, 4, 5, 6, 7, 8)] == ["—"] * 6


# --- columns chosen per user ---------------------------------------------------------------------


def visible_columns(response) -> list[str]:
    """Names of the columns in the table's header, read from the page (cached or not)."""
    by_header = {str(column.verbose_name): name for name, column in TrainingJobConfigTable.base_columns.items()}
    header_cell = r'<th[^>]*scope="col">\s*(?:<a [^>]*>)?([^<]*?)\s*(?:</a>)?\s*</th>'
    headers = re.findall(header_cell, response.content.decode())
    return [by_header[header] for header in headers]


def test_all_columns_show_by_default(viewer_client, catalogue):
    assert visible_columns(viewer_client.get(URL)) == list(TrainingJobConfigTable.Meta.sequence)


def test_chosen_columns_are_remembered_per_user(viewer_client, staff_client, viewer, catalogue):
    response = viewer_client.post("/configs/columns/", {"columns": ["engine", "workers"], "next": "/configs/?q=bert"})
    assert response.status_code == 302
    assert response["Location"] == "/configs/?q=bert"
    assert TablePreference.objects.get(user=viewer, table_name="configs").columns == ["engine", "workers"]
    assert visible_columns(viewer_client.get(URL)) == ["select", "name", "engine", "workers"]
    # Another user still sees every column.
    assert len(visible_columns(staff_client.get(URL))) == len(TrainingJobConfigTable.Meta.sequence)
    # "Show all" forgets the choice.
    viewer_client.post("/configs/columns/", {"reset": "1"})
    assert visible_columns(viewer_client.get(URL)) == list(TrainingJobConfigTable.Meta.sequence)


def test_column_choice_rejects_unknown_columns_and_foreign_redirects(viewer_client, viewer):
    response = viewer_client.post("/configs/columns/", {"columns": ["raw"], "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == "/configs/"
    assert not TablePreference.objects.filter(user=viewer).exists()


def test_hiding_every_optional_column_still_shows_names(viewer_client, catalogue):
    viewer_client.post("/configs/columns/", {"next": "/configs/"})
    response = viewer_client.get(URL)
    assert visible_columns(response) == ["select", "name"]
    assert names(response) == ["ms-yolo", "pt-bert", "tf-resnet"]


# --- queries -------------------------------------------------------------------------------------


def _count_queries(client: Client, params: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, params)
        assert response.status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_table_or_page_size(viewer_client):
    source = SourceFactory(name="qc")
    for i in range(5):
        TrainingJobConfigFactory(source=source, config_name=f"qc-{i:02d}")
    small = _count_queries(viewer_client, {"per_page": 25})
    for i in range(5, 60):
        TrainingJobConfigFactory(source=source, config_name=f"qc-{i:02d}")
    assert _count_queries(viewer_client, {"per_page": 25}) == small
    # The same filter again: its count and the filter choices come from the cache.
    assert _count_queries(viewer_client, {"per_page": 100}) <= small
    assert _count_queries(viewer_client, {"per_page": 100, "sort": "-source", "q": "qc", "parameter": "lr"}) <= small
    assert small <= 16


def test_query_cap_on_the_list_page(viewer_client, django_assert_max_num_queries, sixty):
    with django_assert_max_num_queries(16):
        viewer_client.get(URL, {"per_page": 100, "engine": "PyTorch", "workers_min": 1})


def test_quick_search_keeps_filters_and_the_filter_form_keeps_the_search(viewer_client, catalogue):
    content = viewer_client.get(
        URL, {"q": "bert", "engine": "PyTorch", "sort": "-workers", "page": "2"}
    ).content.decode()
    header = content[content.index('id="quick-search"') : content.index("</form>", content.index('id="quick-search"'))]
    assert '<input type="hidden" name="engine" value="PyTorch">' in header
    assert '<input type="hidden" name="sort" value="-workers">' in header
    assert 'name="page"' not in header
    filters = content[content.index('id="filter-form"') : content.index("</form>", content.index('id="filter-form"'))]
    assert '<input type="hidden" name="q" value="bert">' in filters
    # One visible search box on the page: the header's.
    assert len(re.findall(r'<input[^>]*type="search"', content)) == 1
