"""One config's page, opened from the table: fields, masked parameters, history, raw JSON; and text
from ModelArts that looks like HTML."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from configs_app.masking import MASK
from tests.browser.conftest import SECRET_LABEL, SECRET_VALUE, XSS_DESCRIPTION


def test_detail_page_shows_fields_masked_parameters_history_and_raw_json(ui, viewer, catalog):
    page = ui.page
    config = catalog.secret_config
    ui.log_in("viewer")
    ui.goto("/configs/")

    page.get_by_role("link", name=config.config_name, exact=True).click()

    page.wait_for_url(ui.url(config.get_absolute_url()))
    expect(page.locator("#config-name")).to_have_text(config.config_name)

    def field(key: str):
        return page.locator(f'#main tr[data-field="{key}"] td')

    expect(field("engine_name")).to_have_text(config.engine_name)
    expect(field("engine_version")).to_have_text(config.engine_version)
    expect(field("spec_code")).to_have_text(config.spec_code)
    expect(field("worker_server_num")).to_have_text(str(config.worker_server_num))
    expect(field("dataset_name")).to_have_text("imagenet")
    expect(field("train_url").locator("code")).to_have_text(f"/team-vision-ml/output/{config.config_name}/")

    parameters = page.locator("#parameters tbody tr")
    expect(parameters).to_have_count(5)
    expect(parameters.filter(has_text="learning_rate").locator("td").nth(1)).to_have_text("0.01")
    expect(parameters.filter(has_text="batch_size").locator("td").nth(1)).to_have_text("256")
    expect(parameters.filter(has_text=SECRET_LABEL).locator("td").nth(1)).to_have_text("masked")
    expect(parameters.filter(has_text="DB_PASSWORD").locator("td").nth(1)).to_have_text("masked")
    content = page.content()
    for secret in catalog.secrets:
        assert secret not in content

    revisions = page.locator("#history li.revision")
    expect(revisions).to_have_count(1)
    expect(revisions.first).to_contain_text("Changed")
    change = revisions.first.locator("tbody tr").filter(has_text="parameter.learning_rate")
    expect(change.locator("td.diff-old")).to_have_text("0.1")
    expect(change.locator("td.diff-new")).to_have_text("0.01")

    raw_panel = page.locator("#raw-json")
    expect(raw_panel).to_be_visible()
    raw = json.loads(raw_panel.inner_text())
    assert raw["config_name"] == config.config_name
    assert {p["label"]: p["value"] for p in raw["parameter"]} == {
        "learning_rate": "0.01",
        "batch_size": "256",
        "epochs": "90",
        "DB_PASSWORD": MASK,
        SECRET_LABEL: MASK,
    }
    assert SECRET_VALUE not in raw_panel.inner_text()
    expect(page.locator("#sdk-snippet")).to_contain_text(f'config_name="{config.config_name}"')
    ui.assert_clean()


def test_html_in_a_description_is_shown_as_text_and_never_runs(ui, viewer, catalog):
    page = ui.page
    config = catalog.xss_config
    ui.log_in("viewer")
    ui.goto("/configs/")
    page.locator("#quick-search-input").fill(config.config_name)
    page.locator("#quick-search-input").press("Enter")
    expect(page.locator("#config-table tbody tr")).to_have_count(1)

    assert ui.column("Description") == [XSS_DESCRIPTION]
    expect(page.locator("#config-table img")).to_have_count(0)

    page.get_by_role("link", name=config.config_name, exact=True).click()
    page.wait_for_url(ui.url(config.get_absolute_url()))
    expect(page.locator("#config-description")).to_have_text(XSS_DESCRIPTION)
    expect(page.locator('#main tr[data-field="config_desc"] td')).to_have_text(XSS_DESCRIPTION)
    expect(page.locator("#main img")).to_have_count(0)
    # Only the two static scripts of base.html: nothing from the description became a script,
    # and with no <img> there is no onerror to run (ui.assert_clean also checks no dialog opened).
    expect(page.locator("script")).to_have_count(2)
    ui.assert_clean()
