"""The main agent flow in a real browser (Debian chromium driven by Playwright)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from caredesk.importers.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, running_desk

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_desk(tmp_path_factory.mktemp("desk")) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _login(page: Page, desk: str) -> None:
    page.goto(f"{desk}/login")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/inbox"))


def test_agent_logs_in_opens_a_conversation_and_replies(desk: str, browser: Browser) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _login(page, desk)
    expect(page.locator("#rows .row").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "inbox.png"))
    page.locator("#rows .row a").first.click()
    expect(page.get_by_label(re.compile("Reply to"))).to_be_visible()
    page.get_by_label(re.compile("Reply to")).fill(
        "Thanks for telling us — we're on it. Which model is it?"
    )
    page.get_by_role("button", name="Send reply").click()
    bubble = page.locator(".msg-out").last
    expect(bubble).to_contain_text("we're on it")
    # Delivery happens in the background; a reload shows the outcome.
    for _ in range(40):
        if "sent" in (bubble.locator(".sent").text_content() or ""):
            break
        page.wait_for_timeout(250)
        page.reload()
        bubble = page.locator(".msg-out").last
    expect(bubble.locator(".sent")).to_have_text("sent")
    page.screenshot(path=str(SCREENSHOTS / "conversation-replied.png"), full_page=True)
    page.close()


def test_script_in_a_post_shows_as_text_and_never_runs(desk: str, browser: Browser) -> None:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, desk)
    for needle in ("<script>", "onerror="):
        page.goto(f"{desk}/inbox?queue=all&q={needle}")
        page.locator("#rows .row a").first.click()
        expect(page.locator(".msg-text", has_text=needle).first).to_be_visible()
        page.wait_for_timeout(300)
    assert dialogs == []
    assert page.locator("img[src=x]").count() == 0
    page.close()


def test_inbox_works_on_a_phone_sized_screen(desk: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    _login(page, desk)
    expect(page.locator("#rows .row").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "inbox-phone.png"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"page scrolls sideways on a phone ({width}px)"
    page.close()
