"""Layout fixes that could quietly regress, checked in a real browser (Debian chromium).

Urdu admin and report pages mirror and stay readable, public pages never scroll sideways on a
phone, the phone inbox keeps its queue strip compact, focus rings are visible and admin forms
keep one label per control. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.browser import PHONE, SCREENSHOTS, signed_in, switch_language

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("close_pages")]


def _sideways(page: Page) -> int:
    """How far the page scrolls sideways (0 = not at all)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def _admin_url(page: Page, desk: str, section: str) -> str:
    page.goto(f"{desk}/admin")
    return re.sub(r"/workspace$", f"/{section}", page.url)


def test_admin_pages_in_urdu_are_translated_mirrored_and_without_fallback_buttons(
    desk: str, browser: Browser
) -> None:
    page = signed_in(browser, desk)
    try:
        switch_language(page, "ur")
        page.goto(_admin_url(page, desk, "accounts"))
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator(".admin-body h1")).to_have_text("چینل اکاؤنٹس")
        expect(page.locator(".admin-nav a[aria-current=page]")).to_have_text("چینل اکاؤنٹس")
        # Mirrored: the section list sits to the right of the page body.
        nav = page.locator(".admin-nav").bounding_box()
        body = page.locator(".admin-body").bounding_box()
        assert nav and body and nav["x"] > body["x"]
        # With scripts on, the pickers submit themselves: no stray "Change" buttons.
        for button in page.locator(".topbar .js-hide").all():
            expect(button).to_be_hidden()
        # Webhook paths read left to right inside the right-to-left table.
        path = page.locator("td code.small").first
        assert path.evaluate("e => getComputedStyle(e).direction") == "ltr"
        page.screenshot(path=str(SCREENSHOTS / "admin-accounts-urdu.png"), full_page=True)
        # The live rule test writes its verdict in the agent's language too.
        page.goto(_admin_url(page, desk, "listening"))
        page.locator("#f-query").fill("router")
        page.locator("#t-text").fill("my acme router keeps dropping")
        expect(page.locator("#t-result .verdict")).to_contain_text("مماثلت ہے")
        expect(page.locator("#t-result h3")).to_have_text("مماثلت جانچنے والا کیا دیکھتا ہے")
    finally:
        switch_language(page, "en")


def test_reports_charts_stay_left_to_right_on_an_urdu_page(desk: str, browser: Browser) -> None:
    page = signed_in(browser, desk)
    try:
        switch_language(page, "ur")
        page.goto(f"{desk}/reports")
        chart = page.locator("svg.chart.heat").first
        expect(chart).to_be_visible()
        first_cell = chart.locator("rect").first.bounding_box()
        assert first_cell
        # Weekday labels end left of the grid; a right-to-left SVG would run them into the cells.
        days = chart.locator("text.axis[text-anchor=end]").all()
        assert len(days) == 7
        for label in days:
            lb = label.bounding_box()
            assert lb and lb["x"] + lb["width"] <= first_cell["x"] + 1, label.text_content()
        for button in page.locator(".topbar .js-hide").all():
            expect(button).to_be_hidden()
        page.screenshot(path=str(SCREENSHOTS / "reports-urdu.png"), full_page=True)
    finally:
        switch_language(page, "en")


def test_public_contact_form_in_urdu_does_not_scroll_sideways_on_a_phone(
    desk: str, browser: Browser
) -> None:
    page = browser.new_context(viewport=PHONE).new_page()  # type: ignore[arg-type]
    page.goto(f"{desk}/contact/acme?lang=ur")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert _sideways(page) == 0
    page.screenshot(path=str(SCREENSHOTS / "contact-urdu-phone.png"), full_page=True)


def test_phone_inbox_keeps_a_compact_queue_strip_and_shows_the_current_queue(
    desk: str, browser: Browser
) -> None:
    page = signed_in(browser, desk, PHONE)
    page.goto(f"{desk}/inbox?queue=all&q=zzzz-no-such-words")
    empty = page.locator("#live-list .empty")
    expect(empty).to_contain_text("Nothing here matches these filters.")
    expect(empty.get_by_role("link", name="Clear search and filters")).to_be_visible()
    strip = page.locator(".queues").bounding_box()
    assert strip and strip["height"] < 90, f"queue strip is {strip and strip['height']}px tall"
    current = page.locator(".queues .active").bounding_box()
    assert current and current["x"] >= 0 and current["x"] + current["width"] <= PHONE["width"] + 1
    assert _sideways(page) == 0
    page.screenshot(path=str(SCREENSHOTS / "inbox-phone-empty-search.png"), full_page=True)


def _contrast(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    def lum(c: tuple[float, ...]) -> float:
        ch = [v / 255 for v in c[:3]]
        lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(fg), lum(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(x) for x in re.findall(r"[\d.]+", css)[:3])


def test_keyboard_focus_ring_is_visible_against_the_page(desk: str, browser: Browser) -> None:
    page = signed_in(browser, desk)
    page.goto(f"{desk}/inbox?queue=all")
    search = page.locator("#q")
    search.focus()
    page.keyboard.press("Tab")  # to the Search button, a keyboard focus (:focus-visible)
    focused = page.locator(":focus")
    style = focused.evaluate(
        "e => { const s = getComputedStyle(e);"
        " return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
    )
    assert style[0] == "solid" and float(style[1].rstrip("px")) >= 2
    # WCAG 1.4.11: the ring needs 3:1 against the panel it sits on.
    panel = focused.evaluate(
        """e => {
          for (let n = e.parentElement; n; n = n.parentElement) {
            const c = getComputedStyle(n).backgroundColor;
            if (!/rgba\\(.*, 0\\)$/.test(c) && c !== 'transparent') return c;
          }
          return 'rgb(255, 255, 255)';
        }"""
    )
    assert _contrast(_rgb(style[2]), _rgb(panel)) >= 3, (style, panel)


def test_admin_forms_give_every_control_its_own_label(desk: str, browser: Browser) -> None:
    page = signed_in(browser, desk)
    problems: list[str] = []
    for section in ("workspace", "accounts", "listening", "teams", "agents", "sla", "canned",
                    "guidelines", "kb"):  # fmt: skip
        url = _admin_url(page, desk, section)
        page.goto(url + ("?edit=1" if section == "agents" else ""))
        found = page.evaluate(
            """() => {
              const out = [];
              const ids = {};
              document.querySelectorAll('[id]').forEach(e => { ids[e.id] = (ids[e.id] || 0) + 1; });
              Object.entries(ids).forEach(([id, n]) => {
                if (n > 1) out.push('duplicate id ' + id);
              });
              document.querySelectorAll('input:not([type=hidden]), select, textarea').forEach(e => {
                const named = (e.id && document.querySelector('label[for="' + e.id + '"]'))
                  || e.closest('label') || e.getAttribute('aria-label');
                if (!named) out.push('no label: ' + (e.name || e.id));
              });
              return out;
            }"""
        )
        problems += [f"{section}: {p}" for p in found]
    assert problems == []
