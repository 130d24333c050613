"""The configs table: quick search, filters in the URL, sorting, pagination and page size."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from configs_app.models import TrainingJobConfig

ROWS = "#config-table tbody tr"


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_quick_search_narrows_the_table_to_matching_rows(ui, viewer, catalog):
    page = ui.page
    ui.log_in("viewer")
    ui.goto("/configs/")
    expect(page.locator("#result-count")).to_contain_text("of 60 configs")

    page.locator("#quick-search-input").fill("bert")
    page.locator("#quick-search-input").press("Enter")

    page.wait_for_url(re.compile(r"[?&]q=bert"))
    expected = {n for n in catalog.names if "bert" in n}
    assert len(expected) == 6
    expect(page.locator(ROWS)).to_have_count(6)
    assert set(ui.names()) == expected
    expect(page.locator("#result-count")).to_contain_text("1–6 of 6 configs")
    expect(page.locator("#quick-search-input")).to_have_value("bert")

    # Every term must match: a second one narrows further.
    page.locator("#quick-search-input").fill("bert squad")
    page.locator("#quick-search-input").press("Enter")
    page.wait_for_url(re.compile(r"[?&]q=bert\+squad"))
    expect(page.locator(ROWS)).to_have_count(2)
    assert set(ui.names()) == {"bert-base-squad-v1", "bert-base-squad-v2"}
    ui.assert_clean()


def test_engine_filter_narrows_rows_and_the_url_keeps_it_across_reload_and_search(ui, viewer, catalog):
    page = ui.page
    ui.log_in("viewer")
    ui.goto("/configs/")
    engine = page.locator("#filter-form").get_by_label("Engine", exact=True)

    engine.select_option("PyTorch")
    page.get_by_role("button", name="Apply filters").click()

    page.wait_for_url(re.compile(r"[?&]engine=PyTorch(&|$)"))
    expected = {c.config_name for c in catalog.configs if c.engine_name == "PyTorch"}
    assert 0 < len(expected) < len(catalog.configs)
    expect(page.locator(ROWS)).to_have_count(len(expected))
    assert set(ui.names()) == expected
    assert all(cell.startswith("PyTorch ") for cell in ui.column("Engine"))

    page.reload()
    expect(engine).to_have_value("PyTorch")
    expect(page.locator(ROWS)).to_have_count(len(expected))
    assert set(ui.names()) == expected

    # The header's quick search keeps the filter.
    page.locator("#quick-search-input").fill("mobilenet")
    page.locator("#quick-search-input").press("Enter")
    page.wait_for_url(re.compile(r"[?&]q=mobilenet"))
    assert query(page.url)["engine"] == ["PyTorch"]
    expect(engine).to_have_value("PyTorch")
    both = {n for n in expected if n.startswith("mobilenet")}
    assert both
    expect(page.locator(ROWS)).to_have_count(len(both))
    assert set(ui.names()) == both
    ui.assert_clean()


def test_a_column_header_sorts_the_rows_and_a_second_click_reverses_them(ui, viewer, catalog):
    page = ui.page
    ui.log_in("viewer")
    ui.goto("/configs/")
    page.locator("#per-page").get_by_role("link", name="100", exact=True).click()
    page.wait_for_url(re.compile(r"per_page=100"))
    expect(page.locator(ROWS)).to_have_count(60)
    # The database decides the order of equal keys (pk) and of text (its collation).
    names = TrainingJobConfig.objects.values_list("config_name", flat=True)
    by_workers = list(names.order_by("worker_server_num", "pk"))
    by_name = list(names.order_by("config_name", "pk"))
    workers_header = page.locator("#config-table thead th").filter(has_text="Workers")
    name_header = page.locator("#config-table thead th").filter(has_text="Name")

    workers_header.get_by_role("link").click()
    page.wait_for_url(re.compile(r"sort=workers(&|$)"))
    expect(workers_header).to_have_class(re.compile(r"\basc\b"))
    assert ui.names() == by_workers
    workers = [int(w) for w in ui.column("Workers")]
    assert workers == sorted(workers) and workers[0] < workers[-1]

    workers_header.get_by_role("link").click()
    page.wait_for_url(re.compile(r"sort=-workers(&|$)"))
    expect(workers_header).to_have_class(re.compile(r"\bdesc\b"))
    assert ui.names() == by_workers[::-1]

    name_header.get_by_role("link").click()
    page.wait_for_url(re.compile(r"sort=name(&|$)"))
    assert ui.names() == by_name
    name_header.get_by_role("link").click()
    page.wait_for_url(re.compile(r"sort=-name(&|$)"))
    expect(name_header).to_have_class(re.compile(r"\bdesc\b"))
    assert ui.names() == by_name[::-1]
    assert query(page.url)["per_page"] == ["100"]  # sorting keeps the page size
    ui.assert_clean()


def test_next_page_shows_the_other_rows_and_the_page_size_changes_the_row_count(ui, viewer, catalog):
    page = ui.page
    ui.log_in("viewer")
    ui.goto("/configs/")
    expect(page.locator(ROWS)).to_have_count(50)
    expect(page.locator("#result-count")).to_contain_text("1–50 of 60 configs")
    first_page = ui.names()

    page.get_by_role("link", name="next").click()

    page.wait_for_url(re.compile(r"[?&]page=2"))
    expect(page.locator(ROWS)).to_have_count(10)
    expect(page.locator("#result-count")).to_contain_text("51–60 of 60 configs")
    second_page = ui.names()
    assert not set(first_page) & set(second_page)
    assert set(first_page) | set(second_page) == set(catalog.names)

    per_page = page.locator("#per-page")
    per_page.get_by_role("link", name="25", exact=True).click()
    page.wait_for_url(re.compile(r"per_page=25"))
    expect(page.locator(ROWS)).to_have_count(25)
    expect(page.locator("#result-count")).to_contain_text("1–25 of 60 configs")
    expect(per_page.get_by_role("link", name="25", exact=True)).to_have_attribute("aria-current", "true")
    assert ui.names() == first_page[:25]

    per_page.get_by_role("link", name="50", exact=True).click()
    page.wait_for_url(re.compile(r"per_page=50"))
    expect(page.locator(ROWS)).to_have_count(50)
    assert ui.names() == first_page
    ui.assert_clean()
