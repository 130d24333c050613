"""Exports of the filtered configs table: CSV, JSON, XLSX; streamed, masked, spreadsheet-safe."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.http import FileResponse, StreamingHttpResponse
from openpyxl import load_workbook

from configs_app.exports import HEADERS, spreadsheet_safe
from configs_app.masking import MASK
from tests.factories import SourceFactory, TrainingJobConfigFactory

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    assert response.status_code == 200
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_rows(response) -> list[dict[str, str]]:
    text = body(response).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def json_rows(response) -> list[dict]:
    return json.loads(body(response))


def xlsx_rows(response) -> list[dict]:
    sheet = load_workbook(io.BytesIO(body(response)), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


READERS = {"csv": csv_rows, "json": json_rows, "xlsx": xlsx_rows}


@pytest.fixture
def configs():
    source = SourceFactory(name="exp")
    return [
        TrainingJobConfigFactory(source=source, config_name="exp-a", engine_name="PyTorch", worker_server_num=1),
        TrainingJobConfigFactory(source=source, config_name="exp-b", engine_name="TensorFlow", worker_server_num=3),
        TrainingJobConfigFactory(source=source, config_name="exp-c", engine_name="PyTorch", worker_server_num=5),
    ]


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
@pytest.mark.parametrize("style", ["path", "param"])
def test_export_keeps_filters_and_sort(viewer_client, configs, fmt, style):
    url = f"/configs/export.{fmt}" if style == "path" else "/configs/"
    params = {"engine": "PyTorch", "sort": "-workers"}
    if style == "param":
        params["_export"] = fmt
    response = viewer_client.get(url, params)
    assert f"training-job-configs.{fmt}" in response["Content-Disposition"]
    rows = READERS[fmt](response)
    assert [r["config_name"] for r in rows] == ["exp-c", "exp-a"]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_csv_and_json_exports_stream(viewer_client, configs, fmt):
    response = viewer_client.get(f"/configs/export.{fmt}")
    assert isinstance(response, StreamingHttpResponse)


def test_xlsx_export_streams_from_a_file(viewer_client, configs):
    response = viewer_client.get("/configs/export.xlsx")
    assert isinstance(response, FileResponse)
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_column_is_exported(viewer_client, configs, fmt):
    rows = READERS[fmt](viewer_client.get(f"/configs/export.{fmt}"))
    assert list(rows[0]) == HEADERS


def test_json_export_has_columns_and_masked_parameters(viewer_client, configs):
    rows = json_rows(viewer_client.get("/configs/export.json"))
    assert len(rows) == 3
    first = rows[0]
    assert set(HEADERS) <= set(first)
    params = {p["label"]: p for p in first["parameters"]}
    assert params["learning_rate"] == {"label": "learning_rate", "value": "0.01", "masked": False}
    assert params["DB_PASSWORD"] == {"label": "DB_PASSWORD", "value": MASK, "masked": True}
    assert params["EXTRA_HUB_ARG"]["masked"] is True


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_no_secret_in_any_export(viewer_client, configs, fmt):
    content = body(viewer_client.get(f"/configs/export.{fmt}", {"status": "all"}))
    if fmt == "xlsx":
        import zipfile

        archive = zipfile.ZipFile(io.BytesIO(content))
        content = b"".join(archive.read(name) for name in archive.namelist())
    secrets = set().union(*(c.secret_values for c in configs))
    assert len(secrets) >= 6
    for secret in secrets:
        assert secret.encode() not in content, secret
    assert MASK.encode() in content


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("payload", ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"])
def test_formula_like_cells_are_defused(viewer_client, fmt, payload):
    TrainingJobConfigFactory(config_name="formula", config_desc=payload, dataset_name=payload)
    rows = READERS[fmt](viewer_client.get(f"/configs/export.{fmt}"))
    row = next(r for r in rows if r["config_name"] == "formula")
    assert row["config_desc"].startswith("'")
    assert row["dataset_name"].startswith("'")


def test_spreadsheet_safe_leaves_other_values_alone():
    assert spreadsheet_safe("resnet") == "resnet"
    assert spreadsheet_safe(-5) == -5
    assert spreadsheet_safe("") == ""
    assert spreadsheet_safe("a=b") == "a=b"


def test_json_export_keeps_text_verbatim(viewer_client):
    TrainingJobConfigFactory(config_name="j", config_desc="=1+2 <b>")
    rows = json_rows(viewer_client.get("/configs/export.json"))
    assert rows[0]["config_desc"] == "=1+2 <b>"


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_invalid_filter_exports_nothing(viewer_client, configs, fmt):
    rows = READERS[fmt](viewer_client.get(f"/configs/export.{fmt}", {"workers_min": "abc"}))
    assert rows == []


def test_export_of_secret_search_is_empty(viewer_client, configs):
    secret = next(iter(configs[0].secret_values))
    assert csv_rows(viewer_client.get("/configs/export.csv", {"q": secret})) == []


def test_xlsx_export_drops_control_characters(viewer_client):
    TrainingJobConfigFactory(config_name="ctl", config_desc="bell\x07 and vt\x0b inside")
    rows = xlsx_rows(viewer_client.get("/configs/export.xlsx"))
    assert rows[0]["config_desc"] == "bell and vt inside"


def test_unknown_export_format_renders_the_page(viewer_client, configs):
    response = viewer_client.get("/configs/", {"_export": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert viewer_client.get("/configs/export.pdf").status_code == 404


def test_export_needs_the_view_permission(nobody_client, client, configs):
    assert nobody_client.get("/configs/export.csv").status_code == 403
    response = client.get("/configs/export.csv")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_export_query_count_does_not_grow_with_rows(viewer_client, django_assert_max_num_queries):
    source = SourceFactory(name="big")
    for i in range(30):
        TrainingJobConfigFactory(source=source, config_name=f"big-{i:02d}")
    with django_assert_max_num_queries(10):
        rows = json_rows(viewer_client.get("/configs/export.json"))
    assert len(rows) == 30
