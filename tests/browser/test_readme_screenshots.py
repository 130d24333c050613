"""The README's screenshots, written only on request:

    WRITE_SCREENSHOTS=1 .venv/bin/python -m pytest -q tests/browser/test_readme_screenshots.py

writes ``docs/screenshots/configs-table.png`` and ``docs/screenshots/config-detail.png`` (1280x800)
from the demo catalog of ``conftest.catalog``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.skipif(os.environ.get("WRITE_SCREENSHOTS") != "1", reason="set WRITE_SCREENSHOTS=1 to write them")
def test_write_readme_screenshots(ui, viewer, catalog):
    page = ui.page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    ui.log_in("viewer")

    ui.goto("/configs/")
    expect(page.locator("#config-table tbody tr")).to_have_count(50)
    page.screenshot(path=SCREENSHOTS / "configs-table.png", animations="disabled", caret="hide")

    ui.goto(catalog.secret_config.get_absolute_url())
    expect(page.locator("#history li.revision")).to_have_count(1)
    page.screenshot(path=SCREENSHOTS / "config-detail.png", animations="disabled", caret="hide")

    assert page.viewport_size == {"width": 1280, "height": 800}
    ui.assert_clean()
