"""The reports page in a real browser: charts drawn, table views open, CSV export, screenshot."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from caredesk.importers.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.web.browser import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_supervisor_reads_the_reports_page(desk: str, browser: Browser) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    external: list[str] = []
    page.on(
        "request",
        lambda req: external.append(req.url) if not req.url.startswith(desk) else None,
    )
    page.goto(f"{desk}/login")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/inbox"))

    page.get_by_role("link", name="Reports").click()
    expect(page).to_have_url(re.compile(r"/reports"))
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    heat = page.get_by_role("img", name="Inbound posts by weekday and hour")
    expect(heat).to_be_visible()
    assert heat.locator("rect").count() == 7 * 24
    expect(page.locator(".kpi").first).to_contain_text("First response")
    page.screenshot(path=str(SCREENSHOTS / "reports.png"), full_page=True)

    # Every chart has a table view.
    heat_card = page.locator("section.card", has=heat)
    heat_card.get_by_text("Table view").click()
    expect(heat_card.locator("table.data")).to_be_visible()
    assert heat_card.locator("table.data tbody tr").count() == 7

    # CSV export of the same table, with the same filters.
    href = heat_card.get_by_role("link", name="CSV").first.get_attribute("href") or ""
    assert href.startswith("/api/v1/reports/csv/volume_by_weekday_hour")
    csv_text = page.request.get(desk + href).text()
    assert csv_text.splitlines()[0].startswith("weekday,00,01")

    # A filter narrows the page and stays in the form.
    page.locator("select[name=kind]").select_option("sales")
    expect(page).to_have_url(re.compile(r"kind=sales"))
    expect(page.locator("select[name=kind]")).to_have_value("sales")
    assert external == [], f"the page loaded assets from elsewhere: {external}"
