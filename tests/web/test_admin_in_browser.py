"""Admin pages in a real browser: the demo admin tests and adds a listening rule, adds a team."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from caredesk.importers.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.web.browser import SCREENSHOTS

pytestmark = pytest.mark.browser


def _login(page: Page, desk: str) -> None:
    page.goto(f"{desk}/login")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/inbox"))


def test_admin_tests_a_rule_live_then_saves_it(desk: str, browser: Browser) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Every response counts, the icon included (it used to be a 404 nobody looked at).
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    _login(page, desk)
    page.get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Workspace")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "admin-workspace.png"), full_page=True)
    page.get_by_role("link", name="Listening rules").click()

    page.get_by_label("Name", exact=True).fill("Router trouble")
    page.get_by_label("Rule", exact=True).fill('acme AND (router OR "wi-fi"')
    page.get_by_label("Sample post").fill("My Acme router keeps dropping the wi-fi #fail")
    result = page.locator("#t-result")
    expect(result).to_contain_text("error at column")
    expect(result.locator("pre.caret")).to_contain_text("^")

    page.get_by_label("Rule", exact=True).fill('acme AND (router OR "wi-fi") -hiring')
    expect(result).to_contain_text("Matches")
    expect(result.locator("mark").first).to_have_text("acme")
    expect(result.locator(".positions")).to_contain_text("“router” at 8–14")
    page.screenshot(path=str(SCREENSHOTS / "admin-rule-test.png"), full_page=True)

    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    row = page.locator("table.grid tr", has_text="Router trouble")
    expect(row).to_contain_text('acme AND (router OR "wi-fi") -hiring')
    assert errors == []
    page.close()


def test_admin_adds_a_team_with_hours_and_sees_mistakes_explained(
    desk: str, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _login(page, desk)
    page.goto(f"{desk}/admin")
    page.get_by_role("link", name="Teams").click()
    page.get_by_label("Name", exact=True).fill("Hindi & Urdu desk")
    page.get_by_label("Time zone").fill("Asia/Kolkata")
    page.get_by_label("Business hours").fill("mon-fri 9-18")
    page.get_by_label("Languages").fill("hi, ur")
    page.get_by_role("button", name="Add team").click()
    expect(page.get_by_role("alert")).to_contain_text("business hours, line 1")
    page.get_by_label("Business hours").fill("mon-fri 09:00-18:00\nsat 10:00-14:00")
    page.get_by_label("Holidays").fill("2026-12-25")
    page.get_by_role("button", name="Add team").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    row = page.locator("table.grid tr", has_text="Hindi & Urdu desk")
    expect(row).to_contain_text("mon-fri 09:00-18:00")
    expect(row).to_contain_text("2026-12-25")
    page.screenshot(path=str(SCREENSHOTS / "admin-teams.png"), full_page=True)
    page.goto(f"{desk}/admin")
    page.get_by_role("link", name="Agents").click()
    page.screenshot(path=str(SCREENSHOTS / "admin-agents.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Listening rules").click()
    page.screenshot(path=str(SCREENSHOTS / "admin-phone.png"), full_page=True)
    page.close()
