"""Downloading the filtered configs table as CSV from the export links."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import expect

from configs_app.exports import HEADERS
from tests.browser.conftest import SECRET_LABEL


def test_csv_export_of_the_searched_table_has_the_header_row_its_rows_and_no_secrets(ui, viewer, catalog, tmp_path):
    page = ui.page
    ui.log_in("viewer")
    ui.goto("/configs/")
    page.locator("#quick-search-input").fill("resnet50")
    page.locator("#quick-search-input").press("Enter")
    expect(page.locator("#config-table tbody tr")).to_have_count(6)
    shown = ui.names()

    with page.expect_download() as download_info:
        page.locator("#export-links").get_by_role("link", name="CSV", exact=True).click()

    download = download_info.value
    assert download.failure() is None
    assert download.suggested_filename == "training-job-configs.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == HEADERS
    name = HEADERS.index("config_name")
    assert [row[name] for row in rows[1:]] == shown  # the rows of the page, in its order
    assert catalog.secret_config.config_name in shown
    assert f"{SECRET_LABEL}=" in text  # the label is there, its value is not
    for secret in catalog.secrets:
        assert secret not in text
    ui.assert_clean()
