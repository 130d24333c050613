"""Logging in and out through the forms, and what a logged-in user without the viewer group sees."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_wrong_password_shows_an_error_and_the_right_one_lands_on_the_overview(ui, viewer, catalog):
    page = ui.page
    ui.goto("/accounts/login/")

    ui.log_in("viewer", "not-the-password")

    expect(page.locator("#login-error")).to_contain_text("Please enter a correct username and password")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_label("User name")).to_have_value("viewer")
    expect(page.locator("#current-user")).to_have_count(0)

    ui.log_in("viewer")

    expect(page).to_have_url(ui.url("/"))
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator("#current-user")).to_have_text("viewer")
    expect(page.locator("#total-active")).to_have_text("60")
    expect(page.locator("#freshness")).to_contain_text("team-vision: data as of")
    ui.assert_clean()


def test_a_user_without_the_viewer_group_gets_the_403_page(ui, nobody, catalog):
    page = ui.page
    ui.expect_problem(r"status of 403")  # Chromium logs every 403 document as a failed resource

    ui.log_in("nobody")

    expect(page).to_have_url(ui.url("/"))
    expect(page.get_by_role("heading", name="You may not see this page")).to_be_visible()
    expect(page.locator("#forbidden")).to_contain_text("Your account (nobody) does not have permission")
    response = page.goto(ui.url("/configs/"))
    assert response is not None and response.status == 403
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#config-table")).to_have_count(0)
    ui.assert_clean()


def test_log_out_ends_the_session_and_the_next_login_returns_to_the_page_asked_for(ui, viewer, catalog):
    page = ui.page
    ui.log_in("viewer")
    expect(page.locator("#current-user")).to_have_text("viewer")

    page.locator("#logout-form").get_by_role("button", name="Log out").click()

    page.wait_for_url(re.compile(r"/accounts/login/$"))
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#current-user")).to_have_count(0)
    ui.goto("/configs/?engine=PyTorch")
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))
    expect(page.locator("#config-table")).to_have_count(0)

    ui.log_in("viewer")

    page.wait_for_url(re.compile(r"/configs/\?engine=PyTorch$"))
    expect(page.locator("#config-table")).to_be_visible()
    ui.assert_clean()
