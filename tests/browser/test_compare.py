"""Comparing configs ticked in the table: differences highlighted, equal rows hidden on request."""

from __future__ import annotations

import re

from playwright.sync_api import expect

WHITE = "rgb(255, 255, 255)"


def background(locator) -> str:
    return locator.evaluate("element => getComputedStyle(element).backgroundColor")


def test_two_ticked_configs_compare_with_differences_highlighted_and_equal_rows_hidden_on_request(ui, viewer, catalog):
    page = ui.page
    first, second = "resnet50-cifar100-v1", "resnet50-imagenet-v1"  # in the table's (name) order
    ui.log_in("viewer")
    ui.goto("/configs/")
    page.locator("#quick-search-input").fill("resnet50")
    page.locator("#quick-search-input").press("Enter")
    expect(page.locator("#config-table tbody tr")).to_have_count(6)
    button = page.get_by_role("button", name="Compare selected")
    hint = page.locator("#compare-hint")
    expect(button).to_be_disabled()

    ui.row(second).get_by_role("checkbox").check()
    expect(button).to_be_disabled()
    expect(hint).to_have_text("1 ticked: tick at least 2.")
    ui.row(first).get_by_role("checkbox").check()
    expect(button).to_be_enabled()
    expect(hint).to_have_text("2 ticked.")
    button.click()

    page.wait_for_url(re.compile(r"/compare/\?"))
    table = page.locator("#compare-table")
    expect(table.locator("thead th")).to_have_text(["Field", first, second])
    rows = table.locator("tbody tr")
    summary = page.locator("#compare-summary")
    expect(summary).to_have_text(re.compile(r"^\d+ of \d+ fields differ\.$"))
    differing, total = (int(n) for n in re.findall(r"\d+", summary.inner_text()))
    assert 0 < differing < total
    expect(rows).to_have_count(total)

    differs = table.locator('tr[data-field="engine_name"]')
    same = table.locator('tr[data-field="pool_name"]')
    expect(differs).to_have_class(re.compile(r"\bdiff-row\b"))
    expect(differs.locator("td")).to_have_text(["MXNet", "TensorFlow"])
    expect(same).to_have_class(re.compile(r"\bsame-row\b"))
    expect(same.locator("td")).to_have_text(["team-a-v100", "team-a-v100"])
    # What the eye sees: differing rows are tinted, equal ones are not.
    assert background(differs.locator("td").first) != WHITE
    assert background(same.locator("td").first) == WHITE
    # A labelled secret compares as masked on both sides.
    expect(table.locator('tr[data-field="parameter.DB_PASSWORD"] td').first).to_have_text("masked")
    content = page.content()
    for secret in catalog.secrets:
        assert secret not in content

    page.locator("#diff-toggle").click()  # "Only differences"

    page.wait_for_url(re.compile(r"[?&]diff=1"))
    expect(rows).to_have_count(differing)
    expect(table.locator("tr.same-row")).to_have_count(0)
    expect(same).to_have_count(0)
    expect(differs).to_be_visible()
    expect(page.locator("#diff-toggle")).to_have_text("Show all fields")

    page.locator("#diff-toggle").click()
    page.wait_for_url(lambda url: "diff=" not in url)
    expect(rows).to_have_count(total)
    ui.assert_clean()
