"""Every page in the browser: loads, and logs no console error, uncaught exception or violation of
the strict Content-Security-Policy (no unsafe-inline) the app sends."""

from __future__ import annotations

from playwright.sync_api import expect

from configs_app.middleware import CSP


def test_every_page_loads_without_console_errors_or_csp_violations(ui, staff_user, catalog):
    page = ui.page
    ids = "&".join(f"c={c.pk}" for c in catalog.configs[:3])
    pages = {
        "/accounts/login/": "#login-form",
        "/": "#totals",
        "/configs/": "#config-table",
        "/configs/?engine=PyTorch&sort=-created&per_page=25&page=2": "#config-table",
        "/configs/?workers_min=5&workers_max=1": "#filter-errors",
        catalog.secret_config.get_absolute_url(): "#raw-json",
        catalog.xss_config.get_absolute_url(): "#config-description",
        "/compare/": "#compare-help",
        f"/compare/?{ids}": "#compare-table",
        f"/compare/?{ids}&diff=1": "#compare-table",
        "/compare/?c=1": "#compare-error",
        "/sync-runs/": "#sync-run-table",
    }
    for path, landmark in pages.items():
        if path != "/accounts/login/" and not ui.page.locator("#current-user").count():
            ui.log_in("staff")
        response = page.goto(ui.url(path))
        assert response is not None and response.status == 200, path
        assert response.headers["content-security-policy"] == CSP
        expect(page.locator(landmark)).to_be_visible()
        page.wait_for_load_state("load")
        assert ui.unexpected_problems() == [], path

    # The pages' own scripts: collapse, column picker, compare checkboxes, copy buttons.
    ui.goto("/configs/")
    page.locator("#column-picker summary").click()
    expect(page.locator(".column-picker-form")).to_be_visible()
    page.locator("#config-table tbody tr input.compare-check").nth(0).check()
    expect(page.locator("#compare-hint")).to_have_text("1 ticked: tick at least 2.")
    ui.goto(catalog.secret_config.get_absolute_url())
    copy = page.locator('button[data-copy-target="#sdk-snippet"]')
    copy.click()
    expect(copy).to_have_text("Copied")
    ui.assert_clean()
