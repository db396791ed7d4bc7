"""In a real browser: search results show the matching message with the hits highlighted, and
a hostile post in that excerpt (an onerror image, a script tag) shows as text and never runs.
Screenshot (a search for "refund"): var/screenshots/inbox-search-excerpts.png, 1280x800."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, expect

from tests.web.browser import PHONE, SCREENSHOTS, signed_in, switch_language

pytestmark = pytest.mark.usefixtures("close_pages")


def test_search_rows_highlight_the_matching_words_and_keep_hostile_markup_as_text(
    desk: str, browser: Browser
) -> None:
    page = signed_in(browser, desk)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    # The demo's Tom Bradley wrote "... from last week. <img src=x onerror=...> The courier
    # collected it", then "Brilliant, thanks" (his newest: what a plain inbox row shows).
    page.goto(f"{desk}/inbox?queue=all&q={quote('week courier')}")
    row = page.locator("#rows .row", has_text="Tom Bradley")
    preview = row.locator(".preview")
    expect(preview.locator("mark")).to_have_text(["week", "courier"])
    expect(preview).to_contain_text("<img src=x onerror=alert(document.cookie)>")
    expect(preview).not_to_contain_text("Brilliant")
    marked = preview.locator("mark").first
    background = marked.evaluate("m => getComputedStyle(m).backgroundColor")
    assert background == "rgb(254, 240, 138)"

    page.goto(f"{desk}/inbox?queue=all&q={quote('shows back')}")
    preview = page.locator("#rows .row", has_text="Jide Okafor").locator(".preview")
    expect(preview).to_contain_text("<script>alert(1)</script>")
    expect(preview.locator("mark")).to_have_text(["shows", "back"])
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.locator("#rows img, #rows script").count() == 0

    # A common word: every row previews its own matching message, the hit within view.
    page.goto(f"{desk}/inbox?queue=all&q=refund")
    expect(page.locator("#rows .row .preview mark").first).to_be_visible()
    assert page.locator("#rows .row").count() == page.locator("#rows .preview.excerpt").count()
    # Tom's newest "refund" is Priya's reply, labelled as ours; Hanne's is her own message.
    expect(page.locator("#rows .row", has_text="Tom Bradley").locator(".from-us")).to_have_text(
        "Our reply:"
    )
    expect(page.locator("#rows .row", has_text="Hanne").locator(".from-us")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "inbox-search-excerpts.png"))


def test_search_excerpts_wrap_inside_a_phone_screen(desk: str, browser: Browser) -> None:
    page = signed_in(browser, desk, viewport=PHONE)
    page.goto(f"{desk}/inbox?queue=all&q=refund")
    expect(page.locator("#rows .preview mark").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"search results scroll sideways on a phone ({width}px)"
    # Two lines at most: a long message must not make one row fill the screen.
    heights = page.locator("#rows .preview.excerpt").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height / parseFloat("
        "getComputedStyle(e).lineHeight))"
    )
    assert heights and max(heights) <= 2.1


def test_on_an_urdu_page_an_english_excerpt_keeps_its_own_direction(
    desk: str, browser: Browser
) -> None:
    page = signed_in(browser, desk)
    switch_language(page, "ur")
    try:
        page.goto(f"{desk}/inbox?queue=all&q=refund")
        preview = page.locator("#rows .row", has_text="Tom Bradley").locator(".preview")
        # The Urdu "our reply" label is isolated: the English words decide the direction.
        expect(preview.locator(".from-us")).not_to_have_text("Our reply:")
        assert preview.evaluate("e => e.matches(':dir(ltr)')")
        assert page.evaluate("document.documentElement.dir") == "rtl"
    finally:
        switch_language(page, "en")
